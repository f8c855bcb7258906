// Just enough SVG for line charts: an element builder, nice axis ticks and a panel that maps data to pixels.
// No dependencies; the output is plain text that renders on GitHub and in any browser.

export function el(
  tag: string,
  attrs: Record<string, string | number>,
  children: readonly string[] | string = [],
): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
  const inner = typeof children === 'string' ? escapeXml(children) : children.join('');
  return inner === '' ? `<${tag}${a}/>` : `<${tag}${a}>${inner}</${tag}>`;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** 1, 2, 5 × 10^k ticks covering [0 or min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min, min + 1];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v < max + step * 0.999; v += step) ticks.push(+v.toPrecision(12));
  return ticks;
}

/** Powers of ten (with 2 and 5 between when the range is short) from the last at or below min to the first at or
 * above max; min > 0. */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const mult = hi - lo <= 3 ? [1, 2, 5] : [1];
  const all: number[] = [];
  for (let k = lo; k <= hi; k++) for (const m of mult) all.push(+(m * 10 ** k).toPrecision(12));
  const start = all.filter((t) => t <= min).at(-1) ?? all[0]!;
  const end = all.find((t) => t >= max) ?? all.at(-1)!;
  const ticks = all.filter((t) => t >= start && t <= end);
  return ticks.length >= 2 ? ticks : [start, start * 10];
}

/** 1234 → "1.2k", 0.0125 → "0.0125", 12.5 → "12.5". */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  const abs = Math.abs(v);
  if (abs >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (abs >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  return String(+v.toPrecision(3));
}

export type Scale = (v: number) => number;

export interface Axis {
  readonly ticks: readonly number[];
  /** Data → pixel. */
  readonly scale: Scale;
  readonly labels?: readonly string[];
}

export function linearAxis(ticks: readonly number[], fromPx: number, toPx: number): Axis {
  const lo = ticks[0]!;
  const hi = ticks.at(-1)!;
  return { ticks, scale: (v) => fromPx + ((v - lo) / (hi - lo || 1)) * (toPx - fromPx) };
}

export function logAxis(ticks: readonly number[], fromPx: number, toPx: number): Axis {
  const lo = Math.log10(ticks[0]!);
  const hi = Math.log10(ticks.at(-1)!);
  return {
    ticks,
    scale: (v) => fromPx + ((Math.log10(Math.max(v, ticks[0]!)) - lo) / (hi - lo || 1)) * (toPx - fromPx),
  };
}

/** Evenly spaced categories (e.g. concurrency 1, 4, 16, 32), labelled with their values. */
export function categoryAxis(values: readonly number[], fromPx: number, toPx: number): Axis {
  const pad = (toPx - fromPx) / (2 * Math.max(values.length, 1));
  const step = values.length > 1 ? (toPx - fromPx - 2 * pad) / (values.length - 1) : 0;
  const at = new Map(values.map((v, i) => [v, fromPx + pad + i * step]));
  return { ticks: values, scale: (v) => at.get(v) ?? fromPx, labels: values.map(formatTick) };
}

export interface Series {
  readonly name: string;
  readonly color: string;
  /** stroke-dasharray, '' for solid. */
  readonly dash: string;
  readonly points: readonly (readonly [number, number])[];
  /** Draw markers at the points (sparse series), not for CDFs. */
  readonly markers: boolean;
}

export interface PanelSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly x: (fromPx: number, toPx: number) => Axis;
  readonly y: (fromPx: number, toPx: number) => Axis;
  readonly series: readonly Series[];
}

export const PANEL = { width: 380, height: 250, left: 58, right: 14, top: 30, bottom: 44 } as const;

/** One chart panel at (x0, y0): frame, grid, ticks, titles and polylines. */
export function panel(spec: PanelSpec, x0: number, y0: number): string {
  const { width, height, left, right, top, bottom } = PANEL;
  const px0 = x0 + left;
  const px1 = x0 + width - right;
  const py0 = y0 + height - bottom;
  const py1 = y0 + top;
  const xAxis = spec.x(px0, px1);
  const yAxis = spec.y(py0, py1);
  const parts: string[] = [];
  parts.push(el('text', { x: x0 + width / 2, y: y0 + 18, 'text-anchor': 'middle', 'font-weight': 'bold' }, spec.title));
  yAxis.ticks.forEach((t, i) => {
    const y = yAxis.scale(t);
    parts.push(el('line', { x1: px0, x2: px1, y1: y, y2: y, stroke: '#e5e5e5' }));
    parts.push(el('text', { x: px0 - 6, y: y + 4, 'text-anchor': 'end' }, yAxis.labels?.[i] ?? formatTick(t)));
  });
  xAxis.ticks.forEach((t, i) => {
    const x = xAxis.scale(t);
    parts.push(el('line', { x1: x, x2: x, y1: py0, y2: py0 + 4, stroke: '#666' }));
    parts.push(el('text', { x, y: py0 + 16, 'text-anchor': 'middle' }, xAxis.labels?.[i] ?? formatTick(t)));
  });
  parts.push(el('rect', { x: px0, y: py1, width: px1 - px0, height: py0 - py1, fill: 'none', stroke: '#666' }));
  parts.push(el('text', { x: (px0 + px1) / 2, y: py0 + 34, 'text-anchor': 'middle' }, spec.xLabel));
  parts.push(
    el(
      'text',
      {
        x: x0 + 14,
        y: (py0 + py1) / 2,
        'text-anchor': 'middle',
        transform: `rotate(-90 ${x0 + 14} ${(py0 + py1) / 2})`,
      },
      spec.yLabel,
    ),
  );
  for (const s of spec.series) {
    if (s.points.length === 0) continue;
    const pts = s.points.map(([x, y]) => `${xAxis.scale(x).toFixed(1)},${yAxis.scale(y).toFixed(1)}`);
    parts.push(
      el('polyline', {
        points: pts.join(' '),
        fill: 'none',
        stroke: s.color,
        'stroke-width': 2,
        ...(s.dash === '' ? {} : { 'stroke-dasharray': s.dash }),
      }),
    );
    if (s.markers)
      for (const p of pts) {
        const [cx, cy] = p.split(',');
        parts.push(el('circle', { cx: cx!, cy: cy!, r: 3, fill: s.color }));
      }
  }
  return el('g', {}, parts);
}

export interface LegendEntry {
  readonly name: string;
  readonly color: string;
  readonly dash: string;
}

/** Legend entries laid out in rows below the panels. */
export function legend(
  entries: readonly LegendEntry[],
  x0: number,
  y0: number,
  width: number,
): { svg: string; height: number } {
  const parts: string[] = [];
  let x = x0;
  let y = y0 + 14;
  for (const e of entries) {
    const w = 34 + e.name.length * 7;
    if (x + w > x0 + width && x > x0) {
      x = x0;
      y += 20;
    }
    parts.push(
      el('line', {
        x1: x,
        x2: x + 24,
        y1: y - 4,
        y2: y - 4,
        stroke: e.color,
        'stroke-width': 2,
        ...(e.dash === '' ? {} : { 'stroke-dasharray': e.dash }),
      }),
    );
    parts.push(el('text', { x: x + 30, y }, e.name));
    x += w + 12;
  }
  return { svg: el('g', {}, parts), height: y - y0 + 10 };
}

/** A whole figure: panels in a grid, a legend beneath. */
export function figure(
  title: string,
  panels: readonly PanelSpec[],
  entries: readonly LegendEntry[],
  columns = 2,
): string {
  const cols = Math.min(columns, panels.length);
  const rows = Math.ceil(panels.length / cols);
  const width = cols * PANEL.width + 20;
  const body: string[] = [
    el('text', { x: width / 2, y: 22, 'text-anchor': 'middle', 'font-size': 15, 'font-weight': 'bold' }, title),
  ];
  panels.forEach((p, i) =>
    body.push(panel(p, 10 + (i % cols) * PANEL.width, 32 + Math.floor(i / cols) * PANEL.height)),
  );
  const leg = legend(entries, 20, 32 + rows * PANEL.height, width - 40);
  body.push(leg.svg);
  const height = 32 + rows * PANEL.height + leg.height + 8;
  return `${el(
    'svg',
    {
      xmlns: 'http://www.w3.org/2000/svg',
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      'font-family': 'Helvetica, Arial, sans-serif',
      'font-size': 12,
    },
    [el('rect', { width, height, fill: 'white' }), ...body],
  )}\n`;
}
