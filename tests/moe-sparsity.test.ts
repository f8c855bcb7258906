// MoE compute follows the chosen experts only: experts that routing never picks may hold NaN weights and the
// outputs stay finite and identical to the same model with those experts intact. A kernel that computed every
// expert and masked afterwards would turn NaN·0 into NaN. Checked for float32 experts (sorted by expert, one Gemm per
// expert) and for int8 experts (the same, one MatMulNBits per expert). Quantizing cannot carry NaN (a NaN block gets scale
// 1), so int8 experts are poisoned with 3e38 instead: scale ≈ 2.4e36 per block, and any product with them
// overflows to ±Inf, which masking would turn into NaN.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateOffline } from '../engine/offline-generate.js';
import { FLOAT_COMPILE } from '../model/graph/compile-options.js';
import { loadModel } from '../model/load.js';
import { SafetensorsCheckpoint } from '../model/safetensors.js';
import { fixtureDir, loadReference, tempCacheDir } from './helpers/fixtures.js';

const FIXTURE = 'deepseek-v3-tiny-b'; // 8 experts in 2 groups of 4, topk_group 1: group-limited routing
const MOE_LAYERS = [1, 2];
const EXCLUDED = [4, 5, 6, 7]; // the whole second group

/** Copies the fixture and rewrites tensors in place: `patch(name)` returns new values or null to keep them. */
function patchedCopy(dir: string, patch: (name: string, values: Float32Array) => Float32Array | null): void {
  cpSync(fixtureDir(FIXTURE), dir, { recursive: true });
  const file = join(dir, 'model.safetensors');
  const bytes = readFileSync(file);
  const ckpt = SafetensorsCheckpoint.open(dir);
  for (const name of ckpt.names()) {
    const next = patch(name, ckpt.readFloat32(name));
    if (next !== null)
      Buffer.from(next.buffer, next.byteOffset, next.byteLength).copy(bytes, ckpt.info(name).byteOffset);
  }
  ckpt.close();
  writeFileSync(file, bytes);
}

/** A bias of −1e4 on the second group makes group scores there hopeless, so its experts are never chosen. */
function excludeSecondGroup(name: string, values: Float32Array): Float32Array | null {
  if (!MOE_LAYERS.some((l) => name === `model.layers.${l}.mlp.gate.e_score_correction_bias`)) return null;
  const out = values.slice();
  for (const e of EXCLUDED) out[e] = -1e4;
  return out;
}

const poisonExcludedExperts =
  (poison: number) =>
  (name: string, values: Float32Array): Float32Array | null => {
    const biased = excludeSecondGroup(name, values);
    if (biased !== null) return biased;
    const isExcludedExpert = MOE_LAYERS.some((l) =>
      EXCLUDED.some((e) => name.startsWith(`model.layers.${l}.mlp.experts.${e}.`)),
    );
    return isExcludedExpert ? new Float32Array(values.length).fill(poison) : null;
  };

describe('MoE sparsity', () => {
  const root = tempCacheDir();
  const intactDir = join(root, 'intact');
  const poisoned = { none: join(root, 'poisoned-nan'), int8: join(root, 'poisoned-huge') };
  before(() => {
    patchedCopy(intactDir, excludeSecondGroup);
    patchedCopy(poisoned.none, poisonExcludedExperts(NaN));
    patchedCopy(poisoned.int8, poisonExcludedExperts(3e38));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const quant of ['none', 'int8'] as const)
    it(`--quant ${quant}: experts that are never routed to may hold poison without touching the output`, async () => {
      const prompt = loadReference(FIXTURE).prompts.find((p) => p.name === 'chat40')!;
      const params = {
        maxTokens: 8,
        temperature: 0,
        topP: 1,
        seed: 0,
        logprobs: 5,
        echo: true,
        ignoreEos: true,
        eosTokenIds: [1],
        maxBatchTokens: 4096,
      };
      const run = async (dir: string) => {
        const model = await loadModel(dir, { cacheDir: join(root, 'compiled'), compile: { ...FLOAT_COMPILE, quant } });
        try {
          return await generateOffline(model.executor, model.tokenizer, prompt.prompt_ids, params);
        } finally {
          await model.executor.close();
        }
      };
      const intact = await run(intactDir);
      const patched = await run(poisoned[quant]);
      const logprobs = (r: typeof intact) =>
        [...r.promptLogprobs.slice(1), ...r.logprobs].flatMap((e) => e!.top.map((t) => t.logprob));
      assert.ok(logprobs(patched).every(Number.isFinite), 'outputs must stay finite');
      assert.deepEqual(patched.tokens, intact.tokens);
      assert.deepEqual(logprobs(patched), logprobs(intact));
    });
});
