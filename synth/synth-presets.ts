// Preset HF config.json objects for `latentserve synth`. Field names and order follow the fixtures' config.json
// (DeepseekV3Config vocabulary), so a synthesized folder looks like a real checkpoint to every loader.

export type SynthPreset = 'tiny' | 'demo' | 'mini';
/** FP8: DeepSeek-V3's release format, linear weights F8_E4M3 with 128×128 block scales, the rest BF16. */
export type SynthDtype = 'F32' | 'BF16' | 'FP8';

export const SYNTH_PRESETS: readonly SynthPreset[] = ['tiny', 'demo', 'mini'];
export const SYNTH_DTYPES: readonly SynthDtype[] = ['F32', 'BF16', 'FP8'];

/** Real checkpoints ship BF16; `tiny` stays F32 so it can be compared against the F32 fixtures. */
export function synthPresetDtype(preset: SynthPreset): SynthDtype {
  return preset === 'tiny' ? 'F32' : 'BF16';
}

/** config.json's torch_dtype: the dtype of the unquantized tensors (bfloat16 in an FP8 checkpoint, as DeepSeek-V3's). */
export function torchDtypeName(dtype: SynthDtype): string {
  return dtype === 'F32' ? 'float32' : 'bfloat16';
}

/** DeepSeek-V3's config.json quantization_config, verbatim. */
export function fp8QuantizationConfig(blockSize: number): Record<string, unknown> {
  return { activation_scheme: 'dynamic', fmt: 'e4m3', quant_method: 'fp8', weight_block_size: [blockSize, blockSize] };
}

interface PresetShape {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  moe_intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  n_shared_experts: number;
  n_routed_experts: number;
  num_experts_per_tok: number;
  first_k_dense_replace: number;
  routed_scaling_factor: number;
  scoring_func: 'softmax' | 'sigmoid';
  topk_method: 'greedy' | 'group_limited_greedy' | 'noaux_tc';
  n_group: number;
  topk_group: number;
  norm_topk_prob: boolean;
  q_lora_rank: number | null;
  kv_lora_rank: number;
  qk_nope_head_dim: number;
  qk_rope_head_dim: number;
  v_head_dim: number;
  rope_scaling: Record<string, unknown> | null;
  max_position_embeddings: number;
}

const PRESET_SHAPES: Record<SynthPreset, PresetShape> = {
  // The shapes of tests/fixtures/deepseek-v3-tiny-b.
  tiny: {
    vocab_size: 1024,
    hidden_size: 64,
    intermediate_size: 128,
    moe_intermediate_size: 32,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    n_shared_experts: 2,
    n_routed_experts: 8,
    num_experts_per_tok: 2,
    first_k_dense_replace: 1,
    routed_scaling_factor: 1.5,
    scoring_func: 'sigmoid',
    topk_method: 'noaux_tc',
    n_group: 2,
    topk_group: 1,
    norm_topk_prob: true,
    q_lora_rank: 32,
    kv_lora_rank: 32,
    qk_nope_head_dim: 16,
    qk_rope_head_dim: 8,
    v_head_dim: 16,
    rope_scaling: {
      type: 'yarn',
      factor: 2.0,
      original_max_position_embeddings: 32,
      beta_fast: 32,
      beta_slow: 1,
      mscale: 0.707,
      mscale_all_dim: 0.707,
    },
    max_position_embeddings: 512,
  },
  // DeepSeek-V3 routing (sigmoid, noaux_tc, groups) at a size a laptop CPU serves interactively.
  demo: {
    vocab_size: 8192,
    hidden_size: 512,
    intermediate_size: 1408,
    moe_intermediate_size: 256,
    num_hidden_layers: 6,
    num_attention_heads: 8,
    n_shared_experts: 2,
    n_routed_experts: 16,
    num_experts_per_tok: 2,
    first_k_dense_replace: 1,
    routed_scaling_factor: 2.5,
    scoring_func: 'sigmoid',
    topk_method: 'noaux_tc',
    n_group: 4,
    topk_group: 2,
    norm_topk_prob: true,
    q_lora_rank: null,
    kv_lora_rank: 128,
    qk_nope_head_dim: 32,
    qk_rope_head_dim: 16,
    v_head_dim: 32,
    rope_scaling: null,
    max_position_embeddings: 4096,
  },
  // DeepSeek-V2-Lite-style routing (softmax, greedy, no renormalisation) at roughly half a billion parameters.
  mini: {
    vocab_size: 32000,
    hidden_size: 1024,
    intermediate_size: 2816,
    moe_intermediate_size: 512,
    num_hidden_layers: 8,
    num_attention_heads: 8,
    n_shared_experts: 2,
    n_routed_experts: 32,
    num_experts_per_tok: 4,
    first_k_dense_replace: 1,
    routed_scaling_factor: 1.0,
    scoring_func: 'softmax',
    topk_method: 'greedy',
    n_group: 1,
    topk_group: 1,
    norm_topk_prob: false,
    q_lora_rank: null,
    kv_lora_rank: 256,
    qk_nope_head_dim: 64,
    qk_rope_head_dim: 32,
    v_head_dim: 64,
    rope_scaling: null,
    max_position_embeddings: 4096,
  },
};

/** The full HF config.json object for `preset`, with torch_dtype matching the preset's default dtype. */
export function synthPresetConfig(preset: SynthPreset): Record<string, unknown> {
  const shape = PRESET_SHAPES[preset];
  if (shape === undefined)
    throw new Error(`unknown synth preset ${String(preset)}; expected ${SYNTH_PRESETS.join(', ')}`);
  return {
    architectures: ['DeepseekV3ForCausalLM'],
    model_type: 'deepseek_v3',
    vocab_size: shape.vocab_size,
    hidden_size: shape.hidden_size,
    intermediate_size: shape.intermediate_size,
    moe_intermediate_size: shape.moe_intermediate_size,
    num_hidden_layers: shape.num_hidden_layers,
    num_attention_heads: shape.num_attention_heads,
    num_key_value_heads: shape.num_attention_heads,
    n_shared_experts: shape.n_shared_experts,
    n_routed_experts: shape.n_routed_experts,
    num_experts_per_tok: shape.num_experts_per_tok,
    first_k_dense_replace: shape.first_k_dense_replace,
    moe_layer_freq: 1,
    routed_scaling_factor: shape.routed_scaling_factor,
    scoring_func: shape.scoring_func,
    topk_method: shape.topk_method,
    n_group: shape.n_group,
    topk_group: shape.topk_group,
    norm_topk_prob: shape.norm_topk_prob,
    q_lora_rank: shape.q_lora_rank,
    kv_lora_rank: shape.kv_lora_rank,
    qk_nope_head_dim: shape.qk_nope_head_dim,
    qk_rope_head_dim: shape.qk_rope_head_dim,
    v_head_dim: shape.v_head_dim,
    rope_theta: 10000.0,
    rope_scaling: shape.rope_scaling === null ? null : { ...shape.rope_scaling },
    rms_norm_eps: 1e-6,
    max_position_embeddings: shape.max_position_embeddings,
    tie_word_embeddings: false,
    bos_token_id: 0,
    eos_token_id: 1,
    hidden_act: 'silu',
    attention_bias: false,
    attention_dropout: 0.0,
    initializer_range: 0.02,
    use_cache: true,
    num_nextn_predict_layers: 0,
    torch_dtype: torchDtypeName(synthPresetDtype(preset)),
  };
}
