import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileDataset, parseJsonlDataset, randomDataset } from './dataset.js';

/** A stand-in tokenizer: BOS plus one token per started 4 characters (monotone in the prefix, like BPE). */
const fakeCount = async (text: string): Promise<number> => 1 + Math.ceil(text.length / 4);

describe('randomDataset', () => {
  it('cuts each prompt to exactly the requested token count', async () => {
    const prompts = await randomDataset({ numPrompts: 6, inputLen: 50, outputLen: 9, seed: 1, counter: fakeCount });
    assert.equal(prompts.length, 6);
    for (const p of prompts) {
      assert.equal(p.promptLen, 50);
      assert.equal(await fakeCount(p.prompt), 50);
      assert.equal(p.outputLen, 9);
    }
    assert.equal(new Set(prompts.map((p) => p.prompt)).size, 6, 'prompts are unique');
  });

  it('is reproducible from the seed and differs between streams', async () => {
    const a = await randomDataset({
      numPrompts: 3,
      inputLen: 20,
      outputLen: 1,
      seed: 5,
      counter: fakeCount,
      stream: 'c1',
    });
    const b = await randomDataset({
      numPrompts: 3,
      inputLen: 20,
      outputLen: 1,
      seed: 5,
      counter: fakeCount,
      stream: 'c1',
    });
    const c = await randomDataset({
      numPrompts: 3,
      inputLen: 20,
      outputLen: 1,
      seed: 5,
      counter: fakeCount,
      stream: 'c4',
    });
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.map((p) => p.prompt),
      c.map((p) => p.prompt),
    );
  });

  it('without a tokenizer, uses one word per token and leaves the length unknown', async () => {
    const [p] = await randomDataset({ numPrompts: 1, inputLen: 12, outputLen: 4, seed: 0, counter: null });
    assert.equal(p!.promptLen, null);
    assert.equal(p!.prompt.split(' ').length, 12);
  });

  it('reports the template overhead when it alone exceeds the target', async () => {
    const [p] = await randomDataset({
      numPrompts: 1,
      inputLen: 3,
      outputLen: 4,
      seed: 0,
      counter: async (t) => 10 + t.length,
    });
    assert.deepEqual([p!.prompt, p!.promptLen], ['', 10]);
  });
});

describe('JSONL datasets', () => {
  it('parses prompts with optional output lengths and names bad lines', () => {
    assert.deepEqual(parseJsonlDataset('{"prompt":"a"}\n\n{"prompt":"b","output_len":5}\n', 'f'), [
      { prompt: 'a', outputLen: null },
      { prompt: 'b', outputLen: 5 },
    ]);
    assert.throws(
      () => parseJsonlDataset('{"prompt":"a"}\n{"text":"b"}', 'f.jsonl'),
      /f\.jsonl:2: each line needs a string "prompt"/,
    );
    assert.throws(() => parseJsonlDataset('{"prompt":"a","output_len":0}', 'f'), /output_len/);
    assert.throws(() => parseJsonlDataset('not json', 'f'), /f:1:/);
    assert.throws(() => parseJsonlDataset('\n', 'f'), /no prompts/);
  });

  it('draws numPrompts in a seeded order, cycling through a short file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadtest-dataset-'));
    try {
      const path = join(dir, 'p.jsonl');
      writeFileSync(path, ['x', 'yy', 'zzz'].map((prompt) => JSON.stringify({ prompt })).join('\n'));
      const prompts = await fileDataset({ path, numPrompts: 7, outputLen: 3, seed: 2, counter: fakeCount });
      assert.equal(prompts.length, 7);
      assert.deepEqual(new Set(prompts.slice(0, 3).map((p) => p.prompt)), new Set(['x', 'yy', 'zzz']));
      assert.equal(prompts[3]!.prompt, prompts[0]!.prompt);
      for (const p of prompts) assert.equal(p.promptLen, await fakeCount(p.prompt));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
