// The soak's own samples as a figure in the load tester's SVG style (loadtest/svg.ts): resident memory over time
// with the end of warm-up and the growth limit drawn in, and the distinct step sizes and shapes the executor has run.
import { figure, linearAxis, niceTicks, type LegendEntry, type PanelSpec, type Series } from '../loadtest/svg.js';
import type { MemorySample, MemoryVerdict } from './soak-verdict.js';

const BLUE = '#1f77b4';
const RED = '#d62728';
const GREEN = '#2ca02c';

export function rssChart(
  samples: readonly (MemorySample & { readonly shapes: number })[],
  verdict: MemoryVerdict,
  loadEndS: number,
  title: string,
): string {
  const endS = Math.max(1, ...samples.map((s) => s.atS));
  const x = (a: number, b: number) => linearAxis(niceTicks(0, endS), a, b);
  const rss: Series = {
    name: 'RSS (MiB)',
    color: BLUE,
    dash: '',
    markers: true,
    points: samples.map((s) => [s.atS, s.rssMb] as const),
  };
  const marks: Series[] = [];
  if (verdict.warmupEndS !== null && verdict.rssAfterWarmupMb !== null) {
    const limit = verdict.rssAfterWarmupMb * 1.1;
    marks.push({
      name: 'warm-up RSS + 10 % (limit)',
      color: RED,
      dash: '7 4',
      markers: false,
      points: [
        [verdict.warmupEndS, limit],
        [endS, limit],
      ],
    });
    marks.push({
      name: 'end of warm-up',
      color: GREEN,
      dash: '2 3',
      markers: false,
      points: [
        [verdict.warmupEndS, 0],
        [verdict.warmupEndS, limit],
      ],
    });
  }
  marks.push({
    name: 'load stops',
    color: '#7f7f7f',
    dash: '2 3',
    markers: false,
    points: [
      [loadEndS, 0],
      [loadEndS, Math.max(...samples.map((s) => s.rssMb))],
    ],
  });
  const maxRss = Math.max(...samples.map((s) => s.rssMb), ...marks.flatMap((m) => m.points.map(([, y]) => y)));
  const sizes: Series = {
    name: 'step sizes (buckets) run',
    color: GREEN,
    dash: '',
    markers: true,
    points: samples.map((s) => [s.atS, s.sizes] as const),
  };
  const shapes: Series = {
    name: 'step shapes run',
    color: BLUE,
    dash: '7 4',
    markers: true,
    points: samples.map((s) => [s.atS, s.shapes] as const),
  };
  const maxCount = Math.max(1, ...samples.map((s) => Math.max(s.sizes, s.shapes)));
  const panels: PanelSpec[] = [
    {
      title: 'Resident memory',
      xLabel: 'seconds',
      yLabel: 'MiB',
      x,
      y: (a, b) => linearAxis(niceTicks(0, maxRss * 1.05), a, b),
      series: [rss, ...marks],
    },
    {
      title: 'Distinct step sizes and shapes',
      xLabel: 'seconds',
      yLabel: 'count',
      x,
      y: (a, b) => linearAxis(niceTicks(0, maxCount * 1.05), a, b),
      series: [sizes, shapes],
    },
  ];
  const entries: LegendEntry[] = [rss, ...marks, sizes, shapes].map((s) => ({
    name: s.name,
    color: s.color,
    dash: s.dash,
  }));
  return figure(`Soak: ${title} — ${verdict.ok ? 'PASS' : 'FAIL'}, ${verdict.reason}`, panels, entries);
}
