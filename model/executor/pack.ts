// Turns a ragged step (sequences back to back) into the graph's padded [B, T] layout.
import type { ForwardInputs } from './types.js';

export interface PackedStep {
  readonly batch: number;
  /** Padded query length T = the longest queryLen in the step. */
  readonly queryLen: number;
  readonly maxBlocks: number;
  readonly inputIds: BigInt64Array; // [B, T]
  readonly positions: BigInt64Array; // [B, T]
  readonly queryLens: BigInt64Array; // [B]
  readonly contextLens: BigInt64Array; // [B]
  readonly blockTable: BigInt64Array; // [B, maxBlocks], padded with block 0 (masked out by context_lens)
  readonly logitsIndices: BigInt64Array; // [R] flat padded indices b·T + t
  /** [numTokens] padded row of each ragged token. */
  readonly paddedRow: Int32Array;
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
  const inputIds = new BigInt64Array(batch * queryLen);
  const positions = new BigInt64Array(batch * queryLen);
  const queryLens = new BigInt64Array(batch);
  const contextLens = new BigInt64Array(batch);
  const blockTable = new BigInt64Array(batch * maxBlocks);
  const paddedRow = new Int32Array(total);
  let token = 0;
  seqs.forEach((s, b) => {
    queryLens[b] = BigInt(s.queryLen);
    contextLens[b] = BigInt(s.contextLen);
    s.blockTable.forEach((block, j) => { blockTable[b * maxBlocks + j] = BigInt(block); });
    for (let t = 0; t < s.queryLen; t++, token++) {
      const row = b * queryLen + t;
      paddedRow[token] = row;
      inputIds[row] = BigInt(inputs.tokenIds[token]!);
      positions[row] = BigInt(inputs.positions[token]!);
    }
  });
  const logitsIndices = new BigInt64Array(inputs.logitsIndices.length);
  inputs.logitsIndices.forEach((i, r) => {
    if (i < 0 || i >= total) throw new Error(`logits index ${i} outside the step's ${total} tokens`);
    logitsIndices[r] = BigInt(paddedRow[i]!);
  });
  return { batch, queryLen, maxBlocks, inputIds, positions, queryLens, contextLens, blockTable, logitsIndices, paddedRow };
}
