// Quality of a model variant (quantized weights, fp8 cache) against a reference on the same inputs,
// teacher-forced: every row's distribution is compared, whatever either model would have generated.
import { slotOf } from '../cache/block-pool.js';
import type { BlockId, Executor } from '../model/executor/types.js';
import { stepLogits } from '../model/executor/types.js';
import { argmax, logSoftmax } from '../sampling/index.js';

export interface QualityMetrics {
  readonly rows: number;
  /** Fraction of rows whose most likely token is the same. */
  readonly top1Agreement: number;
  /** |Δ logprob| of the next token of the sequence (rows that have one). */
  readonly meanAbsDeltaLogprob: number;
  readonly maxAbsDeltaLogprob: number;
  /** Mean KL(reference ‖ candidate) in nats. */
  readonly meanKl: number;
  /** exp(−mean log p(next token)) for each model, over rows with a next token. */
  readonly referencePerplexity: number;
  readonly candidatePerplexity: number;
}

/**
 * Logits of every position of `tokens` (row i: after tokens[0..i]), computed in chunks of at most `chunk`
 * tokens over blocks 0, 1, 2, … of the executor's cache.
 */
export async function teacherForcedLogits(
  executor: Executor,
  tokens: readonly number[],
  chunk = 512,
): Promise<Float32Array[]> {
  const { blockSize, numBlocks } = executor.cache;
  const blocksNeeded = Math.ceil(tokens.length / blockSize);
  if (blocksNeeded > numBlocks)
    throw new Error(`${tokens.length} tokens need ${blocksNeeded} cache blocks; the executor has ${numBlocks}`);
  const blockTable = Array.from({ length: blocksNeeded }, (_, i) => i as BlockId);
  const rows: Float32Array[] = [];
  const vocab = executor.vocabSize;
  for (let start = 0; start < tokens.length; start += chunk) {
    const n = Math.min(chunk, tokens.length - start);
    const positions = Int32Array.from({ length: n }, (_, i) => start + i);
    const logits = stepLogits(
      await executor.step({
        tokenIds: Int32Array.from(tokens.slice(start, start + n)),
        positions,
        seqs: [{ queryLen: n, contextLen: start, blockTable: blockTable.slice(0, Math.ceil((start + n) / blockSize)) }],
        slotMapping: positions.map((p) => slotOf(blockTable, p, blockSize)),
        logitsIndices: Int32Array.from({ length: n }, (_, i) => i),
      }),
    );
    for (let i = 0; i < n; i++) rows.push(logits.slice(i * vocab, (i + 1) * vocab));
  }
  return rows;
}

/** Compares candidate rows with reference rows; nextTokens[i] is the token that followed row i (or null). */
export function compareLogits(
  reference: readonly Float32Array[],
  candidate: readonly Float32Array[],
  nextTokens: readonly (number | null)[],
): QualityMetrics {
  if (reference.length !== candidate.length)
    throw new Error(`${reference.length} reference rows vs ${candidate.length} candidate rows`);
  const vocab = reference[0]?.length ?? 0;
  const lpRef = new Float32Array(vocab);
  const lpCand = new Float32Array(vocab);
  let agree = 0;
  let kl = 0;
  let deltaSum = 0;
  let deltaMax = 0;
  let scored = 0;
  let nllRef = 0;
  let nllCand = 0;
  reference.forEach((ref, i) => {
    const cand = candidate[i]!;
    if (argmax(ref) === argmax(cand)) agree++;
    logSoftmax(ref, lpRef);
    logSoftmax(cand, lpCand);
    let rowKl = 0;
    for (let v = 0; v < vocab; v++) {
      const p = Math.exp(lpRef[v]!);
      if (p > 0) rowKl += p * (lpRef[v]! - lpCand[v]!);
    }
    kl += rowKl;
    const next = nextTokens[i];
    if (next !== null && next !== undefined) {
      const d = Math.abs(lpCand[next]! - lpRef[next]!);
      deltaSum += d;
      deltaMax = Math.max(deltaMax, d);
      nllRef -= lpRef[next]!;
      nllCand -= lpCand[next]!;
      scored++;
    }
  });
  const rows = reference.length;
  return {
    rows,
    top1Agreement: rows === 0 ? 1 : agree / rows,
    meanAbsDeltaLogprob: scored === 0 ? 0 : deltaSum / scored,
    maxAbsDeltaLogprob: deltaMax,
    meanKl: rows === 0 ? 0 : kl / rows,
    referencePerplexity: scored === 0 ? NaN : Math.exp(nllRef / scored),
    candidatePerplexity: scored === 0 ? NaN : Math.exp(nllCand / scored),
  };
}
