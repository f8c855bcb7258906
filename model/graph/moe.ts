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
import { quantizeBlocks } from '../../quant/int-blocks.js';
import { weightBits } from './compile-options.js';
import type { GraphContext } from './context.js';

export function moeFeedForward(ctx: GraphContext, config: ModelConfig, moe: MoeConfig, prefix: string, h: Value): Value {
  const { g } = ctx;
  const logits = ctx.floatLinear(h, `${prefix}.gate.weight`); // [N, E]
  const experts = expertStacks(ctx, config, moe, prefix);
  // QMoE applies softmax after top-k (it always renormalises), so only the float kernel takes raw greedy logits.
  const plainGreedy = moe.topkMethod === 'greedy' && moe.scoringFunc === 'softmax' && experts.bits === null;
  const routing = plainGreedy ? { routerProbs: logits, mixScale: null } : chooseExperts(ctx, moe, prefix, logits);
  const swiglu = { k: moe.numExpertsPerTok, activation_type: 'swiglu', swiglu_fusion: 1, activation_alpha: { float: 1 }, activation_beta: { float: 0 } } as const;
  let routed: Value;
  if (experts.bits === null) {
    // The CPU MoE kernel is registered MayInplace(0, 0) but zeroes its output before reading the input, so when
    // ORT reuses `h`'s buffer for the output the routed experts contribute nothing. A graph output is never reused
    // in place, so `h` is exposed as one (the executor does not fetch it; nothing is copied out).
    g.output(h, DataType.FLOAT, ['num_tokens', config.hiddenSize]);
    routed = g.op1('MoE', [h, routing.routerProbs, experts.fc1, null, experts.fc2], {
      ...swiglu, normalize_routing_weights: plainGreedy && moe.normTopkProb ? 1 : 0,
    }, MS_DOMAIN);
  } else {
    routed = g.op1('QMoE', [h, routing.routerProbs, experts.fc1, experts.fc1Scales, null, experts.fc2, experts.fc2Scales], {
      ...swiglu, normalize_routing_weights: 0, expert_weight_bits: experts.bits, block_size: ctx.options.quantBlockSize,
    }, MS_DOMAIN);
  }
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

/** Expert weights as the MoE kernels want them, float32 (MoE) or block-quantized (QMoE). */
interface ExpertStacks {
  readonly fc1: Value;
  readonly fc2: Value;
  /** Block scales of fc1 / fc2 when quantized. */
  readonly fc1Scales: Value | null;
  readonly fc2Scales: Value | null;
  readonly bits: 4 | 8 | null;
}

/**
 * fc1 [E, 2·I, hidden] with gate and up rows interleaved (row 2j = gate j, row 2j+1 = up j, as swiglu_fusion=1
 * wants) and fc2 [E, hidden, I] (each expert's down_proj as shipped). Streamed expert by expert; when quantized,
 * codes are streamed and the (small) scales follow.
 */
function expertStacks(ctx: GraphContext, config: ModelConfig, moe: MoeConfig, prefix: string): ExpertStacks {
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
  const bits = weightBits(ctx.options.quant);
  if (bits === null) {
    const stream = (rows: (e: number) => Float32Array) => function* () { for (let e = 0; e < experts; e++) yield rows(e); }();
    return {
      fc1: ctx.streamedBytes(`${prefix}.experts.fc1`, DataType.FLOAT, [experts, 2 * inter, hidden], stream(fc1Rows)),
      fc2: ctx.streamedBytes(`${prefix}.experts.fc2`, DataType.FLOAT, [experts, hidden, inter], stream(fc2Rows)),
      fc1Scales: null,
      fc2Scales: null,
      bits: null,
    };
  }
  const block = ctx.options.quantBlockSize;
  const quantized = (name: string, rows: number, cols: number, weights: (e: number) => Float32Array): [Value, Value] => {
    if (cols % block !== 0) throw new Error(`${name}: ${cols} columns are not a multiple of the quantization block ${block}`);
    const scales: Float32Array[] = [];
    function* codes(): Generator<Uint8Array> {
      for (let e = 0; e < experts; e++) {
        const q = quantizeBlocks(weights(e), rows, cols, bits!, block);
        scales.push(q.scales);
        yield q.data;
      }
    }
    const codesValue = ctx.streamedBytes(`${name}.q${bits}`, DataType.UINT8, [experts, rows, (cols * bits!) / 8], codes());
    const scalesValue = ctx.streamedBytes(`${name}.scales`, DataType.FLOAT, [experts, rows, cols / block], scales);
    return [codesValue, scalesValue];
  };
  const [fc1, fc1Scales] = quantized(`${prefix}.experts.fc1`, 2 * inter, hidden, fc1Rows);
  const [fc2, fc2Scales] = quantized(`${prefix}.experts.fc2`, hidden, inter, fc2Rows);
  return { fc1, fc2, fc1Scales, fc2Scales, bits };
}

function floatScalar(v: number): InlineTensor {
  return { dataType: DataType.FLOAT, dims: [1], bytes: new Uint8Array(Float32Array.of(v).buffer) };
}
