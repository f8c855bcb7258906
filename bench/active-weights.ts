// Weights one decoded token reads, counted from the config: the roofline's numerator (bench:model, bench:compare).
import type { ModelConfig } from '../model/config.js';
import { isMoeLayer } from '../model/config.js';

/** Parameters one token touches: attention, dense/shared MLPs, k routed experts (and the router), lm_head. */
export function activeWeightParams(c: ModelConfig): number {
  const h = c.hiddenSize;
  const qk = c.qkNopeHeadDim + c.qkRopeHeadDim;
  const attn =
    (c.qLoraRank === null ? h * c.numAttentionHeads * qk : h * c.qLoraRank + c.qLoraRank * c.numAttentionHeads * qk) +
    h * (c.kvLoraRank + c.qkRopeHeadDim) +
    c.numAttentionHeads * (c.qkNopeHeadDim + c.vHeadDim) * c.kvLoraRank +
    c.numAttentionHeads * c.vHeadDim * h;
  let params = c.vocabSize * h; // lm_head
  for (let l = 0; l < c.numHiddenLayers; l++) {
    params += attn;
    const m = c.moe;
    params +=
      isMoeLayer(c, l) && m !== null
        ? h * m.nRoutedExperts + 3 * h * m.moeIntermediateSize * (m.numExpertsPerTok + m.nSharedExperts)
        : 3 * h * c.intermediateSize;
  }
  return params;
}

/**
 * Bytes per weight: float32 4; int8 blocks (one int8 code each, a float32 scale per block) 1 + 4/block; w8a8 1
 * (its one float32 scale per output row is left out).
 */
export function bytesPerWeight(format: 'float32' | 'int8' | 'w8a8', quantBlockSize: number): number {
  return format === 'float32' ? 4 : format === 'w8a8' ? 1 : 1 + 4 / quantBlockSize;
}
