// Turning one step's logits into tokens: per request, its prompt-logprob rows, then its next token — masked by its
// grammar when it has one, adjusted by penalties and logit_bias, drawn by its own RNG. Owns the vocabulary-sized
// work buffers, reused every step. Rows are checked first: NaN or +Inf fails only the request they belong to.
import type { MatcherId, StepMasks } from '../grammar/grammar-service.js';
import { ExecutorError } from '../model/executor/errors.js';
import type { Rng } from '../util/rng.js';
import { applyBitmask, type GrammarMasks } from './grammar-masks.js';
import type { PenaltyTracker } from './logits-processors.js';
import { applyLogitsProcessors } from './logits-processors.js';
import { logprobEntry } from './logprobs.js';
import type { Request } from './request.js';
import type { LogprobEntry } from './sampling.js';
import { SamplingScratch, sampleToken } from './sampling.js';
import type { RowPlan } from './step-inputs.js';

export interface SampledToken {
  readonly token: number;
  readonly logprob: LogprobEntry | null;
}

/** What the sampler needs of a live request. */
export interface SamplingState {
  readonly request: Request;
  readonly rng: Rng;
  readonly penalties: PenaltyTracker;
  /** The request's grammar matcher; null = free text. */
  readonly matcher: MatcherId | null;
}

/** A constrained request's logits row, kept until its mask arrives. */
export interface DeferredRow {
  readonly id: string;
  readonly row: Float32Array;
}

export interface StepSamples {
  readonly sampled: Map<string, SampledToken>;
  readonly failed: [string, ExecutorError][];
  readonly deferred: DeferredRow[];
}

export class StepSampler {
  private readonly processed: Float32Array;
  private readonly masked: Float32Array;
  private readonly scratch: Float32Array;
  private readonly samplingScratch = new SamplingScratch();

  constructor(private readonly vocabSize: number, private readonly grammar: GrammarMasks) {
    this.processed = new Float32Array(vocabSize);
    this.masked = new Float32Array(vocabSize);
    this.scratch = new Float32Array(vocabSize);
  }

  /**
   * Samples every request that samples in this step. A constrained request samples from its row masked by its
   * grammar (`masks` holds one bitmask per entry of `fills`), and its logprobs are those of that masked
   * distribution, as vLLM reports them. With `defer`, constrained rows are copied out, to be sampled by
   * sampleRow when their masks arrive. Requests with a non-finite row, or whose grammar allows no token, `failed`.
   */
  sample(plans: readonly RowPlan[], logits: Float32Array, states: ReadonlyMap<string, SamplingState>, masks: StepMasks | null, fills: readonly MatcherId[], defer: boolean): StepSamples {
    const vocab = this.vocabSize;
    const rowAt = (r: number): Float32Array => logits.subarray(r * vocab, (r + 1) * vocab);
    const sampled = new Map<string, SampledToken>();
    const failed: [string, ExecutorError][] = [];
    const deferred: DeferredRow[] = [];
    for (const plan of plans) {
      const { request } = plan.scheduled;
      const state = states.get(request.id);
      if (state === undefined) continue;
      if (!rowsUsable(plan, logits, vocab)) {
        failed.push([request.id, new ExecutorError(`non-finite logits (NaN or Inf) for request ${request.id}`, 'non_finite_logits')]);
        continue;
      }
      for (const { row, position } of plan.promptRows) {
        request.promptLogprobEntries.push(logprobEntry(rowAt(row), request.tokenIds[position + 1]!, request.promptLogprobs ?? 0, this.scratch));
      }
      if (plan.sampleRow === null) continue;
      if (defer && state.matcher !== null) {
        request.awaitingSample = true;
        deferred.push({ id: request.id, row: rowAt(plan.sampleRow).slice() });
        continue;
      }
      const result = this.sampleRow(state, rowAt(plan.sampleRow), masks, fills);
      if (result instanceof ExecutorError) failed.push([request.id, result]);
      else sampled.set(request.id, result);
    }
    return { sampled, failed, deferred };
  }

  /** One request's next token from its logits row (masked by its grammar, if it has one). */
  sampleRow(state: SamplingState, row: Float32Array, masks: StepMasks | null, fills: readonly MatcherId[]): SampledToken | ExecutorError {
    const { request } = state;
    let raw = row;
    if (state.matcher !== null) {
      const why = masks === null ? 'no mask' : this.maskRow(raw, masks, fills.indexOf(state.matcher), state.matcher);
      if (why !== null) return new ExecutorError(`grammar: ${why} for request ${request.id}`, 'grammar_error');
      raw = this.masked;
    }
    this.processed.set(raw);
    applyLogitsProcessors(this.processed, request.sampling, state.penalties);
    const token = sampleToken(this.processed, request.sampling, state.rng, this.samplingScratch);
    state.penalties.add(token);
    if (state.matcher !== null) this.grammar.sampled(state.matcher, token);
    return { token, logprob: request.logprobs === null ? null : logprobEntry(raw, token, request.logprobs, this.scratch) };
  }

  /** Copies `raw` into this.masked with the grammar's mask applied; returns why it cannot be sampled, or null. */
  private maskRow(raw: Float32Array, masks: StepMasks, fill: number, matcher: MatcherId): string | null {
    if (masks.missing.has(matcher)) return 'the grammar could not be loaded';
    if (masks.rejected.has(matcher)) return 'the previous token was refused';
    this.masked.set(raw);
    return applyBitmask(this.masked, masks.masks, fill * masks.words, masks.words) ? null : 'no allowed token has a finite logit';
  }
}

/** Every logits row the plan reads exists and is usable: no NaN, no +Inf, something finite (−Inf alone is a mask). */
function rowsUsable(plan: RowPlan, logits: Float32Array, vocab: number): boolean {
  const usable = (r: number): boolean => {
    if ((r + 1) * vocab > logits.length) return false;
    let finite = false;
    for (let i = r * vocab, end = (r + 1) * vocab; i < end; i++) {
      const v = logits[i]!;
      if (v !== v || v === Infinity) return false;
      if (v !== -Infinity) finite = true;
    }
    return finite;
  };
  for (const { row } of plan.promptRows) if (!usable(row)) return false;
  return plan.sampleRow === null || usable(plan.sampleRow);
}
