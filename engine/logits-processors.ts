// OpenAI/vLLM logits adjustments (repetition, frequency and presence penalties, logit_bias), applied in place to
// one row of logits that is then only sampled from (the step sampler passes a copy). Logprobs are not taken from
// the processed row: they come from the model's distribution before these adjustments (the grammar mask alone
// applied), as vLLM reports by default (logprobs.ts).
import type { SamplingOptions } from './types.js';

export interface PenaltyState {
  /** Counts of generated tokens. */
  readonly outputCounts: ReadonlyMap<number, number>;
  /** Prompt ∪ output token set, for the repetition penalty. */
  readonly seen: ReadonlySet<number>;
}

/** The PenaltyState of one request: built from its prompt, then `add` each generated token. */
export class PenaltyTracker implements PenaltyState {
  readonly outputCounts = new Map<number, number>();
  readonly seen: Set<number>;

  constructor(promptIds: Iterable<number>) {
    this.seen = new Set(promptIds);
  }

  add(id: number): void {
    this.outputCounts.set(id, (this.outputCounts.get(id) ?? 0) + 1);
    this.seen.add(id);
  }
}

/** True when applyLogitsProcessors would leave every logit unchanged. */
export function logitsProcessorsNeutral(sampling: SamplingOptions): boolean {
  return sampling.repetitionPenalty === 1
    && sampling.frequencyPenalty === 0
    && sampling.presencePenalty === 0
    && (sampling.logitBias === null || sampling.logitBias.size === 0);
}

/**
 * In vLLM's order: repetition penalty over prompt + output tokens (positive logits ÷ p, others × p), then
 * frequency (−f × count) and presence (−p once) penalties over output tokens, then logit_bias (added).
 * `logits` is one row [vocabSize]; ids outside it (e.g. an unchecked logit_bias key) are ignored. Cost is
 * O(|seen| + |outputCounts| + |logitBias|), not O(vocabSize).
 */
export function applyLogitsProcessors(logits: Float32Array, sampling: SamplingOptions, state: PenaltyState): void {
  const n = logits.length;
  const rep = sampling.repetitionPenalty;
  if (rep !== 1) {
    for (const id of state.seen) {
      if (id < 0 || id >= n) continue;
      const v = logits[id]!;
      logits[id] = v > 0 ? v / rep : v * rep;
    }
  }
  const freq = sampling.frequencyPenalty;
  const pres = sampling.presencePenalty;
  if (freq !== 0 || pres !== 0) {
    for (const [id, count] of state.outputCounts) {
      if (id < 0 || id >= n || count <= 0) continue;
      logits[id] = logits[id]! - freq * count - pres;
    }
  }
  if (sampling.logitBias !== null) {
    for (const [id, bias] of sampling.logitBias) {
      if (Number.isInteger(id) && id >= 0 && id < n) logits[id] = logits[id]! + bias;
    }
  }
}
