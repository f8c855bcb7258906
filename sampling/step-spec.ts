// What a model step carries for sampling, and what it returns in place of logits. The engine builds one RowSpec
// per logits row it reads (with each sampled row's uniform draw already taken from the request's seeded RNG, so
// the executor holds no per-request state); the executor answers one RowResult per spec.
import type { PenaltySnapshot } from './logits-processors.js';
import type { LogprobEntry, SamplingOptions } from './types.js';

/** A prompt row: the logprob of the prompt token it scores, for prompt_logprobs / echo. */
export interface ScoreRowSpec {
  readonly kind: 'score';
  /** Logits row (position in the step's logitsIndices). */
  readonly row: number;
  /** The prompt token this row scores. */
  readonly token: number;
  /** Top alternatives to report. */
  readonly numTop: number;
}

/** A sampling row: the request's next token. */
export interface SampleRowSpec {
  readonly kind: 'sample';
  readonly row: number;
  readonly options: SamplingOptions;
  /** This token's uniform draw from the request's seeded RNG; null when greedy (temperature 0). */
  readonly uniform: number | null;
  /** The penalty state its options read; null when no penalty is set. */
  readonly penalties: PenaltySnapshot | null;
  /** Top alternatives to report with the token; null = no logprobs. */
  readonly logprobs: number | null;
  /** Index of this row's bitmask in the step's StepMaskRows; null = free text. */
  readonly maskSlot: number | null;
  /**
   * Token ids held back from this draw (min_tokens: the stop tokens), unless nothing else is allowed; null = none.
   * Logprobs are still those of the row before it (as vLLM reports them).
   */
  readonly holdBack: readonly number[] | null;
  /** allowed_token_ids: the only ids this draw may give (the rest count as masked); null = every id. */
  readonly allowed: readonly number[] | null;
}

export type RowSpec = ScoreRowSpec | SampleRowSpec;

/** The grammar masks of a step's constrained rows, by maskSlot. */
export interface StepMaskRows {
  /** [slots, words] int32 bitmasks: bit i of word k set = token 32k + i allowed. */
  readonly masks: Int32Array;
  readonly words: number;
  /** Per slot, why that row cannot be sampled (e.g. its grammar refused the last token); null = it can. */
  readonly refused: readonly (string | null)[];
}

export interface StepSampling {
  /** Any order; logits rows no spec names are dropped. */
  readonly rows: readonly RowSpec[];
  /**
   * Masks for the rows with a maskSlot, filled elsewhere (the grammar worker) while the model runs. Never
   * rejects: a backend failure arrives as every slot refused. Stays on the caller's side of a worker boundary.
   */
  readonly masks: Promise<StepMaskRows> | null;
  /**
   * Once the model has run, how long constrained rows wait for late masks before they are held and answered in
   * StepSamples.late (everyone else's tokens go out now); null = wait for the masks.
   */
  readonly maskGraceMs: number | null;
}

export type RowFailure = 'non_finite_logits' | 'grammar_error';

export type RowResult =
  | { readonly kind: 'token'; readonly token: number; readonly logprob: LogprobEntry | null }
  | { readonly kind: 'score'; readonly entry: LogprobEntry }
  | { readonly kind: 'failed'; readonly code: RowFailure; readonly message: string }
  /** A constrained row whose mask was not ready within the grace: its result comes in StepSamples.late. */
  | { readonly kind: 'held' };

export interface StepSamples {
  /** One per spec row, in spec order. */
  readonly results: readonly RowResult[];
  /** The held rows' results, by index in `rows`, once their masks arrive; null when none was held. */
  readonly late: Promise<ReadonlyMap<number, RowResult>> | null;
}
