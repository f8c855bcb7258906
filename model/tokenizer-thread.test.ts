import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INLINE_CHARS, TokenizerThread } from './tokenizer-thread.js';
import { ModelTokenizer } from './tokenizer.js';

const dir = join(fileURLToPath(new URL('../../', import.meta.url)), 'tests/fixtures/deepseek-v3-tiny-b');
const BOS = '<｜begin▁of▁sentence｜>';

describe('TokenizerThread', () => {
  let tokenizer: ModelTokenizer;
  let thread: TokenizerThread;
  before(async () => {
    tokenizer = await ModelTokenizer.load(dir);
    thread = new TokenizerThread(tokenizer);
  });
  after(() => thread.close());

  it('encodes long texts on the worker exactly as in place, special tokens and options included', async () => {
    const texts = [
      `${BOS}${'The quick brown fox jumps over the lazy dog. '.repeat(200)}`,
      'ünïcödé — 中文 🙂 '.repeat(300),
      ' '.repeat(INLINE_CHARS + 1),
    ];
    for (const text of texts) {
      assert.ok(text.length > INLINE_CHARS);
      for (const addSpecialTokens of [false, true]) {
        assert.deepEqual(await thread.encode(text, { addSpecialTokens }), tokenizer.encode(text, { addSpecialTokens }));
      }
    }
    assert.equal(thread.offThreadEncodes, 6);
    assert.deepEqual(await thread.encode('short text'), tokenizer.encode('short text'));
    assert.equal(thread.offThreadEncodes, 6, 'short texts are encoded in place');
  });

  it('leaves the event loop free while a long text is encoded', async () => {
    const text = 'word '.repeat(40_000); // ~200 ms of BPE on this machine
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    try {
      const ids = await thread.encode(text);
      assert.equal(ids.length, tokenizer.encode(text).length);
    } finally {
      clearInterval(ticker);
    }
    // Encoding in place would block the loop for the whole encode: the 1 ms interval could not fire at all.
    assert.ok(ticks >= 3, `the event loop ran ${ticks} timer ticks during the encode`);
  });

  it('answers concurrent encodes in order, each with its own ids', async () => {
    const texts = Array.from({ length: 8 }, (_, i) => `${i} `.repeat(INLINE_CHARS));
    const got = await Promise.all(texts.map((t) => thread.encode(t)));
    got.forEach((ids, i) => assert.deepEqual(ids, tokenizer.encode(texts[i]!)));
  });

  it('fails the encodes in flight when closed, and refuses new ones', async () => {
    const own = new TokenizerThread(tokenizer);
    await own.encode('x'.repeat(INLINE_CHARS + 1)); // started
    const inFlight = assert.rejects(own.encode('word '.repeat(40_000)), /closed/);
    await new Promise((resolve) => setImmediate(resolve)); // posted to the worker, which is busy with it
    await own.close();
    await inFlight;
    await assert.rejects(own.encode('y'.repeat(INLINE_CHARS + 1)), /closed/);
  });
});
