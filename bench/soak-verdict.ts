// The soak's memory verdict, from its own samples. Warm-up is defined by the run, not by a guess: it ends at the
// first sample (no earlier than a floor for the cache pages to be touched) by which the executor has run 95 % of
// the distinct step shapes it runs in the whole load — after that, ONNX Runtime sees (almost) nothing new, so
// resident memory must plateau. The run fails when warm-up is not over by the middle of the load (the shape set
// never levelled off) or when RSS grows more than maxGrowthPct between the end of warm-up and the end of the run.

export interface MemorySample {
  readonly atS: number;
  readonly rssMb: number;
  /** Distinct step input shapes the executor has run so far. */
  readonly shapes: number;
}

export interface MemoryVerdictOptions {
  /** Warm-up lasts at least this long (the cache pools' zero pages fill as blocks are first written). */
  readonly minWarmupS: number;
  /** When the load stopped; the samples after it are the idle tail. */
  readonly loadEndS: number;
  readonly maxGrowthPct: number;
  /** Share of the run's distinct shapes that ends warm-up (default 0.95). */
  readonly shapesSettled?: number;
}

export interface MemoryVerdict {
  readonly ok: boolean;
  readonly reason: string;
  /** Warm-up end (null: the shapes never levelled off before mid-run). */
  readonly warmupEndS: number | null;
  readonly rssAfterWarmupMb: number | null;
  readonly rssEndMb: number;
  readonly growthPct: number | null;
  readonly shapesAtWarmupEnd: number | null;
  readonly shapesAtEnd: number;
}

export function memoryVerdict(samples: readonly MemorySample[], opts: MemoryVerdictOptions): MemoryVerdict {
  const end = samples.at(-1);
  if (end === undefined) throw new RangeError('memoryVerdict: no samples');
  const settled = Math.ceil((opts.shapesSettled ?? 0.95) * end.shapes);
  const warm = samples.find((s) => s.atS >= opts.minWarmupS && s.shapes >= settled && s.atS <= opts.loadEndS / 2) ?? null;
  const base = { rssEndMb: end.rssMb, shapesAtEnd: end.shapes };
  if (warm === null) {
    const mid = [...samples].reverse().find((s) => s.atS <= opts.loadEndS / 2);
    return {
      ...base, ok: false, warmupEndS: null, rssAfterWarmupMb: null, growthPct: null, shapesAtWarmupEnd: null,
      reason: `warm-up never ended: ${mid?.shapes ?? 0} of ${end.shapes} step shapes seen by mid-run (needs ${settled} after ${opts.minWarmupS} s)`,
    };
  }
  const growthPct = +((100 * (end.rssMb - warm.rssMb)) / warm.rssMb).toFixed(1);
  const ok = growthPct <= opts.maxGrowthPct;
  return {
    ...base, ok, warmupEndS: warm.atS, rssAfterWarmupMb: warm.rssMb, growthPct, shapesAtWarmupEnd: warm.shapes,
    reason: `RSS ${warm.rssMb} → ${end.rssMb} MiB after warm-up (${growthPct >= 0 ? '+' : ''}${growthPct} %, limit ${opts.maxGrowthPct} %)`,
  };
}
