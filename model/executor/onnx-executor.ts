// Runs the compiled step graph in a worker_thread and exposes it as an Executor. Steps are queued in order;
// each call resolves with that step's logits.
import { Worker } from 'node:worker_threads';
import type { WorkerInit, WorkerReply, WorkerRequest } from './protocol.js';
import type { CacheGeometry, Executor, ForwardInputs, RunnerOutput } from './types.js';

export interface OnnxExecutorOptions {
  readonly onnxPath: string;
  readonly device: 'cpu' | 'cuda';
  readonly numLayers: number;
  readonly rowWidth: number;
  readonly vocabSize: number;
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly intraOpThreads?: number;
  /** Where the one-line CUDA fallback warning goes (default: stderr). */
  readonly warn?: (line: string) => void;
}

interface Pending {
  resolve(value: Float32Array | null): void;
  reject(err: Error): void;
}

export class OnnxExecutor implements Executor {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly vocabSize: number,
    readonly cache: CacheGeometry,
    readonly device: 'cpu' | 'cuda',
  ) {
    worker.on('message', (msg: WorkerReply) => this.onReply(msg));
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => this.failAll(new Error(`executor worker exited (code ${code})`)));
  }

  static async start(opts: OnnxExecutorOptions): Promise<OnnxExecutor> {
    const init: WorkerInit = {
      onnxPath: opts.onnxPath,
      device: opts.device,
      numLayers: opts.numLayers,
      rowWidth: opts.rowWidth,
      numBlocks: opts.numBlocks,
      blockSize: opts.blockSize,
      vocabSize: opts.vocabSize,
      intraOpThreads: opts.intraOpThreads ?? null,
    };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
    const ready = await new Promise<Extract<WorkerReply, { kind: 'ready' }>>((resolve, reject) => {
      const onMessage = (msg: WorkerReply): void => {
        worker.off('error', reject);
        if (msg.kind === 'ready') resolve(msg);
        else reject(new Error(msg.kind === 'init-failed' ? `cannot load model: ${msg.message}` : `unexpected ${msg.kind}`));
      };
      worker.once('message', onMessage);
      worker.once('error', reject);
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    if (ready.warning !== null) (opts.warn ?? ((line: string) => process.stderr.write(`${line}\n`)))(ready.warning);
    const cache: CacheGeometry = { numBlocks: opts.numBlocks, blockSize: opts.blockSize, numLayers: opts.numLayers, rowWidth: opts.rowWidth, bytesPerValue: 4 };
    return new OnnxExecutor(worker, opts.vocabSize, cache, ready.device);
  }

  async step(inputs: ForwardInputs): Promise<RunnerOutput> {
    const logits = await this.send((id) => ({ kind: 'step', id, inputs }));
    if (logits === null) throw new Error('executor returned no logits');
    return { logits };
  }

  async close(): Promise<void> {
    if (this.failure !== null) return;
    await this.send((id) => ({ kind: 'close', id }));
    await this.worker.terminate();
  }

  private send(make: (id: number) => WorkerRequest): Promise<Float32Array | null> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(make(id));
    });
  }

  private onReply(msg: WorkerReply): void {
    if (msg.kind !== 'step' && msg.kind !== 'error' && msg.kind !== 'closed') return;
    const p = this.pending.get(msg.id);
    if (p === undefined) return;
    this.pending.delete(msg.id);
    if (msg.kind === 'step') p.resolve(msg.logits);
    else if (msg.kind === 'error') p.reject(new Error(msg.message));
    else {
      this.failure = new Error('executor closed');
      p.resolve(null);
    }
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }
}
