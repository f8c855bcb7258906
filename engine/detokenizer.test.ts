import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { IncrementalDetokenizer, type Decoder } from './detokenizer.js';
import { ModelTokenizer } from '../model/tokenizer.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tokenizer = ModelTokenizer.load(join(repoRoot, 'tests/fixtures/deepseek-v3-tiny-b'));
const EOS = '<｜end▁of▁sentence｜>';
const TEXTS = [
  'naïve café — 日本語 🙂',
  ' hello world, this is a longer sentence with spaces.',
  '🙂🙂 emoji 👩‍👩‍👧 family; Ελληνικά; עברית; ♪',
  'Plain ASCII only',
  '\n\n  indented\tline\n',
];

/** Pushes ids one by one; returns the chunks, flush last. */
function stream(detok: IncrementalDetokenizer, ids: readonly number[]): string[] {
  const chunks = ids.map((id) => detok.push(id));
  chunks.push(detok.flush());
  return chunks;
}

test('streamed chunks concatenate to decode(all ids), never splitting a character', async () => {
  const tok = await tokenizer;
  for (const text of TEXTS) {
    const ids = tok.encode(text);
    const detok = new IncrementalDetokenizer(tok);
    const chunks = stream(detok, ids);
    assert.equal(chunks.join(''), tok.decode(ids), text);
    assert.equal(detok.text, text);
    for (const c of chunks) assert.ok(!c.includes('\uFFFD'), `chunk ${JSON.stringify(c)} of ${text}`);
  }
  // Multi-byte characters really are split across tokens in this vocabulary, so the hold-back is exercised.
  const ids = tok.encode('日');
  assert.ok(ids.length > 1);
  const detok = new IncrementalDetokenizer(tok);
  assert.deepEqual(
    ids.map((id) => detok.push(id)),
    [...Array<string>(ids.length - 1).fill(''), '日'],
  );
});

test('with the prompt tail as context, output is the continuation of the prompt text', async () => {
  const tok = await tokenizer;
  for (const [prompt, completion] of [
    ['Hello', ' world and café'],
    ['日本', '語 🙂 ok'],
    ['a b c d e f g h', ' i j'],
  ]) {
    const promptIds = tok.encode(prompt!);
    const all = tok.encode(prompt! + completion!);
    assert.deepEqual(all.slice(0, promptIds.length), promptIds, 'prompt tokenizes as a prefix');
    const gen = all.slice(promptIds.length);
    const detok = new IncrementalDetokenizer(tok, { promptTail: promptIds });
    assert.equal(stream(detok, gen).join(''), completion);
  }
});

test('special tokens are skipped when asked, kept otherwise', async () => {
  const tok = await tokenizer;
  const ids = tok.encode(`Hello${EOS} café`);
  const skipped = stream(new IncrementalDetokenizer(tok, { skipSpecialTokens: true }), ids).join('');
  assert.equal(skipped, 'Hello café');
  assert.equal(skipped, tok.decode(ids, { skipSpecialTokens: true }));
  assert.equal(stream(new IncrementalDetokenizer(tok), ids).join(''), `Hello${EOS} café`);
});

test('an incomplete character at the end comes out as U+FFFD on flush, as decode would give', async () => {
  const tok = await tokenizer;
  const [lead] = tok.encode('日');
  const ids = [...tok.encode('ab'), lead!];
  const detok = new IncrementalDetokenizer(tok);
  const chunks = ids.map((id) => detok.push(id));
  assert.equal(chunks.join(''), 'ab');
  assert.equal(chunks.at(-1), '');
  assert.equal(detok.flush(), '\uFFFD');
  assert.equal(detok.text, tok.decode(ids));
  assert.equal(detok.flush(), '');
});

test('property: any id sequence streams to exactly decode(ids)', async () => {
  const tok = await tokenizer;
  const pieces = [...new Set(TEXTS.flatMap((t) => tok.encode(t)))];
  const ids = fc.array(fc.oneof(fc.constantFrom(...pieces), fc.integer({ min: 0, max: tok.vocabSize - 1 })), {
    maxLength: 40,
  });
  fc.assert(
    fc.property(ids, fc.boolean(), (seq, skipSpecialTokens) => {
      const out = stream(new IncrementalDetokenizer(tok, { skipSpecialTokens }), seq).join('');
      assert.equal(out, tok.decode(seq, { skipSpecialTokens }));
    }),
    { numRuns: 500 },
  );
});

test('each push decodes a bounded window, however long the output', async () => {
  const tok = await tokenizer;
  let longest = 0;
  const spy: Decoder = {
    decode(ids, opts) {
      longest = Math.max(longest, ids.length);
      return tok.decode(ids, opts);
    },
  };
  const ids = tok.encode('naïve café — 日本語 🙂 '.repeat(60));
  const detok = new IncrementalDetokenizer(spy, { promptTail: tok.encode('prompt text here') });
  stream(detok, ids);
  assert.ok(ids.length > 1000);
  assert.ok(longest <= 10, `decoded a window of ${longest} ids`);
});
