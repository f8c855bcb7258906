import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelTokenizer } from './tokenizer.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = ['deepseek-v2-tiny', 'deepseek-v3-tiny-b'] as const;
const BOS = '<｜begin▁of▁sentence｜>';
const EOS = '<｜end▁of▁sentence｜>';

interface ReferencePrompt {
  name: string;
  text: string;
  prompt_ids: number[];
}

function referencePrompts(dir: string): ReferencePrompt[] {
  const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as { prompts: ReferencePrompt[] };
  return reference.prompts;
}

for (const fixture of FIXTURES) {
  const dir = join(repoRoot, 'tests/fixtures', fixture);

  test(`${fixture}: encode reproduces reference prompt_ids`, async () => {
    const tok = await ModelTokenizer.load(dir);
    const prompts = referencePrompts(dir);
    assert.deepEqual(prompts.map((p) => p.name).sort(), ['bos_only', 'chat40', 'short7']);
    for (const p of prompts) {
      assert.deepEqual(tok.encode(p.text), p.prompt_ids, p.name);
      // The fixtures' post-processor adds nothing, so addSpecialTokens must not change the ids either.
      assert.deepEqual(tok.encode(p.text, { addSpecialTokens: true }), p.prompt_ids, p.name);
    }
  });

  test(`${fixture}: chat template reproduces the chat40 prompt`, async () => {
    const tok = await ModelTokenizer.load(dir);
    const chat = referencePrompts(dir).find((p) => p.name === 'chat40');
    assert.ok(chat);
    const match = /<｜User｜>([\s\S]*)<｜Assistant｜>$/.exec(chat.text);
    assert.ok(match?.[1], 'chat40 text has a user turn');
    const content = match[1];
    assert.equal(tok.applyChatTemplate([{ role: 'user', content }], { addGenerationPrompt: true }), chat.text);
    assert.equal(tok.applyChatTemplate([{ role: 'user', content }]), `${BOS}<｜User｜>${content}`);
    assert.equal(
      tok.applyChatTemplate(
        [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello.' },
          { role: 'user', content: 'Bye' },
        ],
        { addGenerationPrompt: true },
      ),
      `${BOS}Be brief.<｜User｜>Hi<｜Assistant｜>Hello.${EOS}<｜User｜>Bye<｜Assistant｜>`,
    );
    assert.deepEqual(
      tok.encode(tok.applyChatTemplate([{ role: 'user', content }], { addGenerationPrompt: true })),
      chat.prompt_ids,
    );
  });

  test(`${fixture}: decode round trips, special ids, token lookups`, async () => {
    const tok = await ModelTokenizer.load(dir);
    assert.equal(tok.bosTokenId, 0);
    assert.deepEqual(tok.eosTokenIds, [1]);
    assert.equal(tok.vocabSize, 966);
    for (const p of referencePrompts(dir)) {
      assert.equal(tok.decode(p.prompt_ids), p.text, p.name);
      assert.equal(tok.decode(p.prompt_ids, { skipSpecialTokens: true }), p.text.replace(/<｜[^｜]*｜>/g, ''), p.name);
    }
    for (const text of ['Hello  world\n\n\tend', 'é 中文 🤗 naïve', ' leading and trailing ', 'a . b , c ?']) {
      assert.equal(tok.decode(tok.encode(text)), text);
    }
    assert.equal(tok.decode([]), '');
    // Ids past the tokenizer's vocabulary (the model's padding rows) decode to nothing rather than throwing.
    assert.equal(tok.decode([...tok.encode('Hi'), 1000]), 'Hi');
    assert.equal(tok.tokenToId(BOS), 0);
    assert.equal(tok.tokenToId(EOS), 1);
    assert.equal(tok.tokenToId('<｜User｜>'), 959);
    assert.equal(tok.tokenToId('<｜Assistant｜>'), 960);
    assert.equal(tok.tokenToId('no such token'), null);
    assert.equal(tok.idToToken(0), BOS);
    assert.equal(tok.idToToken(5000), null);
    assert.equal(tok.idToToken(-1), null);
  });
}

function withCopy(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tokenizer-test-'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    copyFileSync(join(repoRoot, 'tests/fixtures/deepseek-v3-tiny-b', f), join(dir, f));
  }
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('without generation_config/config.json, bos/eos come from tokenizer_config; {content} tokens work', async () => {
  await withCopy(async (dir) => {
    const configPath = join(dir, 'tokenizer_config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    config['bos_token'] = { __type: 'AddedToken', content: BOS, special: true };
    config['eos_token'] = { __type: 'AddedToken', content: EOS, special: true };
    writeFileSync(configPath, JSON.stringify(config));
    const tok = await ModelTokenizer.load(dir);
    assert.equal(tok.bosTokenId, 0);
    assert.deepEqual(tok.eosTokenIds, [1]);
    assert.equal(tok.applyChatTemplate([{ role: 'assistant', content: 'x' }]), `${BOS}<｜Assistant｜>x${EOS}`);
  });
});

test('generation_config eos_token_id may be a list', async () => {
  await withCopy(async (dir) => {
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 0, eos_token_id: [1, 965] }));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ eos_token_id: 2 }));
    const tok = await ModelTokenizer.load(dir);
    assert.deepEqual(tok.eosTokenIds, [1, 965]);
  });
});

test('missing files and a missing chat_template give clear errors', async () => {
  await withCopy(async (dir) => {
    const configPath = join(dir, 'tokenizer_config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    delete config['chat_template'];
    writeFileSync(configPath, JSON.stringify(config));
    const tok = await ModelTokenizer.load(dir);
    assert.throws(() => tok.applyChatTemplate([{ role: 'user', content: 'hi' }]), /has no chat_template/);

    rmSync(join(dir, 'tokenizer.json'));
    await assert.rejects(ModelTokenizer.load(dir), { message: `missing tokenizer.json in ${dir}` });
    writeFileSync(join(dir, 'tokenizer.json'), '{not json');
    await assert.rejects(ModelTokenizer.load(dir), /tokenizer\.json: not valid JSON/);
  });
});
