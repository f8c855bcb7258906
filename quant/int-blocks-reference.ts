// The straightforward block quantizer that quantizeRowsInto (int-blocks.ts) replaced: one closure call, one
// roundHalfEven and one Math.min/max per element. Kept as the oracle: the unit tests require byte-identical codes
// and scales from both, and bench/quantizer-bench.ts times them side by side. Not used by the compiler.

import { blockZeroPoint, bytesPerBlock, type BlockQuantized } from './int-blocks.js';
import { absMax, roundHalfEven, scaleFor } from './scale.js';

/** quantizeRowsInto as it was (same contract, same output), element by element. */
export function quantizeRowsIntoReference(dst: BlockQuantized, w: Float32Array, firstRow = 0, rowStride = 1): void {
  const { cols, bits, blockSize, blocksPerRow, data, scales } = dst;
  if (w.length % cols !== 0)
    throw new RangeError(`quantizeRowsIntoReference: ${w.length} values is not a whole number of ${cols}-wide rows`);
  const srcRows = w.length / cols;
  const lastRow = firstRow + (srcRows - 1) * rowStride;
  if (
    !Number.isSafeInteger(firstRow) ||
    firstRow < 0 ||
    !Number.isSafeInteger(rowStride) ||
    rowStride < 1 ||
    lastRow >= dst.rows
  ) {
    throw new RangeError(
      `quantizeRowsIntoReference: rows ${firstRow}..${lastRow} (stride ${rowStride}) outside [0, ${dst.rows})`,
    );
  }
  const codeMax = bits === 8 ? 127 : 7;
  const zeroPoint = blockZeroPoint(bits);
  const blockBytes = bytesPerBlock(bits, blockSize);
  // Code of element `col` of the current block, padding included.
  const code = (srcBase: number, col: number, end: number, scale: number): number => {
    if (col >= end) return zeroPoint;
    const q = roundHalfEven((w[srcBase + col] ?? 0) / scale);
    return Math.min(codeMax, Math.max(-codeMax, q)) + zeroPoint;
  };
  for (let r = 0; r < srcRows; r++) {
    const srcRow = r * cols;
    const dstRow = firstRow + r * rowStride;
    for (let b = 0; b < blocksPerRow; b++) {
      const start = b * blockSize;
      const end = Math.min(start + blockSize, cols);
      const scale = scaleFor(absMax(w, srcRow + start, srcRow + end), codeMax);
      const block = dstRow * blocksPerRow + b;
      scales[block] = scale;
      const out = block * blockBytes;
      const srcBase = srcRow + start;
      const width = end - start;
      if (bits === 8) {
        for (let i = 0; i < blockSize; i++) data[out + i] = code(srcBase, i, width, scale);
      } else {
        for (let j = 0; j < blockBytes; j++) {
          data[out + j] = code(srcBase, 2 * j, width, scale) | (code(srcBase, 2 * j + 1, width, scale) << 4);
        }
      }
    }
  }
}
