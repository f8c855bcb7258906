// report.md: the settings, a summary table per run, the full latency statistics, the HTTP-overhead table and the
// charts, in Markdown that renders on GitHub.
import { LATENCY_METRICS, percentileKey, type LatencyMetric } from './metrics.js';
import type { BenchResults, BenchSettings, HttpBenchResult, RunResult } from './results.js';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const align = header.map((_, i) => (i < 2 ? '---' : '---:'));
  return [header, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** Fixed decimals for small values, fewer for large ones. */
export function num(v: number | null, digits = 2): string {
  if (v === null || !Number.isFinite(v)) return '–';
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  if (Math.abs(v) >= 100) return v.toFixed(Math.min(digits, 1));
  return v.toFixed(digits);
}

const concurrency = (r: RunResult): string => (r.max_concurrency === null ? '∞' : String(r.max_concurrency));

export function summaryTable(runs: readonly RunResult[], goodput: boolean): string {
  const header = [
    'label',
    'concurrency',
    'completed',
    'failed',
    'duration (s)',
    'req/s',
    'output tok/s',
    'total tok/s',
    ...(goodput ? ['goodput req/s'] : []),
    'median TTFT (ms)',
    'p99 TTFT (ms)',
    'median TPOT (ms)',
    'p99 ITL (ms)',
    'median E2EL (ms)',
  ];
  const rows = runs.map((r) => [
    r.label,
    concurrency(r),
    String(r.completed),
    `${r.failed}${r.cancelled > 0 ? ` (+${r.cancelled} cancelled)` : ''}`,
    num(r.duration),
    num(r.request_throughput),
    num(r.output_throughput, 1),
    num(r.total_token_throughput, 1),
    ...(goodput ? [num(r.request_goodput)] : []),
    num(r.median_ttft_ms, 1),
    num(r.p99_ttft_ms ?? null, 1),
    num(r.median_tpot_ms, 1),
    num(r.p99_itl_ms ?? null, 1),
    num(r.median_e2el_ms, 1),
  ]);
  return table(header, rows);
}

const NAMES: Record<LatencyMetric, string> = { ttft: 'TTFT', tpot: 'TPOT', itl: 'ITL', e2el: 'E2EL' };

export function latencyTable(
  runs: readonly RunResult[],
  metric: LatencyMetric,
  percentiles: readonly number[],
): string {
  const header = ['label', 'concurrency', 'mean', 'median', 'std', ...percentiles.map((p) => `p${p}`)];
  const rows = runs.map((r) => [
    r.label,
    concurrency(r),
    num(r[`mean_${metric}_ms`]),
    num(r[`median_${metric}_ms`]),
    num(r[`std_${metric}_ms`]),
    ...percentiles.map((p) => num(r[percentileKey(p, metric)] ?? null)),
  ]);
  return table(header, rows);
}

export function httpTable(results: readonly HttpBenchResult[]): string {
  const header = [
    'label',
    'request',
    'connections',
    'duration (s)',
    'req/s',
    'mean (ms)',
    'p50 (ms)',
    'p90 (ms)',
    'p99 (ms)',
    'max (ms)',
    'non-2xx',
    'errors',
  ];
  const rows = results.map((h) => [
    h.label,
    `${h.name} (${h.method} ${h.path})`,
    String(h.connections),
    num(h.duration_s, 1),
    num(h.requests_per_s, 1),
    num(h.latency_mean_ms),
    num(h.latency_p50_ms),
    num(h.latency_p90_ms),
    num(h.latency_p99_ms),
    num(h.latency_max_ms),
    String(h.non_2xx),
    String(h.errors),
  ]);
  return table(header, rows);
}

export function reportMarkdown(results: BenchResults, charts: readonly { file: string; title: string }[]): string {
  const s = results.settings;
  const rate = results.runs[0]?.request_rate ?? 'inf';
  const burst = results.runs[0]?.burstiness ?? 1;
  const slo =
    s.goodput === null
      ? 'none'
      : Object.entries(s.goodput)
          .map(([k, v]) => `${k.replace(/Ms$/, '')} ≤ ${v} ms`)
          .join(', ');
  const lines: string[] = [
    `# Serving benchmark`,
    '',
    `${results.tool}, ${results.date}. Metrics as \`vllm bench serve\` defines them: TTFT to the first streamed chunk with content,`,
    'ITL every gap between content chunks (pooled), TPOT = (E2EL − TTFT) / (output tokens − 1) per request, E2EL to the end of the stream.',
    '',
    `- target: ${s.base_url} (${s.backend === 'openai-chat' ? '/v1/chat/completions' : '/v1/completions'}, streamed)`,
    `- served: ${[...new Set(results.runs.map((r) => (r.label === r.model_id ? r.model_id : `${r.label} (model ${r.model_id})`)))].join(', ') || '–'}`,
    `- dataset: ${s.dataset}${s.dataset === 'random' ? `, ${s.input_len} prompt tokens, ${s.output_len} output tokens` : ''}; ignore_eos ${s.ignore_eos ? 'on' : 'off'}; seed ${s.seed}`,
    `- sampling: ${samplingText(s.sampling)}`,
    `- arrivals: request rate ${rate}${rate === 'inf' ? ' (all at once, paced by concurrency)' : ` req/s, burstiness ${burst}${burst === 1 ? ' (Poisson)' : ' (gamma)'}`}`,
    `- token counts: ${s.token_counts === 'usage' ? "the server's usage" : s.token_counts === 'tokenize' ? 're-tokenized through /tokenize' : 'content chunks (approximate)'}; goodput SLO: ${slo}`,
    ...(s.max_duration_s === null ? [] : [`- max duration per level: ${s.max_duration_s} s`]),
    '',
    '## Summary',
    '',
    summaryTable(results.runs, s.goodput !== null),
    '',
    '## Latency (ms)',
    '',
  ];
  for (const metric of LATENCY_METRICS)
    lines.push(`### ${NAMES[metric]}`, '', latencyTable(results.runs, metric, s.percentiles), '');
  if (results.http.length > 0) {
    lines.push(
      '## HTTP overhead (autocannon)',
      '',
      'Non-streaming requests as fast as the connections allow: the cost of the server itself.',
      '',
      httpTable(results.http),
      '',
    );
  }
  const failures = results.runs.flatMap((r) =>
    Object.entries(r.error_counts).map(([e, n]) => `- ${r.label} c=${concurrency(r)}: ${n} × ${e}`),
  );
  if (failures.length > 0) lines.push('## Errors', '', ...failures, '');
  if (results.notes.length > 0) lines.push('## Notes', '', ...results.notes.map((n) => `- ${n}`), '');
  if (charts.length > 0) {
    lines.push('## Charts', '');
    for (const c of charts) lines.push(`![${c.title}](${c.file})`, '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** `greedy`, or the temperature and whichever filters were sent. */
function samplingText(sampling: BenchSettings['sampling']): string {
  if (sampling.temperature === 0) return 'greedy (temperature 0)';
  const parts = [`temperature ${sampling.temperature}`];
  if (sampling.topP !== null) parts.push(`top_p ${sampling.topP}`);
  if (sampling.topK !== null) parts.push(`top_k ${sampling.topK}`);
  if (sampling.minP !== null) parts.push(`min_p ${sampling.minP}`);
  return parts.join(', ');
}
