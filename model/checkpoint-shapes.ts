// Before compiling: every tensor the step graph reads must exist with the shape config.json implies. A wrong
// config (or a checkpoint of another model) then fails in one error that names the tensor, its shape and the
// config fields behind the expected shape, instead of deep inside the graph builder or at the first run.
// Tensors of layers past num_hidden_layers are DeepSeek-V3's multi-token-prediction (MTP) module
// (num_nextn_predict_layers); the step graph does not use them yet and skips them knowingly.
import type { ModelConfig } from './config.js';
import { ConfigError, isMoeLayer } from './config.js';

/** One expected dimension: its size and how config.json gives it, e.g. "kv_lora_rank + qk_rope_head_dim". */
interface Dim {
  readonly size: number;
  readonly from: string;
}

export interface ExpectedTensor {
  readonly name: string;
  readonly dims: readonly Dim[];
}

interface ShapeSource {
  has(name: string): boolean;
  info(name: string): { readonly shape: readonly number[] };
  names(): string[];
}

/** The tensors the step graph reads, with their config-implied shapes (HF Linear weights are [out, in]). */
export function expectedTensors(config: ModelConfig): ExpectedTensor[] {
  const c = config;
  const d = (size: number, from: string): Dim => ({ size, from });
  const hidden = d(c.hiddenSize, 'hidden_size');
  const vocab = d(c.vocabSize, 'vocab_size');
  const heads = c.numAttentionHeads;
  const qHead = d(
    heads * (c.qkNopeHeadDim + c.qkRopeHeadDim),
    'num_attention_heads × (qk_nope_head_dim + qk_rope_head_dim)',
  );
  const out: ExpectedTensor[] = [
    { name: 'model.embed_tokens.weight', dims: [vocab, hidden] },
    { name: 'model.norm.weight', dims: [hidden] },
    { name: 'lm_head.weight', dims: [vocab, hidden] },
  ];
  const t = (name: string, ...dims: Dim[]): void => {
    out.push({ name, dims });
  };
  const mlp = (prefix: string, inter: Dim): void => {
    t(`${prefix}.gate_proj.weight`, inter, hidden);
    t(`${prefix}.up_proj.weight`, inter, hidden);
    t(`${prefix}.down_proj.weight`, hidden, inter);
  };
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const p = `model.layers.${l}`;
    t(`${p}.input_layernorm.weight`, hidden);
    t(`${p}.post_attention_layernorm.weight`, hidden);
    const a = `${p}.self_attn`;
    if (c.qLoraRank === null) t(`${a}.q_proj.weight`, qHead, hidden);
    else {
      const rank = d(c.qLoraRank, 'q_lora_rank');
      t(`${a}.q_a_proj.weight`, rank, hidden);
      t(`${a}.q_a_layernorm.weight`, rank);
      t(`${a}.q_b_proj.weight`, qHead, rank);
    }
    const kvRank = d(c.kvLoraRank, 'kv_lora_rank');
    t(`${a}.kv_a_proj_with_mqa.weight`, d(c.kvLoraRank + c.qkRopeHeadDim, 'kv_lora_rank + qk_rope_head_dim'), hidden);
    t(`${a}.kv_a_layernorm.weight`, kvRank);
    t(
      `${a}.kv_b_proj.weight`,
      d(heads * (c.qkNopeHeadDim + c.vHeadDim), 'num_attention_heads × (qk_nope_head_dim + v_head_dim)'),
      kvRank,
    );
    t(`${a}.o_proj.weight`, hidden, d(heads * c.vHeadDim, 'num_attention_heads × v_head_dim'));
    const moe = c.moe;
    if (!isMoeLayer(c, l) || moe === null) {
      mlp(`${p}.mlp`, d(c.intermediateSize, 'intermediate_size'));
      continue;
    }
    const experts = d(moe.nRoutedExperts, 'n_routed_experts');
    t(`${p}.mlp.gate.weight`, experts, hidden);
    if (moe.topkMethod === 'noaux_tc') t(`${p}.mlp.gate.e_score_correction_bias`, experts);
    const inter = d(moe.moeIntermediateSize, 'moe_intermediate_size');
    for (let e = 0; e < moe.nRoutedExperts; e++) mlp(`${p}.mlp.experts.${e}`, inter);
    if (moe.nSharedExperts > 0) {
      mlp(
        `${p}.mlp.shared_experts`,
        d(moe.moeIntermediateSize * moe.nSharedExperts, 'moe_intermediate_size × n_shared_experts'),
      );
    }
  }
  return out;
}

/** Throws one ConfigError at the first tensor that is missing or whose shape disagrees with config.json. */
export function checkCheckpointShapes(config: ModelConfig, source: ShapeSource, where: string): void {
  for (const { name, dims } of expectedTensors(config)) {
    if (!source.has(name)) throw new ConfigError(`${where}: tensor "${name}" is missing (config.json implies it)`);
    const shape = source.info(name).shape;
    const matches = shape.length === dims.length && dims.every((dim, i) => shape[i] === dim.size);
    if (!matches) {
      const expected = dims.map((dim) => `${dim.from} = ${dim.size}`).join(', ');
      throw new ConfigError(
        `${where}: tensor "${name}" has shape [${shape.join(', ')}] but config.json implies [${expected}]`,
      );
    }
  }
}

/** Layers past num_hidden_layers present in the checkpoint (DeepSeek-V3's MTP module), with their tensor count. */
export function extraLayers(
  config: ModelConfig,
  source: ShapeSource,
): { readonly layers: number[]; readonly tensorCount: number } {
  const layers = new Set<number>();
  let tensorCount = 0;
  for (const name of source.names()) {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (m === null || Number(m[1]) < config.numHiddenLayers) continue;
    layers.add(Number(m[1]));
    tensorCount++;
  }
  return { layers: [...layers].sort((a, b) => a - b), tensorCount };
}
