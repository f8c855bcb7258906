import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCheckpointShapes, expectedTensors, extraLayers } from './checkpoint-shapes.js';
import { compileModel } from './compile.js';
import { loadModelConfig } from './config.js';
import { SafetensorsCheckpoint } from './safetensors.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string): string => join(repoRoot, 'tests/fixtures', name);

/** A shape source over a name → shape map. */
function fakeSource(shapes: Map<string, readonly number[]>) {
  return {
    has: (name: string) => shapes.has(name),
    info: (name: string) => ({ shape: shapes.get(name)! }),
    names: () => [...shapes.keys()],
  };
}

test('both fixtures hold exactly the tensors config.json implies, with those shapes', () => {
  for (const name of ['deepseek-v2-tiny', 'deepseek-v3-tiny-b']) {
    const dir = fixture(name);
    const config = loadModelConfig(dir);
    const ckpt = SafetensorsCheckpoint.open(dir);
    try {
      checkCheckpointShapes(config, ckpt, dir);
      assert.deepEqual(new Set(expectedTensors(config).map((t) => t.name)), new Set(ckpt.names()), name);
      assert.deepEqual(extraLayers(config, ckpt), { layers: [], tensorCount: 0 });
    } finally {
      ckpt.close();
    }
  }
});

test('a tensor whose shape disagrees with config.json is one error naming the tensor, its shape and the fields', () => {
  const config = loadModelConfig(fixture('deepseek-v3-tiny-b'));
  const shapes = new Map(expectedTensors(config).map((t) => [t.name, t.dims.map((d) => d.size)] as const));
  shapes.set('model.layers.1.self_attn.kv_a_proj_with_mqa.weight', [48, 64]);
  assert.throws(() => checkCheckpointShapes(config, fakeSource(shapes), 'ckpt'), {
    name: 'ConfigError',
    message:
      'ckpt: tensor "model.layers.1.self_attn.kv_a_proj_with_mqa.weight" has shape [48, 64] but config.json implies [kv_lora_rank + qk_rope_head_dim = 40, hidden_size = 64]',
  });
  shapes.delete('model.layers.1.self_attn.kv_a_proj_with_mqa.weight');
  assert.throws(
    () => checkCheckpointShapes(config, fakeSource(shapes), 'ckpt'),
    /tensor "model\.layers\.1\.self_attn\.kv_a_proj_with_mqa\.weight" is missing/,
  );
});

test('MTP layer tensors (layers past num_hidden_layers) are found, counted and left out', () => {
  const config = loadModelConfig(fixture('deepseek-v3-tiny-b'));
  const shapes = new Map(expectedTensors(config).map((t) => [t.name, t.dims.map((d) => d.size)] as const));
  for (const n of ['eh_proj.weight', 'enorm.weight', 'hnorm.weight', 'shared_head.head.weight'])
    shapes.set(`model.layers.3.${n}`, [1]);
  checkCheckpointShapes(config, fakeSource(shapes), 'ckpt');
  assert.deepEqual(extraLayers(config, fakeSource(shapes)), { layers: [3], tensorCount: 4 });
});

test('compileModel refuses a config.json that disagrees with the tensors before compiling, leaving nothing behind', () => {
  const root = mkdtempSync(join(tmpdir(), 'shapes-test-'));
  try {
    const model = join(root, 'model');
    cpSync(fixture('deepseek-v3-tiny-b'), model, { recursive: true });
    const config = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(model, 'config.json'), JSON.stringify({ ...config, kv_lora_rank: 48 }));
    const progress: string[] = [];
    assert.throws(
      () => compileModel(model, { cacheDir: join(root, 'cache'), onProgress: (m) => progress.push(m) }),
      /tensor "model\.layers\.0\.self_attn\.kv_a_proj_with_mqa\.weight" has shape \[40, 64\] but config\.json implies \[kv_lora_rank \+ qk_rope_head_dim = 56, hidden_size = 64\]/,
    );
    assert.ok(!progress.some((m) => m.startsWith('compiling')), progress.join('\n'));
    assert.deepEqual(readdirSync(join(root, 'cache', 'compiled')), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
