import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyBitmask } from './bitmask.js';

function maskOf(allowed: readonly number[], vocab: number): Int32Array {
  const mask = new Int32Array(Math.ceil(vocab / 32));
  for (const id of allowed) mask[id >> 5]! |= 1 << (id & 31);
  return mask;
}

test('applyBitmask keeps exactly the allowed ids, across word boundaries and a partial last word', () => {
  const vocab = 70;
  const allowed = [0, 31, 32, 33, 63, 64, 69];
  const row = Float32Array.from({ length: vocab }, (_, i) => i / 10);
  assert.equal(applyBitmask(row, maskOf(allowed, vocab), 0, 3), true);
  for (let i = 0; i < vocab; i++) assert.equal(Number.isFinite(row[i]!), allowed.includes(i), `id ${i}`);
});

test('applyBitmask reads the mask at an offset (one bitmask per constrained row of the step)', () => {
  const vocab = 40;
  const masks = new Int32Array(4);
  masks.set(maskOf([1], vocab), 0);
  masks.set(maskOf([5, 39], vocab), 2);
  const row = new Float32Array(vocab);
  applyBitmask(row, masks, 2, 2);
  assert.deepEqual(
    [...row.keys()].filter((i) => row[i] !== -Infinity),
    [5, 39],
  );
});

test('applyBitmask: an all-allowed word leaves logits alone; a row whose allowed tokens are all -inf is reported', () => {
  const row = new Float32Array(32).fill(1);
  assert.equal(applyBitmask(row, Int32Array.of(-1), 0, 1), true);
  assert.ok(row.every((v) => v === 1));
  const dead = new Float32Array(32).fill(0);
  dead[3] = -Infinity;
  assert.equal(applyBitmask(dead, maskOf([3], 32), 0, 1), false);
});
