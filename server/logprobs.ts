// Renders the engine's LogprobEntry lists in the three shapes clients expect: chat (`logprobs.content`),
// legacy completions (`tokens / token_logprobs / top_logprobs / text_offset`) and vLLM's `prompt_logprobs`.
// JSON has no -Infinity, so logprobs are clamped at -9999 as vLLM does.
import type { LogprobEntry, TokenLogprob } from '../sampling/index.js';
import type { ModelTokenizer } from '../model/tokenizer.js';

const MIN_LOGPROB = -9999;

export function clampLogprob(logprob: number): number {
  return Number.isNaN(logprob) ? MIN_LOGPROB : Math.max(logprob, MIN_LOGPROB);
}

/** Token text for logprob listings: the decoded token, or `token_id:N` when the client asked for ids. */
export class TokenNames {
  constructor(
    private readonly tokenizer: ModelTokenizer,
    private readonly asTokenIds: boolean,
  ) {}

  text(id: number): string {
    return this.tokenizer.decode([id]);
  }

  name(id: number): string {
    return this.asTokenIds ? `token_id:${id}` : this.text(id);
  }
}

export interface ChatTopLogprob {
  readonly token: string;
  readonly logprob: number;
  readonly bytes: number[];
}

export interface ChatLogprob extends ChatTopLogprob {
  readonly top_logprobs: ChatTopLogprob[];
}

export function chatLogprobs(entries: readonly LogprobEntry[], names: TokenNames, topCount: number): ChatLogprob[] {
  const one = (t: TokenLogprob): ChatTopLogprob => ({
    token: names.name(t.id),
    logprob: clampLogprob(t.logprob),
    bytes: [...Buffer.from(names.text(t.id), 'utf8')],
  });
  return entries.map((e) => ({ ...one(e), top_logprobs: e.top.slice(0, topCount).map(one) }));
}

export interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

export function emptyLegacyLogprobs(): LegacyLogprobs {
  return { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
}

/**
 * Appends tokens to a legacy logprobs block. `entries[j]` scores `ids[j]` (null: unscored, e.g. the first prompt
 * token); `textOffset` is where ids[0]'s text starts in the choice's text. Returns the offset after the last token.
 */
export function appendLegacyLogprobs(
  out: LegacyLogprobs,
  ids: readonly number[],
  entries: readonly (LogprobEntry | null)[],
  names: TokenNames,
  topCount: number,
  textOffset: number,
): number {
  let offset = textOffset;
  ids.forEach((id, j) => {
    const entry = entries[j] ?? null;
    out.tokens.push(names.name(id));
    out.text_offset.push(offset);
    offset += names.text(id).length;
    if (entry === null) {
      out.token_logprobs.push(null);
      out.top_logprobs.push(null);
      return;
    }
    out.token_logprobs.push(clampLogprob(entry.logprob));
    // The chosen token is listed with the top alternatives, as vLLM does.
    const top: Record<string, number> = {};
    for (const t of [entry, ...entry.top.slice(0, topCount)]) {
      const name = names.name(t.id);
      top[name] = Math.max(top[name] ?? -Infinity, clampLogprob(t.logprob));
    }
    out.top_logprobs.push(top);
  });
  return offset;
}

export interface PromptLogprob {
  readonly logprob: number;
  /** 1-based rank among the alternatives; null when the token is not among the returned top alternatives. */
  readonly rank: number | null;
  readonly decoded_token: string;
}

/** vLLM's prompt_logprobs: entry 0 is null; entry j maps token-id strings (the prompt token + top k) to scores. */
export function promptLogprobs(
  entries: readonly (LogprobEntry | null)[],
  names: TokenNames,
  topCount: number,
): (Record<string, PromptLogprob> | null)[] {
  return entries.map((entry) => {
    if (entry === null) return null;
    const out: Record<string, PromptLogprob> = {};
    const top = entry.top.slice(0, topCount);
    const rankOf = (id: number): number | null => {
      const r = top.findIndex((t) => t.id === id);
      return r < 0 ? null : r + 1;
    };
    for (const t of [entry, ...top]) {
      out[String(t.id)] = { logprob: clampLogprob(t.logprob), rank: rankOf(t.id), decoded_token: names.name(t.id) };
    }
    return out;
  });
}
