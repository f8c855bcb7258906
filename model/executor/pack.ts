// Lays a ragged step (sequences back to back) out for the graph. Token-wise layers run on the N real tokens;
// only attention needs a [B, T] block per sequence, which the graph gathers through `padIndex` and scatters back
// through `unpadIndex`.
import type { ForwardInputs } from './types.js';

export interface PackedStep {
  readonly numTokens: number;
  readonly batch: number;
  /** Padded query length T = the longest queryLen in the step. */
  readonly queryLen: number;
  readonly maxBlocks: number;
  readonly inputIds: BigInt64Array; // [N]
  readonly positions: BigInt64Array; // [N]
  readonly queryLens: BigInt64Array; // [B]
  readonly contextLens: BigInt64Array; // [B]
  readonly blockTable: BigInt64Array; // [B, maxBlocks], padded with block 0 (masked out by context_lens)
  /** [B, T] token index of each padded slot; padding points at token 0 (masked out by query_lens). */
  readonly padIndex: BigInt64Array;
  /** [N] padded slot b·T + t of each token. */
  readonly unpadIndex: BigInt64Array;
  readonly logitsIndices: BigInt64Array; // [R] token indices
}

export function packStep(inputs: ForwardInputs): PackedStep {
  const { seqs } = inputs;
  const batch = seqs.length;
  if (batch === 0) throw new Error('empty step');
  let queryLen = 0;
  let maxBlocks = 1;
  let total = 0;
  for (const s of seqs) {
    if (s.queryLen < 1) throw new Error('every sequence in a step needs at least one new token');
    queryLen = Math.max(queryLen, s.queryLen);
    maxBlocks = Math.max(maxBlocks, s.blockTable.length);
    total += s.queryLen;
  }
  if (total !== inputs.tokenIds.length || total !== inputs.positions.length || total !== inputs.slotMapping.length) {
    throw new Error(`step has ${total} tokens by queryLen but ${inputs.tokenIds.length} ids`);
  }
  const queryLens = new BigInt64Array(batch);
  const contextLens = new BigInt64Array(batch);
  const blockTable = new BigInt64Array(batch * maxBlocks);
  const padIndex = new BigInt64Array(batch * queryLen);
  const unpadIndex = new BigInt64Array(total);
  let token = 0;
  seqs.forEach((s, b) => {
    queryLens[b] = BigInt(s.queryLen);
    contextLens[b] = BigInt(s.contextLen);
    s.blockTable.forEach((block, j) => { blockTable[b * maxBlocks + j] = BigInt(block); });
    for (let t = 0; t < s.queryLen; t++, token++) {
      padIndex[b * queryLen + t] = BigInt(token);
      unpadIndex[token] = BigInt(b * queryLen + t);
    }
  });
  const logitsIndices = new BigInt64Array(inputs.logitsIndices.length);
  inputs.logitsIndices.forEach((i, r) => {
    if (i < 0 || i >= total) throw new Error(`logits index ${i} outside the step's ${total} tokens`);
    logitsIndices[r] = BigInt(i);
  });
  return {
    numTokens: total, batch, queryLen, maxBlocks,
    inputIds: BigInt64Array.from(inputs.tokenIds, BigInt),
    positions: BigInt64Array.from(inputs.positions, BigInt),
    queryLens, contextLens, blockTable, padIndex, unpadIndex, logitsIndices,
  };
}
