// What one request may ask for, so that no single request (or a flood of them) can take the server down. Each
// limit is a `serve` flag; the defaults are listed in README.md ("Limits"). Violations are 400s naming the field,
// except the body size (413), the queue and stream caps (429 with Retry-After) and the deadline (408).
import { InvalidRequest, Overloaded } from '../engine/errors.js';
import type { ModelTokenizer } from '../model/tokenizer.js';

export interface ServerLimits {
  /** Request body bytes (413 beyond). */
  readonly maxBodyBytes: number;
  /** Prompt tokens per prompt; Infinity = the context window. */
  readonly maxPromptTokens: number;
  /** Cap on max_tokens, and the default when a request sets none; Infinity = what the context window leaves. */
  readonly maxCompletionTokens: number;
  /** Choices per prompt (`n`); at most 16 whatever the flag says. */
  readonly maxN: number;
  /** Engine requests one HTTP request may start: prompts × n. */
  readonly maxChoices: number;
  readonly maxStopStrings: number;
  /** Characters (Unicode code points, not UTF-16 units) per stop string. */
  readonly maxStopLength: number;
  /** logit_bias entries. */
  readonly maxLogitBias: number;
  /** `stream: true` responses open at once (429 beyond). */
  readonly maxConcurrentStreams: number;
  /** Per-request deadline from arrival, queueing included; 0 = none. */
  readonly requestTimeoutMs: number;
  /** A stream whose client has not accepted a chunk for this long is dropped (its reader stopped reading). */
  readonly streamStallTimeoutMs: number;
}

export const MAX_N = 16;

export const DEFAULT_LIMITS: ServerLimits = {
  maxBodyBytes: 4 * 2 ** 20,
  maxPromptTokens: Infinity,
  maxCompletionTokens: Infinity,
  maxN: MAX_N,
  maxChoices: 64,
  maxStopStrings: 16,
  maxStopLength: 256,
  maxLogitBias: 300,
  maxConcurrentStreams: 256,
  requestTimeoutMs: 600_000,
  streamStallTimeoutMs: 30_000,
};

export function resolveLimits(limits: Partial<ServerLimits> | undefined, maxModelLen: number): ServerLimits {
  const merged = { ...DEFAULT_LIMITS, ...limits };
  return {
    ...merged,
    maxN: Math.min(merged.maxN, MAX_N),
    maxPromptTokens: Math.min(merged.maxPromptTokens, maxModelLen),
    maxCompletionTokens: Math.min(merged.maxCompletionTokens, maxModelLen),
  };
}

/**
 * Engine requests per HTTP request: prompts × n. The per-field caps (n, stop strings, logit_bias) are the request
 * schemas' (schemas/common.ts), which read them from these limits.
 */
export function checkChoiceCount(n: number, limits: ServerLimits, numPrompts = 1): void {
  if (n * numPrompts > limits.maxChoices) {
    throw new InvalidRequest(
      `At most ${limits.maxChoices} choices per request (prompts × n), got ${numPrompts} × ${n}.`,
      'n',
    );
  }
}

/**
 * max_tokens against --max-completion-tokens: an explicit larger value is refused; an absent one becomes what the
 * context window leaves, capped. The result still goes through resolveMaxTokens (engine/prompt-checks.ts: prompt + completion ≤ window).
 */
export function limitMaxTokens(
  requested: number | null | undefined,
  promptLen: number,
  limits: ServerLimits,
  maxModelLen: number,
  param = 'max_tokens',
): number {
  if (requested === null || requested === undefined)
    return Math.min(limits.maxCompletionTokens, maxModelLen - promptLen);
  // Past the context window is resolveMaxTokens' context_length_exceeded; only a stricter cap is reported here.
  if (requested > limits.maxCompletionTokens && promptLen + requested <= maxModelLen) {
    throw new InvalidRequest(`${param} must be at most ${limits.maxCompletionTokens}, got ${requested}.`, param);
  }
  return requested;
}

export function checkPromptTokens(numTokens: number, limits: ServerLimits, param: string): void {
  if (numTokens > limits.maxPromptTokens) {
    throw new InvalidRequest(
      `The prompt has ${numTokens} tokens; this server accepts at most ${limits.maxPromptTokens}.`,
      param,
      'context_length_exceeded',
    );
  }
}

/**
 * Refuses text too long to fit in maxPromptTokens *before* tokenizing it: BPE on one long word (a run of spaces)
 * is quadratic and runs on the HTTP thread. No token stands for more UTF-8 bytes than the longest token string in
 * the vocabulary (byte-level BPE spells each byte as one or two bytes; specials are literal), so a text of B bytes
 * has at least B / maxTokenBytes tokens; the factor 2 leaves room for normalizers that compose characters.
 */
export class PromptSizeGuard {
  private readonly maxBytes: number;

  constructor(
    tokenizer: ModelTokenizer,
    private readonly limits: ServerLimits,
  ) {
    let maxTokenBytes = 1;
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      const token = tokenizer.idToToken(id);
      if (token !== null) maxTokenBytes = Math.max(maxTokenBytes, Buffer.byteLength(token));
    }
    this.maxBytes = 2 * maxTokenBytes * limits.maxPromptTokens;
  }

  check(texts: readonly string[], param: string): void {
    let bytes = 0;
    for (const t of texts) bytes += Buffer.byteLength(t);
    if (bytes > this.maxBytes) {
      throw new InvalidRequest(
        `The prompt is too long: ${bytes} bytes of text cannot fit in ${this.limits.maxPromptTokens} tokens.`,
        param,
        'context_length_exceeded',
      );
    }
  }
}

/** A counting semaphore that refuses instead of queueing: the concurrent-stream cap. */
export class ConcurrencyLimit {
  private used = 0;

  constructor(
    readonly max: number,
    private readonly what: string,
  ) {}

  get inUse(): number {
    return this.used;
  }

  /** Takes a slot or throws Overloaded (429); the returned release is idempotent. */
  acquire(): () => void {
    if (this.used >= this.max) throw new Overloaded(`Too many ${this.what} (${this.max}); retry later.`);
    this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used--;
    };
  }
}
