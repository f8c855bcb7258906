// Runs the compiled step graph in a worker_thread and exposes it as an Executor. Steps are queued in order;
// each call resolves with that step's logits.
//
// Fault isolation: a step the runtime rejects fails with ExecutorError and the worker keeps serving. A worker that
// dies (uncaught error, out of memory, terminated) takes the latent cache pools with it: the step in flight, if
// any, fails with ExecutorCrashed (inStep: true); a death while idle is reported by the next step() instead
// (inStep: false), before anything is sent. Either way the following step() starts a fresh worker (empty pools)
// first, so the engine hears of every lost cache exactly once and before any step runs on the new one.
import { Worker } from 'node:worker_threads';
import { ExecutorCrashed, ExecutorError } from './errors.js';
import type { ExecutorMemoryOptions } from './memory-options.js';
import { DEFAULT_EXECUTOR_MEMORY } from './memory-options.js';
import { stepDims } from './pack.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './protocol.js';
import { DEFAULT_SESSION_TUNING, type SessionTuning } from './session-options.js';
import { StepShapeStats, type LargestStep } from './step-shape-stats.js';
import type { CacheGeometry, Executor, ForwardInputs, RunnerOutput } from './types.js';
import { cacheGeometry } from './types.js';

export interface OnnxExecutorOptions {
  readonly onnxPath: string;
  readonly device: 'cpu' | 'cuda';
  readonly numLayers: number;
  readonly rowWidth: number;
  /** Latent rows stored as float32, or as E4M3 codes plus a float32 scale per row. */
  readonly kvCacheDtype?: 'fp32' | 'fp8';
  readonly vocabSize: number;
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly intraOpThreads?: number;
  /** ONNX Runtime's memory knobs and shape buckets (default: DEFAULT_EXECUTOR_MEMORY). */
  readonly memory?: Partial<ExecutorMemoryOptions>;
  /** ONNX Runtime session options (--session-options); default: DEFAULT_SESSION_TUNING. */
  readonly session?: SessionTuning;
  /** Prefix of the ONNX Runtime profile the worker writes when it closes (`DIR/latentserve-PID`); default: none. */
  readonly profilePrefix?: string;
  /** Where one-line warnings go: the CUDA fallback, a worker crash and its restart (default: stderr). */
  readonly warn?: (line: string) => void;
}

interface Pending {
  resolve(value: Float32Array | null): void;
  reject(err: Error): void;
}

type Ready = Extract<WorkerReply, { kind: 'ready' }>;

async function spawnWorker(init: WorkerInit): Promise<{ worker: Worker; ready: Ready }> {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
  const ready = await new Promise<Ready>((resolve, reject) => {
    const onExit = (code: number): void => reject(new Error(`executor worker exited during start-up (code ${code})`));
    const onMessage = (msg: WorkerReply): void => {
      worker.off('error', reject);
      worker.off('exit', onExit);
      if (msg.kind === 'ready') resolve(msg);
      else reject(new Error(msg.kind === 'init-failed' ? `cannot load model: ${msg.message}` : `unexpected ${msg.kind}`));
    };
    worker.once('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', onExit);
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  return { worker, ready };
}

export class OnnxExecutor implements Executor {
  private readonly pending = new Map<number, Pending>();
  private readonly warn: (line: string) => void;
  private nextId = 0;
  /** null while no worker runs: after a crash, until the next step() starts one. */
  private worker: Worker | null = null;
  /** A crash no step has reported yet (the worker died while idle). */
  private unreported: ExecutorCrashed | null = null;
  private closed = false;
  private restarts = 0;
  private crashNextStep = false;
  private restarting: Promise<void> | null = null;
  /** What the current worker has run (a restarted worker starts a fresh arena, and fresh stats). */
  private stats = new StepShapeStats();

  private constructor(
    private readonly init: WorkerInit,
    worker: Worker,
    readonly vocabSize: number,
    readonly cache: CacheGeometry,
    readonly device: 'cpu' | 'cuda',
    warn: ((line: string) => void) | undefined,
  ) {
    this.warn = warn ?? ((line: string) => { process.stderr.write(`${line}\n`); });
    this.attach(worker);
  }

  static async start(opts: OnnxExecutorOptions): Promise<OnnxExecutor> {
    const init: WorkerInit = {
      onnxPath: opts.onnxPath,
      device: opts.device,
      numLayers: opts.numLayers,
      rowWidth: opts.rowWidth,
      kvCacheDtype: opts.kvCacheDtype ?? 'fp32',
      numBlocks: opts.numBlocks,
      blockSize: opts.blockSize,
      vocabSize: opts.vocabSize,
      intraOpThreads: opts.intraOpThreads ?? null,
      memory: { ...DEFAULT_EXECUTOR_MEMORY, ...opts.memory },
      session: opts.session ?? DEFAULT_SESSION_TUNING,
      profilePrefix: opts.profilePrefix ?? null,
    };
    const { worker, ready } = await spawnWorker(init);
    if (ready.warning !== null) (opts.warn ?? ((line: string) => process.stderr.write(`${line}\n`)))(ready.warning);
    const cache = cacheGeometry(opts.numBlocks, opts.blockSize, opts.numLayers, opts.rowWidth, init.kvCacheDtype);
    return new OnnxExecutor(init, worker, opts.vocabSize, cache, ready.device, opts.warn);
  }

  /** The memory knobs the worker runs with. */
  get memory(): ExecutorMemoryOptions {
    return this.init.memory;
  }

  /** Distinct graph input shapes (combinations of N, B, T, maxBlocks, R) the current worker has run. */
  get numShapesSeen(): number {
    return this.stats.numShapes;
  }

  /** Distinct sizes of those five dimensions, summed (with shape buckets on: the buckets seen). */
  get numSizesSeen(): number {
    return this.stats.numSizes;
  }

  /**
   * The largest step the current worker has run, by each term of a step's working set. Once these stop growing,
   * so does the high-water mark ONNX Runtime's arena keeps: a soak's warm-up ends there.
   */
  get largestStep(): LargestStep {
    return this.stats.largest;
  }

  /** Workers started after a crash (for logs, metrics and tests). */
  get numRestarts(): number {
    return this.restarts;
  }

  async step(inputs: ForwardInputs): Promise<RunnerOutput> {
    if (this.closed) throw new ExecutorError('executor closed');
    if (this.unreported !== null) {
      const crash = this.unreported;
      this.unreported = null;
      throw crash;
    }
    if (this.worker === null) {
      this.restarting ??= this.restart().finally(() => { this.restarting = null; });
      await this.restarting;
    }
    this.stats.record(stepDims(inputs, this.init.memory.shapeBuckets));
    const exitAfterRun = this.crashNextStep;
    this.crashNextStep = false;
    const logits = await this.send((id) => ({ kind: 'step', id, inputs, ...(exitAfterRun ? { exitAfterRun } : {}) }));
    if (logits === null) throw new ExecutorError('executor returned no logits');
    return { logits };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (worker === null) return;
    await this.send((id) => ({ kind: 'close', id }), worker).catch(() => {});
    await worker.terminate();
  }

  /**
   * Test hook: kills the idle worker from outside, as a crash between steps would; the next step() reports it.
   * Only between steps: terminating a worker while ONNX Runtime runs in it aborts the whole process (the addon's
   * completion callback throws into a torn-down environment), so a crash mid-step is crashNextStepForTest().
   */
  async terminateWorkerForTest(): Promise<void> {
    if (this.pending.size > 0) throw new Error('terminateWorkerForTest: a step is in flight; use crashNextStepForTest');
    await this.worker?.terminate();
  }

  /** Test hook: the worker runs the next step, then exits without replying; that step fails with ExecutorCrashed. */
  crashNextStepForTest(): void {
    this.crashNextStep = true;
  }

  private attach(worker: Worker): void {
    this.worker = worker;
    worker.on('message', (msg: WorkerReply) => this.onReply(msg));
    worker.once('error', (err) => this.onDeath(worker, err));
    worker.once('exit', (code) => this.onDeath(worker, new Error(`exited with code ${code}`)));
  }

  private async restart(): Promise<void> {
    try {
      const { worker } = await spawnWorker(this.init);
      if (this.closed) {
        await worker.terminate();
        throw new ExecutorError('executor closed');
      }
      this.restarts++;
      this.stats = new StepShapeStats();
      this.attach(worker);
      this.warn(`latentserve: executor worker restarted (restart ${this.restarts}); the latent cache starts empty`);
    } catch (err) {
      if (err instanceof ExecutorError) throw err;
      throw new ExecutorError(`cannot restart the executor worker: ${(err as Error).message}`, 'executor_unavailable', { cause: err });
    }
  }

  private onDeath(worker: Worker, cause: Error): void {
    if (worker !== this.worker) return; // 'error' then 'exit' for the same death, or a replaced worker
    this.worker = null;
    worker.removeAllListeners('message');
    const pending = [...this.pending.values()];
    this.pending.clear();
    if (this.closed) {
      for (const p of pending) p.reject(new ExecutorError('executor closed'));
      return;
    }
    const crash = new ExecutorCrashed(`executor worker died (${cause.message})`, pending.length > 0, { cause });
    if (pending.length === 0) this.unreported = crash;
    for (const p of pending) p.reject(crash);
    this.warn(`latentserve: executor worker died (${cause.message}); ${pending.length} step(s) failed, restarting it on the next step`);
  }

  private send(make: (id: number) => WorkerRequest, worker = this.worker): Promise<Float32Array | null> {
    if (worker === null) return Promise.reject(new ExecutorError('executor has no worker'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(make(id));
    });
  }

  private onReply(msg: WorkerReply): void {
    if (msg.kind !== 'step' && msg.kind !== 'error' && msg.kind !== 'closed') return;
    const p = this.pending.get(msg.id);
    if (p === undefined) return;
    this.pending.delete(msg.id);
    if (msg.kind === 'step') {
      p.resolve(msg.logits);
    }
    else if (msg.kind === 'error') p.reject(new ExecutorError(msg.message));
    else p.resolve(null);
  }
}
