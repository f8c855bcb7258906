// The step loop (the batcher): schedule → run the executor (which samples next to the logits) → update → emit,
// one model step at a time, for every live request together. Runs on the caller's thread; the executor's work happens in its worker, so
// the event loop stays free while a step computes.
//
// Faults stay with the requests they touch:
// - a step the executor rejects fails the requests in that step (their streams end with the error); the rest of
//   the batch keeps its cache rows and carries on;
// - a logits row with NaN or +Inf fails only the request it belongs to;
// - an executor crash loses every cache row: the cache bookkeeping is rebuilt from empty (no block held, no
//   prefix-cache entry) and every surviving request is recomputed from its tokens, like a preemption. The step
//   that was running when the worker died fails its requests (a poison input must not crash the worker twice);
//   a crash found before the step was sent fails nobody.
// - an unexpected error inside the loop itself fails every live request and rebuilds the bookkeeping, so the
//   loop never dies with requests waiting on it.
import { KvCacheManager } from '../cache/kv-cache-manager.js';
import type { GrammarBackend, MatcherId } from '../grammar/grammar-service.js';
import { ExecutorCrashed, ExecutorError } from '../model/executor/errors.js';
import type { Executor, RunnerOutput } from '../model/executor/types.js';
import { cacheBytesPerToken } from '../model/executor/types.js';
import { Rng } from '../util/rng.js';
import { PenaltyTracker } from '../sampling/logits-processors.js';
import type { RowResult } from '../sampling/step-spec.js';
import type { Decoder } from './detokenizer.js';
import { InvalidRequest, Overloaded, Unavailable } from './errors.js';
import { assertFits } from './prompt-checks.js';
import { EventStream } from './event-stream.js';
import { GrammarMasks } from './grammar-masks.js';
import { OutputProcessor } from './output-processor.js';
import { Request } from './request.js';
import type { SchedulerOutput } from './scheduler.js';
import { Scheduler } from './scheduler.js';
import { buildStepInputs } from './step-inputs.js';
import {
  Draws,
  StepSampler,
  refusedMaskRows,
  stepMaskRows,
  type SampledToken,
  type SamplingState,
  type StepRows,
} from './step-sampler.js';
import type { Engine, EngineObserver, EngineRequest, EngineStats, TokenEvent } from './types.js';

export interface EngineConfig {
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  /** Requests allowed to wait beyond the free seats of the batch; past that submit() throws Overloaded. */
  readonly maxWaiting: number;
  /** Longest prompt + completion accepted (the model's window, capped by what the cache can hold). */
  readonly maxModelLen: number;
  readonly enablePrefixCaching: boolean;
  /** The scheduler's caps on a step's padded attention block (engine/scheduler.ts; defaults there). */
  readonly maxPaddedQuerySlots?: number;
  readonly maxAttentionBlock?: number;
}

export interface TokenizerLike extends Decoder {
  readonly eosTokenIds: readonly number[];
}

/** Where the engine reports faults; a pino logger fits. */
export interface EngineLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const NO_LOG: EngineLog = { warn() {}, error() {} };

/** How long computed logits wait for masks queued behind a compile before those rows are held for them. */
const MASK_GRACE_MS = 2;

interface LiveRequest extends SamplingState {
  readonly stream: EventStream<TokenEvent>;
  readonly output: OutputProcessor;
}

export class LatentEngine implements Engine {
  readonly maxModelLen: number;
  // Replaced (never mutated back) when the executor loses its cache: see resetCache().
  private kv: KvCacheManager;
  private scheduler: Scheduler;
  private readonly live = new Map<string, LiveRequest>();
  private readonly pendingAborts = new Set<string>();
  private readonly grammar: GrammarMasks;
  private readonly sampler: StepSampler;
  private loop: Promise<void> | null = null;
  /** Deferred samples waiting for their masks; the loop waits on them when nothing else can run. */
  private readonly deferredSamples = new Set<Promise<void>>();
  private stepping = false;
  private closed = false;

  constructor(
    private readonly executor: Executor,
    private readonly tokenizer: TokenizerLike,
    private readonly config: EngineConfig,
    private readonly observer: EngineObserver = {},
    private readonly log: EngineLog = NO_LOG,
    grammar: GrammarBackend | null = null,
  ) {
    this.grammar = new GrammarMasks(grammar);
    const { numBlocks, blockSize } = executor.cache;
    this.maxModelLen = Math.min(config.maxModelLen, numBlocks * blockSize);
    this.kv = this.newCacheManager();
    this.scheduler = this.newScheduler();
    this.sampler = new StepSampler(this.grammar);
  }

  submit(req: EngineRequest, signal?: AbortSignal): AsyncIterable<TokenEvent> {
    if (this.closed) throw new Unavailable('the engine is shutting down');
    this.validate(req);
    if (this.live.has(req.id)) throw new InvalidRequest(`request id ${req.id} is already in use`);
    // Requests that will not get a seat at the next step count against maxWaiting.
    const freeSeats = Math.max(0, this.config.maxNumSeqs - this.scheduler.numRunning);
    if (this.scheduler.numWaiting >= this.config.maxWaiting + freeSeats) {
      throw new Overloaded(`too many requests waiting (${this.scheduler.numWaiting}); retry later`);
    }
    const request = new Request(req, this.tokenizer.eosTokenIds, performance.now());
    const stream = new EventStream<TokenEvent>(() => this.abort(req.id));
    const grammar = req.grammar ?? null;
    this.live.set(req.id, {
      request,
      stream,
      draws: new Draws(new Rng(req.sampling.seed ?? Math.floor(Math.random() * 2 ** 48))),
      penalties: new PenaltyTracker(req.promptIds),
      output: new OutputProcessor(this.tokenizer, request),
      matcher: grammar === null ? null : this.grammar.open(grammar),
    });
    if (signal !== undefined) {
      if (signal.aborted) this.abort(req.id);
      else signal.addEventListener('abort', () => this.abort(req.id), { once: true });
    }
    this.scheduler.add(request);
    this.loop ??= this.run();
    return stream;
  }

  /** Cancels a request: it leaves the batch before the next step and its blocks are freed. */
  abort(id: string): void {
    if (!this.live.has(id)) return;
    this.pendingAborts.add(id);
    if (!this.stepping) this.applyAborts();
  }

  stats(): EngineStats {
    const cache = this.executor.cache;
    return {
      numRunning: this.scheduler.numRunning,
      numWaiting: this.scheduler.numWaiting,
      cacheBlocksUsed: this.kv.numUsedBlocks(),
      cacheBlocksTotal: cache.numBlocks,
      cacheBlocksTouched: this.kv.numTouchedBlocks(),
      cacheBlockSize: cache.blockSize,
      cacheBytesPerToken: cacheBytesPerToken(cache),
    };
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    await this.loop;
    for (const id of [...this.live.keys()]) this.fail(id, new Unavailable('the engine shut down'));
  }

  /** The server has checked this request already (engine/prompt-checks.ts); the offline path has not. */
  private validate(req: EngineRequest): void {
    assertFits(req.promptIds, req.maxTokens, this.executor.vocabSize, this.maxModelLen);
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      this.applyAborts();
      if (!this.scheduler.hasWork()) break;
      try {
        const output = this.scheduler.schedule();
        if (output.scheduled.length === 0) {
          if (this.deferredSamples.size > 0) await Promise.race(this.deferredSamples);
          else if (output.preempted.length === 0) this.failUnschedulable();
          continue;
        }
        await this.step(output);
      } catch (err) {
        // A bug, not a model fault: nothing says the bookkeeping is still consistent, so start it over.
        this.log.error({ err }, 'engine step loop failed; failing every live request');
        this.stepping = false;
        const error = new ExecutorError(
          `engine step loop failed: ${err instanceof Error ? err.message : String(err)}`,
          'engine_error',
          { cause: err },
        );
        for (const id of [...this.live.keys()]) this.fail(id, error);
        this.resetCache();
      }
    }
    // Synchronous with the last hasWork() check, so a submit() that finds loop === null starts a new one.
    this.loop = null;
  }

  private newCacheManager(): KvCacheManager {
    const { numBlocks, blockSize } = this.executor.cache;
    return new KvCacheManager({ numBlocks, blockSize, enablePrefixCaching: this.config.enablePrefixCaching });
  }

  private newScheduler(): Scheduler {
    const { maxNumSeqs, maxNumBatchedTokens, maxPaddedQuerySlots, maxAttentionBlock } = this.config;
    return new Scheduler(
      { maxNumSeqs, maxNumBatchedTokens, maxPaddedQuerySlots, maxAttentionBlock },
      this.kv,
      this.observer,
    );
  }

  /**
   * The executor's cache rows are gone (its worker died): forget every block and prefix-cache entry by starting
   * fresh bookkeeping, and queue every live request again, in arrival order, to be recomputed from its tokens
   * (prompt and output so far) exactly as a preempted request is. Afterwards no block is held by anyone.
   */
  private resetCache(): void {
    const survivors = [...this.live.values()].map((l) => l.request);
    this.kv = this.newCacheManager();
    this.scheduler = this.newScheduler();
    for (const request of survivors) {
      if (request.numComputedTokens > 0) this.observer.onPreemption?.();
      request.numComputedTokens = 0;
      this.scheduler.add(request);
    }
  }

  private onStepFailure(output: SchedulerOutput, err: unknown): void {
    const ids = output.scheduled.map((s) => s.request.id);
    const error =
      err instanceof ExecutorError
        ? err
        : new ExecutorError(
            `model step failed: ${err instanceof Error ? err.message : String(err)}`,
            'executor_error',
            { cause: err },
          );
    const crashed = error instanceof ExecutorCrashed;
    // A crash before the step was sent ran nothing of it: its requests are recomputed with everyone else.
    const failed = crashed && !error.inStep ? [] : ids;
    this.log.error(
      { err: error, requestIds: failed, cacheLost: crashed },
      crashed ? 'executor crashed; latent cache rebuilt' : 'model step failed',
    );
    for (const id of failed) this.fail(id, error);
    if (crashed) this.resetCache();
  }

  /** Nothing runs and the head of the queue cannot be admitted: fail it rather than spin. */
  private failUnschedulable(): void {
    const stats = this.stats();
    for (const [id, live] of this.live) {
      if (live.request.status === 'waiting') {
        this.fail(
          id,
          new Unavailable(
            `request needs more cache than is free (${stats.cacheBlocksTotal - stats.cacheBlocksUsed} of ${stats.cacheBlocksTotal} blocks)`,
          ),
        );
        return;
      }
    }
  }

  private async step(output: SchedulerOutput): Promise<void> {
    const { inputs, plans } = buildStepInputs(output, this.kv);
    const fills: MatcherId[] = [];
    for (const plan of plans) {
      const matcher = plan.sampleRow === null ? null : (this.live.get(plan.scheduled.request.id)?.matcher ?? null);
      if (matcher !== null) fills.push(matcher);
    }
    // Filled in the grammar worker while the model computes, and sent on to the executor when ready.
    const masking = this.grammar.request(fills);
    let maskError: unknown = null;
    const masks =
      masking === null
        ? null
        : masking.masks.then(
            (m) => stepMaskRows(m, fills),
            (err: unknown) => {
              maskError = err;
              return refusedMaskRows(fills.length, 'grammar masks failed');
            },
          );
    const rows = this.sampler.plan(plans, this.live, fills);
    // Masks normally arrive before the logits. Behind another request's compile they can take seconds: then the
    // constrained rows wait for them on their own (held by the executor) and everyone else's tokens go out now.
    const sampling = { rows: rows.specs, masks, maskGraceMs: masking?.behindCompile === true ? MASK_GRACE_MS : null };
    let result: RunnerOutput;
    this.stepping = true;
    try {
      // The step is dispatched before anything else runs; the previous step's events are consumed (SSE writes)
      // while it computes. The extra macrotask turn lets HTTP work run even when an executor answers at once.
      [result] = await Promise.all([
        this.executor.step({ ...inputs, sampling }),
        new Promise<void>((resolve) => setImmediate(resolve)),
      ]);
    } catch (err) {
      this.sampler.giveBack(rows, this.live);
      this.onStepFailure(output, err);
      return;
    } finally {
      this.stepping = false;
    }
    if (maskError !== null) this.failConstrained(fills, maskError);
    if (result.samples === null) throw new Error('the executor returned logits for a step that carried sampling specs');
    const { sampled, failed, held } = this.sampler.collect(rows, result.samples.results, this.live);
    for (const [id, error] of failed) this.failSampling(id, error);
    for (const id of held) this.live.get(id)!.request.awaitingSample = true;
    const finished = this.scheduler.update(output, new Map([...sampled].map(([id, s]) => [id, s.token])));
    const now = performance.now();
    for (const [id, s] of sampled) this.emitToken(id, s, now);
    for (const request of finished) this.complete(request, now);
    if (held.length > 0)
      this.sampleWhenMasked(rows, held, result.samples.late!, () =>
        maskError === null ? null : { fills, err: maskError },
      );
  }

  /**
   * Takes the held rows' tokens once the executor has sampled them with their late masks, appends and emits them,
   * and lets those requests run again. If the executor dies holding them, their requests fail with that error.
   */
  private sampleWhenMasked(
    rows: StepRows,
    held: readonly string[],
    late: Promise<ReadonlyMap<number, RowResult>>,
    maskFailure: () => { fills: readonly MatcherId[]; err: unknown } | null,
  ): void {
    const done = late
      .then(
        (results) => {
          const failure = maskFailure();
          if (failure !== null) this.failConstrained(failure.fills, failure.err);
          const now = performance.now();
          for (const [index, r] of results) {
            const id = rows.owners[index]!;
            const live = this.live.get(id);
            if (live === undefined) continue;
            const sample = this.sampler.collectLate(live, r);
            if (sample instanceof ExecutorError) {
              this.failSampling(id, sample);
              continue;
            }
            const finished = this.scheduler.appendDeferred(live.request, sample.token);
            this.emitToken(id, sample, now);
            if (finished) this.complete(live.request, now);
          }
        },
        (err: unknown) => {
          const error =
            err instanceof ExecutorError
              ? err
              : new ExecutorError(
                  `held rows lost: ${err instanceof Error ? err.message : String(err)}`,
                  'executor_error',
                  { cause: err },
                );
          this.log.error(
            { err: error, requestIds: held },
            'executor failed holding rows for late grammar masks; their requests failed',
          );
          for (const id of held) this.fail(id, error);
        },
      )
      .finally(() => {
        for (const id of held) {
          const live = this.live.get(id);
          if (live !== undefined) live.request.awaitingSample = false;
        }
        this.deferredSamples.delete(done);
        this.loop ??= this.run();
      });
    this.deferredSamples.add(done);
  }

  private failConstrained(fills: readonly MatcherId[], err: unknown): void {
    const error = new ExecutorError(
      `grammar masks failed: ${err instanceof Error ? err.message : String(err)}`,
      'grammar_error',
      { cause: err },
    );
    this.log.error({ err: error }, 'grammar backend failed; constrained requests of this step failed');
    for (const [id, live] of this.live) if (live.matcher !== null && fills.includes(live.matcher)) this.fail(id, error);
  }

  private failSampling(id: string, error: ExecutorError): void {
    this.log.error(
      { err: error, requestId: id },
      error.code === 'grammar_error'
        ? 'grammar refused a token; request failed'
        : 'model produced non-finite logits; request failed',
    );
    this.fail(id, error);
  }

  private emitToken(id: string, { token, logprob }: SampledToken, now: number): void {
    const live = this.live.get(id);
    if (live === undefined) return;
    const { request } = live;
    if (request.firstTokenMs === null) {
      request.firstTokenMs = now;
      this.observer.onFirstToken?.((now - request.arrivalMs) / 1000);
      this.observer.onPromptTokens?.(request.numPromptTokens);
    } else if (request.lastTokenMs !== null) {
      this.observer.onInterToken?.((now - request.lastTokenMs) / 1000);
    }
    request.lastTokenMs = now;
    this.observer.onGenerationTokens?.(1);
    const { text, stop } = live.output.push(token);
    live.stream.push({ type: 'delta', text, tokenIds: [token], logprobs: logprob === null ? null : [logprob] });
    if (stop !== null && request.status !== 'finished') {
      this.scheduler.finish(request, 'stop', stop);
      this.complete(request, now);
    }
  }

  private complete(request: Request, now: number): void {
    const live = this.live.get(request.id);
    if (live === undefined) return;
    this.release(request.id, live);
    const tail = live.output.finish();
    if (tail.length > 0) live.stream.push({ type: 'delta', text: tail, tokenIds: [], logprobs: null });
    const usage = {
      promptTokens: request.numPromptTokens,
      completionTokens: request.numOutputTokens,
      cachedTokens: request.numCachedTokens,
    };
    live.stream.push({
      type: 'finish',
      reason: request.finishReason ?? 'length',
      stopReason: request.stopReason,
      usage,
      promptLogprobs: request.promptLogprobs === null ? null : request.promptLogprobEntries,
    });
    live.stream.end();
    this.observer.onRequestFinished?.((now - request.arrivalMs) / 1000, usage);
  }

  private fail(id: string, err: unknown): void {
    const live = this.live.get(id);
    if (live === undefined) return;
    this.release(id, live);
    this.scheduler.remove(id);
    live.request.status = 'finished'; // scheduler.update() skips it if it was in the step being recorded
    live.stream.end(err instanceof Error ? err : new Error(String(err)));
  }

  private release(id: string, live: LiveRequest): void {
    this.live.delete(id);
    if (live.matcher !== null) this.grammar.close(live.matcher);
  }

  private applyAborts(): void {
    for (const id of this.pendingAborts) {
      const live = this.live.get(id);
      if (live !== undefined) {
        this.release(id, live);
        this.scheduler.remove(id);
        live.stream.end();
      }
    }
    this.pendingAborts.clear();
  }
}
