// Shape buckets: the sizes a step's dynamic dimensions are padded up to (as vLLM pads num_tokens to its CUDA-graph
// capture sizes). Exact up to 8, then four sizes per octave — 10, 12, 14, 16, 20, 24, 28, 32, 40, … — so padding
// adds at most 25 % to a dimension, and a server whose steps hold at most 512 tokens sees at most 32 sizes of it.
//
// Invariant: bucketUp(n) ≥ n, bucketUp(bucketUp(n)) = bucketUp(n), and bucketUp is non-decreasing.

const EXACT_UP_TO = 8;

/** The smallest bucket ≥ n (n ≥ 1). */
export function bucketUp(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`bucketUp: ${n} is not a positive integer`);
  if (n <= EXACT_UP_TO) return n;
  // n in [2^k, 2^(k+1)): buckets are multiples of 2^(k-2) there (4 per octave).
  const step = 2 ** (Math.floor(Math.log2(n)) - 2);
  return Math.ceil(n / step) * step;
}

/** Every bucket in [1, max], ascending (for a run's warm-up: every shape it can see). */
export function bucketsUpTo(max: number): number[] {
  const out: number[] = [];
  for (let n = 1; n <= max; n = bucketUp(n) + 1) out.push(bucketUp(n));
  return out.filter((b) => b <= max);
}
