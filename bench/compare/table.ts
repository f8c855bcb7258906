// The comparison table: one row per measurement, one sample per round for each server; medians, ranges and the
// per-round ratios (each round's latentserve sample against the llama.cpp sample of the same round, so a slow
// patch of this shared machine hits both sides of a ratio). Pure; compare-bench.ts measures and writes.
//
// Ratios are speed ratios: above 1 means latentserve is faster — throughput latentserve ÷ llama.cpp, times
// (TTFT) llama.cpp ÷ latentserve.

export type Better = 'higher' | 'lower';

export interface Row {
  readonly label: string;
  readonly unit: string;
  readonly better: Better;
  /** Index = round; null where that round has no sample (a failed run). */
  readonly latent: readonly (number | null)[];
  readonly llama: readonly (number | null)[];
  /** What llama.cpp ran, e.g. `Q8_0, llama-bench tg64`. */
  readonly llamaNote: string;
}

export interface RowStats {
  readonly latentMedian: number | null;
  readonly latentRange: readonly [number, number] | null;
  readonly llamaMedian: number | null;
  readonly llamaRange: readonly [number, number] | null;
  readonly ratios: readonly (number | null)[];
  readonly medianRatio: number | null;
}

/** The middle value (mean of the middle two for an even count); null for no values. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const present = (xs: readonly (number | null)[]): number[] =>
  xs.filter((x): x is number => x !== null && Number.isFinite(x));

function range(xs: readonly number[]): readonly [number, number] | null {
  return xs.length === 0 ? null : [Math.min(...xs), Math.max(...xs)];
}

/** latentserve's speed relative to llama.cpp in one round (> 1: latentserve faster); null without both samples. */
export function speedRatio(latent: number | null, llama: number | null, better: Better): number | null {
  if (latent === null || llama === null || !(latent > 0) || !(llama > 0)) return null;
  return better === 'higher' ? latent / llama : llama / latent;
}

export function rowStats(row: Row): RowStats {
  const rounds = Math.max(row.latent.length, row.llama.length);
  const ratios = Array.from({ length: rounds }, (_, r) =>
    speedRatio(row.latent[r] ?? null, row.llama[r] ?? null, row.better),
  );
  const l = present(row.latent);
  const a = present(row.llama);
  return {
    latentMedian: median(l),
    latentRange: range(l),
    llamaMedian: median(a),
    llamaRange: range(a),
    ratios,
    medianRatio: median(present(ratios)),
  };
}

/** 3 significant digits, at most one decimal above 100 and none above 1,000 (a table, not a data dump). */
export function fmt(x: number): string {
  const digits = Math.abs(x) >= 1000 ? 0 : Math.abs(x) >= 100 ? 1 : Math.abs(x) >= 10 ? 1 : 2;
  return x.toFixed(digits);
}

function cell(m: number | null, r: readonly [number, number] | null): string {
  if (m === null || r === null) return '—';
  return r[0] === r[1] ? fmt(m) : `${fmt(m)} (${fmt(r[0])}–${fmt(r[1])})`;
}

/** Percent of the machine's bandwidth a decode rate implies: bytes each token reads × tokens/s ÷ triad bytes/s. */
export function rooflinePercent(
  tokensPerSecond: number | null,
  bytesPerToken: number,
  triadBytesPerSecond: number | null,
): number | null {
  if (tokensPerSecond === null || triadBytesPerSecond === null || !(triadBytesPerSecond > 0)) return null;
  return (100 * tokensPerSecond * bytesPerToken) / triadBytesPerSecond;
}

export interface Roofline {
  readonly label: string;
  readonly bytesPerToken: number;
  /** llama.cpp's, where its format's bytes differ (w8a8 against Q8_0); default bytesPerToken. */
  readonly llamaBytesPerToken?: number;
  readonly latentTokensPerSecond: number | null;
  readonly llamaTokensPerSecond: number | null;
  readonly triadBytesPerSecond: number | null;
}

/** The markdown table: medians with their ranges over rounds, every round's ratio, and the median ratio. */
export function markdownTable(rows: readonly Row[], rooflines: readonly Roofline[] = []): string {
  const lines = ['| | latentserve | llama.cpp | ratio per round | median ratio |', '|---|---|---|---|---|'];
  for (const row of rows) {
    const s = rowStats(row);
    const ratios = s.ratios.map((r) => (r === null ? '—' : r.toFixed(2))).join(' / ');
    lines.push(
      `| ${row.label} (${row.unit}) | ${cell(s.latentMedian, s.latentRange)} | ${row.llamaNote} ${cell(s.llamaMedian, s.llamaRange)} | ${ratios} | ${s.medianRatio === null ? '—' : `**${s.medianRatio.toFixed(2)}**`} |`,
    );
  }
  for (const r of rooflines) {
    const pct = (t: number | null, bytesPerToken: number): string => {
      const p = rooflinePercent(t, bytesPerToken, r.triadBytesPerSecond);
      return p === null ? '—' : `${p.toFixed(0)} %`;
    };
    const llamaBytes = r.llamaBytesPerToken ?? r.bytesPerToken;
    const mb = (b: number): string => (b / 1e6).toFixed(0);
    const perToken =
      llamaBytes === r.bytesPerToken ? mb(r.bytesPerToken) : `${mb(r.bytesPerToken)} (llama.cpp ${mb(llamaBytes)})`;
    const gb = r.triadBytesPerSecond === null ? '?' : (r.triadBytesPerSecond / 1e9).toFixed(1);
    lines.push(
      `| ${r.label}: ${perToken} MB/token × tok/s ÷ STREAM triad (${gb} GB/s) | ${pct(r.latentTokensPerSecond, r.bytesPerToken)} | ${pct(r.llamaTokensPerSecond, llamaBytes)} | | |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
