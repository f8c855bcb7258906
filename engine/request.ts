// A request inside the engine: its tokens so far and how many of them the cache already holds.
// The scheduler only ever moves numComputedTokens towards numTokens; sampling appends one token at a time.
import type { LogprobEntry } from '../sampling/index.js';
import type { EngineRequest, FinishReason, SamplingOptions } from './types.js';

export type RequestStatus = 'waiting' | 'running' | 'finished';

export class Request {
  readonly id: string;
  readonly promptIds: readonly number[];
  readonly maxTokens: number;
  readonly sampling: SamplingOptions;
  readonly stop: readonly string[];
  /** Token ids that finish the request (stop_token_ids plus EOS unless ignore_eos). */
  readonly stopTokenIds: ReadonlySet<number>;
  /** min_tokens: stop tokens are held back from sampling, and stop strings do not match, until this many are out. */
  readonly minTokens: number;
  /** include_stop_str_in_output */
  readonly includeStopStr: boolean;
  /** allowed_token_ids; null = every id. */
  readonly allowedTokenIds: readonly number[] | null;
  readonly logprobs: number | null;
  readonly promptLogprobs: number | null;
  readonly skipSpecialTokens: boolean;
  readonly arrivalMs: number;

  /** Prompt followed by generated tokens. */
  readonly tokenIds: number[];
  numComputedTokens = 0;
  /** Prompt tokens served from the prefix cache the first time the request was scheduled. */
  numCachedTokens = 0;
  status: RequestStatus = 'waiting';
  /**
   * Its last step's sampling row is held by the executor for a grammar mask that is not ready (the grammar worker
   * is compiling another request's grammar): it is not scheduled again until that token has been sampled and
   * appended.
   */
  awaitingSample = false;
  finishReason: FinishReason | null = null;
  stopReason: string | number | null = null;
  /** Entry j scores prompt token j (entry 0 null), filled as prefill chunks run. */
  readonly promptLogprobEntries: (LogprobEntry | null)[];
  firstTokenMs: number | null = null;
  lastTokenMs: number | null = null;

  constructor(req: EngineRequest, eosTokenIds: readonly number[], nowMs: number) {
    this.id = req.id;
    this.promptIds = req.promptIds;
    this.maxTokens = req.maxTokens;
    this.sampling = req.sampling;
    this.stop = req.stop;
    // A finished grammar allows only EOS: it must end the request even with ignoreEos.
    const eosStops = req.ignoreEos && (req.grammar ?? null) === null ? [] : eosTokenIds;
    this.stopTokenIds = new Set([...req.stopTokenIds, ...eosStops]);
    this.minTokens = req.minTokens ?? 0;
    this.includeStopStr = req.includeStopStrInOutput ?? false;
    this.allowedTokenIds = req.allowedTokenIds ?? null;
    this.logprobs = req.logprobs;
    this.promptLogprobs = req.promptLogprobs;
    this.skipSpecialTokens = req.skipSpecialTokens ?? true;
    this.arrivalMs = nowMs;
    this.tokenIds = [...req.promptIds];
    this.promptLogprobEntries = req.promptLogprobs === null ? [] : [null];
  }

  get numTokens(): number {
    return this.tokenIds.length;
  }

  get numPromptTokens(): number {
    return this.promptIds.length;
  }

  get numOutputTokens(): number {
    return this.tokenIds.length - this.promptIds.length;
  }

  get outputIds(): number[] {
    return this.tokenIds.slice(this.promptIds.length);
  }

  /** Prompt logprobs still missing: prefix-cache hits would skip the rows they need. */
  get needsPromptLogprobs(): boolean {
    return this.promptLogprobs !== null && this.promptLogprobEntries.length < this.numPromptTokens;
  }
}
