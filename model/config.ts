// The model's shape and math, parsed from a HuggingFace DeepseekV2/V3 `config.json`.
// Every field that changes the math is validated here; anything we do not implement is refused with an error
// naming the field, never silently ignored.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const yarnScaling = z
  .object({
    type: z.literal('yarn').optional(),
    rope_type: z.literal('yarn').optional(),
    factor: z.number().positive(),
    original_max_position_embeddings: z.number().int().positive(),
    beta_fast: z.number().default(32),
    beta_slow: z.number().default(1),
    mscale: z.number().default(1),
    mscale_all_dim: z.number().default(0),
  })
  .refine((s) => s.type === 'yarn' || s.rope_type === 'yarn', {
    message: 'only rope_scaling type "yarn" is supported',
  });

const hfConfig = z
  .object({
    architectures: z.array(z.enum(['DeepseekV2ForCausalLM', 'DeepseekV3ForCausalLM'])).optional(),
    model_type: z.enum(['deepseek_v2', 'deepseek_v3']),
    vocab_size: z.number().int().positive(),
    hidden_size: z.number().int().positive(),
    intermediate_size: z.number().int().positive(),
    moe_intermediate_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    n_shared_experts: z.number().int().nonnegative().nullable().default(null),
    n_routed_experts: z.number().int().positive().nullable().default(null),
    num_experts_per_tok: z.number().int().positive().nullable().default(null),
    first_k_dense_replace: z.number().int().nonnegative().default(0),
    moe_layer_freq: z.number().int().positive().default(1),
    routed_scaling_factor: z.number().positive().default(1),
    scoring_func: z.enum(['softmax', 'sigmoid']).default('softmax'),
    topk_method: z.enum(['greedy', 'group_limited_greedy', 'noaux_tc']).default('greedy'),
    n_group: z.number().int().positive().nullable().default(null),
    topk_group: z.number().int().positive().nullable().default(null),
    norm_topk_prob: z.boolean().default(false),
    q_lora_rank: z.number().int().positive().nullable().default(null),
    kv_lora_rank: z.number().int().positive(),
    qk_nope_head_dim: z.number().int().positive(),
    qk_rope_head_dim: z
      .number()
      .int()
      .positive()
      .refine((d) => d % 2 === 0, 'must be even'),
    v_head_dim: z.number().int().positive(),
    rope_theta: z.number().positive().default(10000),
    rope_scaling: yarnScaling.nullable().default(null),
    rms_norm_eps: z.number().positive().default(1e-6),
    max_position_embeddings: z.number().int().positive(),
    tie_word_embeddings: z
      .literal(false, { message: 'tied embeddings are not supported by DeepSeek checkpoints' })
      .default(false),
    bos_token_id: z.number().int().nonnegative().nullable().default(null),
    eos_token_id: z
      .union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative())])
      .nullable()
      .default(null),
    hidden_act: z.literal('silu', { message: 'only hidden_act "silu" is supported' }).default('silu'),
    attention_bias: z.literal(false, { message: 'attention_bias true is not supported' }).default(false),
    quantization_config: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough();

export type ScoringFunc = 'softmax' | 'sigmoid';
export type TopkMethod = 'greedy' | 'group_limited_greedy' | 'noaux_tc';

export interface YarnScaling {
  readonly factor: number;
  readonly originalMaxPositionEmbeddings: number;
  readonly betaFast: number;
  readonly betaSlow: number;
  readonly mscale: number;
  readonly mscaleAllDim: number;
}

export interface MoeConfig {
  readonly nRoutedExperts: number;
  readonly nSharedExperts: number;
  readonly numExpertsPerTok: number;
  readonly moeIntermediateSize: number;
  readonly scoringFunc: ScoringFunc;
  readonly topkMethod: TopkMethod;
  readonly nGroup: number;
  readonly topkGroup: number;
  readonly normTopkProb: boolean;
  readonly routedScalingFactor: number;
}

export interface ModelConfig {
  readonly modelType: 'deepseek_v2' | 'deepseek_v3';
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  readonly qLoraRank: number | null;
  readonly kvLoraRank: number;
  readonly qkNopeHeadDim: number;
  readonly qkRopeHeadDim: number;
  readonly vHeadDim: number;
  readonly ropeTheta: number;
  readonly ropeScaling: YarnScaling | null;
  readonly rmsNormEps: number;
  readonly maxPositionEmbeddings: number;
  readonly firstKDenseReplace: number;
  readonly moeLayerFreq: number;
  /** null for a dense-only model. */
  readonly moe: MoeConfig | null;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
  /** The raw quantization_config, interpreted by quant/. */
  readonly quantizationConfig: Readonly<Record<string, unknown>> | null;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses a config.json object; throws ConfigError naming the offending field. */
export function parseModelConfig(raw: unknown, source = 'config.json'): ModelConfig {
  const parsed = hfConfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || '(root)';
    throw new ConfigError(`${source}: field "${field}": ${issue?.message ?? 'invalid'}`);
  }
  const c = parsed.data;
  const moe = parseMoe(c, source);
  const eos = c.eos_token_id === null ? [] : Array.isArray(c.eos_token_id) ? c.eos_token_id : [c.eos_token_id];
  const s = c.rope_scaling;
  return {
    modelType: c.model_type,
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numHiddenLayers: c.num_hidden_layers,
    numAttentionHeads: c.num_attention_heads,
    qLoraRank: c.q_lora_rank,
    kvLoraRank: c.kv_lora_rank,
    qkNopeHeadDim: c.qk_nope_head_dim,
    qkRopeHeadDim: c.qk_rope_head_dim,
    vHeadDim: c.v_head_dim,
    ropeTheta: c.rope_theta,
    ropeScaling:
      s === null
        ? null
        : {
            factor: s.factor,
            originalMaxPositionEmbeddings: s.original_max_position_embeddings,
            betaFast: s.beta_fast,
            betaSlow: s.beta_slow,
            mscale: s.mscale,
            mscaleAllDim: s.mscale_all_dim,
          },
    rmsNormEps: c.rms_norm_eps,
    maxPositionEmbeddings: c.max_position_embeddings,
    firstKDenseReplace: c.first_k_dense_replace,
    moeLayerFreq: c.moe_layer_freq,
    moe,
    bosTokenId: c.bos_token_id,
    eosTokenIds: eos,
    quantizationConfig: c.quantization_config ?? null,
  };
}

function parseMoe(c: z.infer<typeof hfConfig>, source: string): MoeConfig | null {
  if (c.n_routed_experts === null) return null;
  const fail = (field: string, message: string): never => {
    throw new ConfigError(`${source}: field "${field}": ${message}`);
  };
  const k = c.num_experts_per_tok ?? fail('num_experts_per_tok', 'required when n_routed_experts is set');
  if (k > c.n_routed_experts) fail('num_experts_per_tok', `${k} exceeds n_routed_experts ${c.n_routed_experts}`);
  const grouped = c.topk_method !== 'greedy';
  const nGroup = grouped ? (c.n_group ?? fail('n_group', `required by topk_method "${c.topk_method}"`)) : 1;
  const topkGroup = grouped ? (c.topk_group ?? fail('topk_group', `required by topk_method "${c.topk_method}"`)) : 1;
  if (c.n_routed_experts % nGroup !== 0)
    fail('n_group', `${nGroup} does not divide n_routed_experts ${c.n_routed_experts}`);
  if (topkGroup > nGroup) fail('topk_group', `${topkGroup} exceeds n_group ${nGroup}`);
  if (c.topk_method === 'noaux_tc' && c.n_routed_experts / nGroup < 2) {
    fail('n_group', 'noaux_tc scores each group by its top-2 experts, so groups need at least 2 experts');
  }
  return {
    nRoutedExperts: c.n_routed_experts,
    nSharedExperts: c.n_shared_experts ?? 0,
    numExpertsPerTok: k,
    moeIntermediateSize: c.moe_intermediate_size,
    scoringFunc: c.scoring_func,
    topkMethod: c.topk_method,
    nGroup,
    topkGroup,
    normTopkProb: c.norm_topk_prob,
    routedScalingFactor: c.routed_scaling_factor,
  };
}

export function loadModelConfig(dir: string): ModelConfig {
  const path = join(dir, 'config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`${path}: cannot read config.json (is this a HuggingFace model folder?)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: invalid JSON: ${(err as Error).message}`);
  }
  return parseModelConfig(raw, path);
}

/** Layer i runs MoE iff routed experts exist, i ≥ first_k_dense_replace and i % moe_layer_freq == 0 (HF rule). */
export function isMoeLayer(config: ModelConfig, layer: number): boolean {
  return config.moe !== null && layer >= config.firstKDenseReplace && layer % config.moeLayerFreq === 0;
}

/** Values per cached token per layer: the latent plus the shared rope key, nothing else. */
export function latentRowWidth(config: ModelConfig): number {
  return config.kvLoraRank + config.qkRopeHeadDim;
}
