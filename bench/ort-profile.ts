// Reads an ONNX Runtime profile (the Chrome-trace JSON that `--profile DIR` makes the executor worker write) and
// sums it up: time per op type, nodes per run, and the dispatch gaps — time inside a run during which no kernel
// ran (scheduling, allocation, the executor's own bookkeeping). Pure: bench/profile-summary.ts does the I/O.
//
// The events used (ORT 1.30): `cat: "Session", name: "model_run"` once per session.run(), and `cat: "Node",
// name: "<node>_kernel_time", args.op_name` once per kernel; ts and dur are microseconds. A kernel belongs to the
// run whose interval contains its start.

export interface ProfileEvent {
  readonly cat?: string;
  readonly name?: string;
  readonly ts?: number;
  readonly dur?: number;
  readonly args?: { readonly op_name?: string };
}

export interface OpTypeTime {
  readonly opType: string;
  readonly totalUs: number;
  readonly kernels: number;
}

export interface ProfileSummary {
  readonly runs: number;
  /** Per run, medians over the runs counted. */
  readonly medianRunUs: number;
  readonly medianNodesPerRun: number;
  readonly medianKernelUs: number;
  /** Sum of the gaps between one kernel's end and the next one's start. */
  readonly medianGapUs: number;
  /** Run time before the first kernel and after the last (feeds, fetches, arena). */
  readonly medianEdgeUs: number;
  /** Over all runs counted, largest total first. */
  readonly opTypes: readonly OpTypeTime[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const KERNEL = '_kernel_time';

/** `skipRuns`: leave out the first runs (warm-up: arena growth, prepacking). */
export function summarizeProfile(events: readonly ProfileEvent[], skipRuns = 0): ProfileSummary {
  const runs = events
    .filter(
      (e) => e.cat === 'Session' && e.name === 'model_run' && typeof e.ts === 'number' && typeof e.dur === 'number',
    )
    .sort((a, b) => a.ts! - b.ts!)
    .slice(skipRuns);
  const kernels = events
    .filter(
      (e) =>
        e.cat === 'Node' && e.name?.endsWith(KERNEL) === true && typeof e.ts === 'number' && typeof e.dur === 'number',
    )
    .sort((a, b) => a.ts! - b.ts!);
  const perRun = {
    runUs: [] as number[],
    nodes: [] as number[],
    kernelUs: [] as number[],
    gapUs: [] as number[],
    edgeUs: [] as number[],
  };
  const byOp = new Map<string, { totalUs: number; kernels: number }>();
  let k = 0;
  for (const run of runs) {
    const start = run.ts!;
    const end = start + run.dur!;
    while (k < kernels.length && kernels[k]!.ts! < start) k++;
    let nodes = 0;
    let kernelUs = 0;
    let gapUs = 0;
    let lastEnd = -1;
    let firstStart = -1;
    for (; k < kernels.length && kernels[k]!.ts! <= end; k++) {
      const e = kernels[k]!;
      nodes++;
      kernelUs += e.dur!;
      if (firstStart < 0) firstStart = e.ts!;
      else gapUs += Math.max(0, e.ts! - lastEnd);
      lastEnd = Math.max(lastEnd, e.ts! + e.dur!);
      const op = e.args?.op_name ?? e.name!.slice(0, -KERNEL.length);
      const t = byOp.get(op) ?? { totalUs: 0, kernels: 0 };
      t.totalUs += e.dur!;
      t.kernels++;
      byOp.set(op, t);
    }
    perRun.runUs.push(run.dur!);
    perRun.nodes.push(nodes);
    perRun.kernelUs.push(kernelUs);
    perRun.gapUs.push(gapUs);
    perRun.edgeUs.push(nodes === 0 ? run.dur! : Math.max(0, firstStart - start) + Math.max(0, end - lastEnd));
  }
  return {
    runs: runs.length,
    medianRunUs: median(perRun.runUs),
    medianNodesPerRun: median(perRun.nodes),
    medianKernelUs: median(perRun.kernelUs),
    medianGapUs: median(perRun.gapUs),
    medianEdgeUs: median(perRun.edgeUs),
    opTypes: [...byOp.entries()].map(([opType, t]) => ({ opType, ...t })).sort((a, b) => b.totalUs - a.totalUs),
  };
}

/** The summary as text: a per-run line, then one row per op type (share of all kernel time, mean µs, per run). */
export function formatProfileSummary(s: ProfileSummary, top = 25): string {
  const ms = (us: number): string => (us / 1000).toFixed(2);
  const total = s.opTypes.reduce((a, o) => a + o.totalUs, 0);
  const lines = [
    `runs: ${s.runs}; per run (median): ${ms(s.medianRunUs)} ms, ${s.medianNodesPerRun} nodes, kernels ${ms(s.medianKernelUs)} ms, ` +
      `gaps between kernels ${ms(s.medianGapUs)} ms, before first / after last kernel ${ms(s.medianEdgeUs)} ms`,
    '',
    '| op type | total ms | share | kernels | per run | mean µs |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const o of s.opTypes.slice(0, top)) {
    const share = total === 0 ? 0 : (100 * o.totalUs) / total;
    lines.push(
      `| ${o.opType} | ${ms(o.totalUs)} | ${share.toFixed(1)} % | ${o.kernels} | ${(o.kernels / Math.max(1, s.runs)).toFixed(1)} | ${(o.totalUs / o.kernels).toFixed(1)} |`,
    );
  }
  if (s.opTypes.length > top) lines.push(`| (${s.opTypes.length - top} more op types) | | | | | |`);
  return `${lines.join('\n')}\n`;
}
