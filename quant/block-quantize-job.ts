// One parallel quantizeBlocks job as the pool and its workers share it (layout of `control` in
// block-quantize-pool.ts), and the chunk loop both run.
import { quantizeRowsInto, type BlockQuantized } from './int-blocks.js';

export interface QuantizeJob {
  readonly w: Float32Array; // [rows, cols] on a SharedArrayBuffer: rows firstRow .. firstRow + rows of the weight
  readonly firstRow: number;
  readonly rows: number;
  readonly dst: BlockQuantized; // the whole weight; data and scales on SharedArrayBuffers
  readonly chunkRows: number;
  readonly control: Int32Array; // [next chunk, rows done, rows done by workers]
}

/** Claims chunks of rows until none is left, quantizes each, and counts (and announces) the rows done. */
export function quantizeChunks(job: QuantizeJob, isWorker: boolean): void {
  const { w, firstRow, rows, dst, chunkRows, control } = job;
  const { cols } = dst;
  for (let chunk = Atomics.add(control, 0, 1); chunk * chunkRows < rows; chunk = Atomics.add(control, 0, 1)) {
    const first = chunk * chunkRows;
    const end = Math.min(rows, first + chunkRows);
    quantizeRowsInto(dst, w.subarray(first * cols, end * cols), firstRow + first);
    if (isWorker) Atomics.add(control, 2, end - first);
    Atomics.add(control, 1, end - first);
    Atomics.notify(control, 1);
  }
}
