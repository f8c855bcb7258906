// Seeded PRNG for synthetic checkpoints: xoshiro128** seeded through splitmix32, normals by Box–Muller.
// Every tensor gets its own stream (seed × tensor name), so a tensor's values depend only on the seed and its
// name — not on the order tensors are written or on the chunk size used to generate them.

const TWO_POW_32 = 4294967296;

/** splitmix32 step: a well-mixed 32-bit value from a 32-bit state; used to expand seeds. */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of `text`. */
function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  }
  return hash >>> 0;
}

export class Rng {
  // xoshiro128** state: four 32-bit words, never all zero.
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  // Box–Muller yields normals in pairs; the second one waits here for the next call.
  private spareNormal: number | null = null;

  /** `seed` may be any finite integer up to 2^53; `stream` separates independent sequences for one seed. */
  constructor(seed: number, stream = '') {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    let state = splitmix32(lo ^ splitmix32(hi ^ fnv1a32(stream)));
    this.s0 = state = splitmix32(state);
    this.s1 = state = splitmix32(state);
    this.s2 = state = splitmix32(state);
    this.s3 = splitmix32(state);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in (0, 1]: never 0, so it is safe under Math.log. */
  nextUnit(): number {
    return (this.nextUint32() + 1) / TWO_POW_32;
  }

  /** One standard normal draw. */
  nextNormal(): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return spare;
    }
    const radius = Math.sqrt(-2 * Math.log(this.nextUnit()));
    const angle = 2 * Math.PI * this.nextUnit();
    this.spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** Fills `out` with N(mean, std²) draws: the same stream as nextNormal(), so chunk boundaries do not matter. */
  fillNormal(out: Float32Array, mean: number, std: number): void {
    let i = 0;
    if (this.spareNormal !== null && out.length > 0) out[i++] = mean + std * this.nextNormal();
    // Hot loop for ~10^9 draws at the largest preset: pairs straight from Box–Muller, no spare bookkeeping.
    for (; i + 1 < out.length; i += 2) {
      const radius = std * Math.sqrt(-2 * Math.log(this.nextUnit()));
      const angle = 2 * Math.PI * this.nextUnit();
      out[i] = mean + radius * Math.cos(angle);
      out[i + 1] = mean + radius * Math.sin(angle);
    }
    if (i < out.length) out[i] = mean + std * this.nextNormal();
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
