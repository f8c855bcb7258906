// OpenAI/vLLM logits adjustments (repetition, frequency and presence penalties, logit_bias), applied in place to
// one row of logits that is then only sampled from (the step sampler passes a copy). Logprobs are not taken from
// the processed row: they come from the model's distribution before these adjustments (the grammar mask alone
// applied), as vLLM reports by default (logprobs.ts).
import type { SamplingOptions } from './types.js';

export interface PenaltyState {
  /** Counts of generated tokens, (id, count) with each id once. */
  readonly outputCounts: Iterable<readonly [number, number]>;
  /** Prompt ∪ output token ids, each once, for the repetition penalty. */
  readonly seen: Iterable<number>;
}

/** The penalty state a step carries to the executor: only what the request's options use, copied. */
export interface PenaltySnapshot {
  /** Prompt ∪ output ids; empty unless repetitionPenalty ≠ 1. */
  readonly seen: Int32Array;
  /** (id, count) pairs, flattened; empty unless a frequency or presence penalty is set. */
  readonly outputCounts: Int32Array;
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

  /** What `sampling` reads of this state, as a step carries it; null when no penalty is set. */
  snapshot(sampling: SamplingOptions): PenaltySnapshot | null {
    const rep = sampling.repetitionPenalty !== 1;
    const counts = sampling.frequencyPenalty !== 0 || sampling.presencePenalty !== 0;
    if (!rep && !counts) return null;
    const outputCounts = new Int32Array(counts ? 2 * this.outputCounts.size : 0);
    if (counts) {
      let i = 0;
      for (const [id, count] of this.outputCounts) {
        outputCounts[i++] = id;
        outputCounts[i++] = count;
      }
    }
    return { seen: rep ? Int32Array.from(this.seen) : new Int32Array(0), outputCounts };
  }
}

/** A snapshot read back as a PenaltyState. */
export function penaltyState(snapshot: PenaltySnapshot): PenaltyState {
  const pairs: (readonly [number, number])[] = [];
  for (let i = 0; i + 1 < snapshot.outputCounts.length; i += 2)
    pairs.push([snapshot.outputCounts[i]!, snapshot.outputCounts[i + 1]!]);
  return { seen: snapshot.seen, outputCounts: pairs };
}

const NO_PENALTIES: PenaltyState = { seen: [], outputCounts: [] };

/** The empty PenaltyState (a request with no penalty set). */
export function noPenalties(): PenaltyState {
  return NO_PENALTIES;
}

/** True when applyLogitsProcessors would leave every logit unchanged. */
export function logitsProcessorsNeutral(sampling: SamplingOptions): boolean {
  return (
    sampling.repetitionPenalty === 1 &&
    sampling.frequencyPenalty === 0 &&
    sampling.presencePenalty === 0 &&
    (sampling.logitBias === null || sampling.logitBias.size === 0)
  );
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
