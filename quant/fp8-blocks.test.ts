import { test } from 'node:test';
import assert from 'node:assert/strict';
import { E4M3_TABLE } from './e4m3.js';
import { dequantizeFp8Blocks, fp8ScaleInvShape, quantizeFp8Blocks } from './fp8-blocks.js';

/** Deterministic values with a per-row magnitude spread, so blocks get different scales. */
function weight(rows: number, cols: number): Float32Array {
  let state = 12345;
  return Float32Array.from({ length: rows * cols }, (_, i) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 - 0.5) * 2 ** ((Math.floor(i / cols) % 7) - 3);
  });
}

/** E4M3 keeps 3 mantissa bits: half an ulp is 2^−4 relative, or half a subnormal step (2^−10 · scale). */
function assertWithinE4M3(actual: Float32Array, expected: Float32Array, scaleOf: (i: number) => number): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((value, i) => {
    const bound = Math.max(Math.abs(value) * 2 ** -4, scaleOf(i) * 2 ** -10) * (1 + 2 ** -20);
    assert.ok(Math.abs((actual[i] ?? 0) - value) <= bound, `${i}: ${actual[i]} vs ${value}`);
  });
}

test('round trip within E4M3 precision, edge blocks when rows and cols are not multiples of 128', () => {
  const rows = 130;
  const cols = 260;
  const w = weight(rows, cols);
  const { codes, scaleInv } = quantizeFp8Blocks(w, rows, cols);
  assert.deepEqual(fp8ScaleInvShape(rows, cols), [2, 3]);
  assert.equal(codes.length, rows * cols);
  assert.equal(scaleInv.length, 6);
  // Each scale is absmax / 448 of exactly its (possibly partial) block.
  for (let br = 0; br < 2; br++) {
    for (let bc = 0; bc < 3; bc++) {
      let max = 0;
      for (let r = br * 128; r < Math.min(rows, br * 128 + 128); r++) {
        for (let c = bc * 128; c < Math.min(cols, bc * 128 + 128); c++)
          max = Math.max(max, Math.abs(w[r * cols + c] ?? 0));
      }
      assert.equal(scaleInv[br * 3 + bc], Math.fround(max / 448), `block ${br},${bc}`);
    }
  }
  const back = dequantizeFp8Blocks(codes, rows, cols, scaleInv);
  const scaleOf = (i: number): number => scaleInv[Math.floor(i / cols / 128) * 3 + Math.floor((i % cols) / 128)] ?? 0;
  assertWithinE4M3(back, w, scaleOf);
  // Every block's absmax element lands on ±448 exactly.
  assert.equal(codes.filter((code) => (code & 0x7f) === 0x7e).length >= 6, true);
});

test('rows may be quantized in bands of 128: codes and scale rows concatenate', () => {
  const rows = 300;
  const cols = 40;
  const w = weight(rows, cols);
  const whole = quantizeFp8Blocks(w, rows, cols);
  const first = quantizeFp8Blocks(w.subarray(0, 256 * cols), 256, cols);
  const rest = quantizeFp8Blocks(w.subarray(256 * cols), rows - 256, cols);
  assert.deepEqual(whole.codes, Uint8Array.from([...first.codes, ...rest.codes]));
  assert.deepEqual(whole.scaleInv, Float32Array.from([...first.scaleInv, ...rest.scaleInv]));
});

test('small blocks by hand; exact values stay exact; zero blocks get scale_inv 1', () => {
  // [2, 3] weight, block 2: blocks {0,1}×{0,1} and {0,1}×{2}.
  const w = new Float32Array([448, -224, 0, 1, 0.5, 0]);
  const { codes, scaleInv } = quantizeFp8Blocks(w, 2, 3, 2);
  assert.deepEqual([...scaleInv], [1, 1]);
  assert.deepEqual([...codes], [0x7e, 0xf6, 0x00, 0x38, 0x30, 0x00]);
  assert.deepEqual([...dequantizeFp8Blocks(codes, 2, 3, scaleInv, 2)], [448, -224, 0, 1, 0.5, 0]);
  assert.equal(E4M3_TABLE[0xf6], -224);
  assert.throws(() => dequantizeFp8Blocks(codes, 2, 3, new Float32Array(1), 2), RangeError);
  assert.throws(() => quantizeFp8Blocks(w, 3, 3), RangeError);
});
