// Rotary embeddings as DeepSeek ships them: the rope dims are stored interleaved, pair i = (x[2i], x[2i+1]),
// rotated by θᵢ = base^(−2i/d), with yarn correcting θ and the softmax scale when rope_scaling is set.
import type { ModelConfig, YarnScaling } from '../config.js';
import type { GraphBuilder, Value } from '../onnx/graph-builder.js';

/** yarn's attention-temperature factor: 0.1 · m · ln(s) + 1 for s > 1. */
export function yarnMscale(scale: number, mscale: number): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

function correctionDim(numRotations: number, dim: number, base: number, maxPositions: number): number {
  return (dim * Math.log(maxPositions / (numRotations * 2 * Math.PI))) / (2 * Math.log(base));
}

/** Rotary inverse frequencies [qkRopeHeadDim / 2], yarn-blended between interpolated and extrapolated. */
export function ropeInverseFrequencies(config: ModelConfig): Float32Array {
  const dim = config.qkRopeHeadDim;
  const half = dim / 2;
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) freqs[i] = 1 / Math.pow(config.ropeTheta, (2 * i) / dim);
  const yarn: YarnScaling | null = config.ropeScaling;
  if (yarn === null) return freqs;
  const orig = yarn.originalMaxPositionEmbeddings;
  const low = Math.max(Math.floor(correctionDim(yarn.betaFast, dim, config.ropeTheta, orig)), 0);
  let high = Math.min(Math.ceil(correctionDim(yarn.betaSlow, dim, config.ropeTheta, orig)), dim - 1);
  if (low === high) high += 0.001;
  for (let i = 0; i < half; i++) {
    const ramp = Math.min(Math.max((i - low) / (high - low), 0), 1);
    const extrapolate = 1 - ramp; // 1 keeps the original frequency (fast dims), 0 interpolates by the factor
    const f = freqs[i]!;
    freqs[i] = (f / yarn.factor) * (1 - extrapolate) + f * extrapolate;
  }
  return freqs;
}

/** HF scales cos/sin by mscale(factor, mscale) / mscale(factor, mscale_all_dim); 1 when the two agree. */
export function ropeAmplitude(config: ModelConfig): number {
  const y = config.ropeScaling;
  return y === null ? 1 : yarnMscale(y.factor, y.mscale) / yarnMscale(y.factor, y.mscaleAllDim);
}

/** (qkNope + qkRope)^−½, times mscale(factor, mscale_all_dim)² under yarn. */
export function softmaxScale(config: ModelConfig): number {
  const base = 1 / Math.sqrt(config.qkNopeHeadDim + config.qkRopeHeadDim);
  const y = config.ropeScaling;
  if (y === null || y.mscaleAllDim === 0) return base;
  const m = yarnMscale(y.factor, y.mscaleAllDim);
  return base * m * m;
}

export interface RopeTables {
  /** [..., rope] for the given positions: each pair's cos (sin) repeated for both of its dims. */
  readonly cos: Value;
  readonly sin: Value;
}

export function ropeTables(g: GraphBuilder, config: ModelConfig, positions: Value): RopeTables {
  const pairFreqs = [...ropeInverseFrequencies(config)].flatMap((f) => [f, f]);
  const angles = g.op1('Mul', [
    g.op1('Unsqueeze', [g.op1('Cast', [positions], { to: 1 }), g.constInt64([-1])]),
    g.constFloat(pairFreqs),
  ]);
  const amplitude = ropeAmplitude(config);
  const scaleBy = (v: Value): Value => (amplitude === 1 ? v : g.op1('Mul', [v, g.constFloat(amplitude)]));
  return { cos: scaleBy(g.op1('Cos', [angles])), sin: scaleBy(g.op1('Sin', [angles])) };
}

/**
 * Rotates interleaved pairs: (x₀, x₁) → (x₀·cos − x₁·sin, x₀·sin + x₁·cos), computed as x ⊙ cos + (x · R) ⊙ sin
 * where R [rope, rope] maps each pair (x₀, x₁) to (−x₁, x₀); every product has one ±1 term, so it is exact, and
 * the result equals the pairwise formula bit for bit in four kernels. cos/sin [..., rope] broadcast against x.
 */
export function applyRope(g: GraphBuilder, x: Value, cos: Value, sin: Value, rope: number): Value {
  return g.op1('Add', [g.op1('Mul', [x, cos]), g.op1('Mul', [g.op1('MatMul', [x, pairRotation(g, rope)]), sin])]);
}

function pairRotation(g: GraphBuilder, rope: number): Value {
  const r = new Array<number>(rope * rope).fill(0);
  for (let i = 0; i < rope; i += 2) {
    r[(i + 1) * rope + i] = -1; // out[i] = −x[i + 1]
    r[i * rope + i + 1] = 1; // out[i + 1] = x[i]
  }
  return g.constFloat(r, [rope, rope]);
}
