// Symmetric block-wise integer quantization in ONNX Runtime's MatMulNBits weight layout (DESIGN.md §3).
//
// A weight w [rows, cols] (for MatMulNBits rows = N outputs, cols = K inputs) is cut, row by row, into blocks of
// blockSize consecutive columns; the last block of a row is zero-padded when cols % blockSize ≠ 0.
//   scale[r, b] = absmax(block) / qmax            qmax = 127 (8-bit) or 7 (4-bit); float32
//   q           = clamp(roundHalfEven(w / scale), −qmax, qmax)
//   stored code = q + zeroPoint                   zeroPoint = 128 (8-bit) or 8 (4-bit): ORT's default 2^(bits−1)
//   w ≈ (code − zeroPoint) · scale
// An all-zero block gets scale 1 with every code at the zero point (see scaleFor), so scales are always > 0.
// The range is symmetric: code 0 (8-bit −128, 4-bit −8) is never produced.
//
//   data   uint8   [rows, blocksPerRow, blockSize · bits / 8]
//                  4-bit: two values per byte, LOW NIBBLE FIRST: byte j = v[2j] | v[2j+1] << 4
//   scales float32 [rows, blocksPerRow]
//
// quantizeRowsInto writes rows into a larger allocation at a stride, so weights stacked from several tensors
// (experts, interleaved gate/up rows) are quantized without first assembling them in float32.

import { scaleFor } from './scale.js';

export type BlockBits = 4 | 8;

export interface BlockQuantized {
  readonly data: Uint8Array; // [rows, blocksPerRow, blockSize · bits / 8]
  readonly scales: Float32Array; // [rows, blocksPerRow]
  readonly rows: number;
  readonly cols: number;
  readonly bits: BlockBits;
  readonly blockSize: number;
  readonly blocksPerRow: number;
}

export function blockZeroPoint(bits: BlockBits): number {
  return bits === 8 ? 128 : 8;
}

function blockCodeMax(bits: BlockBits): number {
  return bits === 8 ? 127 : 7;
}

/** Bytes of one block's codes: blockSize · bits / 8. */
export function bytesPerBlock(bits: BlockBits, blockSize: number): number {
  return (blockSize * bits) / 8;
}

function checkLayout(rows: number, cols: number, bits: number, blockSize: number): void {
  for (const [name, value] of [
    ['rows', rows],
    ['cols', cols],
    ['blockSize', blockSize],
  ] as const) {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  if (bits !== 4 && bits !== 8) throw new RangeError(`bits must be 4 or 8, got ${bits}`);
  // ORT itself accepts powers of two from 16 up; the layout only needs whole bytes per block.
  if (bits === 4 && blockSize % 2 !== 0) throw new RangeError(`4-bit blocks need an even blockSize, got ${blockSize}`);
}

/**
 * An empty quantized weight: every code at the zero point and every scale 1, so rows not yet written by
 * quantizeRowsInto dequantize to 0.
 */
export function allocateBlocks(rows: number, cols: number, bits: BlockBits, blockSize: number): BlockQuantized {
  checkLayout(rows, cols, bits, blockSize);
  const blocksPerRow = Math.ceil(cols / blockSize);
  const zeroPoint = blockZeroPoint(bits);
  const data = new Uint8Array(rows * blocksPerRow * bytesPerBlock(bits, blockSize));
  data.fill(bits === 8 ? zeroPoint : zeroPoint | (zeroPoint << 4));
  const scales = new Float32Array(rows * blocksPerRow).fill(1);
  return { data, scales, rows, cols, bits, blockSize, blocksPerRow };
}

/**
 * allocateBlocks on SharedArrayBuffers, for worker threads, and NOT filled (all zeros, which is no valid block):
 * the caller must write every row with quantizeRowsInto. Skipping the fill leaves the first touch of each page
 * to the thread that quantizes its rows.
 */
export function allocateSharedBlocksUnfilled(
  rows: number,
  cols: number,
  bits: BlockBits,
  blockSize: number,
): BlockQuantized {
  checkLayout(rows, cols, bits, blockSize);
  const blocksPerRow = Math.ceil(cols / blockSize);
  const data = new Uint8Array(new SharedArrayBuffer(rows * blocksPerRow * bytesPerBlock(bits, blockSize)));
  const scales = new Float32Array(new SharedArrayBuffer(rows * blocksPerRow * 4));
  return { data, scales, rows, cols, bits, blockSize, blocksPerRow };
}

/**
 * Quantizes the rows of `w` [srcRows, dst.cols] into `dst`: source row i lands in row firstRow + i · rowStride.
 * Lets callers stack experts (firstRow = e · rows) or interleave gate/up rows (rowStride 2) without copies.
 * Values must be finite.
 */
export function quantizeRowsInto(dst: BlockQuantized, w: Float32Array, firstRow = 0, rowStride = 1): void {
  const { cols, bits, blockSize, blocksPerRow, data, scales } = dst;
  if (w.length % cols !== 0)
    throw new RangeError(`quantizeRowsInto: ${w.length} values is not a whole number of ${cols}-wide rows`);
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
      `quantizeRowsInto: rows ${firstRow}..${lastRow} (stride ${rowStride}) outside [0, ${dst.rows})`,
    );
  }
  const codeMax = blockCodeMax(bits);
  const zeroPoint = blockZeroPoint(bits);
  const blockBytes = bytesPerBlock(bits, blockSize);
  for (let r = 0; r < srcRows; r++) {
    const srcRow = r * cols;
    const dstRow = firstRow + r * rowStride;
    for (let b = 0; b < blocksPerRow; b++) {
      const src = srcRow + b * blockSize;
      const width = Math.min(blockSize, cols - b * blockSize);
      const scale = scaleFor(blockAbsMax(w, src, src + width), codeMax);
      const block = dstRow * blocksPerRow + b;
      scales[block] = scale;
      const out = block * blockBytes;
      if (bits === 8) {
        for (let i = 0; i < width; i++) data[out + i] = roundedCode(w[src + i] as number, scale, codeMax) + zeroPoint;
        for (let i = width; i < blockSize; i++) data[out + i] = zeroPoint;
      } else {
        // Pairs (2j, 2j + 1); blockSize is even, so only the block's last pair can straddle `width`.
        const fullPairs = width >> 1;
        for (let j = 0; j < fullPairs; j++) {
          const lo = roundedCode(w[src + 2 * j] as number, scale, codeMax) + zeroPoint;
          const hi = roundedCode(w[src + 2 * j + 1] as number, scale, codeMax) + zeroPoint;
          data[out + j] = lo | (hi << 4);
        }
        let j = fullPairs;
        if (width % 2 === 1) {
          data[out + j] = (roundedCode(w[src + width - 1] as number, scale, codeMax) + zeroPoint) | (zeroPoint << 4);
          j++;
        }
        for (; j < blockBytes; j++) data[out + j] = zeroPoint | (zeroPoint << 4);
      }
    }
  }
}

/** absMax (scale.ts) without its `?? 0`: indices here are in range, and NaN still fails `>` so is skipped. */
function blockAbsMax(w: Float32Array, start: number, end: number): number {
  let max = 0;
  for (let i = start; i < end; i++) {
    const a = Math.abs(w[i] as number);
    if (a > max) max = a;
  }
  return max;
}

// 1.5 · 2⁵²: adding and subtracting it rounds any |v| < 2⁵¹ to an integer in the FPU's rounding mode, which for
// JavaScript numbers is round-half-to-even. The value is clamped to ±codeMax first (rounding commutes with a
// clamp to integer bounds), so it is always in range, and NaN stays NaN (stored as 0, as before).
const ROUND_HALF_EVEN = 6755399441055744;

/** clamp(roundHalfEven(value / scale), −codeMax, codeMax), branch-light for the inner loops. */
function roundedCode(value: number, scale: number, codeMax: number): number {
  let v = value / scale;
  v = v > codeMax ? codeMax : v < -codeMax ? -codeMax : v;
  return v + ROUND_HALF_EVEN - ROUND_HALF_EVEN;
}

/** quantizeBlocks's signature: what the graph builder calls, in place or through a BlockQuantizePool. */
export type BlockQuantizer = (
  w: Float32Array,
  rows: number,
  cols: number,
  bits: BlockBits,
  blockSize: number,
) => BlockQuantized;

/** Quantizes w [rows, cols] (row-major) in one go; see the layout at the top of the file. */
export function quantizeBlocks(
  w: Float32Array,
  rows: number,
  cols: number,
  bits: BlockBits,
  blockSize: number,
): BlockQuantized {
  checkLayout(rows, cols, bits, blockSize);
  if (w.length !== rows * cols)
    throw new RangeError(`quantizeBlocks: ${w.length} values for a [${rows}, ${cols}] weight`);
  const out = allocateBlocks(rows, cols, bits, blockSize);
  quantizeRowsInto(out, w);
  return out;
}

/** The weight the codes stand for: [rows, cols] float32, padding dropped. */
export function dequantizeBlocks(q: BlockQuantized): Float32Array {
  const { rows, cols, bits, blockSize, blocksPerRow, data, scales } = q;
  const zeroPoint = blockZeroPoint(bits);
  const blockBytes = bytesPerBlock(bits, blockSize);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const block = r * blocksPerRow + Math.floor(c / blockSize);
      const i = c % blockSize;
      let stored: number;
      if (bits === 8) {
        stored = data[block * blockBytes + i] ?? zeroPoint;
      } else {
        const byte = data[block * blockBytes + (i >> 1)] ?? 0x88;
        stored = i % 2 === 0 ? byte & 0xf : byte >> 4;
      }
      out[r * cols + c] = (stored - zeroPoint) * (scales[block] ?? 1);
    }
  }
  return out;
}
