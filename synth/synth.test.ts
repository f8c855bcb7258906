import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelTokenizer } from '../model/tokenizer.js';
import { Tokenizer } from '@huggingface/tokenizers';
import { E4M3_TABLE } from '../quant/index.js';
import { Rng } from '../util/rng.js';
import { SafetensorsWriter, bf16BitsToF32, f32BitsToBf16Bits } from './safetensors-writer.js';
import { synthesizeCheckpoint, synthPresetConfig } from './synth.js';
import { buildSynthTokenizer } from './synth-tokenizer.js';

const FIXTURE_DIR = fileURLToPath(new URL('../../tests/fixtures/deepseek-v3-tiny-b', import.meta.url));

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}
interface ParsedSafetensors {
  headerBytes: number;
  metadata: Record<string, string>;
  tensors: [string, HeaderEntry][];
  dataStart: number;
}

function parseSafetensors(file: Buffer): ParsedSafetensors {
  const headerBytes = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerBytes).toString('utf8')) as Record<string, unknown>;
  const { __metadata__: metadata, ...tensors } = header;
  return {
    headerBytes,
    metadata: (metadata ?? {}) as Record<string, string>,
    tensors: Object.entries(tensors as Record<string, HeaderEntry>),
    dataStart: 8 + headerBytes,
  };
}

function tensorBytes(file: Buffer, parsed: ParsedSafetensors, name: string, dtype: string): Buffer {
  const entry = parsed.tensors.find(([tensorName]) => tensorName === name)?.[1];
  assert.ok(entry, `missing ${name}`);
  assert.equal(entry.dtype, dtype, name);
  return file.subarray(parsed.dataStart + entry.data_offsets[0], parsed.dataStart + entry.data_offsets[1]);
}

function tensorF32(file: Buffer, parsed: ParsedSafetensors, name: string): Float32Array {
  const bytes = tensorBytes(file, parsed, name, 'F32');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function std(values: Float32Array): number {
  let sum = 0;
  let sumSquares = 0;
  for (const v of values) {
    sum += v;
    sumSquares += v * v;
  }
  const mean = sum / values.length;
  return Math.sqrt(sumSquares / values.length - mean * mean);
}

async function readFolder(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) files.set(name, await readFile(join(dir, name)));
  return files;
}

test('tiny preset: deterministic per seed, fixture names and shapes, sane weight scales', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'synth-test-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const progress: string[] = [];
  await synthesizeCheckpoint({
    outDir: join(root, 'a'),
    seed: 1234,
    preset: 'tiny',
    onProgress: (m) => progress.push(m),
  });
  await synthesizeCheckpoint({ outDir: join(root, 'b'), seed: 1234, preset: 'tiny' });
  await synthesizeCheckpoint({ outDir: join(root, 'c'), seed: 1235, preset: 'tiny' });
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((dir) => readFolder(join(root, dir))));
  assert.ok(a && b && c);

  assert.deepEqual(
    [...a.keys()],
    ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'],
  );
  for (const [name, bytes] of a)
    assert.ok(bytes.equals(b.get(name) ?? Buffer.alloc(0)), `${name} differs for the same seed`);
  assert.ok(
    !a.get('model.safetensors')?.equals(c.get('model.safetensors') ?? Buffer.alloc(0)),
    'weights ignore the seed',
  );
  assert.ok(
    progress.some((line) => line.startsWith('layer 3/3')),
    progress.join('\n'),
  );

  // The tiny preset is the fixture's config, and its tensors are the fixture's names, shapes and order.
  const fixtureConfig = JSON.parse(await readFile(join(FIXTURE_DIR, 'config.json'), 'utf8')) as unknown;
  assert.deepEqual(JSON.parse(a.get('config.json')?.toString() ?? ''), fixtureConfig);
  assert.deepEqual(synthPresetConfig('tiny'), fixtureConfig);
  const fixture = parseSafetensors(await readFile(join(FIXTURE_DIR, 'model.safetensors')));
  const file = a.get('model.safetensors') ?? Buffer.alloc(0);
  const parsed = parseSafetensors(file);
  assert.deepEqual(
    parsed.tensors.map(([name, entry]) => [name, entry.shape]),
    fixture.tensors.map(([name, entry]) => [name, entry.shape]),
  );
  assert.equal(parsed.headerBytes % 8, 0);
  assert.equal(parsed.metadata['seed'], '1234');
  let offset = 0;
  for (const [name, entry] of parsed.tensors) {
    assert.equal(entry.dtype, 'F32', name);
    assert.equal(entry.data_offsets[0], offset, `${name} is not contiguous`);
    offset = entry.data_offsets[1];
  }
  assert.equal(file.length, parsed.dataStart + offset);

  const hidden = 64;
  assert.ok(Math.abs(std(tensorF32(file, parsed, 'model.embed_tokens.weight')) - 1) < 0.05);
  assert.ok(Math.abs(std(tensorF32(file, parsed, 'lm_head.weight')) * Math.sqrt(hidden) - 3) < 0.2);
  assert.ok(Math.abs(std(tensorF32(file, parsed, 'model.layers.1.mlp.gate.weight')) * Math.sqrt(hidden) - 1.5) < 0.2);
  const bias = tensorF32(file, parsed, 'model.layers.1.mlp.gate.e_score_correction_bias');
  assert.ok(bias.every((v) => Math.abs(v) < 0.05));
  const norm = tensorF32(file, parsed, 'model.norm.weight');
  assert.ok(norm.every((v) => Math.abs(v - 1) < 0.3));
});

test('config without a preset is the whole config.json: reproduces the V2 fixture layout', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'synth-v2-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const v2Dir = fileURLToPath(new URL('../../tests/fixtures/deepseek-v2-tiny', import.meta.url));
  const v2Config = JSON.parse(await readFile(join(v2Dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  await synthesizeCheckpoint({ outDir: root, seed: 5, config: v2Config });
  assert.deepEqual(JSON.parse(await readFile(join(root, 'config.json'), 'utf8')), v2Config);
  const fixture = parseSafetensors(await readFile(join(v2Dir, 'model.safetensors')));
  const parsed = parseSafetensors(await readFile(join(root, 'model.safetensors')));
  assert.deepEqual(
    parsed.tensors.map(([name, entry]) => [name, entry.shape]),
    fixture.tensors.map(([name, entry]) => [name, entry.shape]),
  );
});

test('tokenizer.json loads in @huggingface/tokenizers and round-trips text', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'synth-tok-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await synthesizeCheckpoint({ outDir: root, seed: 1, preset: 'tiny' });
  const tokenizerJson = JSON.parse(await readFile(join(root, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  const tokenizerConfig = JSON.parse(await readFile(join(root, 'tokenizer_config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const fixtureTokenizerConfig = JSON.parse(
    await readFile(join(FIXTURE_DIR, 'tokenizer_config.json'), 'utf8'),
  ) as Record<string, unknown>;
  // Same as the fixture's except model_max_length, which follows max_position_embeddings (the fixture says 4096),
  // and the chat template, which also renders tools (checked below to render plain chats as the fixture's does).
  assert.deepEqual(
    { ...tokenizerConfig, model_max_length: 0, chat_template: '' },
    { ...fixtureTokenizerConfig, model_max_length: 0, chat_template: '' },
  );
  assert.equal(tokenizerConfig['model_max_length'], synthPresetConfig('tiny')['max_position_embeddings']);
  const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);

  for (const text of [
    'The weather is warm, and the market is full of voices.',
    'Grüße aus Köln — 日本語 🙂 naïve café',
  ]) {
    const { ids } = tokenizer.encode(text);
    assert.equal(tokenizer.decode(ids), text);
  }
  const common = ' the';
  assert.ok(tokenizer.encode(common).ids.length < Buffer.byteLength(common));
  assert.deepEqual(tokenizer.encode(common).tokens, ['Ġthe']);

  const vocabSize = 1024;
  // The last 16 ids: <｜User｜>, <｜Assistant｜>, three fim tokens, <think>, </think>, nine tool-call markers.
  assert.deepEqual(tokenizer.encode('<｜User｜>').ids, [vocabSize - 16]);
  assert.deepEqual(tokenizer.encode('<｜Assistant｜>').ids, [vocabSize - 15]);
  assert.deepEqual(tokenizer.encode('<｜tool▁sep｜>').ids, [vocabSize - 1]);
  assert.equal(tokenizer.token_to_id('<｜begin▁of▁sentence｜>'), 0);
  assert.equal(tokenizer.token_to_id('<｜end▁of▁sentence｜>'), 1);
  assert.equal(tokenizer.token_to_id('<｜▁pad▁｜>'), 2);
  const { ids } = tokenizer.encode('<｜User｜>Hi<｜Assistant｜>');
  assert.equal(tokenizer.decode(ids, { skip_special_tokens: true }), 'Hi');
});

test('tokenizer vocab size equals config vocab_size for tiny and demo', () => {
  for (const preset of ['tiny', 'demo'] as const) {
    const vocabSize = synthPresetConfig(preset)['vocab_size'];
    assert.equal(typeof vocabSize, 'number');
    const { tokenizerJson, numTokens } = buildSynthTokenizer(vocabSize as number);
    const model = tokenizerJson['model'] as { vocab: Record<string, number>; merges: string[] };
    const ids = Object.values(model.vocab).sort((x, y) => x - y);
    assert.equal(numTokens, vocabSize);
    assert.equal(ids.length, vocabSize);
    assert.deepEqual(
      ids,
      Array.from({ length: vocabSize as number }, (_, i) => i),
    );
    assert.equal(new Set(model.merges).size, model.merges.length, `${preset}: duplicate merges`);
  }
});

test('BF16 conversion rounds to nearest even and survives a safetensors round trip', async (t) => {
  const bitsOf = (value: number): number => new Uint32Array(new Float32Array([value]).buffer)[0] ?? 0;
  const toBf16 = (value: number): number => bf16BitsToF32(f32BitsToBf16Bits(bitsOf(value)));
  for (const exact of [0, 1, -2.5, 0.15625, 3.140625, -65280, Number.POSITIVE_INFINITY])
    assert.equal(toBf16(exact), exact);
  assert.equal(toBf16(1 + 2 ** -8), 1); // tie → even mantissa (down)
  assert.equal(toBf16(1 + 3 * 2 ** -8), 1 + 2 ** -6); // tie → even mantissa (up)
  assert.equal(toBf16(1 + 2 ** -8 + 2 ** -12), 1 + 2 ** -7); // above the tie → up
  assert.ok(Number.isNaN(toBf16(Number.NaN)));

  const root = await mkdtemp(join(tmpdir(), 'synth-bf16-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const path = join(root, 'x.safetensors');
  const values = new Float32Array([1, -2.5, 0.1, 1e-3, 300.7, -7]);
  const writer = await SafetensorsWriter.create(path, [{ name: 'w', shape: [2, 3] }], 'BF16', { k: 'v' });
  await assert.rejects(writer.writeTensor('other', [values]), /out of order/);
  await writer.writeTensor('w', [values.subarray(0, 4), values.subarray(4)]);
  await writer.close();
  const file = await readFile(path);
  const parsed = parseSafetensors(file);
  assert.deepEqual(parsed.tensors, [['w', { dtype: 'BF16', shape: [2, 3], data_offsets: [0, 12] }]]);
  assert.deepEqual(parsed.metadata, { k: 'v' });
  const read = Array.from({ length: 6 }, (_, i) => bf16BitsToF32(file.readUInt16LE(parsed.dataStart + 2 * i)));
  values.forEach((value, i) => {
    assert.equal(read[i], toBf16(value));
    assert.ok(Math.abs((read[i] ?? 0) - value) <= Math.abs(value) * 2 ** -8);
  });
});

test('FP8: DeepSeek-V3 layout (F8_E4M3 linears + F32 scale_inv, BF16 rest), same draws as F32', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'synth-fp8-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await synthesizeCheckpoint({ outDir: join(root, 'f32'), seed: 77, preset: 'tiny', dtype: 'F32' });
  await synthesizeCheckpoint({ outDir: join(root, 'fp8'), seed: 77, preset: 'tiny', dtype: 'FP8' });
  const config = JSON.parse(await readFile(join(root, 'fp8', 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(config['quantization_config'], {
    activation_scheme: 'dynamic',
    fmt: 'e4m3',
    quant_method: 'fp8',
    weight_block_size: [128, 128],
  });
  assert.deepEqual(
    { ...config, quantization_config: undefined },
    { ...synthPresetConfig('tiny'), torch_dtype: 'bfloat16', quantization_config: undefined },
  );

  const [f32File, file] = await Promise.all(
    ['f32', 'fp8'].map((dir) => readFile(join(root, dir, 'model.safetensors'))),
  );
  assert.ok(f32File && file);
  const [f32, parsed] = [parseSafetensors(f32File), parseSafetensors(file)];
  const entries = new Map(parsed.tensors);
  assert.deepEqual(
    parsed.tensors.map(([name]) => name).filter((name) => !name.endsWith('_scale_inv')),
    f32.tensors.map(([name]) => name),
  );
  const linear =
    /\.(self_attn\.(q_a|q_b|q|kv_a|kv_b|o)_proj(_with_mqa)?|mlp\.(experts\.\d+\.|shared_experts\.)?(gate|up|down)_proj)\.weight$/;
  let fp8Weights = 0;
  for (const [name, f32Entry] of f32.tensors) {
    const entry = entries.get(name);
    assert.ok(entry);
    assert.deepEqual(entry.shape, f32Entry.shape, name);
    const reference = tensorF32(f32File, f32, name);
    if (name.endsWith('e_score_correction_bias')) {
      assert.deepEqual(tensorF32(file, parsed, name), reference); // DeepSeek-V3 ships the router bias in F32
      continue;
    }
    if (!linear.test(name)) {
      const bf16 = tensorBytes(file, parsed, name, 'BF16');
      reference.forEach((value, i) =>
        assert.ok(Math.abs(bf16BitsToF32(bf16.readUInt16LE(2 * i)) - value) <= Math.abs(value) * 2 ** -8),
      );
      continue;
    }
    fp8Weights++;
    const codes = tensorBytes(file, parsed, name, 'F8_E4M3');
    const scaleEntry = entries.get(`${name}_scale_inv`);
    const [rows = 0, cols = 0] = entry.shape;
    assert.deepEqual(scaleEntry && { dtype: scaleEntry.dtype, shape: scaleEntry.shape }, {
      dtype: 'F32',
      shape: [Math.ceil(rows / 128), Math.ceil(cols / 128)],
    });
    const scaleInv = tensorF32(file, parsed, `${name}_scale_inv`);
    const blockCols = Math.ceil(cols / 128);
    reference.forEach((value, i) => {
      const scale = scaleInv[Math.floor(i / cols / 128) * blockCols + Math.floor((i % cols) / 128)] ?? 0;
      const decoded = (E4M3_TABLE[codes[i] ?? 0] ?? 0) * scale;
      const bound = Math.max(Math.abs(value) * 2 ** -4, scale * 2 ** -10) * (1 + 2 ** -20);
      assert.ok(Math.abs(decoded - value) <= bound, `${name}[${i}]: ${decoded} vs ${value}`);
    });
  }
  // Per layer: 5 attention projections and 3 MLP weights, times (8 routed + 1 shared) experts in layers 1 and 2.
  assert.equal(fp8Weights, 3 * 5 + 3 + 2 * 9 * 3);
  assert.equal(parsed.tensors.length, f32.tensors.length + fp8Weights);

  // A config carrying an fp8 quantization_config defaults to FP8; an explicit float dtype drops it.
  const fp8Config = { quantization_config: { quant_method: 'fp8' } };
  await synthesizeCheckpoint({ outDir: join(root, 'auto'), seed: 77, preset: 'tiny', config: fp8Config });
  await synthesizeCheckpoint({
    outDir: join(root, 'bf16'),
    seed: 77,
    preset: 'tiny',
    config: fp8Config,
    dtype: 'BF16',
  });
  assert.ok((await readFile(join(root, 'auto', 'model.safetensors'))).equals(file));
  assert.equal(
    (JSON.parse(await readFile(join(root, 'bf16', 'config.json'), 'utf8')) as Record<string, unknown>)[
      'quantization_config'
    ],
    undefined,
  );
});

test('SafetensorsWriter: F8_E4M3 from F32 values (unscaled, saturating) or raw codes, mixed dtypes', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'synth-f8w-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const path = join(root, 'x.safetensors');
  const decls = [
    { name: 'a', shape: [4], dtype: 'F8_E4M3' as const },
    { name: 'b', shape: [2], dtype: 'F8_E4M3' as const },
    { name: 'c', shape: [1] },
  ];
  const writer = await SafetensorsWriter.create(path, decls, 'F32');
  await writer.writeTensor('a', [new Float32Array([1, 448, 1000, -0.5])]);
  await assert.rejects(writer.writeTensorBytes('b', [new Uint8Array(3)]), /more than 2 bytes/);
  await writer.close().catch(() => {});
  const file = await readFile(path);
  const parsed = parseSafetensors(file);
  assert.deepEqual(
    parsed.tensors.map(([name, entry]) => [name, entry.dtype, entry.data_offsets]),
    [
      ['a', 'F8_E4M3', [0, 4]],
      ['b', 'F8_E4M3', [4, 6]],
      ['c', 'F32', [6, 10]],
    ],
  );
  assert.deepEqual([...file.subarray(parsed.dataStart, parsed.dataStart + 4)], [0x38, 0x7e, 0x7e, 0xb0]);
});

test('Rng: per-stream determinism, chunking does not change the draws', () => {
  const whole = new Float32Array(101);
  new Rng(9, 'w').fillNormal(whole, 0, 1);
  const pieces = new Float32Array(101);
  const rng = new Rng(9, 'w');
  rng.fillNormal(pieces.subarray(0, 37), 0, 1);
  rng.fillNormal(pieces.subarray(37), 0, 1);
  assert.deepEqual(pieces, whole);
  const other = new Float32Array(101);
  new Rng(9, 'v').fillNormal(other, 0, 1);
  assert.notDeepEqual(other, whole);
  assert.ok(Math.abs(std(whole) - 1) < 0.25);
});

test("the synthetic chat template renders plain chats as the fixture's DeepSeek template does, and renders tools", async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'synth-tpl-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await synthesizeCheckpoint({ outDir: root, seed: 1, preset: 'tiny' });
  const synth = await ModelTokenizer.load(root);
  const fixture = await ModelTokenizer.load(FIXTURE_DIR);
  const chats = [
    [{ role: 'user', content: 'Hi' }],
    [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'More?' },
    ],
  ];
  for (const messages of chats) {
    for (const addGenerationPrompt of [true, false]) {
      assert.equal(
        synth.applyChatTemplate(messages, { addGenerationPrompt }),
        fixture.applyChatTemplate(messages, { addGenerationPrompt }),
      );
    }
  }
  const tools = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather now',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    },
  ];
  const rendered = synth.applyChatTemplate(
    [
      { role: 'user', content: 'Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
        ],
      },
      { role: 'tool', content: '21C', tool_call_id: 'call_1' },
    ],
    { addGenerationPrompt: true, tools },
  );
  assert.equal(
    rendered,
    '<｜begin▁of▁sentence｜>## Tools\nYou have access to the following tools:\n\n### get_weather\nDescription: Weather now\n\n' +
      'Parameters: {"type": "object", "properties": {"city": {"type": "string"}}}\n\nIMPORTANT: ALWAYS adhere to this exact format for tool use:\n' +
      '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>tool_call_name\n```json\ntool_call_arguments\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>' +
      '<｜User｜>Paris?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>' +
      '<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>21C<｜tool▁output▁end｜><｜tool▁outputs▁end｜>',
  );
  // The markers are single tokens, kept when decoding (not special).
  const id = synth.tokenToId('<｜tool▁call▁begin｜>');
  assert.ok(id !== null);
  assert.equal(synth.decode([id], { skipSpecialTokens: true }), '<｜tool▁call▁begin｜>');
});
