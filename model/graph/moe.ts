// DeepSeekMoE: router scoring and expert choice as DeepSeek does them; expert compute only for the experts each
// token was routed to (cost follows k, not the number of experts).
//
// float32 experts run in com.microsoft.MoE. That kernel takes softmax over `router_probs`, keeps the top k and mixes
// with those probabilities. Plain V2 greedy routing (softmax scores, top-k) is exactly that, so raw gate logits go
// straight in. Every other method chooses experts in the graph and hands the kernel log(w) for the chosen ones and
// −inf elsewhere: the kernel's softmax then yields w / Σw, and multiplying by Σw restores w when norm_topk_prob is
// false. One Gemm per expert (the quantized experts' layout below, on float weights) measured no faster at 1 and 16
// rows and 1.2× slower at 64 (one mini layer, bench/moe-layer-bench.ts with that variant; December 2026).
//
// Quantized experts do not use QMoE: ONNX Runtime 1.30's CPU QMoE dequantizes 8-bit experts on every call and keeps
// float copies of 4-bit ones (slower than float32 MoE, and no memory saved; `bench/moe-layer-bench.ts` on one mini
// layer: 3.3–3.4× slower than the per-expert MatMulNBits at 1 row, 1.4–2.1× at 16 and 64). Instead the (token, expert) pairs are
// sorted by expert, cut into one contiguous slice per expert by a single Split, and each slice goes through that
// expert's own prepacked MatMulNBits (w8a8: DynamicQuantizeMatMul): an expert no token chose gets an empty slice
// and does no work.
import type { ModelConfig, MoeConfig } from '../config.js';
import type { Value } from '../onnx/graph-builder.js';
import type { InlineTensor } from '../onnx/graph-builder.js';
import { DataType, MS_DOMAIN } from '../onnx/graph-builder.js';
import { isW8a8, weightBits } from './compile-options.js';
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
  const out =
    weightBits(ctx.options.quant) === null
      ? floatExperts(ctx, config, moe, prefix, h, logits)
      : sortedExperts(ctx, config, moe, prefix, h, chooseExperts(ctx, moe, prefix, logits, moe.routedScalingFactor));
  return moe.nSharedExperts > 0 ? g.op1('Add', [out, ctx.gatedMlp(h, `${prefix}.shared_experts`)]) : out;
}

/** Routed experts in float32 through com.microsoft.MoE (see the header for how routing is handed over). */
function floatExperts(
  ctx: GraphContext,
  config: ModelConfig,
  moe: MoeConfig,
  prefix: string,
  h: Value,
  logits: Value,
): Value {
  const { g } = ctx;
  const experts = floatExpertStacks(ctx, config, moe, prefix);
  const plainGreedy = moe.topkMethod === 'greedy' && moe.scoringFunc === 'softmax';
  let routerProbs = logits;
  let mixScale: Value | null = moe.routedScalingFactor === 1 ? null : g.constFloat(moe.routedScalingFactor);
  if (!plainGreedy) {
    const { chosen, weights } = chooseExperts(ctx, moe, prefix, logits, 1);
    const minusInf = g.op1('ConstantOfShape', [g.op1('Shape', [logits])], {
      value: { tensor: floatScalar(-Infinity) },
    });
    routerProbs = g.op1('ScatterElements', [minusInf, chosen, g.op1('Log', [weights])], { axis: 1 });
    if (!moe.normTopkProb) {
      const sum = g.op1('ReduceSum', [weights, g.constInt64([-1])], { keepdims: 1 }); // [N, 1]
      mixScale = mixScale === null ? sum : g.op1('Mul', [sum, mixScale]);
    }
  }
  // The CPU MoE kernel is registered MayInplace(0, 0) but zeroes its output before reading the input, so when
  // ORT reuses `h`'s buffer for the output the routed experts contribute nothing. A graph output is never reused
  // in place, so `h` is exposed as one (the executor does not fetch it; nothing is copied out).
  g.output(h, DataType.FLOAT, ['num_tokens', config.hiddenSize]);
  const routed = g.op1(
    'MoE',
    [h, routerProbs, experts.fc1, null, experts.fc2],
    {
      k: moe.numExpertsPerTok,
      activation_type: 'swiglu',
      swiglu_fusion: 1,
      activation_alpha: { float: 1 },
      activation_beta: { float: 0 },
      normalize_routing_weights: plainGreedy && moe.normTopkProb ? 1 : 0,
    },
    MS_DOMAIN,
  );
  return mixScale === null ? routed : g.op1('Mul', [routed, mixScale]);
}

/**
 * Routed experts on quantized weights: Σ over each token's chosen experts of w · down_e(swiglu(gate_up_e(h))).
 * The N·k (token, expert) pairs are sorted by expert; Split cuts them into E slices (empty for unchosen experts),
 * each slice runs through its expert's MatMulNBits, and the weighted results are summed per token.
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

/**
 * fc1 [E, 2·I, hidden] with gate and up rows interleaved (row 2j = gate j, row 2j+1 = up j, as swiglu_fusion=1
 * wants) and fc2 [E, hidden, I] (each expert's down_proj as shipped), streamed expert by expert.
 */
function floatExpertStacks(
  ctx: GraphContext,
  config: ModelConfig,
  moe: MoeConfig,
  prefix: string,
): { fc1: Value; fc2: Value } {
  const inter = moe.moeIntermediateSize;
  const hidden = config.hiddenSize;
  const experts = moe.nRoutedExperts;
  const interleaved = new Float32Array(2 * inter * hidden);
  const fc1Rows = (e: number): Float32Array => {
    const gate = ctx.source.readFloat32(`${prefix}.experts.${e}.gate_proj.weight`);
    const up = ctx.source.readFloat32(`${prefix}.experts.${e}.up_proj.weight`);
    for (let j = 0; j < inter; j++) {
      interleaved.set(gate.subarray(j * hidden, (j + 1) * hidden), 2 * j * hidden);
      interleaved.set(up.subarray(j * hidden, (j + 1) * hidden), (2 * j + 1) * hidden);
    }
    return interleaved;
  };
  const fc2Rows = (e: number): Float32Array => ctx.source.readFloat32(`${prefix}.experts.${e}.down_proj.weight`);
  const stream = (rows: (e: number) => Float32Array) =>
    (function* () {
      for (let e = 0; e < experts; e++) yield rows(e);
    })();
  return {
    fc1: ctx.streamedBytes(`${prefix}.experts.fc1`, DataType.FLOAT, [experts, 2 * inter, hidden], stream(fc1Rows)),
    fc2: ctx.streamedBytes(`${prefix}.experts.fc2`, DataType.FLOAT, [experts, hidden, inter], stream(fc2Rows)),
  };
}

function floatScalar(v: number): InlineTensor {
  return { dataType: DataType.FLOAT, dims: [1], bytes: new Uint8Array(Float32Array.of(v).buffer) };
}
