import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { packStep, stepDims } from './pack.js';
import type { BlockId, ForwardInputs, SequenceSlice } from './types.js';

const blocks = (...ids: number[]): BlockId[] => ids as BlockId[];
const big = (a: BigInt64Array): number[] => Array.from(a, Number);

/** A ragged step: the i-th sequence's tokens are contiguous, ids and slots are made up but distinct. */
function step(seqs: SequenceSlice[], logitsIndices: number[], ids?: number[], positions?: number[]): ForwardInputs {
  const total = seqs.reduce((n, s) => n + s.queryLen, 0);
  const pos: number[] = [];
  for (const s of seqs) for (let t = 0; t < s.queryLen; t++) pos.push(s.contextLen + t);
  return {
    tokenIds: Int32Array.from(ids ?? Array.from({ length: total }, (_, i) => 100 + i)),
    positions: Int32Array.from(positions ?? pos),
    seqs,
    slotMapping: Int32Array.from({ length: total }, (_, i) => 1000 + i),
    logitsIndices: Int32Array.from(logitsIndices),
  };
}

// Three sequences: a 3-token chunk, a 1-token decode, a 2-token fresh prefill.
const ragged: SequenceSlice[] = [
  { queryLen: 3, contextLen: 5, blockTable: blocks(7, 8) },
  { queryLen: 1, contextLen: 10, blockTable: blocks(1, 2, 3) },
  { queryLen: 2, contextLen: 0, blockTable: blocks(4) },
];

test('token-wise inputs stay ragged; per-sequence lengths are recorded', () => {
  const p = packStep(step(ragged, [2, 3, 5], [10, 11, 12, 13, 14, 15]));
  assert.equal(p.numTokens, 6);
  assert.equal(p.batch, 3);
  assert.equal(p.queryLen, 3);
  assert.deepEqual(big(p.inputIds), [10, 11, 12, 13, 14, 15]);
  assert.deepEqual(big(p.positions), [5, 6, 7, 10, 0, 1]);
  assert.deepEqual(big(p.queryLens), [3, 1, 2]);
  assert.deepEqual(big(p.contextLens), [5, 10, 0]);
});

test('padIndex maps padded slots to tokens (padding → token 0) and unpadIndex maps back', () => {
  const p = packStep(step(ragged, [0]));
  // [B=3, T=3]
  assert.deepEqual(big(p.padIndex), [0, 1, 2, 3, 0, 0, 4, 5, 0]);
  assert.deepEqual(big(p.unpadIndex), [0, 1, 2, 3, 6, 7]);
});

test('logits indices stay token indices, order kept', () => {
  const p = packStep(step(ragged, [5, 2, 3, 0]));
  assert.deepEqual(big(p.logitsIndices), [5, 2, 3, 0]);
});

test('block tables are padded with block 0 to the longest table', () => {
  const p = packStep(step(ragged, [0]));
  assert.equal(p.maxBlocks, 3);
  assert.deepEqual(big(p.blockTable), [7, 8, 0, 1, 2, 3, 4, 0, 0]);
});

test('a step whose sequences have no blocks still gets a one-column table', () => {
  const p = packStep(step([{ queryLen: 2, contextLen: 0, blockTable: [] }], [1]));
  assert.equal(p.maxBlocks, 1);
  assert.deepEqual(big(p.blockTable), [0]);
});

test('an all-decode step has T = 1 and no padding', () => {
  const seqs: SequenceSlice[] = [
    { queryLen: 1, contextLen: 4, blockTable: blocks(0) },
    { queryLen: 1, contextLen: 9, blockTable: blocks(1, 2) },
  ];
  const p = packStep(step(seqs, [0, 1]));
  assert.equal(p.queryLen, 1);
  assert.deepEqual(big(p.padIndex), [0, 1]);
  assert.deepEqual(big(p.unpadIndex), [0, 1]);
});

test('rejects an empty step', () => {
  assert.throws(() => packStep(step([], [])), /empty step/);
});

test('rejects a sequence with no new tokens', () => {
  assert.throws(
    () => packStep(step([{ queryLen: 0, contextLen: 3, blockTable: blocks(0) }], [])),
    /at least one new token/,
  );
});

test('rejects mismatched token arrays', () => {
  const good = step(ragged, [0]);
  assert.throws(() => packStep({ ...good, tokenIds: good.tokenIds.subarray(1) }), /6 tokens by queryLen but 5 ids/);
  assert.throws(() => packStep({ ...good, positions: good.positions.subarray(1) }), /tokens by queryLen/);
  assert.throws(() => packStep({ ...good, slotMapping: good.slotMapping.subarray(1) }), /tokens by queryLen/);
});

test('rejects logits indices outside the step', () => {
  assert.throws(() => packStep(step(ragged, [6])), /logits index 6 outside the step's 6 tokens/);
  assert.throws(() => packStep(step(ragged, [-1])), /logits index -1/);
});

test('property: unpadIndex and padIndex are inverse on real tokens', () => {
  const seqArb = fc.array(
    fc.record({
      queryLen: fc.integer({ min: 1, max: 6 }),
      contextLen: fc.integer({ min: 0, max: 20 }),
      nBlocks: fc.integer({ min: 0, max: 4 }),
    }),
    { minLength: 1, maxLength: 6 },
  );
  fc.assert(
    fc.property(seqArb, (specs) => {
      const seqs = specs.map((s) => ({
        queryLen: s.queryLen,
        contextLen: s.contextLen,
        blockTable: blocks(...Array.from({ length: s.nBlocks }, (_, i) => i)),
      }));
      const p = packStep(step(seqs, [0]));
      let token = 0;
      seqs.forEach((s, b) => {
        for (let t = 0; t < p.queryLen; t++) {
          const slot = b * p.queryLen + t;
          if (t < s.queryLen) {
            assert.equal(Number(p.padIndex[slot]), token);
            assert.equal(Number(p.unpadIndex[token]), slot);
            token++;
          } else {
            assert.equal(Number(p.padIndex[slot]), 0);
          }
        }
      });
      assert.equal(token, p.numTokens);
    }),
  );
});

test('bucketed: every dynamic dimension is padded to its bucket, real entries keep their indices', () => {
  // 9 sequences (→ B 10), 11 tokens (→ N 12), longest chunk 3, longest table 9 blocks (→ 10), 9 logits (→ 10).
  const seqs: SequenceSlice[] = [
    { queryLen: 3, contextLen: 5, blockTable: blocks(7, 8) },
    ...Array.from({ length: 8 }, (_, i) => ({
      queryLen: 1,
      contextLen: 500,
      blockTable: blocks(...Array.from({ length: 9 }, (_, j) => 20 + i + j)),
    })),
  ];
  const plain = packStep(step(seqs, [2, 3, 4, 5, 6, 7, 8, 9, 10]));
  const p = packStep(step(seqs, [2, 3, 4, 5, 6, 7, 8, 9, 10]), true);
  assert.deepEqual(
    [p.numTokens, p.numRealTokens, p.batch, p.queryLen, p.maxBlocks, p.logitsIndices.length, p.numLogits],
    [12, 11, 10, 3, 10, 10, 9],
  );
  assert.deepEqual([plain.numTokens, plain.batch, plain.maxBlocks, plain.logitsIndices.length], [11, 9, 9, 9]);
  assert.deepEqual(big(p.inputIds).slice(0, 11), big(plain.inputIds));
  assert.deepEqual(big(p.inputIds).slice(11), [0]);
  assert.deepEqual(big(p.unpadIndex), [...big(plain.unpadIndex), 0], 'padding tokens read slot 0');
  assert.deepEqual(big(p.padIndex).slice(0, 27), big(plain.padIndex));
  assert.deepEqual(big(p.padIndex).slice(27), [0, 0, 0], 'the padding sequence queries token 0');
  assert.deepEqual(big(p.queryLens), [...big(plain.queryLens), 1]);
  assert.deepEqual(big(p.contextLens), [...big(plain.contextLens), 0]);
  assert.deepEqual(big(p.blockTable).slice(10, 20), [20, 21, 22, 23, 24, 25, 26, 27, 28, 0]);
  assert.deepEqual(big(p.logitsIndices), [2, 3, 4, 5, 6, 7, 8, 9, 10, 0]);
});

test('bucketed: a step without logits rows keeps R = 0', () => {
  const p = packStep(step([{ queryLen: 9, contextLen: 0, blockTable: blocks(0) }], []), true);
  assert.equal(p.logitsIndices.length, 0);
  assert.equal(p.numTokens, 10);
});

test('property: stepDims gives the dimensions packStep lays out, plain and bucketed', () => {
  const seqArb = fc.array(
    fc.record({ queryLen: fc.integer({ min: 1, max: 40 }), nBlocks: fc.integer({ min: 0, max: 30 }) }),
    { minLength: 1, maxLength: 20 },
  );
  fc.assert(
    fc.property(seqArb, fc.boolean(), fc.integer({ min: 0, max: 3 }), (specs, bucketed, numLogits) => {
      const seqs = specs.map((s) => ({
        queryLen: s.queryLen,
        contextLen: 0,
        blockTable: blocks(...Array.from({ length: s.nBlocks }, (_, i) => i)),
      }));
      const tokens = specs.reduce((n, s) => n + s.queryLen, 0);
      const logits = Array.from({ length: numLogits }, (_, i) => i % tokens); // a one-token step may still ask for rows
      const p = packStep(step(seqs, logits), bucketed);
      assert.deepEqual(stepDims(step(seqs, logits), bucketed), [
        p.numTokens,
        p.batch,
        p.queryLen,
        p.maxBlocks,
        p.logitsIndices.length,
      ]);
    }),
  );
});
