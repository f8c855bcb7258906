// The result block `vllm bench serve` prints after a run, for the terminal.
import { LATENCY_METRICS, percentileKey, type LatencyMetric } from './metrics.js';
import type { RunResult } from './results.js';

const HEADINGS: Record<LatencyMetric, string> = {
  ttft: 'Time to First Token',
  tpot: 'Time per Output Token (excl. 1st token)',
  itl: 'Inter-token Latency',
  e2el: 'End-to-end Latency',
};

const row = (name: string, value: string | number): string => `${name.padEnd(40)} ${value}`;
const fixed = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(2));
const center = (text: string, fill: string): string => {
  const left = Math.floor((50 - text.length) / 2);
  return fill.repeat(Math.max(0, left)) + text + fill.repeat(Math.max(0, 50 - left - text.length));
};

export function textSummary(r: RunResult, percentiles: readonly number[]): string {
  const lines = [
    center(` Serving Benchmark Result: ${r.label} `, '='),
    row('Successful requests:', r.completed),
    row('Failed requests:', r.failed),
    ...(r.cancelled + r.not_sent > 0
      ? [row('Cancelled / not sent (max duration):', `${r.cancelled} / ${r.not_sent}`)]
      : []),
    row('Maximum request concurrency:', r.max_concurrency ?? 'unlimited'),
    row('Request rate (req/s):', r.request_rate),
    row('Benchmark duration (s):', fixed(r.duration)),
    row('Total input tokens:', r.total_input_tokens),
    row('Total generated tokens:', r.total_output_tokens),
    row('Request throughput (req/s):', fixed(r.request_throughput)),
    ...(r.request_goodput === null ? [] : [row('Request goodput (req/s):', fixed(r.request_goodput))]),
    row('Output token throughput (tok/s):', fixed(r.output_throughput)),
    row('Total Token throughput (tok/s):', fixed(r.total_token_throughput)),
  ];
  for (const m of LATENCY_METRICS) {
    const name = m.toUpperCase();
    lines.push(
      center(HEADINGS[m], '-'),
      row(`Mean ${name} (ms):`, fixed(r[`mean_${m}_ms`])),
      row(`Median ${name} (ms):`, fixed(r[`median_${m}_ms`])),
    );
    for (const p of percentiles) lines.push(row(`P${p} ${name} (ms):`, fixed(r[percentileKey(p, m)] ?? null)));
  }
  lines.push('='.repeat(50));
  return lines.join('\n');
}
