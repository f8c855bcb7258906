// The soak's memory verdict, from its own samples. Warm-up is defined by the run, not by a guess: it ends at the
// first sample (no earlier than a floor, for the cache pools' pages to be touched) by which the executor has run
// its largest step of the load — by each term of a step's working set: tokens (N), gathered blocks (B × maxBlocks)
// and attention blocks (B × T × maxBlocks); see model/executor/step-shape-stats.ts. ONNX Runtime's CPU arena keeps
// the high-water mark those terms set, so once all three have reached their largest value, resident memory must
// plateau: a later step of a size not seen before, but no larger, fits in memory the arena already holds (and if
// it did not, the growth check below would catch it). The drain after the load stops runs smaller batches, so the
// largest step is read at the last sample under load. The run fails when warm-up is not over by the middle of the
// load (the largest step kept growing) or when RSS grows more than maxGrowthPct between the end of warm-up and the
// end of the run. Distinct step sizes (the shape buckets seen) are reported alongside, for the record.

export interface LargestStepSample {
  readonly tokens: number;
  readonly gathered: number;
  readonly attention: number;
}

export interface MemorySample {
  readonly atS: number;
  readonly rssMb: number;
  /** Distinct sizes of the step's dynamic dimensions the executor has run so far, summed. */
  readonly sizes: number;
  /** The largest step the executor has run so far. */
  readonly largest: LargestStepSample;
}

export interface MemoryVerdictOptions {
  /** Warm-up lasts at least this long. */
  readonly minWarmupS: number;
  /** When the load stopped; the samples after it are the idle tail. */
  readonly loadEndS: number;
  readonly maxGrowthPct: number;
}

export interface MemoryVerdict {
  readonly ok: boolean;
  readonly reason: string;
  /** Warm-up end (null: the largest step still grew after mid-run). */
  readonly warmupEndS: number | null;
  readonly rssAfterWarmupMb: number | null;
  readonly rssEndMb: number;
  readonly growthPct: number | null;
  /** The largest step of the load (at the last sample under load). */
  readonly largestStep: LargestStepSample;
  /** Distinct step sizes at the end of warm-up and at the last sample under load. */
  readonly sizesAtWarmupEnd: number | null;
  readonly sizesAtEnd: number;
}

const TERMS = ['tokens', 'gathered', 'attention'] as const;

const reached = (s: LargestStepSample, target: LargestStepSample): boolean => TERMS.every((t) => s[t] >= target[t]);

export function memoryVerdict(samples: readonly MemorySample[], opts: MemoryVerdictOptions): MemoryVerdict {
  const end = samples.at(-1);
  if (end === undefined) throw new RangeError('memoryVerdict: no samples');
  const underLoad = [...samples].reverse().find((s) => s.atS <= opts.loadEndS) ?? end;
  const target = underLoad.largest;
  const warm = samples.find((s) => s.atS >= opts.minWarmupS && s.atS <= opts.loadEndS / 2 && reached(s.largest, target)) ?? null;
  const base = { rssEndMb: end.rssMb, largestStep: target, sizesAtEnd: underLoad.sizes };
  if (warm === null) {
    const mid = [...samples].reverse().find((s) => s.atS <= opts.loadEndS / 2);
    const short = TERMS.filter((t) => (mid?.largest[t] ?? 0) < target[t]).map((t) => `${t} ${mid?.largest[t] ?? 0} of ${target[t]}`);
    return {
      ...base, ok: false, warmupEndS: null, rssAfterWarmupMb: null, growthPct: null, sizesAtWarmupEnd: null,
      reason: `warm-up never ended: the largest step still grew after mid-run (${short.join(', ')} by mid-run; floor ${opts.minWarmupS} s)`,
    };
  }
  const growthPct = +((100 * (end.rssMb - warm.rssMb)) / warm.rssMb).toFixed(1);
  const ok = growthPct <= opts.maxGrowthPct;
  return {
    ...base, ok, warmupEndS: warm.atS, rssAfterWarmupMb: warm.rssMb, growthPct, sizesAtWarmupEnd: warm.sizes,
    reason: `RSS ${warm.rssMb} → ${end.rssMb} MiB after warm-up (${growthPct >= 0 ? '+' : ''}${growthPct} %, limit ${opts.maxGrowthPct} %)`,
  };
}
