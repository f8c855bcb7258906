import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocateBlocks, dequantizeBlocks, quantizeBlocks, quantizeRowsInto, type BlockBits } from './int-blocks.js';

test('8-bit: exact codes, ties to even, zero point 128, padded last block', () => {
  // Row 0: blocks [127, -63.5, 31.75, 0] and [-127, 2.5, pad, pad]; both have scale 127 / 127 = 1.
  const q = quantizeBlocks(new Float32Array([127, -63.5, 31.75, 0, -127, 2.5]), 1, 6, 8, 4);
  assert.equal(q.blocksPerRow, 2);
  assert.deepEqual([...q.data], [255, 64, 160, 128, 1, 130, 128, 128]);
  assert.deepEqual([...q.scales], [1, 1]);
  assert.deepEqual([...dequantizeBlocks(q)], [127, -64, 32, 0, -127, 2]);
});

test('4-bit: zero point 8, two values per byte, low nibble first', () => {
  const q = quantizeBlocks(new Float32Array([7, -7, 3.5, 1, -2.5, 0]), 1, 6, 4, 4);
  // Block 0 (scale 1): codes 15, 1, 12, 9 → bytes 0x1F, 0x9C. Block 1 (scale 2.5/7): codes 1, 8, pad 8, 8.
  assert.deepEqual([...q.data], [0x1f, 0x9c, 0x81, 0x88]);
  assert.deepEqual([...q.scales], [1, Math.fround(2.5 / 7)]);
  const pair = quantizeBlocks(new Float32Array([7, 1]), 1, 2, 4, 2);
  assert.equal(pair.data[0], (7 + 8) | ((1 + 8) << 4));
  assert.equal(quantizeBlocks(new Float32Array([-7, 7]), 1, 2, 4, 2).data[0], 0xf1);
});

test('layout: [rows, blocksPerRow, blockSize·bits/8] bytes, scales [rows, blocksPerRow]; zero blocks get scale 1', () => {
  const rows = 3;
  const cols = 10;
  const w = new Float32Array(rows * cols);
  w[cols + 9] = -5; // row 1, block 2 (cols 8..9 plus two padding slots)
  for (const bits of [4, 8] as const) {
    const q = quantizeBlocks(w, rows, cols, bits, 4);
    assert.equal(q.blocksPerRow, 3);
    assert.equal(q.data.length, (rows * 3 * (4 * bits)) / 8);
    assert.equal(q.scales.length, rows * 3);
    assert.deepEqual([...q.scales], [1, 1, 1, 1, 1, Math.fround(5 / (bits === 8 ? 127 : 7)), 1, 1, 1]);
    const zero = bits === 8 ? 128 : 0x88;
    const blockBytes = (4 * bits) / 8;
    const lastBlockOfRow1 = q.data.subarray(5 * blockBytes, 6 * blockBytes);
    if (bits === 8) assert.deepEqual([...lastBlockOfRow1], [128, 1, 128, 128]);
    else assert.deepEqual([...lastBlockOfRow1], [0x18, 0x88]); // col 8 (zero) low, col 9 (−7 → 1) high
    assert.equal(q.data.filter((byte) => byte === zero).length, q.data.length - 1);
    assert.deepEqual(dequantizeBlocks(q), w);
  }
  assert.throws(() => quantizeBlocks(new Float32Array(6), 1, 6, 4, 3), RangeError);
  assert.throws(() => quantizeBlocks(new Float32Array(5), 1, 6, 8, 4), RangeError);
});

test('property: round-trip error ≤ scale / 2 per element, any shape and block size', () => {
  const arbitrary = fc.record({
    rows: fc.integer({ min: 1, max: 5 }),
    cols: fc.integer({ min: 1, max: 70 }),
    bits: fc.constantFrom<BlockBits>(4, 8),
    blockSize: fc.constantFrom(2, 4, 16, 32),
    magnitude: fc.constantFrom(1e-3, 1, 300),
    seed: fc.integer(),
  });
  fc.assert(
    fc.property(arbitrary, ({ rows, cols, bits, blockSize, magnitude, seed }) => {
      let state = seed >>> 0;
      const w = Float32Array.from({ length: rows * cols }, () => {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        return (state / 2 ** 32 - 0.5) * magnitude;
      });
      const q = quantizeBlocks(w, rows, cols, bits, blockSize);
      const back = dequantizeBlocks(q);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const scale = q.scales[r * q.blocksPerRow + Math.floor(c / blockSize)] ?? 0;
          const value = w[r * cols + c] ?? 0;
          const error = Math.abs((back[r * cols + c] ?? 0) - value);
          // Besides the half step, the float32 dequantized value carries its own rounding: half an ulp of up to
          // |value| + scale / 2, i.e. ≤ 2⁻²⁴ of it (bounded here by 2⁻²³ · (|value| + scale)).
          if (error > scale / 2 + (Math.abs(value) + scale) * 2 ** -23) return false;
        }
      }
      return true;
    }),
    // The first example is the tie CI found: 0.28847 / scale = 82.5 rounds to 82, and 82 · scale in float32 sits
    // 1e-8 past scale / 2.
    { numRuns: 300, examples: [[{ rows: 1, cols: 4, bits: 8, blockSize: 4, magnitude: 1, seed: 1644710516 }]] },
  );
});

test('quantizeRowsInto stacks experts and interleaves gate/up rows at a stride', () => {
  const experts = 2;
  const inter = 3;
  const hidden = 8;
  const gate = (e: number): Float32Array =>
    Float32Array.from({ length: inter * hidden }, (_, i) => Math.sin(e * 100 + i));
  const up = (e: number): Float32Array =>
    Float32Array.from({ length: inter * hidden }, (_, i) => Math.cos(e * 100 + i));
  const fc1 = allocateBlocks(experts * 2 * inter, hidden, 4, 4);
  for (let e = 0; e < experts; e++) {
    quantizeRowsInto(fc1, gate(e), e * 2 * inter, 2);
    quantizeRowsInto(fc1, up(e), e * 2 * inter + 1, 2);
  }
  // The same weight interleaved by hand: row 2j is gate row j, row 2j + 1 is up row j.
  const interleaved = new Float32Array(experts * 2 * inter * hidden);
  for (let e = 0; e < experts; e++) {
    for (let j = 0; j < inter; j++) {
      interleaved.set(gate(e).subarray(j * hidden, (j + 1) * hidden), (e * 2 * inter + 2 * j) * hidden);
      interleaved.set(up(e).subarray(j * hidden, (j + 1) * hidden), (e * 2 * inter + 2 * j + 1) * hidden);
    }
  }
  const whole = quantizeBlocks(interleaved, experts * 2 * inter, hidden, 4, 4);
  assert.deepEqual(fc1.data, whole.data); // [E, 2I, H / 2] bytes
  assert.deepEqual(fc1.scales, whole.scales); // [E, 2I, H / 4]
  assert.throws(() => quantizeRowsInto(fc1, gate(0), 1, 6), RangeError); // rows 1, 7, 13: past the end
  // Unwritten rows of a fresh allocation dequantize to zero.
  assert.ok(dequantizeBlocks(allocateBlocks(2, 5, 8, 4)).every((v) => v === 0));
});

test('byte-identical to the reference quantizer: random weights, exact .5 ties, odd widths and padding, strides', async () => {
  const { quantizeRowsIntoReference } = await import('./int-blocks-reference.js');
  const arbitrary = fc.record({
    rows: fc.integer({ min: 1, max: 6 }),
    cols: fc.integer({ min: 1, max: 90 }),
    bits: fc.constantFrom<BlockBits>(4, 8),
    blockSize: fc.constantFrom(2, 4, 6, 16, 32, 64),
    kind: fc.constantFrom('random', 'ties', 'mixed'),
    exponent: fc.integer({ min: -20, max: 20 }),
    rowStride: fc.integer({ min: 1, max: 3 }),
    seed: fc.integer(),
  });
  let ties = 0;
  fc.assert(
    fc.property(arbitrary, ({ rows, cols, bits, blockSize, kind, exponent, rowStride, seed }) => {
      let state = seed >>> 0;
      const next = (): number => {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        return state / 2 ** 32;
      };
      const codeMax = bits === 8 ? 127 : 7;
      const unit = 2 ** exponent; // a power of two: scale = codeMax · unit / codeMax is exact, so k/2 · unit is an exact tie
      const w = Float32Array.from({ length: rows * cols }, (_, i) => {
        const tie = kind === 'ties' || (kind === 'mixed' && next() < 0.5);
        if ((i % cols) % blockSize === 0 && tie) return (next() < 0.5 ? -1 : 1) * codeMax * unit; // pins the block's absmax
        if (tie) return (Math.floor(next() * 2 * codeMax) - codeMax + (next() < 0.7 ? 0.5 : 0)) * unit; // within ±codeMax
        return (next() - 0.5) * 2 * codeMax * unit;
      });
      const fast = allocateBlocks(rows * rowStride, cols, bits, blockSize);
      const reference = allocateBlocks(rows * rowStride, cols, bits, blockSize);
      quantizeRowsInto(fast, w, rowStride - 1, rowStride);
      quantizeRowsIntoReference(reference, w, rowStride - 1, rowStride);
      if (kind !== 'random') ties++;
      return (
        Buffer.compare(fast.data, reference.data) === 0 &&
        Buffer.compare(Buffer.from(fast.scales.buffer), Buffer.from(reference.scales.buffer)) === 0
      );
    }),
    { numRuns: 500 },
  );
  assert.ok(ties > 100);
  // Scales at the edges: all-zero blocks, float32 underflow (scale 1, codes 0), huge values, ±Infinity.
  for (const bits of [4, 8] as const) {
    const w = new Float32Array([0, 0, 0, 0, 1e-45, -1e-45, 1e-44, 0, 3e38, -3e38, 1.5e38, 2.5, Infinity, -1, 0.5, 2]);
    const fast = allocateBlocks(4, 4, bits, 4);
    const reference = allocateBlocks(4, 4, bits, 4);
    quantizeRowsInto(fast, w);
    quantizeRowsIntoReference(reference, w);
    assert.deepEqual([...fast.data], [...reference.data]);
    assert.deepEqual([...fast.scales], [...reference.scales]);
  }
});
