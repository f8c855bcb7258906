// Per-output-channel int8 weights for W8A8 (`--quant w8a8`) in the layout ONNX Runtime's u8s8 integer GEMM reads
// (com.microsoft.DynamicQuantizeMatMul: B int8 [K, N], one float32 scale per column of B).
//
// A weight w [rows, cols] (rows = N outputs, cols = K inputs) is quantized as int-blocks.ts does with one block
// per row (blockSize ≥ cols): scale[r] = absmax(row r) / 127, q = clamp(roundHalfEven(w / scale), −127, 127).
// The codes are then stored transposed and signed:
//   codes  int8     [cols, rows]   codes[c · rows + r] = q[r, c]
//   scales float32  [rows]
//   w[r, c] ≈ codes[c · rows + r] · scales[r]
import type { BlockQuantized } from './int-blocks.js';
import { blockZeroPoint } from './int-blocks.js';

export interface ChannelQuantized {
  readonly codes: Int8Array;
  readonly scales: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

// Rows and columns per tile of the transpose: a 64 × 64 tile of source bytes and of destination bytes each stays
// in L1, so neither side is walked at a stride that misses the cache on every element.
const TILE = 64;

/** The per-row 8-bit blocks `q` (one block per row) as signed, transposed per-channel codes. */
export function channelsFromRowBlocks(q: BlockQuantized): ChannelQuantized {
  const { rows, cols, bits, blockSize, blocksPerRow, data, scales } = q;
  if (bits !== 8 || blocksPerRow !== 1)
    throw new RangeError(
      `channelsFromRowBlocks: needs 8-bit codes with one block per row, got ${bits}-bit ×${blocksPerRow}`,
    );
  const zeroPoint = blockZeroPoint(8);
  const codes = new Int8Array(rows * cols);
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        const src = r * blockSize;
        for (let c = c0; c < c1; c++) codes[c * rows + r] = (data[src + c] as number) - zeroPoint;
      }
    }
  }
  return { codes, scales, rows, cols };
}

/** w [rows, cols] as float32 again (tests and quality tools). */
export function dequantizeChannels(q: ChannelQuantized): Float32Array {
  const { rows, cols, codes, scales } = q;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const scale = scales[r] as number;
    for (let c = 0; c < cols; c++) out[r * cols + c] = (codes[c * rows + r] as number) * scale;
  }
  return out;
}
