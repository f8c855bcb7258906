// DeepSeek-V3's FP8 checkpoint format (config quantization_config = {quant_method: "fp8", fmt: "e4m3",
// weight_block_size: [128, 128]}): a linear weight [rows, cols] = [out, in] is stored as
//   <name>            F8_E4M3 codes [rows, cols]
//   <name>_scale_inv  F32           [ceil(rows / block), ceil(cols / block)]
// and w[r, c] = decodeE4M3(code[r, c]) · scaleInv[⌊r / block⌋, ⌊c / block⌋]. Edge blocks are simply smaller (no
// padding is stored). Quantizing takes scaleInv = absmax(block) / 448 in float32 (1 for an all-zero block, see
// scaleFor) and codes = encodeE4M3(w / scaleInv), which saturates rather than producing NaN.
//
// Blocks never straddle a multiple of `block` rows, so a weight may be processed in bands of `block` rows: the
// codes and scaleInv rows of consecutive bands concatenate to those of the whole weight.

import { E4M3_MAX, E4M3_TABLE, encodeE4M3 } from './e4m3.js';
import { scaleFor } from './scale.js';

export const FP8_WEIGHT_BLOCK = 128;

export interface Fp8Blocks {
  readonly codes: Uint8Array; // [rows, cols]
  readonly scaleInv: Float32Array; // [ceil(rows / block), ceil(cols / block)]
}

function checkShape(length: number, rows: number, cols: number, block: number): void {
  for (const [name, value] of [
    ['rows', rows],
    ['cols', cols],
    ['block', block],
  ] as const) {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  if (length !== rows * cols) throw new RangeError(`${length} values for a [${rows}, ${cols}] weight`);
}

/** [ceil(rows / block), ceil(cols / block)]: the shape of a weight's `_scale_inv` companion. */
export function fp8ScaleInvShape(rows: number, cols: number, block = FP8_WEIGHT_BLOCK): [number, number] {
  return [Math.ceil(rows / block), Math.ceil(cols / block)];
}

/** w [rows, cols] float32 from E4M3 codes [rows, cols] and scaleInv [ceil(rows/block), ceil(cols/block)]. */
export function dequantizeFp8Blocks(
  codes: Uint8Array,
  rows: number,
  cols: number,
  scaleInv: Float32Array,
  block = FP8_WEIGHT_BLOCK,
): Float32Array {
  checkShape(codes.length, rows, cols, block);
  const [blockRows, blockCols] = fp8ScaleInvShape(rows, cols, block);
  if (scaleInv.length !== blockRows * blockCols) {
    throw new RangeError(`scaleInv has ${scaleInv.length} values, expected [${blockRows}, ${blockCols}]`);
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const scaleRow = Math.floor(r / block) * blockCols;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      out[i] = (E4M3_TABLE[codes[i] ?? 0] ?? 0) * (scaleInv[scaleRow + Math.floor(c / block)] ?? 1);
    }
  }
  return out;
}

/** Quantizes w [rows, cols] (row-major, finite) into codes [rows, cols] and scaleInv [ceil(rows/block), ceil(cols/block)]. */
export function quantizeFp8Blocks(w: Float32Array, rows: number, cols: number, block = FP8_WEIGHT_BLOCK): Fp8Blocks {
  checkShape(w.length, rows, cols, block);
  const [blockRows, blockCols] = fp8ScaleInvShape(rows, cols, block);
  const codes = new Uint8Array(rows * cols);
  const scaleInv = new Float32Array(blockRows * blockCols);
  for (let br = 0; br < blockRows; br++) {
    const rowEnd = Math.min((br + 1) * block, rows);
    for (let bc = 0; bc < blockCols; bc++) {
      const colStart = bc * block;
      const colEnd = Math.min(colStart + block, cols);
      let max = 0;
      for (let r = br * block; r < rowEnd; r++) {
        for (let c = colStart; c < colEnd; c++) {
          const a = Math.abs(w[r * cols + c] ?? 0);
          if (a > max) max = a;
        }
      }
      const scale = scaleFor(max, E4M3_MAX);
      scaleInv[br * blockCols + bc] = scale;
      for (let r = br * block; r < rowEnd; r++) {
        for (let c = colStart; c < colEnd; c++) codes[r * cols + c] = encodeE4M3((w[r * cols + c] ?? 0) / scale);
      }
    }
  }
  return { codes, scaleInv };
}
