// The report's charts: throughput and latency percentiles versus concurrency (one line per label), and the
// distribution (CDF) of TTFT and ITL per run.
import { LATENCY_METRICS, percentileKey, percentileOfSorted, type LatencyMetric } from './metrics.js';
import type { RunResult, RunWithDetail } from './results.js';
import {
  categoryAxis,
  figure,
  linearAxis,
  logAxis,
  logTicks,
  niceTicks,
  type Axis,
  type LegendEntry,
  type PanelSpec,
  type Series,
} from './svg.js';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'] as const;
const DASHES = ['', '7 4', '2 3', '10 3 2 3'] as const;

const color = (i: number): string => PALETTE[i % PALETTE.length]!;
const dash = (i: number): string => DASHES[i % DASHES.length]!;

/** Concurrency as an x value: no cap is drawn as ∞. */
const concurrencyOf = (r: RunResult): number => r.max_concurrency ?? Infinity;

function labelsOf(runs: readonly RunResult[]): string[] {
  return [...new Set(runs.map((r) => r.label))];
}

function levelsOf(runs: readonly RunResult[]): number[] {
  return [...new Set(runs.map(concurrencyOf))].sort((a, b) => a - b);
}

function yFromZero(series: readonly Series[]): (from: number, to: number) => Axis {
  const max = Math.max(0, ...series.flatMap((s) => s.points.map(([, y]) => y)));
  return (from, to) => linearAxis(niceTicks(0, max > 0 ? max * 1.05 : 1), from, to);
}

function versusConcurrency(
  runs: readonly RunResult[],
  title: string,
  yLabel: string,
  value: (r: RunResult) => number,
  dashIndex = 0,
  nameSuffix = '',
): PanelSpec {
  const labels = labelsOf(runs);
  const series: Series[] = labels.map((label, i) => ({
    name: `${label}${nameSuffix}`,
    color: color(i),
    dash: dash(dashIndex),
    markers: true,
    points: runs
      .filter((r) => r.label === label)
      .sort((a, b) => concurrencyOf(a) - concurrencyOf(b))
      .map((r) => [concurrencyOf(r), value(r)] as const),
  }));
  const levels = levelsOf(runs);
  return {
    title,
    xLabel: 'concurrency',
    yLabel,
    x: (a, b) => categoryAxis(levels, a, b),
    y: yFromZero(series),
    series,
  };
}

export function throughputChart(runs: readonly RunResult[]): string {
  const labels = labelsOf(runs);
  const panels = [
    versusConcurrency(runs, 'Output token throughput', 'tokens/s', (r) => r.output_throughput),
    versusConcurrency(runs, 'Request throughput', 'requests/s', (r) => r.request_throughput),
  ];
  return figure(
    'Throughput versus concurrency',
    panels,
    labels.map((name, i) => ({ name, color: color(i), dash: '' })),
  );
}

const TITLES: Record<LatencyMetric, string> = {
  ttft: 'Time to first token (TTFT)',
  tpot: 'Time per output token (TPOT)',
  itl: 'Inter-token latency (ITL)',
  e2el: 'End-to-end latency (E2EL)',
};

export function latencyChart(runs: readonly RunResult[], percentiles: readonly number[]): string {
  const labels = labelsOf(runs);
  const stats: { name: string; value: (r: RunResult, m: LatencyMetric) => number }[] = [
    { name: 'median', value: (r, m) => r[`median_${m}_ms`] },
    ...percentiles.map((p) => ({
      name: `p${p}`,
      value: (r: RunResult, m: LatencyMetric) => r[percentileKey(p, m)] ?? 0,
    })),
  ];
  const panels = LATENCY_METRICS.map((metric): PanelSpec => {
    const series = stats.flatMap(
      (stat, si) => versusConcurrency(runs, '', '', (r) => stat.value(r, metric), si, ` ${stat.name}`).series,
    );
    const levels = levelsOf(runs);
    return {
      title: TITLES[metric],
      xLabel: 'concurrency',
      yLabel: 'ms',
      x: (a, b) => categoryAxis(levels, a, b),
      y: yFromZero(series),
      series,
    };
  });
  const entries: LegendEntry[] = [
    ...labels.map((name, i) => ({ name, color: color(i), dash: '' })),
    ...stats.map((s, i) => ({ name: s.name, color: '#444', dash: dash(i) })),
  ];
  return figure('Latency percentiles versus concurrency', panels, entries);
}

/** At most `points` (value, fraction ≤ value) pairs of the empirical CDF. */
export function cdfPoints(values: readonly number[], points = 200): [number, number][] {
  if (values.length === 0) return [];
  const sorted = [...values].sort((a, b) => a - b);
  const n = Math.max(1, Math.min(points, sorted.length - 1));
  return Array.from({ length: n + 1 }, (_, i) => {
    const q = i / n;
    return [percentileOfSorted(sorted, q * 100), q] as [number, number];
  });
}

function cdfPanel(title: string, runs: readonly RunWithDetail[], valuesOf: (r: RunWithDetail) => number[]): PanelSpec {
  const labels = labelsOf(runs.map((r) => r.result));
  const levels = levelsOf(runs.map((r) => r.result));
  const series: Series[] = runs.map((r) => ({
    name: `${r.result.label} c=${concurrencyOf(r.result)}`,
    color: color(levels.indexOf(concurrencyOf(r.result))),
    dash: dash(labels.indexOf(r.result.label)),
    markers: false,
    points: cdfPoints(valuesOf(r)),
  }));
  const all = runs.flatMap(valuesOf).filter((v) => v > 0);
  const min = all.length === 0 ? 1 : Math.min(...all);
  const max = all.length === 0 ? 10 : Math.max(...all);
  const useLog = max / min > 20;
  const x = (a: number, b: number): Axis =>
    useLog ? logAxis(logTicks(min, max), a, b) : linearAxis(niceTicks(0, max * 1.05), a, b);
  const y = (a: number, b: number): Axis => ({
    ...linearAxis([0, 0.25, 0.5, 0.75, 1], a, b),
    labels: ['0', '25%', '50%', '75%', '100%'],
  });
  return { title, xLabel: useLog ? 'ms (log scale)' : 'ms', yLabel: 'fraction of samples ≤ x', x, y, series };
}

const completed = (r: RunWithDetail): number[] => r.detail.errors.flatMap((e, i) => (e === '' ? [i] : []));

export function distributionChart(runs: readonly RunWithDetail[]): string {
  const ttfts = (r: RunWithDetail): number[] => completed(r).map((i) => r.detail.ttfts[i]! * 1000);
  const itls = (r: RunWithDetail): number[] => completed(r).flatMap((i) => r.detail.itls[i]!.map((s) => s * 1000));
  const panels = [cdfPanel('TTFT distribution', runs, ttfts), cdfPanel('ITL distribution', runs, itls)];
  const entries = panels[0]!.series.map((s) => ({ name: s.name, color: s.color, dash: s.dash }));
  return figure('TTFT and ITL distributions (CDF)', panels, entries);
}

export interface ChartFile {
  readonly file: string;
  readonly title: string;
  readonly svg: string;
}

export function charts(runs: readonly RunWithDetail[], percentiles: readonly number[]): ChartFile[] {
  const results = runs.map((r) => r.result);
  return [
    { file: 'throughput.svg', title: 'Throughput versus concurrency', svg: throughputChart(results) },
    { file: 'latency.svg', title: 'Latency percentiles versus concurrency', svg: latencyChart(results, percentiles) },
    { file: 'distribution.svg', title: 'TTFT and ITL distributions', svg: distributionChart(runs) },
  ];
}
