// What `bench serve` measures and writes to results.json. Each run (one label × one concurrency level) carries
// vLLM's result keys (`request_throughput`, `mean_ttft_ms`, `p99_itl_ms`, …); `--save-detailed` adds vLLM's
// per-request arrays (seconds, as vLLM writes them).
import type { SamplingSpec } from './client/stream-request.js';
import type { GoodputSlo, ServingMetrics } from './metrics.js';

/** Per-request data kept in memory for the distribution chart; written only with --save-detailed. */
export interface RunDetail {
  readonly input_lens: readonly number[];
  readonly output_lens: readonly number[];
  /** Seconds; completed requests only. */
  readonly ttfts: readonly number[];
  /** Seconds, one list per completed request. */
  readonly itls: readonly (readonly number[])[];
  readonly errors: readonly string[];
}

export type RunResult = ServingMetrics & {
  /** What was served: a model name or a variant such as `float32`. */
  readonly label: string;
  readonly model_id: string;
  readonly endpoint: string;
  readonly num_prompts: number;
  /** vLLM writes the rate as a number or the string "inf". */
  readonly request_rate: number | 'inf';
  readonly burstiness: number;
  /** null: no cap. */
  readonly max_concurrency: number | null;
  /** In flight when --max-duration ended the run (aborted; neither completed nor failed). */
  readonly cancelled: number;
  /** Never sent because --max-duration came first. */
  readonly not_sent: number;
  /** Distinct error messages of failed requests, with counts. */
  readonly error_counts: Readonly<Record<string, number>>;
};

export interface BenchSettings {
  readonly base_url: string;
  readonly backend: 'openai' | 'openai-chat';
  readonly dataset: string;
  readonly input_len: number;
  readonly output_len: number;
  readonly seed: number;
  readonly goodput: GoodputSlo | null;
  readonly percentiles: readonly number[];
  /** Whether `ignore_eos` was sent (the server accepted it). */
  readonly ignore_eos: boolean;
  /** Whether token counts came from the server's `usage` (else re-tokenized through /tokenize, or chunk counts). */
  readonly token_counts: 'usage' | 'tokenize' | 'chunks';
  readonly max_duration_s: number | null;
  /** What every request asked the sampler for (temperature 0: greedy). */
  readonly sampling: SamplingSpec;
}

export interface HttpBenchResult {
  readonly label: string;
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly connections: number;
  readonly duration_s: number;
  readonly requests: number;
  readonly requests_per_s: number;
  readonly latency_mean_ms: number;
  readonly latency_p50_ms: number;
  readonly latency_p90_ms: number;
  readonly latency_p99_ms: number;
  readonly latency_max_ms: number;
  readonly non_2xx: number;
  readonly errors: number;
}

export interface BenchResults {
  readonly tool: string;
  readonly date: string;
  readonly settings: BenchSettings;
  readonly runs: readonly RunResult[];
  readonly http: readonly HttpBenchResult[];
  /** Lines for the report: what was skipped or approximated, and why. */
  readonly notes: readonly string[];
}

/** A run with the per-request detail the charts need. */
export interface RunWithDetail {
  readonly result: RunResult;
  readonly detail: RunDetail;
}
