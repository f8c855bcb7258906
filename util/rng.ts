// The project's one seeded PRNG: xoshiro128** seeded through splitmix32. A (seed, stream) pair names an
// independent sequence, so values depend only on the seed and the stream's name: synthetic checkpoints give each
// tensor its own stream (not the order tensors are written or the chunk size they are generated in), the sampler
// one per request seed, the load generator one per purpose (arrivals, prompts).
// Two families of draws over the same state, kept apart because seeded outputs depend on them bit for bit:
//   nextUnit / nextNormal / fillNormal  32-bit uniforms, Box–Muller pairs (checkpoints, the sampler)
//   uniform / int / normal / exponential / gamma  53-bit uniforms (the load generator)
// Imports nothing: every folder may use it.

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

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    return ((this.nextUint32() >>> 5) * 67108864 + (this.nextUint32() >>> 6)) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** One standard normal draw from two fresh 53-bit uniforms (no spare kept: independent of nextNormal()). */
  normal(): number {
    const u = 1 - this.uniform(); // (0, 1]: log stays finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }

  /** Exponential with mean 1. */
  exponential(): number {
    return -Math.log(1 - this.uniform());
  }

  /** Gamma(shape, scale): mean shape·scale, variance shape·scale². Marsaglia–Tsang, boosted below shape 1. */
  gamma(shape: number, scale: number): number {
    if (!(shape > 0) || !(scale > 0))
      throw new RangeError(`gamma needs shape > 0 and scale > 0, got ${shape}, ${scale}`);
    if (shape < 1) {
      // Gamma(a) = Gamma(a + 1) · U^(1/a)
      return this.gamma(shape + 1, scale) * Math.pow(1 - this.uniform(), 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.uniform();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v * scale;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
