// The caller's side of the grammar worker: compiles constraints (with a time limit), opens and closes one matcher
// per constrained request, and per model step asks for the next-token bitmasks.
//
// The worker's state can always be rebuilt from what is kept here: each live matcher's spec and the tokens it has
// accepted. So when the worker dies, or is terminated because a compile ran over its time limit, a fresh worker
// is started, every live matcher is reopened and replays its tokens, and the steps in flight are sent again;
// the requests never notice. Only the compile that ran over its limit fails.
import { Worker } from 'node:worker_threads';
import type { GrammarReply, GrammarRequest, GrammarWorkerInit } from './protocol.js';
import type { GrammarSpec } from './spec.js';

export class GrammarCompileError extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message);
    this.name = 'GrammarCompileError';
  }
}

export type MatcherId = number & { readonly __brand: 'MatcherId' };

export interface StepMasks {
  /** One bitmask of `words` int32 per filled matcher, in the order asked; bit i set = token i allowed. */
  readonly masks: Int32Array;
  readonly words: number;
  /** Matchers whose accepted token the grammar refused. */
  readonly rejected: ReadonlySet<MatcherId>;
  /** Matchers the worker does not have (their grammar failed to compile when reopened). */
  readonly missing: ReadonlySet<MatcherId>;
}

/** What the engine needs from constrained decoding. */
export interface GrammarBackend {
  /** A compile is queued or running in the worker: a step asked for now waits behind it. */
  readonly compiling: boolean;
  open(spec: GrammarSpec): MatcherId;
  close(id: MatcherId): void;
  /** Accepts each [matcher, token] pair in order, then fills a bitmask for each of `fills`. */
  step(accepts: readonly (readonly [MatcherId, number])[], fills: readonly MatcherId[]): Promise<StepMasks>;
}

export interface GrammarServiceOptions extends GrammarWorkerInit {
  /** A compile running longer is abandoned (the worker is replaced) and fails with timedOut. */
  readonly compileTimeoutMs: number;
  readonly warn?: (line: string) => void;
}

interface Pending {
  readonly message: GrammarRequest;
  resolve(reply: GrammarReply): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
}

interface LiveMatcher {
  readonly spec: GrammarSpec;
  readonly accepted: number[];
}

export class GrammarService implements GrammarBackend {
  /** The worker once it is ready (matchers opened while it starts are opened by its replay). */
  private worker: Worker | null = null;
  private ready: Promise<Worker> | null = null;
  private words = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly matchers = new Map<MatcherId, LiveMatcher>();
  private nextId = 0;
  private nextMatcher = 0;
  private closed = false;
  private compilesInFlight = 0;
  private readonly warn: (line: string) => void;
  /** Compiles and mask fills done, for /metrics and benchmarks. */
  readonly stats = { compiles: 0, compileMs: 0, steps: 0, stepMs: 0, restarts: 0 };

  constructor(private readonly options: GrammarServiceOptions) {
    this.warn = options.warn ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** Starts the worker (tokenizer info is built there once); resolves when it is ready. */
  async start(): Promise<void> {
    await this.ensureWorker();
  }

  /** Compiles `spec` into the worker's cache; throws GrammarCompileError with xgrammar's reason or a timeout. */
  get compiling(): boolean {
    return this.compilesInFlight > 0;
  }

  async compile(spec: GrammarSpec): Promise<void> {
    this.compilesInFlight++;
    let reply: GrammarReply;
    try {
      reply = await this.request({ kind: 'compile', id: this.nextId++, spec }, this.options.compileTimeoutMs);
    } finally {
      this.compilesInFlight--;
    }
    if (reply.kind === 'compile-failed') {
      if (reply.broken) this.replaceWorker(`grammar worker faulted compiling a grammar (${reply.message})`);
      throw new GrammarCompileError(reply.message);
    }
    if (reply.kind === 'compiled') {
      this.stats.compiles++;
      this.stats.compileMs += reply.ms;
    }
  }

  open(spec: GrammarSpec): MatcherId {
    const id = this.nextMatcher++ as MatcherId;
    this.matchers.set(id, { spec, accepted: [] });
    this.worker?.postMessage({ kind: 'open', matcher: id, spec } satisfies GrammarRequest);
    return id;
  }

  close(id: MatcherId): void {
    if (!this.matchers.delete(id)) return;
    this.worker?.postMessage({ kind: 'close', matcher: id } satisfies GrammarRequest);
  }

  async step(accepts: readonly (readonly [MatcherId, number])[], fills: readonly MatcherId[]): Promise<StepMasks> {
    const pairs = new Int32Array(accepts.flatMap(([id, token]) => [id, token]));
    const reply = await this.request(
      { kind: 'step', id: this.nextId++, accepts: pairs, fills: Int32Array.from(fills) },
      0,
    );
    if (reply.kind === 'step-failed') throw new Error(`grammar step failed: ${reply.message}`);
    if (reply.kind !== 'masks') throw new Error(`grammar worker answered ${reply.kind} to a step`);
    const rejected = new Set(Array.from(reply.rejected, (id) => id as MatcherId));
    // Recorded only once the worker has them: a step re-sent to a fresh worker must not replay them twice.
    for (const [id, token] of accepts) if (!rejected.has(id)) this.matchers.get(id)?.accepted.push(token);
    this.stats.steps++;
    this.stats.stepMs += reply.ms;
    return {
      masks: reply.masks,
      words: this.words,
      rejected,
      missing: new Set(Array.from(reply.missing, (id) => id as MatcherId)),
    };
  }

  /** Fails whatever is pending and stops the worker. */
  async shutdown(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.ready = null;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('grammar service closed'));
    }
    this.pending.clear();
    if (worker !== null) await worker.terminate();
  }

  private async request(message: GrammarRequest & { id: number }, timeoutMs: number): Promise<GrammarReply> {
    if (this.closed) throw new Error('grammar service closed');
    const worker = await this.ensureWorker();
    return new Promise<GrammarReply>((resolve, reject) => {
      const pending: Pending = { message, resolve, reject };
      if (timeoutMs > 0) pending.timer = setTimeout(() => this.onTimeout(message.id), timeoutMs);
      if (this.pending.size === 0) worker.ref();
      this.pending.set(message.id, pending);
      worker.postMessage(message);
    });
  }

  private onTimeout(id: number): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    pending.reject(
      new GrammarCompileError(`grammar compilation took longer than ${this.options.compileTimeoutMs} ms`, true),
    );
    // xgrammar cannot be interrupted: replace the worker; everything else in flight is replayed on the new one.
    this.replaceWorker(`grammar compile over ${this.options.compileTimeoutMs} ms abandoned`);
  }

  private replaceWorker(why: string): void {
    this.warn(`${why}; restarting the grammar worker`);
    const worker = this.worker;
    this.restart();
    void worker?.terminate();
  }

  private ensureWorker(): Promise<Worker> {
    return (this.ready ??= this.spawn());
  }

  private spawn(): Promise<Worker> {
    const { compileTimeoutMs: _t, warn: _w, ...init } = this.options;
    const worker = new Worker(new URL('./grammar-worker.js', import.meta.url), {
      workerData: init satisfies GrammarWorkerInit,
    });
    const started = new Promise<Worker>((resolve, reject) => {
      const onExit = (code: number): void => reject(new Error(`grammar worker exited during start-up (code ${code})`));
      worker.once('exit', onExit);
      worker.once('message', (msg: GrammarReply) => {
        worker.off('exit', onExit);
        if (msg.kind !== 'ready') {
          reject(
            new Error(
              msg.kind === 'init-failed' ? `grammar worker failed to start: ${msg.message}` : `unexpected ${msg.kind}`,
            ),
          );
          return;
        }
        this.words = msg.words;
        this.worker = worker;
        worker.on('message', (reply: GrammarReply) => this.onReply(worker, reply));
        worker.on('exit', (code) => this.onExit(worker, code));
        // Reopen every live matcher and replay its tokens before anything else reaches this worker.
        for (const [id, m] of this.matchers) {
          worker.postMessage({ kind: 'open', matcher: id, spec: m.spec } satisfies GrammarRequest);
          if (m.accepted.length > 0) {
            const pairs = new Int32Array(m.accepted.flatMap((token) => [id, token]));
            worker.postMessage({
              kind: 'step',
              id: -1,
              accepts: pairs,
              fills: new Int32Array(0),
            } satisfies GrammarRequest);
          }
        }
        for (const p of this.pending.values()) worker.postMessage(p.message);
        if (this.pending.size === 0) worker.unref();
        resolve(worker);
      });
    });
    worker.on('error', () => {}); // reported through 'exit'
    return started.catch(async (err: Error) => {
      this.ready = null;
      await worker.terminate();
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      throw err;
    });
  }

  private onReply(worker: Worker, reply: GrammarReply): void {
    if (worker !== this.worker || reply.kind === 'ready' || reply.kind === 'init-failed') return;
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return; // a replay step, or a request already timed out
    this.pending.delete(reply.id);
    clearTimeout(pending.timer);
    if (this.pending.size === 0) worker.unref();
    pending.resolve(reply);
  }

  private onExit(worker: Worker, code: number): void {
    if (worker !== this.worker || this.closed) return;
    this.warn(`grammar worker exited (code ${code}); restarting it and replaying ${this.matchers.size} matchers`);
    this.restart();
  }

  /** A fresh worker that reopens every matcher and receives every pending request again. */
  private restart(): void {
    this.stats.restarts++;
    this.worker = null;
    this.ready = null;
    if (this.closed) return;
    void this.ensureWorker().catch((err: Error) => this.warn(`grammar worker restart failed: ${err.message}`));
  }
}
