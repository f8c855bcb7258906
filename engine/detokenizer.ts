// Incremental detokenization for streaming, by vLLM's prefix/read-offset method. Decoding token by token is
// wrong for byte-level BPE (a character's UTF-8 bytes may span tokens) and for tokenizers whose decode depends
// on context (leading spaces, merges), so each step decodes a small window twice:
//
//   ids:  … | prefixOffset … readOffset | new tokens … |
//             └ prefixText ─────────────┘
//             └ decode(ids[prefixOffset:]) ─────────────┘ → emit what follows prefixText, unless it ends in
//                                                             U+FFFD (an incomplete character: wait for more)
//
// After emitting, the window slides: prefixOffset ← readOffset, readOffset ← end. Only the window is kept, so
// the cost of a push depends on how many tokens are pending, not on the length of the output.
// Invariant: readOffset always sits on a character boundary, so emitted text never splits a character.

export interface Decoder {
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
}

/** vLLM's INITIAL_INCREMENTAL_DETOKENIZATION_OFFSET: prompt tokens kept as context for the first token. */
export const PROMPT_TAIL_TOKENS = 5;

const REPLACEMENT_CHAR = '\uFFFD';

export class IncrementalDetokenizer {
  private readonly decoder: Decoder;
  private readonly skipSpecialTokens: boolean;
  /** ids[0] is at prefixOffset; ids[readOffset…] are not yet emitted. */
  private ids: number[];
  private readOffset: number;
  /** decode(ids[0:readOffset]). */
  private prefixText: string;
  private emitted = '';

  /**
   * `promptTail`: the last prompt tokens (only the last PROMPT_TAIL_TOKENS are used), so the first generated
   * token decodes as it would in context. The prompt must end on a character boundary (it came from text).
   */
  constructor(decoder: Decoder, opts: { skipSpecialTokens?: boolean; promptTail?: readonly number[] } = {}) {
    this.decoder = decoder;
    this.skipSpecialTokens = opts.skipSpecialTokens ?? false;
    this.ids = (opts.promptTail ?? []).slice(-PROMPT_TAIL_TOKENS);
    this.readOffset = this.ids.length;
    this.prefixText = this.decode(this.ids);
  }

  /** All text emitted so far (by push and flush). */
  get text(): string {
    return this.emitted;
  }

  /** Appends one generated token id; returns the newly stable text (may be ''). */
  push(id: number): string {
    this.ids.push(id);
    const full = this.decode(this.ids);
    if (full.length <= this.prefixText.length || full.endsWith(REPLACEMENT_CHAR)) return '';
    const delta = full.slice(this.prefixText.length);
    this.ids = this.ids.slice(this.readOffset);
    this.readOffset = this.ids.length;
    this.prefixText = this.decode(this.ids);
    this.emitted += delta;
    return delta;
  }

  /** The text held back at the end of generation; incomplete characters come out as U+FFFD. */
  flush(): string {
    const full = this.decode(this.ids);
    const delta = full.length > this.prefixText.length ? full.slice(this.prefixText.length) : '';
    this.ids = this.ids.slice(this.readOffset);
    this.readOffset = this.ids.length;
    this.prefixText = this.decode(this.ids);
    this.emitted += delta;
    return delta;
  }

  private decode(ids: readonly number[]): string {
    return ids.length === 0 ? '' : this.decoder.decode(ids, { skipSpecialTokens: this.skipSpecialTokens });
  }
}
