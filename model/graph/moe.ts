// DeepSeekMoE: router scoring and expert choice as DeepSeek does them, expert compute by com.microsoft.MoE,
// which runs only the experts each token was routed to (cost follows k, not the number of experts).
//
// The MoE kernel takes softmax over `router_probs`, keeps the top k and mixes with those probabilities. Plain
// V2 greedy routing (softmax scores, top-k) is exactly that, so raw gate logits go straight in. Every other
// method chooses experts in the graph and hands the kernel log(w) for the chosen ones and −inf elsewhere:
// the kernel's softmax then yields w / Σw, and multiplying by Σw restores w when norm_topk_prob is false.
import type { ModelConfig, MoeConfig } from '../config.js';
import type { Value } from '../onnx/graph-builder.js';
import type { InlineTensor } from '../onnx/graph-builder.js';
import { DataType, MS_DOMAIN } from '../onnx/graph-builder.js';
import type { GraphContext } from './context.js';

export function moeFeedForward(ctx: GraphContext, config: ModelConfig, moe: MoeConfig, prefix: string, h: Value): Value {
  const { g } = ctx;
  const logits = ctx.linear(h, `${prefix}.gate.weight`); // [N, E]
  const plainGreedy = moe.topkMethod === 'greedy' && moe.scoringFunc === 'softmax';
  const routing = plainGreedy ? { routerProbs: logits, mixScale: null } : chooseExperts(ctx, moe, prefix, logits);

  // The CPU MoE kernel is registered MayInplace(0, 0) but zeroes its output before reading the input, so when ORT
  // reuses `h`'s buffer for the output the routed experts contribute nothing. A graph output is never reused in
  // place, so `h` is exposed as one (the executor does not fetch it; nothing is copied out).
  g.output(h, DataType.FLOAT, ['num_tokens', config.hiddenSize]);
  const routed = g.op1('MoE', [h, routing.routerProbs, stackedFc1(ctx, config, moe, prefix), null, stackedFc2(ctx, config, moe, prefix)], {
    k: moe.numExpertsPerTok,
    activation_type: 'swiglu',
    swiglu_fusion: 1,
    activation_alpha: { float: 1 },
    activation_beta: { float: 0 },
    normalize_routing_weights: plainGreedy && moe.normTopkProb ? 1 : 0,
  }, MS_DOMAIN);
  let out = routing.mixScale === null ? routed : g.op1('Mul', [routed, routing.mixScale]);
  if (moe.routedScalingFactor !== 1) out = g.op1('Mul', [out, g.constFloat(moe.routedScalingFactor)]);
  if (moe.nSharedExperts > 0) out = g.op1('Add', [out, ctx.gatedMlp(h, `${prefix}.shared_experts`)]);
  return out;
}

interface Routing {
  /** [N, E] what the kernel's softmax turns into mixing weights. */
  readonly routerProbs: Value;
  /** [N, 1] factor restoring unnormalised weights, or null. */
  readonly mixScale: Value | null;
}

/**
 * Expert choice on `score + e_score_correction_bias` (noaux_tc) within the best `topk_group` groups
 * (noaux_tc: a group's score is the sum of its top-2 biased scores; group_limited_greedy: its max), mixed with
 * the unbiased scores.
 */
function chooseExperts(ctx: GraphContext, moe: MoeConfig, prefix: string, logits: Value): Routing {
  const { g } = ctx;
  const experts = moe.nRoutedExperts;
  const scores = moe.scoringFunc === 'softmax' ? g.op1('Softmax', [logits], { axis: -1 }) : g.op1('Sigmoid', [logits]);
  let choice = moe.topkMethod === 'noaux_tc' ? g.op1('Add', [scores, ctx.weight(`${prefix}.gate.e_score_correction_bias`)]) : scores;
  if (moe.nGroup > 1 && moe.topkGroup < moe.nGroup) {
    const grouped = g.op1('Reshape', [choice, g.constInt64([0, moe.nGroup, experts / moe.nGroup])]); // [N, G, E/G]
    const groupScore = moe.topkMethod === 'noaux_tc'
      ? g.op1('ReduceSum', [g.op('TopK', [grouped, g.constInt64([2])], { axis: -1 }, { outputs: 2 })[0]!, g.constInt64([-1])], { keepdims: 0 })
      : g.op1('ReduceMax', [grouped, g.constInt64([-1])], { keepdims: 0 }); // [N, G]
    // Keep groups scoring at least the topkGroup-th best (ties are measure-zero for float scores).
    const bestGroups = g.op('TopK', [groupScore, g.constInt64([moe.topkGroup])], { axis: -1 }, { outputs: 2 })[0]!; // [N, topkGroup]
    const kept = g.op1('GreaterOrEqual', [groupScore, g.op1('ReduceMin', [bestGroups, g.constInt64([-1])], { keepdims: 1 })]); // [N, G] bool
    const keptExperts = g.op1('Reshape', [g.op1('Expand', [g.op1('Unsqueeze', [kept, g.constInt64([-1])]), g.constInt64([1, 1, experts / moe.nGroup])]), g.constInt64([0, experts])]);
    choice = g.op1('Where', [keptExperts, choice, g.constFloat(-Infinity)]);
  }
  const chosen = g.op('TopK', [choice, g.constInt64([moe.numExpertsPerTok])], { axis: -1 }, { outputs: 2 })[1]!; // [N, k]
  let weights = g.op1('GatherElements', [scores, chosen], { axis: 1 }); // [N, k] unbiased
  const sum = g.op1('ReduceSum', [weights, g.constInt64([-1])], { keepdims: 1 }); // [N, 1]
  if (moe.normTopkProb) weights = g.op1('Div', [weights, g.op1('Add', [sum, g.constFloat(1e-20)])]);
  const minusInf = g.op1('ConstantOfShape', [g.op1('Shape', [logits])], { value: { tensor: floatScalar(-Infinity) } });
  const routerProbs = g.op1('ScatterElements', [minusInf, chosen, g.op1('Log', [weights])], { axis: 1 });
  return { routerProbs, mixScale: moe.normTopkProb ? null : sum };
}

/** fc1 [E, 2·I, hidden] with gate and up rows interleaved (row 2j = gate j, row 2j+1 = up j), as swiglu_fusion=1 wants. */
function stackedFc1(ctx: GraphContext, config: ModelConfig, moe: MoeConfig, prefix: string): Value {
  const inter = moe.moeIntermediateSize;
  const hidden = config.hiddenSize;
  function* parts(): Generator<Float32Array> {
    const row = new Float32Array(2 * inter * hidden);
    for (let e = 0; e < moe.nRoutedExperts; e++) {
      const gate = ctx.source.readFloat32(`${prefix}.experts.${e}.gate_proj.weight`);
      const up = ctx.source.readFloat32(`${prefix}.experts.${e}.up_proj.weight`);
      for (let j = 0; j < inter; j++) {
        row.set(gate.subarray(j * hidden, (j + 1) * hidden), 2 * j * hidden);
        row.set(up.subarray(j * hidden, (j + 1) * hidden), (2 * j + 1) * hidden);
      }
      yield row;
    }
  }
  return ctx.streamedTensor(`${prefix}.experts.fc1`, [moe.nRoutedExperts, 2 * inter, hidden], parts());
}

/** fc2 [E, hidden, I]: each expert's down_proj as shipped. */
function stackedFc2(ctx: GraphContext, config: ModelConfig, moe: MoeConfig, prefix: string): Value {
  function* parts(): Generator<Float32Array> {
    for (let e = 0; e < moe.nRoutedExperts; e++) yield ctx.source.readFloat32(`${prefix}.experts.${e}.down_proj.weight`);
  }
  return ctx.streamedTensor(`${prefix}.experts.fc2`, [moe.nRoutedExperts, config.hiddenSize, moe.moeIntermediateSize], parts());
}

function floatScalar(v: number): InlineTensor {
  return { dataType: DataType.FLOAT, dims: [1], bytes: new Uint8Array(Float32Array.of(v).buffer) };
}
