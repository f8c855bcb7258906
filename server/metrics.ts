// Prometheus metrics for /metrics, on a registry owned by this object (never prom-client's global one, so two
// servers in one process do not collide). Gauges read engineStats() at scrape time; counters and histograms
// are fed by the engine through the EngineObserver callbacks. Names follow vLLM's, under `latentserve_`; the
// process metrics (process_resident_memory_bytes, nodejs_heap_size_used_bytes, …) are prom-client's defaults;
// latentserve_process_resident_memory_bytes repeats the resident set next to the cache gauges (it is read at
// scrape time and includes the executor worker, its ONNX Runtime arena and the cache pools: one process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineObserver, EngineStats, Usage } from '../engine/types.js';

// Seconds; vLLM's buckets.
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const E2E_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

/** What the executor reports about its memory (OnnxExecutor fits); optional so fakes need not. */
export interface ExecutorMemoryStats {
  /** Distinct step input shapes (combinations of the dynamic dimensions) run so far. */
  readonly numShapesSeen: number;
  /** Distinct sizes of the step's dynamic dimensions run so far, summed (the shape buckets seen). */
  readonly numSizesSeen: number;
  /** The largest step run so far by each term of its working set (see model/executor/step-shape-stats.ts). */
  readonly largestStep: { readonly tokens: number; readonly gathered: number; readonly attention: number };
}

export class ServerMetrics implements EngineObserver {
  readonly registry = new Registry();
  private readonly prefixCacheHits: Counter;
  private readonly prefixCacheQueries: Counter;
  private readonly promptTokens: Counter;
  private readonly generationTokens: Counter;
  private readonly preemptions: Counter;
  private readonly clientClosed: Counter;
  private readonly timeToFirstToken: Histogram;
  private readonly interTokenLatency: Histogram;
  private readonly e2eLatency: Histogram;

  constructor(engineStats: () => EngineStats, executorStats?: () => ExecutorMemoryStats) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const gauge = (name: string, help: string, read: (s: EngineStats) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(engineStats()));
        },
      });
    };
    gauge('latentserve_num_requests_running', 'Requests in the running batch.', (s) => s.numRunning);
    gauge('latentserve_num_requests_waiting', 'Requests waiting to be scheduled.', (s) => s.numWaiting);
    gauge('latentserve_cache_blocks_used', 'Latent cache blocks held by live requests.', (s) => s.cacheBlocksUsed);
    gauge('latentserve_cache_blocks_total', 'Latent cache blocks in the pool.', (s) => s.cacheBlocksTotal);
    gauge(
      'latentserve_cache_blocks_touched',
      'Latent cache blocks allocated at least once since start (their memory is resident).',
      (s) => s.cacheBlocksTouched,
    );
    gauge(
      'latentserve_cache_bytes_per_token',
      'Latent cache bytes per token, all layers.',
      (s) => s.cacheBytesPerToken,
    );
    gauge(
      'latentserve_cache_capacity_tokens',
      'Tokens the latent cache holds when full.',
      (s) => s.cacheBlocksTotal * s.cacheBlockSize,
    );
    new Gauge({
      name: 'latentserve_process_resident_memory_bytes',
      help: 'Resident memory of the server process (HTTP, engine, executor worker, cache pools).',
      registers,
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    if (executorStats !== undefined) {
      new Gauge({
        name: 'latentserve_executor_step_shapes',
        help: 'Distinct step input shapes (N, B, T, max_blocks, R combinations) the executor has run.',
        registers,
        collect() {
          this.set(executorStats().numShapesSeen);
        },
      });
      new Gauge({
        name: 'latentserve_executor_step_sizes',
        help: 'Distinct sizes of the step dimensions the executor has run, summed (shape buckets seen).',
        registers,
        collect() {
          this.set(executorStats().numSizesSeen);
        },
      });
      new Gauge({
        name: 'latentserve_executor_largest_step',
        help: 'Largest step run so far by each term of its working set: tokens (N), gathered (batch × blocks), attention (batch × query length × blocks).',
        labelNames: ['term'],
        registers,
        collect() {
          for (const [term, value] of Object.entries(executorStats().largestStep)) this.set({ term }, value);
        },
      });
    }

    const counter = (name: string, help: string): Counter => new Counter({ name, help, registers });
    this.prefixCacheHits = counter('latentserve_prefix_cache_hits_total', 'Prompt tokens found in the prefix cache.');
    this.prefixCacheQueries = counter(
      'latentserve_prefix_cache_queries_total',
      'Prompt tokens looked up in the prefix cache.',
    );
    this.promptTokens = counter('latentserve_prompt_tokens_total', 'Prompt tokens prefilled.');
    this.generationTokens = counter('latentserve_generation_tokens_total', 'Tokens generated.');
    this.preemptions = counter('latentserve_num_preemptions_total', 'Requests preempted for lack of cache blocks.');
    this.clientClosed = counter(
      'latentserve_http_client_closed_requests_total',
      'Requests whose client closed the connection before any response (logged with status 499).',
    );

    const histogram = (name: string, help: string, buckets: number[]): Histogram =>
      new Histogram({ name, help, buckets, registers });
    this.timeToFirstToken = histogram('latentserve_time_to_first_token_seconds', 'Time to first token.', TTFT_BUCKETS);
    this.interTokenLatency = histogram('latentserve_inter_token_latency_seconds', 'Time between tokens.', ITL_BUCKETS);
    this.e2eLatency = histogram(
      'latentserve_e2e_request_latency_seconds',
      'Request latency, arrival to finish.',
      E2E_BUCKETS,
    );
  }

  // Arrow properties so the engine may call them detached; bad values are dropped (prom-client throws on a
  // negative increment, and the engine's step loop must never fail because of a metric).
  readonly onPrefixCacheQuery = (queriedTokens: number, hitTokens: number): void => {
    inc(this.prefixCacheQueries, queriedTokens);
    inc(this.prefixCacheHits, hitTokens);
  };
  readonly onPromptTokens = (count: number): void => inc(this.promptTokens, count);
  readonly onGenerationTokens = (count: number): void => inc(this.generationTokens, count);
  readonly onFirstToken = (seconds: number): void => observe(this.timeToFirstToken, seconds);
  readonly onInterToken = (seconds: number): void => observe(this.interTokenLatency, seconds);
  readonly onRequestFinished = (e2eSeconds: number, _usage: Usage): void => observe(this.e2eLatency, e2eSeconds);
  readonly onPreemption = (): void => inc(this.preemptions, 1);
  /** Not an engine event: the access log (request-log.ts) reports a 499. */
  readonly onClientClosed = (): void => inc(this.clientClosed, 1);
}

function inc(counter: Counter, amount: number): void {
  if (Number.isFinite(amount) && amount > 0) counter.inc(amount);
}

function observe(histogram: Histogram, seconds: number): void {
  if (Number.isFinite(seconds) && seconds >= 0) histogram.observe(seconds);
}
