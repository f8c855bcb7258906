// The tensor plan of a synthetic checkpoint: every HF tensor name and shape a DeepSeek-V2/V3 config implies, with
// the distribution its values are drawn from. Scales imitate a trained model's activations rather than an
// initialiser's:
//   - inputs to every linear are RMS-normalised or O(1), so weights ~ N(0, 1/fan_in) keep outputs O(1);
//   - projections that write into the residual stream (o_proj, down_proj) are scaled so that each sublayer adds
//     about 1/sqrt(2·numLayers) rms: the stream grows to about sqrt(2) of the embedding's scale over the depth,
//     and every layer still moves the logits (so an engine bug in any layer shows up). Their inputs are not unit
//     rms — SwiGLU's silu(g)·u has rms ≈ 0.6 for unit g, u, and attention averages values — hence
//     SUBLAYER_OUTPUT_RMS;
//   - routed experts' down_proj is divided by routed_scaling_factor, which a trained model's weights absorb;
//   - router logits have std ROUTER_LOGIT_STD so top-k picks are decisive, not near-ties;
//   - lm_head gives logits of std LOGIT_STD: peaked but not one-hot; rows past the tokenizer's last id are
//     shrunk so that unreachable ids never win the argmax (as in the fixtures).

import type { TensorDecl } from './safetensors-writer.js';

const NORM_NOISE_STD = 0.05;
const SUBLAYER_OUTPUT_RMS = 0.6;
const ROUTER_LOGIT_STD = 1.5;
const CORRECTION_BIAS_STD = 0.01;
const LOGIT_STD = 3.0;
const UNUSED_VOCAB_ROW_SCALE = 0.1;

export type TensorInit =
  | { kind: 'normal'; mean: number; std: number }
  // Normal draws whose rows from `fromRow` on (row = index / rowLength) are multiplied by `scale`.
  | { kind: 'normal-quiet-rows'; std: number; rowLength: number; fromRow: number; scale: number };

export interface PlannedTensor extends TensorDecl {
  init: TensorInit;
  /**
   * A linear layer's weight that DeepSeek-V3's FP8 release stores as F8_E4M3 + `_scale_inv`: attention projections
   * and dense / shared / routed expert MLPs. Embeddings, norms, the router (mlp.gate.weight and its
   * e_score_correction_bias) and lm_head stay unquantized.
   */
  fp8: boolean;
  /** Which layer the tensor belongs to, or null for embeddings / final norm / lm_head; drives progress lines. */
  layer: number | null;
}

/** The config fields that decide tensor names and shapes, camel-cased; defaults as in DeepseekV2Config. */
export interface SynthShape {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  moeIntermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  nSharedExperts: number;
  nRoutedExperts: number; // 0: no MoE layers
  firstKDenseReplace: number;
  moeLayerFreq: number;
  routedScalingFactor: number;
  topkMethod: string;
  qLoraRank: number | null;
  kvLoraRank: number;
  qkNopeHeadDim: number;
  qkRopeHeadDim: number;
  vHeadDim: number;
  tieWordEmbeddings: boolean;
}

export function synthShapeFromConfig(config: Readonly<Record<string, unknown>>): SynthShape {
  const int = (key: string, fallback?: number): number => {
    const value = config[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new Error(`config.json: ${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const positive = (key: string, fallback?: number): number => {
    const value = int(key, fallback);
    if (value === 0) throw new Error(`config.json: ${key} must be positive`);
    return value;
  };
  const scalingFactor = config['routed_scaling_factor'] ?? 1;
  if (typeof scalingFactor !== 'number' || !(scalingFactor > 0)) {
    throw new Error('config.json: routed_scaling_factor must be a positive number');
  }
  const qLoraRank = config['q_lora_rank'] ?? null;
  return {
    vocabSize: positive('vocab_size'),
    hiddenSize: positive('hidden_size'),
    intermediateSize: positive('intermediate_size'),
    moeIntermediateSize: int('moe_intermediate_size', 0),
    numHiddenLayers: positive('num_hidden_layers'),
    numAttentionHeads: positive('num_attention_heads'),
    nSharedExperts: int('n_shared_experts', 0),
    nRoutedExperts: int('n_routed_experts', 0),
    firstKDenseReplace: int('first_k_dense_replace', 0),
    moeLayerFreq: positive('moe_layer_freq', 1),
    routedScalingFactor: scalingFactor,
    topkMethod: typeof config['topk_method'] === 'string' ? config['topk_method'] : 'greedy',
    qLoraRank: qLoraRank === null ? null : positive('q_lora_rank'),
    kvLoraRank: positive('kv_lora_rank'),
    qkNopeHeadDim: positive('qk_nope_head_dim'),
    qkRopeHeadDim: positive('qk_rope_head_dim'),
    vHeadDim: positive('v_head_dim'),
    tieWordEmbeddings: config['tie_word_embeddings'] === true,
  };
}

/** Same rule as HF's DeepseekV2DecoderLayer. */
export function isMoeLayer(shape: SynthShape, layer: number): boolean {
  return shape.nRoutedExperts > 0 && layer >= shape.firstKDenseReplace && layer % shape.moeLayerFreq === 0;
}

/**
 * Every tensor of the checkpoint in file order. `usedVocabRows` is the tokenizer's size: lm_head rows at and past
 * it belong to ids no text can produce.
 */
export function planTensors(shape: SynthShape, usedVocabRows: number): PlannedTensor[] {
  const plan: PlannedTensor[] = [];
  const residualScale = 1 / Math.sqrt(2 * shape.numHiddenLayers) / SUBLAYER_OUTPUT_RMS;
  const h = shape.hiddenSize;
  const add = (name: string, dims: number[], init: TensorInit, layer: number | null, fp8 = false): void => {
    plan.push({ name, shape: dims, init, layer, fp8 });
  };
  // Linear weight [out, in] ~ N(0, (gain² / in)).
  const linear = (name: string, out: number, inFeatures: number, layer: number | null, gain = 1, fp8 = true): void =>
    add(name, [out, inFeatures], { kind: 'normal', mean: 0, std: gain / Math.sqrt(inFeatures) }, layer, fp8);
  const norm = (name: string, dim: number, layer: number | null): void =>
    add(name, [dim], { kind: 'normal', mean: 1, std: NORM_NOISE_STD }, layer);
  const mlp = (prefix: string, intermediate: number, layer: number, downGain: number): void => {
    linear(`${prefix}.gate_proj.weight`, intermediate, h, layer);
    linear(`${prefix}.up_proj.weight`, intermediate, h, layer);
    linear(`${prefix}.down_proj.weight`, h, intermediate, layer, downGain);
  };

  // Untied embeddings feed RMSNorm, so std 1 is as good as any; tied ones double as lm_head and take its scale.
  const logitWeightStd = LOGIT_STD / Math.sqrt(h);
  const embedStd = shape.tieWordEmbeddings ? logitWeightStd : 1;
  add('model.embed_tokens.weight', [shape.vocabSize, h], { kind: 'normal', mean: 0, std: embedStd }, null);
  const qHeadDim = shape.qkNopeHeadDim + shape.qkRopeHeadDim;
  const heads = shape.numAttentionHeads;
  for (let layer = 0; layer < shape.numHiddenLayers; layer++) {
    const p = `model.layers.${layer}`;
    norm(`${p}.input_layernorm.weight`, h, layer);
    if (shape.qLoraRank === null) {
      linear(`${p}.self_attn.q_proj.weight`, heads * qHeadDim, h, layer);
    } else {
      linear(`${p}.self_attn.q_a_proj.weight`, shape.qLoraRank, h, layer);
      norm(`${p}.self_attn.q_a_layernorm.weight`, shape.qLoraRank, layer);
      linear(`${p}.self_attn.q_b_proj.weight`, heads * qHeadDim, shape.qLoraRank, layer);
    }
    linear(`${p}.self_attn.kv_a_proj_with_mqa.weight`, shape.kvLoraRank + shape.qkRopeHeadDim, h, layer);
    norm(`${p}.self_attn.kv_a_layernorm.weight`, shape.kvLoraRank, layer);
    linear(`${p}.self_attn.kv_b_proj.weight`, heads * (shape.qkNopeHeadDim + shape.vHeadDim), shape.kvLoraRank, layer);
    linear(`${p}.self_attn.o_proj.weight`, h, heads * shape.vHeadDim, layer, residualScale);
    norm(`${p}.post_attention_layernorm.weight`, h, layer);
    if (!isMoeLayer(shape, layer)) {
      mlp(`${p}.mlp`, shape.intermediateSize, layer, residualScale);
      continue;
    }
    linear(`${p}.mlp.gate.weight`, shape.nRoutedExperts, h, layer, ROUTER_LOGIT_STD, false);
    if (shape.topkMethod === 'noaux_tc') {
      add(
        `${p}.mlp.gate.e_score_correction_bias`,
        [shape.nRoutedExperts],
        { kind: 'normal', mean: 0, std: CORRECTION_BIAS_STD },
        layer,
      );
    }
    for (let expert = 0; expert < shape.nRoutedExperts; expert++) {
      mlp(`${p}.mlp.experts.${expert}`, shape.moeIntermediateSize, layer, residualScale / shape.routedScalingFactor);
    }
    if (shape.nSharedExperts > 0) {
      mlp(`${p}.mlp.shared_experts`, shape.moeIntermediateSize * shape.nSharedExperts, layer, residualScale);
    }
  }
  norm('model.norm.weight', h, null);
  if (!shape.tieWordEmbeddings) {
    const std = logitWeightStd;
    const init: TensorInit =
      usedVocabRows < shape.vocabSize
        ? { kind: 'normal-quiet-rows', std, rowLength: h, fromRow: usedVocabRows, scale: UNUSED_VOCAB_ROW_SCALE }
        : { kind: 'normal', mean: 0, std };
    add('lm_head.weight', [shape.vocabSize, h], init, null);
  }
  return plan;
}
