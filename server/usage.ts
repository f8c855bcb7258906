// OpenAI's `usage` object, tallied over every choice of a request. Prompt tokens count once per prompt (not
// once per choice); cached tokens are those reported for the first choice of each prompt.
import type { Usage } from '../engine/types.js';

export interface UsageBody {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly prompt_tokens_details: { readonly cached_tokens: number };
}

export class UsageTally {
  private completionTokens = 0;
  private cachedTokens = 0;

  /** `n` choices per prompt; choice index i belongs to prompt ⌊i / n⌋. */
  constructor(
    private readonly promptTokens: number,
    private readonly n: number,
  ) {}

  add(choiceIndex: number, usage: Usage): void {
    this.completionTokens += usage.completionTokens;
    if (choiceIndex % this.n === 0) this.cachedTokens += usage.cachedTokens;
  }

  toJSON(): UsageBody {
    return {
      prompt_tokens: this.promptTokens,
      completion_tokens: this.completionTokens,
      total_tokens: this.promptTokens + this.completionTokens,
      prompt_tokens_details: { cached_tokens: this.cachedTokens },
    };
  }
}

export function newRequestId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().replaceAll('-', '')}`;
}

export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
