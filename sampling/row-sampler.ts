// Turns one step's logits into RowResults: prompt-logprob rows scored, sampling rows masked by their grammar (when
// constrained), adjusted by penalties and logit_bias, and drawn with the uniform the step carries. Runs wherever
// the logits are (the executor worker; the fake executor in tests), so vocabulary-sized rows never cross threads.
// Owns the vocabulary-sized work buffers, reused every step. Each row is checked first: NaN or +Inf, or no finite
// value at all, fails only that row (and so only its request).
import { applyBitmask } from './bitmask.js';
import { applyLogitsProcessors, logitsProcessorsNeutral, noPenalties, penaltyState } from './logits-processors.js';
import { logprobEntry } from './logprobs.js';
import { SamplingScratch, argmaxIfFinite, sampleToken } from './sample-token.js';
import type { RowResult, RowSpec, SampleRowSpec, StepMaskRows, StepSampling, StepSamples } from './step-spec.js';
import type { UniformSource } from './types.js';

/** A constrained row kept (copied out of the step's logits) until its mask arrives. */
interface HeldRow {
  /** Index of its spec in the step's rows. */
  readonly index: number;
  readonly spec: SampleRowSpec;
  readonly row: Float32Array;
}

const NON_FINITE: RowResult = { kind: 'failed', code: 'non_finite_logits', message: 'non-finite logits (NaN or Inf)' };

export class RowSampler {
  private readonly processed: Float32Array;
  private readonly masked: Float32Array;
  private readonly scratch: Float32Array;
  private readonly samplingScratch = new SamplingScratch();

  constructor(readonly vocabSize: number) {
    this.processed = new Float32Array(vocabSize);
    this.masked = new Float32Array(vocabSize);
    this.scratch = new Float32Array(vocabSize);
  }

  /**
   * One result per spec. `logits` is [rows, vocabSize]. Constrained rows use `masks`; with masks === null they
   * are copied out and held instead (their results come from sampleHeld).
   */
  sample(
    logits: Float32Array,
    rows: readonly RowSpec[],
    masks: StepMaskRows | null,
  ): { results: RowResult[]; held: HeldRow[] } {
    const vocab = this.vocabSize;
    const results: RowResult[] = [];
    const held: HeldRow[] = [];
    rows.forEach((spec, index) => {
      const start = spec.row * vocab;
      if (start + vocab <= logits.length && plainGreedy(spec)) {
        // The common row (temperature 0, nothing to adjust or mask) takes one pass; rows with a non-finite value
        // go the general way below.
        const token = argmaxIfFinite(logits, start, start + vocab);
        if (token >= 0) {
          const logprob =
            spec.logprobs === null
              ? null
              : logprobEntry(logits.subarray(start, start + vocab), token, spec.logprobs, this.scratch);
          results.push({ kind: 'token', token, logprob });
          return;
        }
      }
      if (start + vocab > logits.length || !usable(logits, start, vocab)) {
        results.push(NON_FINITE);
        return;
      }
      const row = logits.subarray(start, start + vocab);
      if (spec.kind === 'score') {
        results.push({ kind: 'score', entry: logprobEntry(row, spec.token, spec.numTop, this.scratch) });
      } else if (spec.maskSlot !== null && masks === null) {
        held.push({ index, spec, row: row.slice() });
        results.push({ kind: 'held' });
      } else {
        results.push(this.sampleRow(spec, row, masks));
      }
    });
    return { results, held };
  }

  /** The held rows' results, by index in the step's rows. */
  sampleHeld(held: readonly HeldRow[], masks: StepMaskRows): Map<number, RowResult> {
    return new Map(held.map(({ index, spec, row }) => [index, this.sampleRow(spec, row, masks)]));
  }

  /**
   * One next token. A constrained row samples from its row masked by its grammar, and its logprobs are those of
   * that masked distribution (before penalties and temperature), as vLLM reports them.
   */
  private sampleRow(spec: SampleRowSpec, row: Float32Array, masks: StepMaskRows | null): RowResult {
    let raw = row;
    if (spec.maskSlot !== null) {
      const why = masks === null ? 'no mask' : (masks.refused[spec.maskSlot] ?? null);
      if (why !== null) return { kind: 'failed', code: 'grammar_error', message: `grammar: ${why}` };
      this.masked.set(raw);
      if (!applyBitmask(this.masked, masks!.masks, spec.maskSlot * masks!.words, masks!.words)) {
        return { kind: 'failed', code: 'grammar_error', message: 'grammar: no allowed token has a finite logit' };
      }
      raw = this.masked;
    }
    // The row is sampled as it is unless something edits it; then from a copy (raw stays for the logprobs).
    const adjusted = !logitsProcessorsNeutral(spec.options);
    let processed = raw;
    if (spec.allowed !== null) {
      if (!keepOnly(raw, spec.allowed, this.processed))
        return spec.maskSlot !== null
          ? { kind: 'failed', code: 'grammar_error', message: 'grammar: it allows none of allowed_token_ids' }
          : { kind: 'failed', code: 'non_finite_logits', message: 'no id of allowed_token_ids has a finite logit' };
      processed = this.processed;
    } else if (adjusted || spec.holdBack !== null) {
      processed = this.processed;
      processed.set(raw);
    }
    if (adjusted)
      applyLogitsProcessors(
        processed,
        spec.options,
        spec.penalties === null ? noPenalties() : penaltyState(spec.penalties),
      );
    if (spec.holdBack !== null) holdBack(processed, spec.holdBack);
    const token = sampleToken(processed, spec.options, drawOf(spec), this.samplingScratch);
    return {
      kind: 'token',
      token,
      logprob: spec.logprobs === null ? null : logprobEntry(raw, token, spec.logprobs, this.scratch),
    };
  }
}

/**
 * A step's results, waiting for its masks (when it has constrained rows) first: without limit when maskGraceMs
 * is null, else at most that long, after which the constrained rows are held and answered in `late`.
 */
export async function sampleStep(
  sampler: RowSampler,
  logits: Float32Array,
  sampling: Pick<StepSampling, 'rows' | 'maskGraceMs'>,
  masks: Promise<StepMaskRows> | null,
): Promise<StepSamples> {
  const constrained = sampling.rows.some((r) => r.kind === 'sample' && r.maskSlot !== null);
  let ready: StepMaskRows | null = null;
  if (constrained && masks !== null)
    ready = sampling.maskGraceMs === null ? await masks : await settledWithin(masks, sampling.maskGraceMs);
  else if (constrained) ready = { masks: new Int32Array(0), words: 0, refused: sampling.rows.map(() => 'no mask') };
  const { results, held } = sampler.sample(logits, sampling.rows, ready);
  const late = held.length === 0 ? null : masks!.then((m) => sampler.sampleHeld(held, m));
  return { results, late };
}

/** `promise`'s value if it settles within `ms`, else null. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The row's one uniform draw; sampleToken asks for it only when temperature > 0 (then the engine sent one). */
function drawOf(spec: SampleRowSpec): UniformSource {
  return {
    nextUnit: () => {
      if (spec.uniform === null)
        throw new Error(
          `row ${spec.row}: temperature ${spec.options.temperature} needs a uniform draw and none was sent`,
        );
      return spec.uniform;
    },
  };
}

/**
 * out = row with every id outside `ids` at −Infinity; false when none of `ids` has a finite value there (a grammar
 * masked them all). Ids are in the vocabulary (the server checks them).
 */
function keepOnly(row: Float32Array, ids: readonly number[], out: Float32Array): boolean {
  out.fill(-Infinity);
  let finite = false;
  for (const id of ids) {
    const v = row[id]!;
    out[id] = v;
    if (v !== -Infinity) finite = true;
  }
  return finite;
}

/**
 * Sets the held-back ids to −Infinity, unless that would leave no finite logit (a grammar that allows only EOS now:
 * the output must end there), in which case the row is left as it was.
 */
function holdBack(row: Float32Array, ids: readonly number[]): void {
  const saved = ids.map((id) => row[id]!);
  for (const id of ids) if (id < row.length) row[id] = -Infinity;
  for (const v of row) if (v !== -Infinity) return;
  ids.forEach((id, i) => {
    if (id < row.length) row[id] = saved[i]!;
  });
}

/**
 * A free-text row at temperature 0 with no penalty, logit_bias, held-back or allowed-only token: its token is the
 * argmax of its raw logits.
 */
function plainGreedy(spec: RowSpec): spec is SampleRowSpec {
  return (
    spec.kind === 'sample' &&
    spec.maskSlot === null &&
    spec.holdBack === null &&
    spec.allowed === null &&
    spec.options.temperature === 0 &&
    logitsProcessorsNeutral(spec.options)
  );
}

/** No NaN, no +Inf, and something finite (−Inf alone is a mask). */
function usable(logits: Float32Array, start: number, vocab: number): boolean {
  let finite = false;
  for (let i = start, end = start + vocab; i < end; i++) {
    const v = logits[i]!;
    if (v !== v || v === Infinity) return false;
    if (v !== -Infinity) finite = true;
  }
  return finite;
}
