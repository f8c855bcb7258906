// One prompt, generated to completion through the same engine the server uses: `latentserve complete` and
// the parity tests. Prefill runs in chunks of at most `maxBatchTokens` tokens, then one token per step.
import type { Executor } from '../model/executor/types.js';
import type { TokenizerLike } from './engine.js';
import { LatentEngine } from './engine.js';
import type { LogprobEntry } from '../sampling/index.js';
import type { FinishReason } from './types.js';
import { DEFAULT_SAMPLING } from './types.js';

export interface GenerateParams {
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topP: number;
  readonly seed: number | null;
  /** Number of top alternatives per entry; null for no logprobs. */
  readonly logprobs: number | null;
  readonly echo: boolean;
  readonly ignoreEos: boolean;
  readonly eosTokenIds: readonly number[];
  readonly maxBatchTokens: number;
}

export interface GenerateResult {
  readonly tokens: number[];
  readonly finishReason: FinishReason;
  readonly logprobs: LogprobEntry[];
  /** Entry j scores prompt token j given the tokens before it; entry 0 is null. Empty unless echo. */
  readonly promptLogprobs: (LogprobEntry | null)[];
}

export async function generateOffline(
  executor: Executor,
  tokenizer: TokenizerLike,
  promptIds: readonly number[],
  params: GenerateParams,
): Promise<GenerateResult> {
  const engine = new LatentEngine(
    executor,
    { decode: (ids, opts) => tokenizer.decode(ids, opts), eosTokenIds: params.eosTokenIds },
    {
      maxNumSeqs: 1,
      maxNumBatchedTokens: params.maxBatchTokens,
      maxWaiting: 1,
      maxModelLen: Number.MAX_SAFE_INTEGER, // bounded by what the cache holds
      enablePrefixCaching: false,
    },
  );
  const events = engine.submit({
    id: 'offline',
    promptIds,
    maxTokens: params.maxTokens,
    sampling: { ...DEFAULT_SAMPLING, temperature: params.temperature, topP: params.topP, seed: params.seed },
    stop: [],
    stopTokenIds: [],
    ignoreEos: params.ignoreEos,
    logprobs: params.logprobs,
    promptLogprobs: params.echo ? (params.logprobs ?? 0) : null,
  });
  const result: GenerateResult = { tokens: [], finishReason: 'length', logprobs: [], promptLogprobs: [] };
  for await (const e of events) {
    if (e.type === 'delta') {
      result.tokens.push(...e.tokenIds);
      if (e.logprobs !== null) result.logprobs.push(...e.logprobs);
    } else {
      result.promptLogprobs.push(...(e.promptLogprobs ?? []));
      return { ...result, finishReason: e.reason };
    }
  }
  throw new Error('generation ended without a finish event');
}
