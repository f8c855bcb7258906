// FP8 checkpoints as DeepSeek ships them load directly; `convert` writes a folder that serves without compiling
// again, and refuses to be served with other compile flags.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { compareLogits, teacherForcedLogits } from '../engine/eval-quality.js';
import { convertModel } from '../model/compile.js';
import type { CompileOptions } from '../model/graph/compile-options.js';
import { loadModel } from '../model/load.js';
import { SafetensorsCheckpoint } from '../model/safetensors.js';
import { synthesizeCheckpoint } from '../synth/synth.js';
import { REPO_ROOT, fixtureDir, loadReference, tempCacheDir } from './helpers/fixtures.js';

const INT8: CompileOptions = { quant: 'int8', quantBlockSize: 32, kvCacheDtype: 'fp32' };
const run = promisify(execFile);

async function logits(
  dir: string,
  cacheDir: string,
  tokens: number[],
  compile?: CompileOptions,
): Promise<Float32Array[]> {
  const model = await loadModel(dir, { cacheDir, numBlocks: 8, ...(compile === undefined ? {} : { compile }) });
  try {
    return await teacherForcedLogits(model.executor, tokens);
  } finally {
    await model.executor.close();
  }
}

describe('FP8 checkpoints', () => {
  const root = tempCacheDir();
  after(() => rmSync(root, { recursive: true, force: true }));

  it('F8_E4M3 weights with weight_scale_inv load and match the float checkpoint of the same seed', async () => {
    await synthesizeCheckpoint({ outDir: join(root, 'f32'), seed: 5, preset: 'tiny', dtype: 'F32' });
    await synthesizeCheckpoint({ outDir: join(root, 'fp8'), seed: 5, preset: 'tiny', dtype: 'FP8' });
    const ckpt = SafetensorsCheckpoint.open(join(root, 'fp8'));
    assert.equal(ckpt.info('model.layers.0.self_attn.kv_a_proj_with_mqa.weight').dtype, 'F8_E4M3');
    assert.ok(ckpt.has('model.layers.0.self_attn.kv_a_proj_with_mqa.weight_scale_inv'));
    ckpt.close();
    const tokens = Array.from({ length: 40 }, (_, i) => 3 + ((i * 37) % 900));
    const float = await logits(join(root, 'f32'), join(root, 'cache'), tokens);
    const fp8 = await logits(join(root, 'fp8'), join(root, 'cache'), tokens);
    const q = compareLogits(float, fp8, [...tokens.slice(1), null]);
    assert.ok(q.meanKl < 0.05, `KL(f32 ‖ fp8 checkpoint) ${q.meanKl}`);
    assert.ok(q.top1Agreement >= 0.8, `top-1 agreement ${q.top1Agreement}`);
    const fp8Int8 = await logits(join(root, 'fp8'), join(root, 'cache'), tokens, INT8); // re-encoded to int8 blocks
    assert.ok(compareLogits(fp8, fp8Int8, [...tokens.slice(1), null]).meanKl < 0.05);
  });
});

describe('convert', () => {
  const root = tempCacheDir();
  after(() => rmSync(root, { recursive: true, force: true }));
  const tokens = loadReference('deepseek-v2-tiny').prompts[2]!.fed_ids;

  it('writes a ready-to-serve folder with the same outputs as compiling on the fly', async () => {
    const out = join(root, 'v2-int8');
    convertModel(fixtureDir('deepseek-v2-tiny'), out, INT8);
    for (const f of [
      'model.onnx',
      'model.onnx.data',
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'latentserve.json',
    ]) {
      assert.ok(existsSync(join(out, f)), `${f} written`);
    }
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'latentserve.json'), 'utf8')).options, INT8);
    const direct = await logits(fixtureDir('deepseek-v2-tiny'), join(root, 'cache'), tokens, INT8);
    const converted = await logits(out, join(root, 'unused-cache'), tokens);
    assert.deepEqual(converted, direct);
    assert.ok(!existsSync(join(root, 'unused-cache', 'compiled')), 'nothing was compiled again');
    await assert.rejects(
      logits(out, join(root, 'cache'), tokens, { ...INT8, quant: 'int4' }),
      /was converted with weights int8/,
    );
  });

  it('the CLI converts, then serves the folder through complete', async () => {
    const out = join(root, 'cli-int8');
    const env = { ...process.env, LATENTSERVE_CACHE_DIR: join(root, 'cli-cache') };
    const bin = join(REPO_ROOT, 'bin', 'latentserve.js');
    const { stderr } = await run(
      process.execPath,
      [bin, 'convert', '--model', fixtureDir('deepseek-v3-tiny-b'), '--out', out, '--quant', 'int8'],
      { env },
    );
    assert.match(stderr, /convert: wrote/);
    const { stdout } = await run(
      process.execPath,
      [bin, 'complete', '--model', out, '--prompt-ids', '0,865,437', '--max-tokens', '3', '--json'],
      { env },
    );
    assert.equal((JSON.parse(stdout) as { tokens: number[] }).tokens.length, 3);
  });
});
