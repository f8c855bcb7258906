import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stepWorkingSetBound } from './step-memory.js';

const demo = { numAttentionHeads: 8, rowWidth: 144, widestActivation: 8192 };
const limits = {
  maxNumSeqs: 32,
  maxNumBatchedTokens: 512,
  maxAttentionBlock: 2048 * 512,
  maxModelLen: 4096,
  blockSize: 64,
  shapeBuckets: false,
};

test('the attention block cap bounds the step: the bound follows the cap, not the context window', () => {
  const base = stepWorkingSetBound(limits, demo);
  // 4 × 1 Mi scores × 8 heads × 4 B = 128 MiB, + gathered rows 32 × 4096 × 144 × 4 B = 72 MiB, + 4 × 512 × 8192 × 4 B = 64 MiB
  assert.equal(base, 4 * 2 ** 20 * 8 * 4 + 32 * 4096 * 144 * 4 + 4 * 512 * 8192 * 4);
  assert.ok(stepWorkingSetBound({ ...limits, maxAttentionBlock: 4 * 2 ** 20 }, demo) > base + 300 * 2 ** 20);
});

test('a decode-only batch at the full window can exceed the cap, and buckets pad every dimension', () => {
  const long = { ...limits, maxModelLen: 65536 };
  assert.ok(stepWorkingSetBound(long, demo) > 4 * 32 * 65536 * 8 * 4);
  assert.ok(stepWorkingSetBound({ ...limits, shapeBuckets: true }, demo) > 1.9 * 4 * 2 ** 20 * 8 * 4);
});
