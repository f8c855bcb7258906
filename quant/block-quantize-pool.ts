// quantizeBlocks on several threads, still synchronous for the caller (the graph builder is synchronous).
//
// A large weight is copied, a window of rows at a time, into a shared staging buffer the pool keeps (fresh pages
// are slow to touch, so it is reused rather than allocated per weight) and its output is allocated on
// SharedArrayBuffers; every worker is sent the window, and the caller and the workers claim chunks of rows from
// one shared counter (Atomics.add) and run the same quantizeRowsInto on them, so the bytes are those of
// quantizeBlocks however the rows were split. The caller then sleeps in Atomics.wait until every row is counted done. Because the caller
// claims chunks too, a worker that starts late (or never) only costs speed; a worker that claims a chunk and
// stops making progress for stallTimeoutMs makes the call throw instead of hanging.
//
//   control Int32Array [3]: 0 next chunk to claim · 1 rows done (the caller waits on it) · 2 rows done by workers
// Small weights (under minParallelValues) are quantized in place, as are all weights when threads ≤ 1.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { allocateSharedBlocksUnfilled, quantizeBlocks, type BlockBits, type BlockQuantized } from './int-blocks.js';
import { quantizeChunks, type QuantizeJob } from './block-quantize-job.js';

export interface BlockQuantizePoolOptions {
  /** Threads in all, the caller's included (default os.availableParallelism()). */
  readonly threads?: number;
  /** Weights with fewer values are quantized on the caller's thread (default 2¹⁸, 1 MB of float32). */
  readonly minParallelValues?: number;
  /** Values per claimed chunk, rounded to whole rows (default 2¹⁶). */
  readonly chunkValues?: number;
  /** Whether the caller claims chunks too (default true; tests turn it off to make the workers do everything). */
  readonly callerQuantizes?: boolean;
  /** Values of the shared buffer non-shared weights are copied through, window by window (default 2²⁴, 64 MB). */
  readonly stagingValues?: number;
  /** Throw when no row finishes for this long while waiting (default 120 s). */
  readonly stallTimeoutMs?: number;
}

const newControl = (): Int32Array => new Int32Array(new SharedArrayBuffer(3 * 4));

/** LATENTSERVE_QUANT_THREADS as a thread count: a positive integer, or null when unset or empty. */
export function parseQuantThreads(value: string | undefined): number | null {
  if (value === undefined || value.trim() === '') return null;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`LATENTSERVE_QUANT_THREADS must be a positive integer, got "${value}"`);
  return n;
}

export class BlockQuantizePool {
  readonly threads: number;
  private readonly minParallelValues: number;
  private readonly chunkValues: number;
  private readonly callerQuantizes: boolean;
  private readonly stallTimeoutMs: number;
  private workers: Worker[] = [];
  private workerError: Error | null = null;
  private staging: Float32Array | null = null;
  private readonly stagingValues: number;
  /** Rows of the last parallel job that workers (not the caller) quantized. */
  lastWorkerRows = 0;

  constructor(options: BlockQuantizePoolOptions = {}) {
    this.threads = options.threads ?? availableParallelism();
    if (!Number.isSafeInteger(this.threads) || this.threads < 1)
      throw new RangeError(`threads must be a positive integer, got ${this.threads}`);
    this.minParallelValues = options.minParallelValues ?? 1 << 18;
    this.chunkValues = options.chunkValues ?? 1 << 16;
    this.callerQuantizes = options.callerQuantizes ?? true;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 120_000;
    this.stagingValues = options.stagingValues ?? 1 << 24;
  }

  /** Same arguments, same bytes as quantizeBlocks; the result's arrays sit on SharedArrayBuffers when parallel. */
  readonly quantizeBlocks = (
    w: Float32Array,
    rows: number,
    cols: number,
    bits: BlockBits,
    blockSize: number,
  ): BlockQuantized => {
    const workerCount = this.callerQuantizes ? this.threads - 1 : Math.max(1, this.threads - 1);
    if (workerCount < 1 || w.length < this.minParallelValues || rows < 2)
      return quantizeBlocks(w, rows, cols, bits, blockSize);
    const dst = allocateSharedBlocksUnfilled(rows, cols, bits, blockSize); // validates the layout
    if (w.length !== rows * cols)
      throw new RangeError(`quantizeBlocks: ${w.length} values for a [${rows}, ${cols}] weight`);
    this.startWorkers(workerCount);
    this.lastWorkerRows = 0;
    const chunkRows = Math.max(1, Math.floor(this.chunkValues / cols));
    if (w.buffer instanceof SharedArrayBuffer) {
      this.run({ w, firstRow: 0, rows, dst, chunkRows, control: newControl() });
      return dst;
    }
    // Workers see only shared memory: copy the weight through the staging buffer a window of rows at a time.
    const windowRows = Math.max(1, Math.floor(this.stagingValues / cols));
    const staging = this.stagingFor(Math.min(rows, windowRows) * cols);
    for (let first = 0; first < rows; first += windowRows) {
      const end = Math.min(rows, first + windowRows);
      const window = staging.subarray(0, (end - first) * cols);
      window.set(w.subarray(first * cols, end * cols));
      this.run({ w: window, firstRow: first, rows: end - first, dst, chunkRows, control: newControl() });
    }
    return dst;
  };

  /** Ends the workers and drops the staging buffer; the pool can be used again afterwards (it starts new ones). */
  close(): void {
    for (const worker of this.workers) void worker.terminate();
    this.workers = [];
    this.staging = null;
  }

  /** Sends the job to every worker, claims chunks on this thread too, and sleeps until every row is done. */
  private run(job: QuantizeJob): void {
    const { control, rows } = job;
    for (const worker of this.workers) worker.postMessage(job);
    if (this.callerQuantizes) quantizeChunks(job, false);
    for (let done = Atomics.load(control, 1); done < rows; done = Atomics.load(control, 1)) {
      if (Atomics.wait(control, 1, done, this.stallTimeoutMs) === 'timed-out' && Atomics.load(control, 1) === done) {
        const why = this.workerError === null ? '' : ` (a worker failed: ${this.workerError.message})`;
        throw new Error(`block quantizer: no progress for ${this.stallTimeoutMs} ms at ${done}/${rows} rows${why}`);
      }
    }
    this.lastWorkerRows += Atomics.load(control, 2);
  }

  /** A shared float32 buffer of at least `values`, kept between calls: its pages are touched once, not per weight. */
  private stagingFor(values: number): Float32Array {
    if (this.staging === null || this.staging.length < values)
      this.staging = new Float32Array(new SharedArrayBuffer(values * 4));
    return this.staging;
  }

  private startWorkers(count: number): void {
    while (this.workers.length < count) {
      const worker = new Worker(new URL('./block-quantize-worker.js', import.meta.url));
      worker.unref(); // an idle pool never keeps the process alive
      worker.on('error', (err: Error) => {
        this.workerError = err;
      });
      this.workers.push(worker);
    }
  }
}
