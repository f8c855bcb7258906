// The soak's memory verdict, from its own samples. Warm-up is defined by the run, not by a guess: it ends at the
// first sample (no earlier than a floor) by which the two things that legitimately grow resident memory have
// reached their values for the whole load:
// - the largest step the executor has run, by each term of a step's working set: tokens (N), gathered blocks
//   (B × maxBlocks) and attention blocks (B × T × maxBlocks); see model/executor/step-shape-stats.ts. ONNX Runtime's
//   CPU arena keeps the high-water mark those terms set, so a later step of a size not seen before, but no larger,
//   fits in memory the arena already holds (and if it did not, the growth check below would catch it);
// - the latent cache blocks touched (allocated at least once): the pools are zero pages until first written, so
//   RSS follows the cache as it fills, which on a loaded machine takes minutes.
// The drain after the load stops runs smaller batches and frees blocks, so both are read at the last sample under
// load. The run fails when warm-up is not over with a quarter of the
// load still to come (too little left to see a plateau: the largest step kept growing) or when RSS grows more than
// maxGrowthPct between the end of warm-up and the end of the run. Distinct step sizes (the shape buckets seen) are
// reported alongside, for the record.
//
// Measured: a 10-minute `mini --quant int8` soak reached its largest attention step (batch × query × blocks 10,240
// → 12,800) at 361 s, and RSS rose with it (1,131 → 1,166 MiB, settling at 1,145), while 30 new small sizes after
// 80 s left RSS flat: the largest step, not the count of sizes, is what moves the arena.

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
  /** Latent cache blocks allocated at least once so far (latentserve_cache_blocks_touched). */
  readonly cacheTouched: number;
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
  /** Warm-up end (null: the largest step or the cache's touched blocks still grew in the last quarter of the load). */
  readonly warmupEndS: number | null;
  readonly rssAfterWarmupMb: number | null;
  readonly rssEndMb: number;
  readonly growthPct: number | null;
  /** The largest step of the load (at the last sample under load). */
  readonly largestStep: LargestStepSample;
  /** Cache blocks touched by the last sample under load. */
  readonly cacheTouched: number;
  /** Distinct step sizes at the end of warm-up and at the last sample under load. */
  readonly sizesAtWarmupEnd: number | null;
  readonly sizesAtEnd: number;
}

const TERMS = ['tokens', 'gathered', 'attention'] as const;
/** Warm-up must end by this share of the load, so that a quarter of it is left to show the plateau. */
const WARMUP_DEADLINE = 0.75;

const reached = (s: MemorySample, target: MemorySample): boolean =>
  TERMS.every((t) => s.largest[t] >= target.largest[t]) && s.cacheTouched >= target.cacheTouched;

export function memoryVerdict(samples: readonly MemorySample[], opts: MemoryVerdictOptions): MemoryVerdict {
  const end = samples.at(-1);
  if (end === undefined) throw new RangeError('memoryVerdict: no samples');
  const underLoad = [...samples].reverse().find((s) => s.atS <= opts.loadEndS) ?? end;
  const deadlineS = WARMUP_DEADLINE * opts.loadEndS;
  const warm = samples.find((s) => s.atS >= opts.minWarmupS && s.atS <= deadlineS && reached(s, underLoad)) ?? null;
  const base = {
    rssEndMb: end.rssMb,
    largestStep: underLoad.largest,
    cacheTouched: underLoad.cacheTouched,
    sizesAtEnd: underLoad.sizes,
  };
  if (warm === null) {
    const last = [...samples].reverse().find((s) => s.atS <= deadlineS);
    const short = TERMS.filter((t) => (last?.largest[t] ?? 0) < underLoad.largest[t]).map(
      (t) => `${t} ${last?.largest[t] ?? 0} of ${underLoad.largest[t]}`,
    );
    if ((last?.cacheTouched ?? 0) < underLoad.cacheTouched)
      short.push(`cache blocks touched ${last?.cacheTouched ?? 0} of ${underLoad.cacheTouched}`);
    return {
      ...base,
      ok: false,
      warmupEndS: null,
      rssAfterWarmupMb: null,
      growthPct: null,
      sizesAtWarmupEnd: null,
      reason: `warm-up never ended: the largest step or the cache still grew in the last quarter of the load (${short.join(', ')} by ${Math.round(deadlineS)} s; floor ${opts.minWarmupS} s)`,
    };
  }
  const growthPct = +((100 * (end.rssMb - warm.rssMb)) / warm.rssMb).toFixed(1);
  const ok = growthPct <= opts.maxGrowthPct;
  return {
    ...base,
    ok,
    warmupEndS: warm.atS,
    rssAfterWarmupMb: warm.rssMb,
    growthPct,
    sizesAtWarmupEnd: warm.sizes,
    reason: `RSS ${warm.rssMb} → ${end.rssMb} MiB after warm-up (${growthPct >= 0 ? '+' : ''}${growthPct} %, limit ${opts.maxGrowthPct} %)`,
  };
}
