// Serving metrics exactly as `vllm bench serve` computes them (benchmarks/serve.py, calculate_metrics), keyed as
// it writes them to its result JSON:
//   TTFT  per completed request: send → first streamed chunk carrying content
//   ITL   every gap between successive content chunks, pooled over all requests
//   TPOT  per completed request with > 1 output token: (E2EL − TTFT) / (outputTokens − 1)
//   E2EL  per completed request: send → end of stream
// Throughputs divide by the run's wall-clock duration; goodput counts completed requests meeting every given
// SLO (a request with ≤ 1 output token has TPOT 0 there, as in vLLM). Percentiles interpolate linearly between
// order statistics, like numpy.percentile; an empty sample reports 0, as vLLM's `np.mean(x or 0)` does.

/** One request as measured; `success: false` requests count only as failed. */
export interface MeasuredRequest {
  readonly success: boolean;
  readonly ttftMs: number;
  /** Gaps between successive content chunks. */
  readonly itlMs: readonly number[];
  readonly latencyMs: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
}

/** Service-level objectives for goodput, in ms; absent ones are not checked. */
export interface GoodputSlo {
  readonly ttftMs?: number;
  readonly tpotMs?: number;
  readonly e2elMs?: number;
}

export const LATENCY_METRICS = ['ttft', 'tpot', 'itl', 'e2el'] as const;
export type LatencyMetric = (typeof LATENCY_METRICS)[number];

/** vLLM's result keys: `mean_ttft_ms`, `median_itl_ms`, `std_tpot_ms`, `p99_e2el_ms`, … */
export type ServingMetrics = {
  readonly completed: number;
  readonly failed: number;
  readonly duration: number;
  readonly total_input_tokens: number;
  readonly total_output_tokens: number;
  readonly request_throughput: number;
  readonly request_goodput: number | null;
  readonly output_throughput: number;
  readonly total_token_throughput: number;
} & { readonly [K in `${'mean' | 'median' | 'std'}_${LatencyMetric}_ms`]: number } & {
  readonly [key: `p${number}_${LatencyMetric}_ms`]: number;
};

/** `p99`, `p99.9`: vLLM's spelling of a percentile in result keys. */
export function percentileKey(p: number, metric: LatencyMetric): `p${number}_${LatencyMetric}_ms` {
  return `p${p}_${metric}_ms`;
}

/** numpy.percentile(values, p) with the default linear interpolation; 0 for an empty sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return percentileOfSorted(sorted, p);
}

export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  return a + (sorted[hi]! - a) * (rank - lo);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Population standard deviation (numpy.std's default). */
export function std(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const m = mean(values);
  let sum = 0;
  for (const v of values) sum += (v - m) ** 2;
  return Math.sqrt(sum / values.length);
}

/** TPOT of one request, or null when it produced at most one token. */
export function requestTpotMs(r: MeasuredRequest): number | null {
  return r.outputTokens > 1 ? (r.latencyMs - r.ttftMs) / (r.outputTokens - 1) : null;
}

/** The per-metric samples the statistics are taken over. */
export function latencySamples(requests: readonly MeasuredRequest[]): Record<LatencyMetric, number[]> {
  const samples: Record<LatencyMetric, number[]> = { ttft: [], tpot: [], itl: [], e2el: [] };
  for (const r of requests) {
    if (!r.success) continue;
    samples.ttft.push(r.ttftMs);
    samples.e2el.push(r.latencyMs);
    for (const gap of r.itlMs) samples.itl.push(gap);
    const tpot = requestTpotMs(r);
    if (tpot !== null) samples.tpot.push(tpot);
  }
  return samples;
}

export function meetsSlo(r: MeasuredRequest, slo: GoodputSlo): boolean {
  if (slo.ttftMs !== undefined && r.ttftMs > slo.ttftMs) return false;
  if (slo.tpotMs !== undefined && (requestTpotMs(r) ?? 0) > slo.tpotMs) return false;
  if (slo.e2elMs !== undefined && r.latencyMs > slo.e2elMs) return false;
  return true;
}

export interface MetricsOptions {
  /** Percentiles to report besides the median; vLLM's keys `p90_ttft_ms`, `p99_ttft_ms`, … */
  readonly percentiles: readonly number[];
  /** null: `request_goodput` is null, as in vLLM without --goodput. */
  readonly goodput: GoodputSlo | null;
}

export const DEFAULT_PERCENTILES = [90, 99] as const;

export function computeMetrics(
  requests: readonly MeasuredRequest[],
  durationS: number,
  opts: MetricsOptions,
): ServingMetrics {
  const done = requests.filter((r) => r.success);
  const totalInput = done.reduce((a, r) => a + r.promptTokens, 0);
  const totalOutput = done.reduce((a, r) => a + r.outputTokens, 0);
  const good = opts.goodput === null ? null : done.filter((r) => meetsSlo(r, opts.goodput!)).length;
  const out: Record<string, number | null> = {
    completed: done.length,
    failed: requests.length - done.length,
    duration: durationS,
    total_input_tokens: totalInput,
    total_output_tokens: totalOutput,
    request_throughput: done.length / durationS,
    request_goodput: good === null ? null : good / durationS,
    output_throughput: totalOutput / durationS,
    total_token_throughput: (totalInput + totalOutput) / durationS,
  };
  const samples = latencySamples(requests);
  for (const metric of LATENCY_METRICS) {
    const sorted = [...samples[metric]].sort((a, b) => a - b);
    out[`mean_${metric}_ms`] = mean(sorted);
    out[`median_${metric}_ms`] = percentileOfSorted(sorted, 50);
    out[`std_${metric}_ms`] = std(sorted);
    for (const p of opts.percentiles) out[percentileKey(p, metric)] = percentileOfSorted(sorted, p);
  }
  return out as ServingMetrics;
}
