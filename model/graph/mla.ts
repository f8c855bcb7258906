// Multi-head Latent Attention with weight absorption. The cache row of a token is [c_kv | k_pe]
// (kvLoraRank + qkRopeHeadDim values); queries are moved into latent space (q̃ = q_nope · W_UK) so attention reads
// those rows directly and per-head K/V never exist, in the cache or in the graph.
//
//   scores[b,h,t,s] = (q̃[b,h,t] · c_kv[s] + rope(q_pe)[b,h,t] · k_pe[s]) · scale = [q̃ | q_pe] · row[s] · scale
//   out = o_proj( concat_h( softmax(scores) · c_kv · W_UVᵀ[h] ) )
import type { ModelConfig } from '../config.js';
import type { Value } from '../onnx/graph-builder.js';
import type { GraphContext } from './context.js';
import { applyRope, softmaxScale } from './rope.js';

/** Graph values computed once per step and shared by every layer. */
export interface AttentionInputs {
  /** [2] int64: (B, T) of the padded step. */
  readonly batchShape: Value;
  /** [B, T] int64 token index of each padded slot, and [N] int64 padded slot of each token. */
  readonly padIndex: Value;
  readonly unpadIndex: Value;
  /** [B, 1, T, maxBlocks·blockSize + T] bool: key s is visible to query t. */
  readonly mask: Value;
  /** rope tables for queries, [B, 1, T, rope]. */
  readonly qCos: Value;
  readonly qSin: Value;
  /** rope tables for new keys, [N, rope]. */
  readonly kCos: Value;
  readonly kSin: Value;
}

export interface AttentionOutputs {
  /** [N, hidden] */
  readonly out: Value;
  /** [N, kvLoraRank + qkRopeHeadDim]: this step's rows for the cache. */
  readonly latentRows: Value;
}

export function mlaAttention(
  ctx: GraphContext,
  config: ModelConfig,
  prefix: string,
  h: Value, // [N, hidden], already normed
  cached: Value, // [B, maxBlocks·blockSize, kvLoraRank + qkRopeHeadDim] the sequences' cached rows, as float
  io: AttentionInputs,
): AttentionOutputs {
  const { g } = ctx;
  const heads = config.numAttentionHeads;
  const nope = config.qkNopeHeadDim;
  const rope = config.qkRopeHeadDim;
  const latent = config.kvLoraRank;
  const rowWidth = latent + rope;
  const eps = config.rmsNormEps;

  // Queries: [N, H·(nope + rope)] → padded [B, T, H, nope + rope] → [B, H, T, nope + rope]
  const q2d = config.qLoraRank === null
    ? ctx.linear(h, `${prefix}.q_proj.weight`)
    : ctx.linear(ctx.rmsNorm(ctx.linear(h, `${prefix}.q_a_proj.weight`), `${prefix}.q_a_layernorm.weight`, eps), `${prefix}.q_b_proj.weight`);
  const qShape = g.op1('Concat', [io.batchShape, g.constInt64([heads, nope + rope])], { axis: 0 });
  const q = g.op1('Transpose', [g.op1('Reshape', [g.op1('Gather', [q2d, io.padIndex], { axis: 0 }), qShape])], { perm: [0, 2, 1, 3] });
  const [qNope, qPe] = g.op('Split', [q, g.constInt64([nope, rope])], { axis: -1 }, { outputs: 2 }) as [Value, Value];

  // Absorb W_UK: q̃ = q_nope · W_UK[h], [B, H, T, nope] · [H, nope, latent] → [B, H, T, latent]
  const { wUK, wUVt } = absorbedKvB(ctx, config, `${prefix}.kv_b_proj.weight`);
  const qLatent = g.op1('MatMul', [qNope, wUK]);
  const qRope = applyRope(g, qPe, io.qCos, io.qSin, rope);
  const qFull = g.op1('Concat', [qLatent, qRope], { axis: -1 }); // [B, H, T, rowWidth]

  // This step's cache rows: [N, latent | rope]
  const kvA = ctx.linear(h, `${prefix}.kv_a_proj_with_mqa.weight`);
  const [cKvRaw, kPeRaw] = g.op('Split', [kvA, g.constInt64([latent, rope])], { axis: -1 }, { outputs: 2 }) as [Value, Value];
  const cKv = ctx.rmsNorm(cKvRaw, `${prefix}.kv_a_layernorm.weight`, eps);
  const kPe = applyRope(g, kPeRaw, io.kCos, io.kSin, rope);
  const latentRows = g.op1('Concat', [cKv, kPe], { axis: -1 });

  // Keys = the sequence's cached rows (gathered through its block table) followed by this step's rows.
  const newRows = g.op1('Gather', [latentRows, io.padIndex], { axis: 0 }); // [B, T, rowWidth]
  const keys = g.op1('Unsqueeze', [g.op1('Concat', [cached, newRows], { axis: 1 }), g.constInt64([1])]); // [B, 1, S, rowWidth]

  const scores = g.op1('Mul', [g.op1('MatMul', [qFull, g.op1('Transpose', [keys], { perm: [0, 1, 3, 2] })]), g.constFloat(softmaxScale(config))]);
  const probs = g.op1('Softmax', [g.op1('Where', [io.mask, scores, g.constFloat(-Infinity)])], { axis: -1 }); // [B, H, T, S]
  const values = g.op1('Slice', [keys, g.constInt64([0]), g.constInt64([latent]), g.constInt64([3])]); // [B, 1, S, latent]
  const oLatent = g.op1('MatMul', [probs, values]); // [B, H, T, latent]
  const oHeads = g.op1('MatMul', [oLatent, wUVt]); // [B, H, T, v]
  const oPadded = g.op1('Reshape', [g.op1('Transpose', [oHeads], { perm: [0, 2, 1, 3] }), g.constInt64([-1, heads * config.vHeadDim])]); // [B·T, H·v]
  const o2d = g.op1('Gather', [oPadded, io.unpadIndex], { axis: 0 }); // [N, H·v]
  return { out: ctx.linear(o2d, `${prefix}.o_proj.weight`), latentRows };
}

/** Splits kv_b_proj [H·(nope + v), latent] (rows per head: k_nope then v) into W_UK [H, nope, latent] and W_UVᵀ [H, latent, v]. */
function absorbedKvB(ctx: GraphContext, config: ModelConfig, name: string): { wUK: Value; wUVt: Value } {
  const heads = config.numAttentionHeads;
  const nope = config.qkNopeHeadDim;
  const v = config.vHeadDim;
  const latent = config.kvLoraRank;
  const kvB = ctx.source.readFloat32(name);
  if (kvB.length !== heads * (nope + v) * latent) throw new Error(`${name}: expected [${heads * (nope + v)}, ${latent}]`);
  const wUK = new Float32Array(heads * nope * latent);
  const wUVt = new Float32Array(heads * latent * v);
  for (let hd = 0; hd < heads; hd++) {
    const base = hd * (nope + v) * latent;
    wUK.set(kvB.subarray(base, base + nope * latent), hd * nope * latent);
    for (let j = 0; j < v; j++) {
      for (let c = 0; c < latent; c++) wUVt[(hd * latent + c) * v + j] = kvB[base + (nope + j) * latent + c]!;
    }
  }
  return {
    wUK: ctx.tensor(`${name}.w_uk`, wUK, [heads, nope, latent]),
    wUVt: ctx.tensor(`${name}.w_uv_t`, wUVt, [heads, latent, v]),
  };
}
