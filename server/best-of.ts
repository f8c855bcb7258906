// `best_of` on /v1/completions, as vLLM (v0) and OpenAI's legacy API: each prompt gets `best_of` candidates and
// the `n` with the highest cumulative logprob (sum of the sampled tokens' logprobs) are returned, best first.
// Every candidate's tokens count in `usage` (they were all generated). Refused with a 400: best_of < n, best_of > n
// with stream (the winner is known only at the end), and best_of > 1 with greedy sampling (all candidates would be
// the same, vLLM's rule); prompts × best_of counts against --max-choices.
import { InvalidRequest } from '../engine/errors.js';
import type { ServerLimits } from './limits.js';

export interface BestOfRequest {
  readonly n?: number | null;
  readonly best_of?: number | null;
  readonly stream?: boolean | null;
  readonly temperature?: number | null;
}

/** Candidates to generate per prompt (≥ n), after checking best_of against n, stream, greedy and the limits. */
export function candidatesPerPrompt(req: BestOfRequest, limits: ServerLimits, numPrompts: number): number {
  const n = req.n ?? 1;
  const bestOf = req.best_of ?? n;
  if (bestOf < n)
    throw new InvalidRequest(
      `best_of must be greater than or equal to n, got best_of ${bestOf} and n ${n}.`,
      'best_of',
    );
  if (bestOf === n) return n;
  if (req.stream === true)
    throw new InvalidRequest(
      'best_of greater than n cannot be streamed: the best candidates are known only at the end.',
      'best_of',
    );
  if (req.temperature === 0)
    throw new InvalidRequest(
      'best_of must be 1 (or n) with greedy sampling (temperature 0): every candidate would be the same.',
      'best_of',
    );
  if (bestOf > limits.maxN)
    throw new InvalidRequest(`best_of must be at most ${limits.maxN}, got ${bestOf}.`, 'best_of');
  if (bestOf * numPrompts > limits.maxChoices) {
    throw new InvalidRequest(
      `At most ${limits.maxChoices} candidates per request (prompts × best_of), got ${numPrompts} × ${bestOf}.`,
      'best_of',
    );
  }
  return bestOf;
}

/**
 * Keeps, of each prompt's `candidates` consecutive choices, the `returned` with the highest `scores` (ties: the
 * earlier candidate), best first, re-indexed so prompt p's choices are p × returned … p × returned + returned − 1.
 */
export function pickBest<T extends { readonly index: number }>(
  choices: readonly T[],
  scores: readonly number[],
  candidates: number,
  returned: number,
): T[] {
  const kept: T[] = [];
  for (let first = 0; first < choices.length; first += candidates) {
    const group = choices
      .slice(first, first + candidates)
      .map((choice, i) => ({ choice, score: scores[first + i] ?? -Infinity, i }))
      .sort((a, b) => b.score - a.score || a.i - b.i)
      .slice(0, returned);
    const prompt = first / candidates;
    group.forEach(({ choice }, rank) => kept.push({ ...choice, index: prompt * returned + rank }));
  }
  return kept;
}
