// One prompt, generated to completion: the engine of `latentserve complete`. Prefill runs in chunks of at most
// `maxBatchTokens` (each chunk attends to the rows earlier chunks cached), then one token per decode step.
import { BlockPool, blocksFor, slotOf } from '../cache/block-pool.js';
import type { BlockId, Executor } from '../model/executor/types.js';
import { Rng } from '../model/rng.js';
import type { LogprobEntry } from './sampling.js';
import { logprobEntry } from './logprobs.js';
import { sampleToken } from './sampling.js';

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
  readonly finishReason: 'stop' | 'length';
  readonly logprobs: LogprobEntry[];
  /** Entry j scores prompt token j given the tokens before it; entry 0 is null. Empty unless echo. */
  readonly promptLogprobs: (LogprobEntry | null)[];
}

export async function generateOffline(executor: Executor, promptIds: readonly number[], params: GenerateParams): Promise<GenerateResult> {
  if (promptIds.length === 0) throw new Error('prompt is empty');
  const { blockSize, numBlocks } = executor.cache;
  const pool = new BlockPool(numBlocks);
  const blockTable: BlockId[] = [];
  const rng = new Rng(params.seed ?? Math.floor(Math.random() * 2 ** 32));
  const scratch = new Float32Array(executor.vocabSize);
  const entry = (row: Float32Array, id: number): LogprobEntry => logprobEntry(row, id, params.logprobs ?? 0, scratch);

  const tokens = [...promptIds];
  const result = { tokens: [] as number[], finishReason: 'length' as GenerateResult['finishReason'], logprobs: [] as LogprobEntry[], promptLogprobs: (params.echo ? [null] : []) as (LogprobEntry | null)[] };
  try {
    let computed = 0;
    while (result.tokens.length < params.maxTokens) {
      // Catch the cache up with every known token; the last chunk yields the next token's logits.
      const chunk = Math.min(tokens.length - computed, params.maxBatchTokens);
      const needed = blocksFor(computed + chunk, blockSize) - blockTable.length;
      if (needed > 0) {
        const fresh = pool.allocate(needed);
        if (fresh === null) throw new Error(`cache too small: ${computed + chunk} tokens need ${blocksFor(computed + chunk, blockSize)} blocks of ${numBlocks}`);
        blockTable.push(...fresh);
      }
      const positions = Int32Array.from({ length: chunk }, (_, i) => computed + i);
      const wantPrompt = params.echo && computed < promptIds.length;
      const logitsIndices = wantPrompt ? Int32Array.from({ length: chunk }, (_, i) => i) : Int32Array.of(chunk - 1);
      const { logits } = await executor.step({
        tokenIds: Int32Array.from(tokens.slice(computed, computed + chunk)),
        positions,
        seqs: [{ queryLen: chunk, contextLen: computed, blockTable: [...blockTable] }],
        slotMapping: positions.map((p) => slotOf(blockTable, p, blockSize)),
        logitsIndices,
      });
      const vocab = executor.vocabSize;
      const rowAt = (r: number): Float32Array => logits.subarray(r * vocab, (r + 1) * vocab);
      if (wantPrompt) {
        // Row i predicts token computed + i + 1; those inside the prompt become prompt logprobs.
        for (let i = 0; i < chunk && computed + i + 1 < promptIds.length; i++) {
          result.promptLogprobs.push(entry(rowAt(i), promptIds[computed + i + 1]!));
        }
      }
      computed += chunk;
      if (computed < tokens.length) continue;

      const last = rowAt(logitsIndices.length - 1);
      const id = sampleToken(last, params, rng);
      if (params.logprobs !== null) result.logprobs.push(entry(last, id));
      result.tokens.push(id);
      tokens.push(id);
      if (!params.ignoreEos && params.eosTokenIds.includes(id)) {
        result.finishReason = 'stop';
        break;
      }
    }
  } finally {
    pool.release(blockTable);
  }
  return result;
}
