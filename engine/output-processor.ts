// Turns a request's generated tokens into the text a client sees: incremental detokenization, then stop
// strings (held back while they might still match, cut when they do; kept, with include_stop_str_in_output).
import type { Decoder } from './detokenizer.js';
import { IncrementalDetokenizer } from './detokenizer.js';
import type { Request } from './request.js';
import { StopChecker } from './stop-checker.js';

/** Prompt tokens given to the detokenizer as context, so the first output token decodes as it would in place. */
const PROMPT_CONTEXT_TOKENS = 4;

export class OutputProcessor {
  private readonly detokenizer: IncrementalDetokenizer;
  private readonly stops: StopChecker;
  private stopped = false;
  private readonly includeStop: boolean;
  /** Tokens whose text passes straight through, unmatched (min_tokens), before stop strings are checked. */
  private unmatched: number;

  constructor(decoder: Decoder, request: Request) {
    this.unmatched = request.minTokens;
    this.includeStop = request.includeStopStr;
    this.detokenizer = new IncrementalDetokenizer(decoder, {
      skipSpecialTokens: request.skipSpecialTokens,
      promptTail: request.promptIds.slice(-PROMPT_CONTEXT_TOKENS),
    });
    this.stops = new StopChecker(request.stop);
  }

  /** Text to emit for one more token, and the stop string it completed, if any. */
  push(token: number): { readonly text: string; readonly stop: string | null } {
    if (this.stopped) return { text: '', stop: null };
    if (this.unmatched > 0) {
      this.unmatched--;
      return { text: this.detokenizer.push(token), stop: null };
    }
    const { emit, stop } = this.stops.push(this.detokenizer.push(token));
    if (stop !== null) this.stopped = true;
    return { text: stop !== null && this.includeStop ? emit + stop : emit, stop };
  }

  /** Text still held back when the request ends for another reason (EOS, length). */
  finish(): string {
    if (this.stopped) return '';
    const { emit, stop } = this.stops.push(this.detokenizer.flush());
    this.stopped = true;
    if (stop !== null) return this.includeStop ? emit + stop : emit;
    return emit + this.stops.flush();
  }
}
