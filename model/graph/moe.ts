// DeepSeekMoE: router scoring and expert choice as DeepSeek does them; expert compute only for the experts each
// token was routed to (cost follows k, not the number of experts).
//
// Every weight format runs the experts the same way: the (token, expert) pairs are sorted by expert, cut into one
// contiguous slice per expert by a single Split, and each slice goes through that expert's own prepacked product
// (float32: Gemm; int8/int4: MatMulNBits; w8a8: DynamicQuantizeMatMul). An expert no token chose gets an empty
// slice and does no work.
//
// ONNX Runtime 1.30's fused CPU kernels measured slower:
// - float32 com.microsoft.MoE (all experts stacked, SwiGLU fused), which float32 used until December 2026: on a quiet
//   machine the sorted Gemms decode mini 1.06× faster at batch 1, 1.30× at 16 sequences and 1.33× at 32, and
//   prefill 64-token prompts 1.3× faster (`bench/graph-race.ts --quant none`, the two graphs alternated). A single
//   512-token prefill is even (0.98×). An earlier measurement that favoured MoE was taken on an overloaded machine.
// - QMoE dequantizes 8-bit experts on every call and keeps float copies of 4-bit ones: 3.3–3.4× slower than the
//   per-expert MatMulNBits at 1 row, 1.4–2.1× at 16 and 64 (`bench/moe-layer-bench.ts`, one mini layer).
import type { ModelConfig, MoeConfig } from '../config.js';
import type { Value } from '../onnx/graph-builder.js';
import { DataType } from '../onnx/graph-builder.js';
import { isW8a8 } from './compile-options.js';
import type { GraphContext } from './context.js';

export function moeFeedForward(
  ctx: GraphContext,
  config: ModelConfig,
  moe: MoeConfig,
  prefix: string,
  h: Value,
): Value {
  const { g } = ctx;
  const logits = ctx.floatLinear(h, `${prefix}.gate.weight`); // [N, E]
  // routed_scaling_factor scales the k mixing weights per token ([N, k]) rather than the experts' sum ([N, hidden]).
  const out = sortedExperts(
    ctx,
    config,
    moe,
    prefix,
    h,
    chooseExperts(ctx, moe, prefix, logits, moe.routedScalingFactor),
  );
  return moe.nSharedExperts > 0 ? g.op1('Add', [out, ctx.gatedMlp(h, `${prefix}.shared_experts`)]) : out;
}

/**
 * Routed experts: Σ over each token's chosen experts of w · down_e(swiglu(gate_up_e(h))). The N·k (token, expert)
 * pairs are sorted by expert; Split cuts them into E slices (empty for unchosen experts), each slice runs through
 * its expert's own products (GraphContext.linearOf: Gemm, MatMulNBits or DynamicQuantizeMatMul), and the weighted
 * results are summed per token.
 */
function sortedExperts(
  ctx: GraphContext,
  config: ModelConfig,
  moe: MoeConfig,
  prefix: string,
  h: Value,
  choice: ExpertChoice,
): Value {
  const { g } = ctx;
  const hidden = config.hiddenSize;
  const inter = moe.moeIntermediateSize;
  const experts = moe.nRoutedExperts;
  const pairExpert = g.op1('Reshape', [choice.chosen, g.constInt64([-1])]); // [N·k] int64, pair p = token p / k
  const byExpert = sortAscending(g, pairExpert); // pair ids sorted by expert
  const pairToken = g.op1('Div', [byExpert, g.constInt64(moe.numExpertsPerTok)]); // [N·k] token of each sorted pair
  const pairWeight = g.op1('Gather', [g.op1('Reshape', [choice.weights, g.constInt64([-1])]), byExpert], { axis: 0 }); // [N·k]
  const perExpert = g.op1(
    'ReduceSum',
    [g.op1('OneHot', [pairExpert, g.constInt64(experts), g.constFloat([0, 1])], { axis: -1 }), g.constInt64([0])],
    { keepdims: 0 },
  );
  const counts = g.op1('Cast', [perExpert], { to: DataType.INT64 }); // [E] pairs per expert
  const slices = (x: Value): Value[] => g.op('Split', [x, counts], { axis: 0 }, { outputs: experts });
  // w8a8: the expert slices can be empty, so rows are scaled to unit max before the Split (GraphContext.unitRows),
  // and the scales come back once per layer: h's on the gate/up products, the SwiGLU rows' in the mixing weights.
  const w8a8 = isW8a8(ctx.options.quant);
  const input = w8a8 ? 'unit-rows' : 'rows';
  const hRows = w8a8 ? ctx.unitRows(h) : null;
  const x = slices(g.op1('Gather', [hRows?.unit ?? h, pairToken], { axis: 0 })); // E × [n_e, hidden]
  let act = g.op1(
    'Concat',
    x.map((xe, e) => ctx.gateUpLinear(xe, `${prefix}.experts.${e}`, input).product),
    { axis: 0 },
  ); // [N·k, 2I] in sorted order
  if (hRows !== null) act = g.op1('Mul', [act, g.op1('Gather', [hRows.scale, pairToken], { axis: 0 })]);
  const swiglu = ctx.swiglu(act, inter);
  const midRows = w8a8 ? ctx.unitRows(swiglu) : null;
  const mid = slices(midRows?.unit ?? swiglu);
  const y = g.op1(
    'Concat',
    mid.map((me, e) => ctx.linear(me, `${prefix}.experts.${e}.down_proj.weight`, input)),
    { axis: 0 },
  ); // [N·k, hidden]
  const mixWeight = g.op1('Unsqueeze', [pairWeight, g.constInt64([-1])]); // [N·k, 1]
  const weighted = g.op1('Mul', [y, midRows === null ? mixWeight : g.op1('Mul', [mixWeight, midRows.scale])]);
  // Back to pair order (argsort of a permutation is its inverse), then each token's k results summed. Not
  // ScatterND with reduction 'add', whose CPU kernel gave run-to-run differences in the sums.
  const sortedPosition = sortAscending(g, byExpert); // [N·k] position of pair p in the sorted order
  const perPair = g.op1('Reshape', [
    g.op1('Gather', [weighted, sortedPosition], { axis: 0 }),
    g.constInt64([-1, moe.numExpertsPerTok, hidden]),
  ]);
  return g.op1('ReduceSum', [perPair, g.constInt64([1])], { keepdims: 0 }); // [N, hidden]
}

/** Indices that sort the int64 vector v ascending (v's values are small: exact as float32). */
function sortAscending(g: GraphContext['g'], v: Value): Value {
  return g.op(
    'TopK',
    [g.op1('Cast', [v], { to: DataType.FLOAT }), g.op1('Shape', [v])],
    { axis: 0, largest: 0, sorted: 1 },
    { outputs: 2 },
  )[1]!;
}

interface ExpertChoice {
  /** [N, k] int64 chosen expert ids. */
  readonly chosen: Value;
  /** [N, k] their mixing weights: unbiased scores, divided by their sum when norm_topk_prob, times `scale`. */
  readonly weights: Value;
}

/**
 * Expert choice on `score + e_score_correction_bias` (noaux_tc) within the best `topk_group` groups
 * (noaux_tc: a group's score is the sum of its top-2 biased scores; group_limited_greedy: its max), mixed with
 * the unbiased scores.
 */
function chooseExperts(ctx: GraphContext, moe: MoeConfig, prefix: string, logits: Value, scale: number): ExpertChoice {
  const { g } = ctx;
  const experts = moe.nRoutedExperts;
  const scores = moe.scoringFunc === 'softmax' ? g.op1('Softmax', [logits], { axis: -1 }) : g.op1('Sigmoid', [logits]);
  let choice =
    moe.topkMethod === 'noaux_tc'
      ? g.op1('Add', [scores, ctx.weight(`${prefix}.gate.e_score_correction_bias`)])
      : scores;
  if (moe.nGroup > 1 && moe.topkGroup < moe.nGroup) {
    const grouped = g.op1('Reshape', [choice, g.constInt64([0, moe.nGroup, experts / moe.nGroup])]); // [N, G, E/G]
    const groupScore =
      moe.topkMethod === 'noaux_tc'
        ? g.op1(
            'ReduceSum',
            [g.op('TopK', [grouped, g.constInt64([2])], { axis: -1 }, { outputs: 2 })[0]!, g.constInt64([-1])],
            { keepdims: 0 },
          )
        : g.op1('ReduceMax', [grouped, g.constInt64([-1])], { keepdims: 0 }); // [N, G]
    // Keep groups scoring at least the topkGroup-th best (ties are measure-zero for float scores).
    const bestGroups = g.op('TopK', [groupScore, g.constInt64([moe.topkGroup])], { axis: -1 }, { outputs: 2 })[0]!; // [N, topkGroup]
    const kept = g.op1('GreaterOrEqual', [
      groupScore,
      g.op1('ReduceMin', [bestGroups, g.constInt64([-1])], { keepdims: 1 }),
    ]); // [N, G] bool
    const keptExperts = g.op1('Reshape', [
      g.op1('Expand', [g.op1('Unsqueeze', [kept, g.constInt64([-1])]), g.constInt64([1, 1, experts / moe.nGroup])]),
      g.constInt64([0, experts]),
    ]);
    choice = g.op1('Where', [keptExperts, choice, g.constFloat(-Infinity)]);
  }
  const chosen = g.op('TopK', [choice, g.constInt64([moe.numExpertsPerTok])], { axis: -1 }, { outputs: 2 })[1]!; // [N, k]
  let weights = g.op1('GatherElements', [scores, chosen], { axis: 1 }); // [N, k] unbiased
  if (moe.normTopkProb) {
    const sum = g.op1('ReduceSum', [weights, g.constInt64([-1])], { keepdims: 1 }); // [N, 1]
    weights = g.op1('Div', [weights, g.op1('Add', [sum, g.constFloat(1e-20)])]);
  }
  if (scale !== 1) weights = g.op1('Mul', [weights, g.constFloat(scale)]);
  return { chosen, weights };
}
