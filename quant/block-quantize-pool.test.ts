import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockQuantizePool, parseQuantThreads } from './block-quantize-pool.js';
import { quantizeBlocks, type BlockBits } from './int-blocks.js';

function weights(length: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length }, (_, i) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    if (i % 7 === 3) return ((state % 31) - 15 + 0.5) / 8; // exact .5 ties when the block's scale is a power of two
    return (state / 2 ** 32 - 0.5) * (1 + (i % 5));
  });
}

function assertSameBytes(a: ReturnType<typeof quantizeBlocks>, b: ReturnType<typeof quantizeBlocks>): void {
  assert.equal(Buffer.compare(a.data, b.data), 0);
  assert.equal(
    Buffer.compare(
      new Uint8Array(a.scales.buffer, a.scales.byteOffset, a.scales.byteLength),
      new Uint8Array(b.scales.buffer, b.scales.byteOffset, b.scales.byteLength),
    ),
    0,
  );
  assert.deepEqual(
    [a.rows, a.cols, a.bits, a.blockSize, a.blocksPerRow],
    [b.rows, b.cols, b.bits, b.blockSize, b.blocksPerRow],
  );
}

const shapes: [number, number, BlockBits, number][] = [
  [37, 129, 8, 32],
  [37, 129, 4, 32],
  [64, 100, 4, 64],
  [5, 7, 8, 4],
  [301, 33, 4, 16],
  [2, 1, 8, 2],
];

test('pool output is byte-identical to quantizeBlocks: int8/int4, odd widths and padding, chunk edges', () => {
  const pool = new BlockQuantizePool({ threads: 3, minParallelValues: 0, chunkValues: 200, stagingValues: 1000 }); // several windows
  try {
    for (const [i, [rows, cols, bits, blockSize]] of shapes.entries()) {
      const w = weights(rows * cols, i + 1);
      assertSameBytes(
        pool.quantizeBlocks(w, rows, cols, bits, blockSize),
        quantizeBlocks(w, rows, cols, bits, blockSize),
      );
      const shared = new Float32Array(new SharedArrayBuffer(w.byteLength)); // used in place, no staging
      shared.set(w);
      assertSameBytes(
        pool.quantizeBlocks(shared, rows, cols, bits, blockSize),
        quantizeBlocks(w, rows, cols, bits, blockSize),
      );
    }
  } finally {
    pool.close();
  }
});

test('workers alone produce the same bytes (the caller claims no rows)', () => {
  const pool = new BlockQuantizePool({
    threads: 3,
    minParallelValues: 0,
    chunkValues: 64,
    callerQuantizes: false,
    stagingValues: 500,
    stallTimeoutMs: 30_000,
  });
  try {
    for (const [i, [rows, cols, bits, blockSize]] of shapes.entries()) {
      const w = weights(rows * cols, 100 + i);
      assertSameBytes(
        pool.quantizeBlocks(w, rows, cols, bits, blockSize),
        quantizeBlocks(w, rows, cols, bits, blockSize),
      );
      assert.equal(pool.lastWorkerRows, rows < 2 ? 0 : rows);
    }
  } finally {
    pool.close();
  }
});

test('small weights and one thread stay on the caller; bad shapes and thread counts throw', () => {
  const w = weights(40 * 50, 7);
  const inPlace = new BlockQuantizePool({ threads: 1, minParallelValues: 0 }).quantizeBlocks(w, 40, 50, 8, 16);
  assert.ok(!(inPlace.data.buffer instanceof SharedArrayBuffer));
  const small = new BlockQuantizePool({ threads: 4, minParallelValues: 1 << 20 }).quantizeBlocks(w, 40, 50, 8, 16);
  assert.ok(!(small.data.buffer instanceof SharedArrayBuffer));
  const pool = new BlockQuantizePool({ threads: 2, minParallelValues: 0 });
  try {
    assert.throws(() => pool.quantizeBlocks(w, 40, 51, 8, 16), RangeError);
    assert.throws(() => pool.quantizeBlocks(w, 40, 50, 4, 3), RangeError);
  } finally {
    pool.close();
  }
  assert.throws(() => new BlockQuantizePool({ threads: 0 }), RangeError);
  assert.equal(parseQuantThreads(undefined), null);
  assert.equal(parseQuantThreads(' '), null);
  assert.equal(parseQuantThreads('3'), 3);
  assert.throws(() => parseQuantThreads('0'), RangeError);
  assert.throws(() => parseQuantThreads('two'), RangeError);
});
