// Lays a ragged step (sequences back to back) out for the graph. Token-wise layers run on the N real tokens;
// only attention needs a [B, T] block per sequence, which the graph gathers through `padIndex` and scatters back
// through `unpadIndex`.
//
// Bucketed (shape-buckets.ts), every dynamic dimension is padded up to its bucket so the graph sees few shapes:
//   N: padding tokens (id 0, position 0) after the real ones; their unpadIndex reads slot 0, their latent rows are
//      never stored (the worker stores only slotMapping's rows) and no logits index names them;
//   B: padding sequences with one query slot (token 0), no cached tokens and block 0, so their attention row is
//      finite and no real token reads it;
//   T, maxBlocks: as without buckets, padded with token 0 / block 0 and masked by query_lens / context_lens;
//   R: logits indices padded with token 0; the worker returns only the first `numLogits` rows.
// Real tokens, sequences and logits rows keep their indices, so a bucketed step computes the same logits.
import { bucketUp } from './shape-buckets.js';
import type { ForwardInputs } from './types.js';

export interface PackedStep {
  /** Graph N: real tokens plus padding tokens. */
  readonly numTokens: number;
  readonly numRealTokens: number;
  /** Graph B: real sequences plus padding sequences. */
  readonly batch: number;
  /** Padded query length T ≥ the longest queryLen in the step. */
  readonly queryLen: number;
  readonly maxBlocks: number;
  /** Real logits rows (the first numLogits of the graph's R rows). */
  readonly numLogits: number;
  readonly inputIds: BigInt64Array; // [N]
  readonly positions: BigInt64Array; // [N]
  readonly queryLens: BigInt64Array; // [B]
  readonly contextLens: BigInt64Array; // [B]
  readonly blockTable: BigInt64Array; // [B, maxBlocks], padded with block 0 (masked out by context_lens)
  /** [B, T] token index of each padded slot; padding points at token 0 (masked out by query_lens). */
  readonly padIndex: BigInt64Array;
  /** [N] padded slot b·T + t of each token (padding tokens: slot 0). */
  readonly unpadIndex: BigInt64Array;
  readonly logitsIndices: BigInt64Array; // [R] token indices
}

/** The graph's dynamic dimensions of a step: (N, B, T, maxBlocks, R), padded up to their buckets when asked. */
export type StepDims = readonly [
  numTokens: number,
  batch: number,
  queryLen: number,
  maxBlocks: number,
  numLogitRows: number,
];

/** The dimensions packStep gives the graph for these inputs (checked there; here only measured). */
export function stepDims(inputs: ForwardInputs, bucketed = false): StepDims {
  let longest = 0;
  let longestTable = 1;
  let total = 0;
  for (const s of inputs.seqs) {
    longest = Math.max(longest, s.queryLen);
    longestTable = Math.max(longestTable, s.blockTable.length);
    total += s.queryLen;
  }
  const size = bucketed ? bucketUp : (n: number): number => n;
  const numLogits = inputs.logitsIndices.length;
  return [
    size(total),
    size(inputs.seqs.length),
    size(longest),
    size(longestTable),
    numLogits === 0 ? 0 : size(numLogits),
  ];
}

export function packStep(inputs: ForwardInputs, bucketed = false): PackedStep {
  const { seqs } = inputs;
  if (seqs.length === 0) throw new Error('empty step');
  let total = 0;
  for (const s of seqs) {
    if (s.queryLen < 1) throw new Error('every sequence in a step needs at least one new token');
    total += s.queryLen;
  }
  if (total !== inputs.tokenIds.length || total !== inputs.positions.length || total !== inputs.slotMapping.length) {
    throw new Error(`step has ${total} tokens by queryLen but ${inputs.tokenIds.length} ids`);
  }
  const numLogits = inputs.logitsIndices.length;
  const [numTokens, batch, queryLen, maxBlocks, numLogitRows] = stepDims(inputs, bucketed);

  const queryLens = new BigInt64Array(batch).fill(1n); // padding sequences: one query slot
  const contextLens = new BigInt64Array(batch);
  const blockTable = new BigInt64Array(batch * maxBlocks);
  const padIndex = new BigInt64Array(batch * queryLen);
  const unpadIndex = new BigInt64Array(numTokens); // padding tokens read slot 0
  let token = 0;
  seqs.forEach((s, b) => {
    queryLens[b] = BigInt(s.queryLen);
    contextLens[b] = BigInt(s.contextLen);
    s.blockTable.forEach((block, j) => {
      blockTable[b * maxBlocks + j] = BigInt(block);
    });
    for (let t = 0; t < s.queryLen; t++, token++) {
      padIndex[b * queryLen + t] = BigInt(token);
      unpadIndex[token] = BigInt(b * queryLen + t);
    }
  });
  const logitsIndices = new BigInt64Array(numLogitRows);
  inputs.logitsIndices.forEach((i, r) => {
    if (i < 0 || i >= total) throw new Error(`logits index ${i} outside the step's ${total} tokens`);
    logitsIndices[r] = BigInt(i);
  });
  const inputIds = new BigInt64Array(numTokens);
  const positions = new BigInt64Array(numTokens);
  for (let i = 0; i < total; i++) {
    inputIds[i] = BigInt(inputs.tokenIds[i]!);
    positions[i] = BigInt(inputs.positions[i]!);
  }
  return {
    numTokens,
    numRealTokens: total,
    batch,
    queryLen,
    maxBlocks,
    numLogits,
    inputIds,
    positions,
    queryLens,
    contextLens,
    blockTable,
    padIndex,
    unpadIndex,
    logitsIndices,
  };
}
