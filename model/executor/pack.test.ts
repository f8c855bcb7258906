import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { packStep } from './pack.js';
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

test('pads every sequence to the longest queryLen, zero-filling the tail of each row', () => {
  const p = packStep(step(ragged, [2, 3, 5], [10, 11, 12, 13, 14, 15]));
  assert.equal(p.batch, 3);
  assert.equal(p.queryLen, 3);
  // [B=3, T=3]
  assert.deepEqual(big(p.inputIds), [10, 11, 12, 13, 0, 0, 14, 15, 0]);
  assert.deepEqual(big(p.positions), [5, 6, 7, 10, 0, 0, 0, 1, 0]);
  assert.deepEqual(big(p.queryLens), [3, 1, 2]);
  assert.deepEqual(big(p.contextLens), [5, 10, 0]);
});

test('paddedRow maps each ragged token to b·T + t', () => {
  const p = packStep(step(ragged, [0]));
  assert.deepEqual(Array.from(p.paddedRow), [0, 1, 2, 3, 6, 7]);
});

test('logits indices are translated from ragged to padded rows, order kept', () => {
  const p = packStep(step(ragged, [5, 2, 3, 0]));
  assert.deepEqual(big(p.logitsIndices), [7, 2, 3, 0]);
});

test('block tables are padded with block 0 to the longest table', () => {
  const p = packStep(step(ragged, [2]));
  assert.equal(p.maxBlocks, 3);
  // [B=3, maxBlocks=3]
  assert.deepEqual(big(p.blockTable), [7, 8, 0, 1, 2, 3, 4, 0, 0]);
});

test('a step whose sequences have no blocks still gets a one-column block table', () => {
  const p = packStep(step([{ queryLen: 2, contextLen: 0, blockTable: [] }], [1]));
  assert.equal(p.maxBlocks, 1);
  assert.deepEqual(big(p.blockTable), [0]);
  assert.deepEqual(big(p.logitsIndices), [1]);
});

test('an all-decode step has T = 1 and no padding', () => {
  const seqs: SequenceSlice[] = [
    { queryLen: 1, contextLen: 3, blockTable: blocks(0) },
    { queryLen: 1, contextLen: 8, blockTable: blocks(5, 6) },
  ];
  const p = packStep(step(seqs, [0, 1], [42, 43]));
  assert.equal(p.queryLen, 1);
  assert.deepEqual(big(p.inputIds), [42, 43]);
  assert.deepEqual(big(p.positions), [3, 8]);
  assert.deepEqual(Array.from(p.paddedRow), [0, 1]);
  assert.deepEqual(big(p.logitsIndices), [0, 1]);
});

test('an empty step is refused', () => {
  assert.throws(() => packStep(step([], [])), /empty step/);
});

test('a sequence with queryLen 0 is refused', () => {
  const seqs: SequenceSlice[] = [
    { queryLen: 2, contextLen: 0, blockTable: blocks(0) },
    { queryLen: 0, contextLen: 4, blockTable: blocks(1) },
  ];
  assert.throws(() => packStep(step(seqs, [0])), /at least one new token/);
});

test('token arrays whose length disagrees with the sum of queryLens are refused', () => {
  const good = step(ragged, [0]);
  assert.throws(() => packStep({ ...good, tokenIds: good.tokenIds.subarray(0, 5) }), /6 tokens/);
  assert.throws(() => packStep({ ...good, positions: Int32Array.from([...good.positions, 9]) }), /6 tokens/);
  assert.throws(() => packStep({ ...good, slotMapping: good.slotMapping.subarray(1) }), /6 tokens/);
});

test('logits indices outside the step are refused', () => {
  assert.throws(() => packStep(step(ragged, [6])), /logits index 6/);
  assert.throws(() => packStep(step(ragged, [0, -1])), /logits index -1/);
});

test('property: every ragged token lands at its padded row; every other cell is zero', () => {
  const seqArb = fc.record({
    queryLen: fc.integer({ min: 1, max: 6 }),
    contextLen: fc.integer({ min: 0, max: 20 }),
    blockTable: fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 5 }),
  });
  fc.assert(fc.property(fc.array(seqArb, { minLength: 1, maxLength: 6 }), (raw) => {
    const seqs: SequenceSlice[] = raw.map((s) => ({ ...s, blockTable: s.blockTable as BlockId[] }));
    const total = seqs.reduce((n, s) => n + s.queryLen, 0);
    const inputs = step(seqs, Array.from({ length: total }, (_, i) => total - 1 - i));
    const p = packStep(inputs);
    const T = Math.max(...seqs.map((s) => s.queryLen));
    assert.equal(p.queryLen, T);
    assert.equal(p.inputIds.length, seqs.length * T);
    const covered = new Set<number>();
    let token = 0;
    seqs.forEach((s, b) => {
      for (let t = 0; t < s.queryLen; t++, token++) {
        const row = p.paddedRow[token]!;
        assert.equal(row, b * T + t);
        assert.equal(Number(p.inputIds[row]), inputs.tokenIds[token]);
        assert.equal(Number(p.positions[row]), inputs.positions[token]);
        covered.add(row);
      }
      for (let j = 0; j < p.maxBlocks; j++) {
        assert.equal(Number(p.blockTable[b * p.maxBlocks + j]), s.blockTable[j] ?? 0);
      }
    });
    for (let row = 0; row < p.inputIds.length; row++) {
      if (!covered.has(row)) assert.equal(p.inputIds[row], 0n);
    }
    assert.deepEqual(big(p.logitsIndices), Array.from(inputs.logitsIndices, (i) => p.paddedRow[i]));
  }), { numRuns: 200 });
});
