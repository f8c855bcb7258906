// The engine's boundary types. A request flows
//
//   ChatCompletionRequest (server) → EngineRequest → SchedulerOutput → ForwardInputs → RunnerOutput
//     → TokenEvent → SSE chunk (server)
//
// The server submits an EngineRequest and reads TokenEvents from an async iterable; leaving the loop (or the
// AbortSignal firing) cancels the request, which leaves the batch within one step and frees its blocks.
import type { GrammarSpec } from '../grammar/spec.js';
import type { LogprobEntry, SamplingOptions } from '../sampling/types.js';

export { DEFAULT_SAMPLING } from '../sampling/types.js';
export type { SamplingOptions } from '../sampling/types.js';

export interface EngineRequest {
  readonly id: string;
  readonly promptIds: readonly number[];
  /** Tokens to generate at most (already checked against the context window by the caller). */
  readonly maxTokens: number;
  readonly sampling: SamplingOptions;
  /** Stop strings: matched on the generated text, across token boundaries; never part of the output. */
  readonly stop: readonly string[];
  /** Token ids that end the request (EOS ids are added by the engine unless ignoreEos). */
  readonly stopTokenIds: readonly number[];
  readonly ignoreEos: boolean;
  /**
   * vLLM's min_tokens: until this many tokens are out, stop tokens (EOS included) are held back from sampling,
   * unless a grammar allows nothing else, and stop strings do not match. Absent = 0.
   */
  readonly minTokens?: number;
  /** vLLM's include_stop_str_in_output: the stop string that ended the output stays in its text. Absent = false. */
  readonly includeStopStrInOutput?: boolean;
  /** vLLM's allowed_token_ids: only these ids can be sampled. Absent or null = every id. */
  readonly allowedTokenIds?: readonly number[] | null;
  /** Top alternatives per generated token; null = no logprobs. 0 = only the chosen token's. */
  readonly logprobs: number | null;
  /** Top alternatives per prompt token; null = none. */
  readonly promptLogprobs: number | null;
  /**
   * Constrained decoding: every sampled token keeps the output inside this grammar (the engine masks the logits
   * row), and EOS, once the grammar allows it, ends the request even with ignoreEos. null = free text.
   */
  readonly grammar?: GrammarSpec | null;
  /** Leave special tokens (BOS, EOS, added specials) out of the text, as vLLM's skip_special_tokens; default true. */
  readonly skipSpecialTokens?: boolean;
}

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Prompt tokens whose cache rows came from the prefix cache. */
  readonly cachedTokens: number;
}

export type FinishReason = 'stop' | 'length';

export type TokenEvent =
  | {
      readonly type: 'delta';
      /** New text, safe to show: never a prefix of a pending stop string, never a split UTF-8 character. */
      readonly text: string;
      /** Tokens generated since the previous event (text may lag them by held-back characters). */
      readonly tokenIds: readonly number[];
      /** One entry per token in tokenIds when logprobs were requested. */
      readonly logprobs: readonly LogprobEntry[] | null;
    }
  | {
      readonly type: 'finish';
      readonly reason: FinishReason;
      /** The stop string or stop token id that ended the request, if any. */
      readonly stopReason: string | number | null;
      readonly usage: Usage;
      /** Entry j scores prompt token j given the tokens before it (entry 0 is null); null unless requested. */
      readonly promptLogprobs: readonly (LogprobEntry | null)[] | null;
    };

/** Point-in-time state for /metrics gauges. */
export interface EngineStats {
  readonly numRunning: number;
  readonly numWaiting: number;
  /** Blocks held by live requests. */
  readonly cacheBlocksUsed: number;
  readonly cacheBlocksTotal: number;
  /** Blocks allocated at least once since start: the pool's pages written, so resident. */
  readonly cacheBlocksTouched: number;
  readonly cacheBlockSize: number;
  readonly cacheBytesPerToken: number;
}

/** Events the engine reports as they happen, for counters and histograms. */
export interface EngineObserver {
  onPrefixCacheQuery?(queriedTokens: number, hitTokens: number): void;
  onPromptTokens?(count: number): void;
  onGenerationTokens?(count: number): void;
  onFirstToken?(seconds: number): void;
  onInterToken?(seconds: number): void;
  onRequestFinished?(e2eSeconds: number, usage: Usage): void;
  onPreemption?(): void;
}

export interface Engine {
  /** Throws Overloaded (synchronously) when the waiting queue is full. */
  submit(request: EngineRequest, signal?: AbortSignal): AsyncIterable<TokenEvent>;
  stats(): EngineStats;
  readonly maxModelLen: number;
  /** Stops the step loop after the current step; pending requests end with an error. */
  shutdown(): Promise<void>;
}
