// The latent cache's memory, owned by the executor worker: per layer, [numBlocks, blockSize, rowWidth] float32
// rows, or E4M3 codes plus one float32 scale per row. The graph reads them as inputs (zero-copy); after each step
// the new rows are written at their slots. No onnxruntime types here: the worker wraps the arrays.
import { encodeRowE4M3 } from '../../quant/e4m3.js';
import { cacheInputName, cacheScaleInputName } from '../graph/io.js';

export interface PoolInput {
  readonly name: string;
  readonly type: 'float32' | 'uint8';
  readonly data: Float32Array | Uint8Array;
  readonly dims: readonly number[];
}

export class LatentPools {
  readonly inputs: readonly PoolInput[];
  private readonly rows: (Float32Array | Uint8Array)[] = [];
  private readonly scales: Float32Array[] = [];

  constructor(
    numLayers: number,
    numBlocks: number,
    blockSize: number,
    private readonly rowWidth: number,
    private readonly dtype: 'fp32' | 'fp8',
  ) {
    const inputs: PoolInput[] = [];
    for (let l = 0; l < numLayers; l++) {
      const slots = numBlocks * blockSize;
      const rows = dtype === 'fp32' ? new Float32Array(slots * rowWidth) : new Uint8Array(slots * rowWidth);
      this.rows.push(rows);
      inputs.push({
        name: cacheInputName(l),
        type: dtype === 'fp32' ? 'float32' : 'uint8',
        data: rows,
        dims: [numBlocks, blockSize, rowWidth],
      });
      if (dtype === 'fp8') {
        const scales = new Float32Array(slots);
        this.scales.push(scales);
        inputs.push({ name: cacheScaleInputName(l), type: 'float32', data: scales, dims: [numBlocks, blockSize] });
      }
    }
    this.inputs = inputs;
  }

  /** Copies rows [src, src + rows) to [dst, dst + rows) in every layer, scales included. */
  copy(src: number, dst: number, rows: number): void {
    const w = this.rowWidth;
    for (const pool of this.rows) pool.copyWithin(dst * w, src * w, (src + rows) * w);
    for (const scales of this.scales) scales.copyWithin(dst, src, src + rows);
  }

  /** Stores `newRows` [N, rowWidth] (token i at slotMapping[i]) into layer `layer`. */
  write(layer: number, slotMapping: Int32Array, newRows: Float32Array): void {
    const w = this.rowWidth;
    const pool = this.rows[layer]!;
    if (this.dtype === 'fp32') {
      slotMapping.forEach((slot, i) => (pool as Float32Array).set(newRows.subarray(i * w, (i + 1) * w), slot * w));
      return;
    }
    const scales = this.scales[layer]!;
    slotMapping.forEach((slot, i) => {
      scales[slot] = encodeRowE4M3(
        newRows.subarray(i * w, (i + 1) * w),
        (pool as Uint8Array).subarray(slot * w, (slot + 1) * w),
      );
    });
  }
}
