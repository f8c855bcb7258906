// Multi-head Latent Attention with weight absorption. The cache row of a token is [c_kv | k_pe]
// (kvLoraRank + qkRopeHeadDim values); queries are moved into latent space (q̃ = q_nope · W_UK) so attention reads
// those rows directly and per-head K/V never exist, in the cache or in the graph.
//
//   scores[b,h,t,s] = (q̃[b,h,t] · c_kv[s] + rope(q_pe)[b,h,t] · k_pe[s]) · scale = [q̃ | q_pe] · row[s] · scale
//   out = o_proj( concat_h( softmax(scores) · c_kv · W_UVᵀ[h] ) )
import type { ModelConfig } from '../config.js';
import type { Value } from '../onnx/graph-builder.js';
import { MS_DOMAIN } from '../onnx/graph-builder.js';
import type { GraphContext } from './context.js';
import { applyRope, softmaxScale } from './rope.js';

/** Graph values computed once per step and shared by every layer. */
export interface AttentionInputs {
  /** [B, T] int64 token index of each padded slot, and [N] int64 padded slot of each token. */
  readonly padIndex: Value;
  readonly unpadIndex: Value;
  /** [N, 2] int64: (sequence, key slot contextLen + t) where each token's own row goes among its sequence's keys. */
  readonly keySlots: Value;
  /** [N] int64: the token whose row is written at keySlots (itself; a padding token repeats token 0's write). */
  readonly keySlotRows: Value;
  /** [B, T, 1, S = maxBlocks·blockSize] bool: key slot s is visible to query t (s ≤ contextLen + t). */
  readonly mask: Value;
  /** [4] int64 (B, T, H, S) and [3] int64 (B, T·H, S): scores with heads apart, and folded into rows. */
  readonly scoreShape: Value;
  readonly scoreRowsShape: Value;
  /** rope tables for the step's tokens: [N, rope] for their key rows, [N, 1, rope] for their query heads. */
  readonly cos: Value;
  readonly sin: Value;
  readonly qCos: Value;
  readonly qSin: Value;
}

export interface AttentionOutputs {
  /** [N, hidden] */
  readonly out: Value;
  /** [N, kvLoraRank + qkRopeHeadDim]: this step's rows for the cache. */
  readonly latentRows: Value;
}

/**
 * Keys are the sequence's gathered block rows with this step's rows written into their own slots (contextLen + t:
 * the block table already covers them), so the context is copied once (the block gather) and never concatenated,
 * transposed or sliced. Heads are folded into the query rows: per sequence one [T·H, row] × [row, S] product for
 * the scores and one [T·H, S] × [S, row] for the output, instead of one small product per head. Everything per
 * token outside those two products (W_UK, rope, W_UV) runs on the N ragged rows, not on the padded B·T.
 */
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

  // The two projections of h, queries (or their low-rank down-projection) and this step's cache rows, run as one
  // product over their stacked weights (as vLLM's fused_qkv_a_proj_with_mqa): one weight read, one kernel.
  const qIn = config.qLoraRank === null ? `${prefix}.q_proj.weight` : `${prefix}.q_a_proj.weight`;
  const { product: qkvA, widths } = ctx.stackedLinear(
    h,
    [qIn, `${prefix}.kv_a_proj_with_mqa.weight`],
    `${prefix}.q_kv_a_proj.weight`,
  );
  const [qA, cKvRaw, kPeRaw] = g.op(
    'Split',
    [qkvA, g.constInt64([widths[0]!, latent, rope])],
    { axis: -1 },
    { outputs: 3 },
  ) as [Value, Value, Value];

  // Queries on the ragged rows: [N, H·(nope + rope)] → [N, H, nope + rope]
  const q2d =
    config.qLoraRank === null
      ? qA
      : ctx.linear(ctx.rmsNorm(qA, `${prefix}.q_a_layernorm.weight`, eps), `${prefix}.q_b_proj.weight`);
  const q = g.op1('Reshape', [q2d, g.constInt64([-1, heads, nope + rope])]);
  const [qNope, qPe] = g.op('Split', [q, g.constInt64([nope, rope])], { axis: -1 }, { outputs: 2 }) as [Value, Value];

  // Absorb W_UK: q̃ = q_nope · W_UK[h], [H, N, nope] · [H, nope, latent] → [H, N, latent] → [N, H, latent]
  const { wUK, wUVt } = absorbedKvB(ctx, config, `${prefix}.kv_b_proj.weight`);
  const qLatent = g.op1('Transpose', [g.op1('MatMul', [g.op1('Transpose', [qNope], { perm: [1, 0, 2] }), wUK])], {
    perm: [1, 0, 2],
  });
  const qRope = applyRope(g, qPe, io.qCos, io.qSin, rope);
  const qFull = g.op1('Concat', [qLatent, qRope], { axis: -1 }); // [N, H, rowWidth]
  // Padded, heads folded into rows: [B, T, H, rowWidth] → [B, T·H, rowWidth]
  const qRows = g.op1('Reshape', [g.op1('Gather', [qFull, io.padIndex], { axis: 0 }), g.constInt64([0, -1, rowWidth])]);

  // This step's cache rows: [N, latent | rope]
  const cKv = ctx.rmsNorm(cKvRaw, `${prefix}.kv_a_layernorm.weight`, eps);
  const kPe = applyRope(g, kPeRaw, io.cos, io.sin, rope);
  const latentRows = g.op1('Concat', [cKv, kPe], { axis: -1 });

  // Keys (and values: their first `latent` columns) = cached rows with this step's rows in their slots. [B, S, rowWidth]
  const keys = g.op1('ScatterND', [cached, io.keySlots, g.op1('Gather', [latentRows, io.keySlotRows], { axis: 0 })]);

  const scoreRows = g.op1(
    'FusedMatMul',
    [qRows, keys],
    { transB: 1, alpha: { float: softmaxScale(config) } },
    MS_DOMAIN,
  ); // [B, T·H, S]
  const scores = g.op1('Reshape', [scoreRows, io.scoreShape]); // [B, T, H, S]
  const probs = g.op1('Softmax', [g.op1('Where', [io.mask, scores, g.constFloat(-Infinity)])], { axis: -1 });
  // probs · rows: the rope columns of the result meet zero rows of W_UVᵀ below (no slice of the keys).
  const oRows = g.op1('MatMul', [g.op1('Reshape', [probs, io.scoreRowsShape]), keys]); // [B, T·H, rowWidth]
  const oLatent = g.op1('Gather', [g.op1('Reshape', [oRows, g.constInt64([-1, heads, rowWidth])]), io.unpadIndex], {
    axis: 0,
  }); // [N, H, rowWidth]
  const oHeads = g.op1('MatMul', [g.op1('Transpose', [oLatent], { perm: [1, 0, 2] }), wUVt]); // [H, N, v]
  const o2d = g.op1('Reshape', [
    g.op1('Transpose', [oHeads], { perm: [1, 0, 2] }),
    g.constInt64([-1, heads * config.vHeadDim]),
  ]); // [N, H·v]
  return { out: ctx.linear(o2d, `${prefix}.o_proj.weight`), latentRows };
}

/**
 * Splits kv_b_proj [H·(nope + v), latent] (rows per head: k_nope then v) into W_UK [H, nope, latent] and W_UVᵀ
 * [H, latent + rope, v], whose last `rope` rows are zero (they meet the rope columns of probs · rows).
 */
function absorbedKvB(ctx: GraphContext, config: ModelConfig, name: string): { wUK: Value; wUVt: Value } {
  const heads = config.numAttentionHeads;
  const nope = config.qkNopeHeadDim;
  const v = config.vHeadDim;
  const latent = config.kvLoraRank;
  const kvB = ctx.source.readFloat32(name);
  if (kvB.length !== heads * (nope + v) * latent)
    throw new Error(`${name}: expected [${heads * (nope + v)}, ${latent}]`);
  const wUK = new Float32Array(heads * nope * latent);
  const rows = latent + config.qkRopeHeadDim;
  const wUVt = new Float32Array(heads * rows * v);
  for (let hd = 0; hd < heads; hd++) {
    const base = hd * (nope + v) * latent;
    wUK.set(kvB.subarray(base, base + nope * latent), hd * nope * latent);
    for (let j = 0; j < v; j++) {
      for (let c = 0; c < latent; c++) wUVt[(hd * rows + c) * v + j] = kvB[base + (nope + j) * latent + c]!;
    }
  }
  return {
    wUK: ctx.tensor(`${name}.w_uk`, wUK, [heads, nope, latent]),
    wUVt: ctx.tensor(`${name}.w_uv_t`, wUVt, [heads, rows, v]),
  };
}
