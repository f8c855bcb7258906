// The cache holds latent rows only: kvLoraRank + qkRopeHeadDim float32 values per token per layer, never
// per-head K/V. Checked on the executor's geometry and on the compiled graph's cache inputs and row outputs.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { compileModel } from '../model/compile.js';
import { cacheBytesPerToken } from '../model/executor/types.js';
import { loadModel } from '../model/load.js';
import { decodeModelProto } from '../model/onnx/onnx-proto.js';
import { FIXTURES, fixtureDir, tempCacheDir } from './helpers/fixtures.js';

interface ValueInfo {
  name: string;
  type: { tensor_type: { shape: { dim: { dim_value?: number; dim_param?: string }[] } } };
}

for (const fixture of FIXTURES) {
  describe(`latent cache: ${fixture}`, () => {
    it('bytes per token = layers × (kvLoraRank + qkRopeHeadDim) × 4', async () => {
      const cacheDir = tempCacheDir();
      const model = await loadModel(fixtureDir(fixture), { cacheDir, numBlocks: 8, blockSize: 16 });
      try {
        const c = model.config;
        assert.equal(
          cacheBytesPerToken(model.executor.cache),
          c.numHiddenLayers * (c.kvLoraRank + c.qkRopeHeadDim) * 4,
        );
        assert.equal(cacheBytesPerToken(model.executor.cache), 3 * (32 + 8) * 4); // the fixtures' numbers: 480 B
      } finally {
        await model.executor.close();
        rmSync(cacheDir, { recursive: true, force: true });
      }
    });

    it('the graph reads and writes only latent rows', () => {
      const cacheDir = tempCacheDir();
      try {
        const { config, onnxPath } = compileModel(fixtureDir(fixture), { cacheDir });
        const width = config.kvLoraRank + config.qkRopeHeadDim;
        const graph = (
          decodeModelProto(readFileSync(onnxPath)) as { graph: { input: ValueInfo[]; output: ValueInfo[] } }
        ).graph;
        const dims = (v: ValueInfo) => v.type.tensor_type.shape.dim.map((d) => d.dim_value ?? d.dim_param);
        const caches = graph.input.filter((v) => v.name.startsWith('cache.'));
        assert.equal(caches.length, config.numHiddenLayers);
        for (const v of caches) assert.deepEqual(dims(v), ['num_blocks', 'block_size', width]);
        const rows = graph.output.filter((v) => v.name.startsWith('latent.'));
        assert.equal(rows.length, config.numHiddenLayers);
        for (const v of rows) assert.deepEqual(dims(v), ['num_tokens', width]);
        // Besides the latent rows, the graph's only output is the logits.
        assert.deepEqual(
          graph.output.filter((v) => !v.name.startsWith('latent.')).map((v) => v.name),
          ['logits'],
        );
      } finally {
        rmSync(cacheDir, { recursive: true, force: true });
      }
    });
  });
}
