// Runs the compiled step graph in a worker_thread and exposes it as an Executor. Steps are queued in order;
// each call resolves with that step's samples (or, for a step without sampling specs, its logits). A step's
// grammar masks follow it to the worker on their own message when they are ready; rows the worker holds for late
// masks are answered on a later message (RunnerOutput.samples.late).
//
// Fault isolation: a step the runtime rejects fails with ExecutorError and the worker keeps serving. A worker that
// dies (uncaught error, out of memory, terminated) takes the latent cache pools with it: the step in flight, if
// any, fails with ExecutorCrashed (inStep: true); a death while idle is reported by the next step() instead
// (inStep: false), before anything is sent. Held rows of an earlier step fail with the crash too (their
// requests end with it); they do not count as a step in flight. Either way the following step() starts a fresh worker (empty pools)
// first, so the engine hears of every lost cache exactly once and before any step runs on the new one.
import { Worker } from 'node:worker_threads';
import type { RowResult, RowSpec, StepMaskRows } from '../../sampling/step-spec.js';
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
  /** Starts a worker thread running worker.ts for `init` (default spawnExecutorWorker; fault tests wrap it). */
  readonly spawn?: SpawnWorker;
}

type StepReply = Extract<WorkerReply, { kind: 'step' }>;

export type SpawnWorker = (init: WorkerInit) => Worker;

export const spawnExecutorWorker: SpawnWorker = (init) =>
  new Worker(new URL('./worker.js', import.meta.url), { workerData: init });

interface Pending {
  resolve(value: StepReply | null): void;
  reject(err: Error): void;
}

interface PendingLate {
  resolve(value: ReadonlyMap<number, RowResult>): void;
  reject(err: Error): void;
  readonly promise: Promise<ReadonlyMap<number, RowResult>>;
}

type Ready = Extract<WorkerReply, { kind: 'ready' }>;

async function spawnWorker(spawn: SpawnWorker, init: WorkerInit): Promise<{ worker: Worker; ready: Ready }> {
  const worker = spawn(init);
  const ready = await new Promise<Ready>((resolve, reject) => {
    const onExit = (code: number): void => reject(new Error(`executor worker exited during start-up (code ${code})`));
    const onMessage = (msg: WorkerReply): void => {
      worker.off('error', reject);
      worker.off('exit', onExit);
      if (msg.kind === 'ready') resolve(msg);
      else
        reject(new Error(msg.kind === 'init-failed' ? `cannot load model: ${msg.message}` : `unexpected ${msg.kind}`));
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
  /** Steps whose held rows the worker has yet to answer, by step id. */
  private readonly pendingLate = new Map<number, PendingLate>();
  private readonly warn: (line: string) => void;
  private nextId = 0;
  /** null while no worker runs: after a crash, until the next step() starts one. */
  private worker: Worker | null = null;
  /** A crash no step has reported yet (the worker died while idle). */
  private unreported: ExecutorCrashed | null = null;
  private closed = false;
  private restarts = 0;
  private restarting: Promise<void> | null = null;
  /** What the current worker has run (a restarted worker starts a fresh arena, and fresh stats). */
  private stats = new StepShapeStats();

  private constructor(
    private readonly init: WorkerInit,
    private readonly spawn: SpawnWorker,
    worker: Worker,
    readonly vocabSize: number,
    readonly cache: CacheGeometry,
    readonly device: 'cpu' | 'cuda',
    warn: ((line: string) => void) | undefined,
  ) {
    this.warn =
      warn ??
      ((line: string) => {
        process.stderr.write(`${line}\n`);
      });
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
    const spawn = opts.spawn ?? spawnExecutorWorker;
    const { worker, ready } = await spawnWorker(spawn, init);
    if (ready.warning !== null) (opts.warn ?? ((line: string) => process.stderr.write(`${line}\n`)))(ready.warning);
    const cache = cacheGeometry(opts.numBlocks, opts.blockSize, opts.numLayers, opts.rowWidth, init.kvCacheDtype);
    return new OnnxExecutor(init, spawn, worker, opts.vocabSize, cache, ready.device, opts.warn);
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
      this.restarting ??= this.restart().finally(() => {
        this.restarting = null;
      });
      await this.restarting;
    }
    this.stats.record(stepDims(inputs, this.init.memory.shapeBuckets));
    const sampling = inputs.sampling;
    // The masks promise stays here; its value follows the step on a 'masks' message.
    const sent = sampling === undefined ? inputs : { ...inputs, sampling: { ...sampling, masks: null } };
    const reply = await this.send((id) => {
      if (sampling?.masks != null) this.forwardMasks(id, sampling.masks, sampling.rows);
      return { kind: 'step', id, inputs: sent };
    });
    if (reply === null) throw new ExecutorError('executor returned no step');
    if (sampling === undefined) {
      if (reply.logits === null) throw new ExecutorError('executor returned no logits');
      return { logits: reply.logits, samples: null };
    }
    if (reply.results === null) throw new ExecutorError('executor returned no samples');
    const late = reply.results.some((r) => r.kind === 'held') ? this.lateOf(reply.id) : null;
    return { logits: null, samples: { results: reply.results, late } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (worker === null) return;
    await this.send((id) => ({ kind: 'close', id }), worker).catch(() => {});
    await worker.terminate();
  }

  /** Posts step `stepId`'s masks to the worker that runs it, once they are ready (transferred, not copied). */
  private forwardMasks(stepId: number, masks: Promise<StepMaskRows>, rows: readonly RowSpec[]): void {
    const worker = this.worker;
    // The contract says masks never reject; if they do anyway, every constrained row fails rather than waits.
    const slots = rows.reduce(
      (n, r) => (r.kind === 'sample' && r.maskSlot !== null ? Math.max(n, r.maskSlot + 1) : n),
      0,
    );
    const refusedAll = (err: unknown): StepMaskRows => ({
      masks: new Int32Array(0),
      words: 0,
      refused: Array.from({ length: slots }, () => `masks failed (${String(err)})`),
    });
    void masks.catch(refusedAll).then((m) => {
      if (worker === null || worker !== this.worker) return; // that worker died; the step failed with it
      const whole = m.masks.byteOffset === 0 && m.masks.byteLength === m.masks.buffer.byteLength;
      const rows = whole ? m : { ...m, masks: m.masks.slice() };
      worker.postMessage({ kind: 'masks', stepId, masks: rows } satisfies WorkerRequest, [
        rows.masks.buffer as ArrayBuffer,
      ]);
    });
  }

  /** The held rows' results of step `stepId`. Registered when its reply arrives, before any later message. */
  private lateOf(stepId: number): Promise<ReadonlyMap<number, RowResult>> {
    const late = this.pendingLate.get(stepId);
    if (late !== undefined) return late.promise;
    return Promise.reject(new ExecutorError(`executor lost the held rows of step ${stepId}`));
  }

  private attach(worker: Worker): void {
    this.worker = worker;
    worker.on('message', (msg: WorkerReply) => this.onReply(msg));
    worker.once('error', (err) => this.onDeath(worker, err));
    worker.once('exit', (code) => this.onDeath(worker, new Error(`exited with code ${code}`)));
  }

  private async restart(): Promise<void> {
    try {
      const { worker } = await spawnWorker(this.spawn, this.init);
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
      throw new ExecutorError(`cannot restart the executor worker: ${(err as Error).message}`, 'executor_unavailable', {
        cause: err,
      });
    }
  }

  private expectLate(stepId: number): void {
    let resolve!: PendingLate['resolve'];
    let reject!: PendingLate['reject'];
    const promise = new Promise<ReadonlyMap<number, RowResult>>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {}); // the engine awaits it; this only keeps a crash before then from being "unhandled"
    this.pendingLate.set(stepId, { resolve, reject, promise });
  }

  private onDeath(worker: Worker, cause: Error): void {
    if (worker !== this.worker) return; // 'error' then 'exit' for the same death, or a replaced worker
    this.worker = null;
    worker.removeAllListeners('message');
    const pending = [...this.pending.values()];
    this.pending.clear();
    const held = [...this.pendingLate.values()];
    this.pendingLate.clear();
    if (this.closed) {
      for (const p of [...pending, ...held]) p.reject(new ExecutorError('executor closed'));
      return;
    }
    const crash = new ExecutorCrashed(`executor worker died (${cause.message})`, pending.length > 0, { cause });
    if (pending.length === 0) this.unreported = crash;
    for (const p of pending) p.reject(crash);
    // Rows held for late masks die with the worker: their requests fail with the crash.
    for (const p of held)
      p.reject(new ExecutorCrashed(`executor worker died holding a row (${cause.message})`, true, { cause }));
    this.warn(
      `latentserve: executor worker died (${cause.message}); ${pending.length} step(s) failed, restarting it on the next step`,
    );
  }

  private send(make: (id: number) => WorkerRequest, worker = this.worker): Promise<StepReply | null> {
    if (worker === null) return Promise.reject(new ExecutorError('executor has no worker'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(make(id));
    });
  }

  private onReply(msg: WorkerReply): void {
    if (msg.kind === 'late') {
      const late = this.pendingLate.get(msg.id);
      this.pendingLate.delete(msg.id);
      late?.resolve(new Map(msg.results));
      return;
    }
    if (msg.kind !== 'step' && msg.kind !== 'error' && msg.kind !== 'closed') return;
    const p = this.pending.get(msg.id);
    if (p === undefined) return;
    this.pending.delete(msg.id);
    if (msg.kind === 'step') {
      if (msg.results?.some((r) => r.kind === 'held') === true) this.expectLate(msg.id);
      p.resolve(msg);
    } else if (msg.kind === 'error') p.reject(new ExecutorError(msg.message));
    else p.resolve(null);
  }
}
