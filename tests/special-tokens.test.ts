// skip_special_tokens and spaces_between_special_tokens on /v1/completions, on the real engine and tokenizer:
// logit_bias forces EOS (id 1) and ignore_eos keeps generating it, so the output is nothing but special tokens.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ModelServer } from './helpers/server.js';
import { MODEL_NAME, startModelServer } from './helpers/server.js';

const EOS = 1;

describe('special tokens in generated text', () => {
  let s: ModelServer;
  before(async () => {
    s = await startModelServer('deepseek-v3-tiny-b');
  });
  after(async () => {
    await s.close();
  });

  const complete = async (extra: object): Promise<{ status: number; text: string; tokens: number }> => {
    const res = await fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL_NAME,
        prompt: 'The license',
        max_tokens: 3,
        temperature: 0,
        ignore_eos: true,
        logit_bias: { [EOS]: 100 },
        ...extra,
      }),
    });
    const body = (await res.json()) as {
      choices?: { text: string }[];
      usage?: { completion_tokens: number };
      error?: { param: string };
    };
    if (res.status !== 200) return { status: res.status, text: body.error?.param ?? '', tokens: 0 };
    return { status: res.status, text: body.choices![0]!.text, tokens: body.usage!.completion_tokens };
  };

  it('are left out by default and with skip_special_tokens: true', async () => {
    for (const extra of [{}, { skip_special_tokens: true }]) {
      const out = await complete(extra);
      assert.equal(out.status, 200);
      assert.equal(out.tokens, 3);
      assert.equal(out.text, '');
    }
  });

  it('are rendered with skip_special_tokens: false, and no spaces are put between them either way', async () => {
    const eos = s.model.tokenizer.idToToken(EOS)!;
    assert.equal((await complete({ skip_special_tokens: false })).text, eos.repeat(3));
    assert.equal(
      (await complete({ skip_special_tokens: false, spaces_between_special_tokens: true })).text,
      eos.repeat(3),
    );
    assert.equal(
      (await complete({ skip_special_tokens: false, spaces_between_special_tokens: false })).text,
      eos.repeat(3),
    );
    // Streamed, too.
    const res = await fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL_NAME,
        prompt: 'The license',
        max_tokens: 3,
        temperature: 0,
        ignore_eos: true,
        logit_bias: { [EOS]: 100 },
        skip_special_tokens: false,
        stream: true,
      }),
    });
    const text = (await res.text())
      .split('\n\n')
      .filter((b) => b.startsWith('data: {'))
      .map((b) => (JSON.parse(b.slice(6)) as { choices: { text: string }[] }).choices[0]?.text ?? '')
      .join('');
    assert.equal(text, eos.repeat(3));
  });

  it('a non-boolean value is a 400 naming the field', async () => {
    assert.deepEqual(await complete({ skip_special_tokens: 'no' }), {
      status: 400,
      text: 'skip_special_tokens',
      tokens: 0,
    });
  });
});
