import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dequantizeBlocks, quantizeBlocks } from './int-blocks.js';
import { channelsFromRowBlocks, dequantizeChannels } from './int8-channels.js';

test('codes are the row blocks minus the zero point, transposed to [cols, rows]; one scale per row', () => {
  // Row 0 has absmax 127 (scale 1), row 1 absmax 2.54 (scale 0.02).
  const w = new Float32Array([127, -63.5, 2, 0, 1, -2.54]);
  const q = channelsFromRowBlocks(quantizeBlocks(w, 2, 3, 8, 3));
  assert.deepEqual([...q.scales], [1, Math.fround(2.54 / 127)]);
  // q[0] = [127, -64, 2] (ties to even), q[1] = [0, 50, -127]; stored column by column.
  assert.deepEqual([...q.codes], [127, 0, -64, 50, 2, -127]);
});

test('dequantized channels equal the row blocks they came from, for any shape and tile edge', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 150 }),
      fc.integer({ min: 1, max: 150 }),
      fc.integer({ min: 0, max: 2 ** 31 }),
      (rows, cols, seed) => {
        const w = new Float32Array(rows * cols);
        let s = seed;
        for (let i = 0; i < w.length; i++) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          w[i] = (s / 2 ** 32 - 0.5) * (1 + (i % 7));
        }
        const blocks = quantizeBlocks(w, rows, cols, 8, cols);
        const q = channelsFromRowBlocks(blocks);
        assert.deepEqual(dequantizeChannels(q), dequantizeBlocks(blocks));
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            const err = Math.abs(
              (w[r * cols + c] as number) - (q.codes[c * rows + r] as number) * (q.scales[r] as number),
            );
            assert.ok(err <= (q.scales[r] as number) / 2 + 2 ** -20, `row ${r} col ${c}: error ${err}`);
          }
        }
      },
    ),
    { numRuns: 60 },
  );
});

test('refuses 4-bit codes and rows cut into several blocks', () => {
  const w = new Float32Array(8).fill(1);
  assert.throws(() => channelsFromRowBlocks(quantizeBlocks(w, 2, 4, 4, 4)), /8-bit codes with one block per row/);
  assert.throws(() => channelsFromRowBlocks(quantizeBlocks(w, 2, 4, 8, 2)), /one block per row/);
});
