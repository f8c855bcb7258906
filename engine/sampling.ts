// Token choice and log-probabilities from one row of float32 logits.
import type { Rng } from '../model/rng.js';

export interface TokenLogprob {
  readonly id: number;
  readonly logprob: number;
}

export interface LogprobEntry extends TokenLogprob {
  /** The K most likely tokens, highest first. */
  readonly top: readonly TokenLogprob[];
}

export interface SamplingParams {
  /** 0 means greedy. */
  readonly temperature: number;
  readonly topP: number;
}

/** log-softmax of `logits`, computed in float64 and rounded to float32. */
export function logSoftmax(logits: Float32Array, out = new Float32Array(logits.length)): Float32Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const logZ = max + Math.log(sum);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - logZ;
  return out;
}

/** The k largest entries, highest first (ties: lower id first). */
export function topK(values: Float32Array, k: number): TokenLogprob[] {
  const best: TokenLogprob[] = [];
  if (k <= 0) return best;
  for (let id = 0; id < values.length; id++) {
    const logprob = values[id]!;
    if (best.length === k && logprob <= best[k - 1]!.logprob) continue;
    let at = best.length;
    while (at > 0 && best[at - 1]!.logprob < logprob) at--;
    best.splice(at, 0, { id, logprob });
    if (best.length > k) best.pop();
  }
  return best;
}

export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Samples from softmax(logits / temperature) restricted to the smallest set with mass ≥ topP. */
export function sampleToken(logits: Float32Array, params: SamplingParams, rng: Rng): number {
  if (params.temperature === 0) return argmax(logits);
  const n = logits.length;
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const probs = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += probs[i] = Math.exp((logits[i]! - max) / params.temperature);
  let order: number[] | null = null;
  let mass = sum;
  if (params.topP < 1) {
    order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]! || a - b);
    let kept = 0;
    mass = 0;
    // The most likely token always stays, so topP → 0 degrades to greedy rather than to nothing.
    while (kept < n && (kept === 0 || mass < params.topP * sum)) mass += probs[order[kept++]!]!;
    order.length = kept;
  }
  let u = rng.nextUnit() * mass;
  const ids = order ?? Array.from({ length: n }, (_, i) => i);
  for (const id of ids) {
    u -= probs[id]!;
    if (u <= 0) return id;
  }
  return ids[ids.length - 1]!;
}
