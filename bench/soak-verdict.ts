// The soak's memory verdict, from its own samples. Warm-up is defined by the run, not by a guess: it ends at the
// first sample (no earlier than a floor, for the cache pools' pages to be touched) by which the executor has run
// 95 % of the step sizes it runs under load (the drain after the load stops adds small batches, not larger
// steps) — the sizes of the five dynamic dimensions (N, B, T, max_blocks,
// R), which with shape buckets on are the buckets. A step's intermediates, and so the high-water mark ONNX Runtime's
// arena keeps, follow those sizes; once they are all seen, resident memory must plateau. The run fails when warm-up
// is not over by the middle of the load (the sizes never levelled off) or when RSS grows more than maxGrowthPct
// between the end of warm-up and the end of the run.

export interface MemorySample {
  readonly atS: number;
  readonly rssMb: number;
  /** Distinct sizes of the step's dynamic dimensions the executor has run so far, summed. */
  readonly sizes: number;
}

export interface MemoryVerdictOptions {
  /** Warm-up lasts at least this long. */
  readonly minWarmupS: number;
  /** When the load stopped; the samples after it are the idle tail. */
  readonly loadEndS: number;
  readonly maxGrowthPct: number;
  /** Share of the run's distinct sizes that ends warm-up (default 0.95). */
  readonly sizesSettled?: number;
}

export interface MemoryVerdict {
  readonly ok: boolean;
  readonly reason: string;
  /** Warm-up end (null: the sizes never levelled off before mid-run). sizesAtEnd: the last sample under load. */
  readonly warmupEndS: number | null;
  readonly rssAfterWarmupMb: number | null;
  readonly rssEndMb: number;
  readonly growthPct: number | null;
  readonly sizesAtWarmupEnd: number | null;
  readonly sizesAtEnd: number;
}

export function memoryVerdict(samples: readonly MemorySample[], opts: MemoryVerdictOptions): MemoryVerdict {
  const end = samples.at(-1);
  if (end === undefined) throw new RangeError('memoryVerdict: no samples');
  const underLoad = [...samples].reverse().find((s) => s.atS <= opts.loadEndS) ?? end;
  const settled = Math.ceil((opts.sizesSettled ?? 0.95) * underLoad.sizes);
  const warm = samples.find((s) => s.atS >= opts.minWarmupS && s.sizes >= settled && s.atS <= opts.loadEndS / 2) ?? null;
  const base = { rssEndMb: end.rssMb, sizesAtEnd: underLoad.sizes };
  if (warm === null) {
    const mid = [...samples].reverse().find((s) => s.atS <= opts.loadEndS / 2);
    return {
      ...base, ok: false, warmupEndS: null, rssAfterWarmupMb: null, growthPct: null, sizesAtWarmupEnd: null,
      reason: `warm-up never ended: ${mid?.sizes ?? 0} of ${underLoad.sizes} step sizes seen by mid-run (needs ${settled} after ${opts.minWarmupS} s)`,
    };
  }
  const growthPct = +((100 * (end.rssMb - warm.rssMb)) / warm.rssMb).toFixed(1);
  const ok = growthPct <= opts.maxGrowthPct;
  return {
    ...base, ok, warmupEndS: warm.atS, rssAfterWarmupMb: warm.rssMb, growthPct, sizesAtWarmupEnd: warm.sizes,
    reason: `RSS ${warm.rssMb} → ${end.rssMb} MiB after warm-up (${growthPct >= 0 ? '+' : ''}${growthPct} %, limit ${opts.maxGrowthPct} %)`,
  };
}
