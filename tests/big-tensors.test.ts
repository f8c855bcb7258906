// Part of `npm test` (≈9 GB of temporary disk, peak RSS ≈9 GB, about a minute here; LATENTSERVE_SKIP_BIG_TESTS=1
// leaves it out on a machine without that disk): a checkpoint whose embedding and
// lm_head are each a float32 tensor over 2 GiB — the size class of DeepSeek-V3's 3.7 GB embedding — synthesizes,
// compiles and runs. Node refuses single reads/writes above 2³¹−1 bytes, so this exercises the chunked
// safetensors reads, the chunked weight-file writes, and an ONNX external-data offset past 2³¹ (lm_head comes
// after the embedding) as ONNX Runtime memory-maps it. The unit tests cover the same paths with tiny chunks.
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateOffline } from '../engine/offline-generate.js';
import { loadModel } from '../model/load.js';
import { decodeModelProto } from '../model/onnx/onnx-proto.js';
import { SafetensorsCheckpoint } from '../model/safetensors.js';
import { synthesizeCheckpoint, synthPresetConfig } from '../synth/synth.js';
import { tempCacheDir } from './helpers/fixtures.js';

const skipped = process.env['LATENTSERVE_SKIP_BIG_TESTS'] === '1';
// 1024 × 524,416 float32 = 2,148,007,936 B > 2³¹ = 2,147,483,648 B.
const VOCAB = 1024;
const HIDDEN = 524_416;

interface Initializer {
  name: string;
  external_data?: { key: string; value: string }[];
}

/** `length` bytes of `file` from `offset`, read in pieces (sample checks, not whole tensors). */
function bytesAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const out = Buffer.alloc(length);
    readSync(fd, out, 0, length, offset);
    return out;
  } finally {
    closeSync(fd);
  }
}

test('a checkpoint with >2 GiB float32 tensors compiles and runs', {
  skip: skipped ? 'LATENTSERVE_SKIP_BIG_TESTS=1 (the test needs ≈9 GB of temporary disk)' : false,
  timeout: 30 * 60_000,
}, async () => {
  const root = tempCacheDir();
  try {
    const modelDir = join(root, 'model');
    await synthesizeCheckpoint({
      outDir: modelDir,
      seed: 0,
      preset: 'tiny',
      dtype: 'F32',
      config: {
        ...synthPresetConfig('tiny'),
        vocab_size: VOCAB,
        hidden_size: HIDDEN,
        num_hidden_layers: 1,
        first_k_dense_replace: 1,
        intermediate_size: 16,
      },
    });
    const ckpt = SafetensorsCheckpoint.open(modelDir);
    const embed = ckpt.info('model.embed_tokens.weight');
    const head = ckpt.info('lm_head.weight');
    assert.ok(embed.byteLength > 2 ** 31 && head.byteLength > 2 ** 31);
    const embedRow = (row: number): Float32Array =>
      ckpt.readFloat32('model.embed_tokens.weight').subarray(row * HIDDEN, (row + 1) * HIDDEN);
    const lastEmbedRow = embedRow(VOCAB - 1).slice();

    const model = await loadModel(modelDir, { cacheDir: join(root, 'cache'), numBlocks: 4, blockSize: 16 });
    try {
      const graph = decodeModelProto(readFileSync(model.onnxPath)) as { graph: { initializer: Initializer[] } };
      const where = (name: string): { offset: number; length: number } => {
        const init = graph.graph.initializer.find((i) => i.name === name);
        const entries = Object.fromEntries((init?.external_data ?? []).map((e) => [e.key, e.value]));
        return { offset: Number(entries['offset']), length: Number(entries['length']) };
      };
      const embedRef = where('model.embed_tokens.weight');
      assert.equal(embedRef.length, embed.byteLength);
      // The embedding's last row lies past 2 GiB inside the tensor: it must arrive intact.
      const tail = bytesAt(`${model.onnxPath}.data`, embedRef.offset + (VOCAB - 1) * HIDDEN * 4, HIDDEN * 4);
      assert.ok(tail.equals(Buffer.from(lastEmbedRow.buffer)), 'last embedding row, written past 2 GiB');
      const headInits = graph.graph.initializer.filter((i) => i.name.startsWith('lm_head.weight'));
      assert.ok(headInits.length > 0);
      assert.ok(
        headInits.every(
          (i) => Number(Object.fromEntries((i.external_data ?? []).map((e) => [e.key, e.value]))['offset']) > 2 ** 31,
        ),
        'lm_head lies past 2³¹ in the data file',
      );

      const params = {
        maxTokens: 4,
        temperature: 0,
        topP: 1,
        seed: 0,
        logprobs: 3,
        echo: true,
        ignoreEos: true,
        eosTokenIds: [1],
        maxBatchTokens: 64,
      };
      const prompt = [0, VOCAB - 1, 5, VOCAB - 2];
      const first = await generateOffline(model.executor, model.tokenizer, prompt, params);
      const second = await generateOffline(model.executor, model.tokenizer, prompt, params);
      assert.equal(first.tokens.length, 4);
      const logprobs = [...first.promptLogprobs.slice(1), ...first.logprobs].flatMap((e) =>
        e!.top.map((t) => t.logprob),
      );
      assert.ok(logprobs.length > 0 && logprobs.every(Number.isFinite), 'finite logprobs');
      assert.deepEqual(second.tokens, first.tokens);
    } finally {
      await model.executor.close();
      ckpt.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
