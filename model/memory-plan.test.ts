import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseModelConfig } from './config.js';
import { FLOAT_COMPILE, type WeightQuant } from './graph/compile-options.js';
import type { MachineBudget } from './memory-plan.js';
import { MemoryPlanError, checkFits, countWeights, mostPreciseFitting, planMode } from './memory-plan.js';

/** DeepSeek-V2-Lite's config.json (the fields that set shapes). */
const V2_LITE = parseModelConfig({
  model_type: 'deepseek_v2',
  vocab_size: 102400,
  hidden_size: 2048,
  intermediate_size: 10944,
  moe_intermediate_size: 1408,
  num_hidden_layers: 27,
  num_attention_heads: 16,
  n_shared_experts: 2,
  n_routed_experts: 64,
  num_experts_per_tok: 6,
  first_k_dense_replace: 1,
  moe_layer_freq: 1,
  routed_scaling_factor: 1.0,
  scoring_func: 'softmax',
  topk_method: 'greedy',
  n_group: 1,
  topk_group: 1,
  norm_topk_prob: false,
  q_lora_rank: null,
  kv_lora_rank: 512,
  qk_nope_head_dim: 128,
  qk_rope_head_dim: 64,
  v_head_dim: 128,
  max_position_embeddings: 163840,
});
const GiB = 2 ** 30;
const machine = (memoryGiB: number, diskGiB: number | null = 1000): MachineBudget => ({
  memoryBytes: memoryGiB * GiB,
  memorySource: 'os.totalmem()',
  freeDiskBytes: diskGiB === null ? null : diskGiB * GiB,
});
const always = (): boolean => true;

test('V2-Lite: 15.7B weights; float32 needs ≈60 GiB, int8 ≈19 GiB, int4 ≈12 GiB (1 GiB cache)', () => {
  const { quantizable, float } = countWeights(V2_LITE);
  assert.ok(Math.abs(quantizable + float - 15.7e9) < 0.1e9, `${quantizable + float}`);
  const gib = (quant: WeightQuant) => planMode(V2_LITE, { ...FLOAT_COMPILE, quant }, GiB).memoryBytes / GiB;
  assert.ok(gib('none') > 58 && gib('none') < 62, `${gib('none')}`);
  assert.ok(gib('int8') > 18 && gib('int8') < 24, `${gib('int8')}`);
  assert.ok(gib('int4') > 10 && gib('int4') < gib('int8'), `${gib('int4')}`);
  // w8a8: the same int8 codes without block scales (one scale per output row).
  assert.ok(gib('w8a8') > 17 && gib('w8a8') < gib('int8'), `${gib('w8a8')}`);
  // Disk: quantized weights carry only the shipped scales (4 B per block), not the prepacked ones.
  const int8 = planMode(V2_LITE, { ...FLOAT_COMPILE, quant: 'int8' }, GiB);
  assert.ok(int8.diskBytes < int8.weightBytes);
});

test('a 64 GB machine refuses V2-Lite float32 with the numbers and says --quant int8; --quant auto picks int8', () => {
  const budget = machine(64e9 / GiB);
  assert.throws(
    () => checkFits(V2_LITE, FLOAT_COMPILE, GiB, budget, always),
    (err: unknown) => {
      assert.ok(err instanceof MemoryPlanError);
      assert.match(
        err.message,
        /^--quant none needs 60\.\d GiB of memory \(weights 5\d\.\d GiB \+ latent cache 1\.0 GiB \+ runtime 1\.0 GiB\) but os\.totalmem\(\) allows 59\.6 GiB\. --quant int8 would fit \(1\d\.\d GiB of memory, 1\d\.\d GiB on disk\); --skip-memory-check loads anyway$/,
      );
      return true;
    },
  );
  assert.equal(mostPreciseFitting(V2_LITE, FLOAT_COMPILE, GiB, budget, always)?.options.quant, 'int8');
  assert.equal(mostPreciseFitting(V2_LITE, FLOAT_COMPILE, GiB, machine(128), always)?.options.quant, 'none');
  assert.equal(mostPreciseFitting(V2_LITE, FLOAT_COMPILE, GiB, machine(16), always)?.options.quant, 'int4');
  assert.equal(mostPreciseFitting(V2_LITE, FLOAT_COMPILE, GiB, machine(8), always), null);
});

test('disk is checked only for a mode that still has to be compiled', () => {
  const budget = machine(128, 30);
  assert.throws(
    () => checkFits(V2_LITE, FLOAT_COMPILE, GiB, budget, always),
    /needs 5\d\.\d GiB of disk for the compiled model but 30\.0 GiB is free\. --quant int8 would fit/,
  );
  checkFits(V2_LITE, FLOAT_COMPILE, GiB, budget, () => false);
  checkFits(V2_LITE, FLOAT_COMPILE, GiB, machine(128, null), always);
});
