// The OpenAI API end to end with the official `openai` client against a real server on the fixture models:
// reference tokens and logprobs through completions, chat (streamed and not), n, stop, seed, include_usage,
// and the error shapes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FIXTURES, loadReference, referenceRows, referenceTop5 } from './helpers/fixtures.js';
import type { ModelServer } from './helpers/server.js';
import { MODEL_NAME, startModelServer } from './helpers/server.js';

const TOLERANCE = 1e-3;
const tokenId = (s: string): number => Number(s.replace(/^token_id:/, ''));

for (const fixture of FIXTURES) {
  describe(`completions reproduce the reference: ${fixture}`, () => {
    let s: ModelServer;
    before(async () => {
      s = await startModelServer(fixture);
    });
    after(async () => {
      await s.close();
    });

    for (const prompt of loadReference(fixture).prompts) {
      it(prompt.name, async () => {
        const res = await s.client.completions.create({
          model: MODEL_NAME,
          prompt: prompt.prompt_ids,
          max_tokens: 16,
          temperature: 0,
          logprobs: 5,
          // vLLM extensions, sent as extra body fields
          ...{ ignore_eos: true, return_tokens_as_token_ids: true },
        });
        const choice = res.choices[0]!;
        const rows = referenceRows(prompt, loadReference(fixture).vocab_size);
        assert.deepEqual(choice.logprobs!.tokens!.map(tokenId), prompt.continuation_ids);
        choice.logprobs!.top_logprobs!.forEach((top, k) => {
          const ref = referenceTop5(rows[prompt.prompt_ids.length - 1 + k]!);
          for (const { id, logprob } of ref) {
            const got = top[`token_id:${id}`];
            assert.ok(
              got !== undefined && Math.abs(got - logprob) <= TOLERANCE,
              `step ${k}: token ${id} ${got} vs ${logprob}`,
            );
          }
        });
        assert.equal(res.usage!.prompt_tokens, prompt.prompt_ids.length);
        assert.equal(res.usage!.completion_tokens, 16);
        assert.equal(choice.finish_reason, 'length');
      });
    }
  });
}

describe('chat and the rest of the API: deepseek-v3-tiny-b', () => {
  let s: ModelServer;
  const chat40 = loadReference('deepseek-v3-tiny-b').prompts.find((p) => p.name === 'chat40')!;
  const userMessage = chat40.text.split('<｜User｜>')[1]!.split('<｜Assistant｜>')[0]!;
  before(async () => {
    s = await startModelServer('deepseek-v3-tiny-b');
  });
  after(async () => {
    await s.close();
  });

  it('non-streamed chat gives the reference continuation of the chat template', async () => {
    const res = await s.client.chat.completions.create({
      model: MODEL_NAME,
      messages: [{ role: 'user', content: userMessage }],
      max_tokens: 16,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
      ...{ ignore_eos: true, return_tokens_as_token_ids: true },
    });
    const choice = res.choices[0]!;
    assert.equal(choice.message.role, 'assistant');
    assert.deepEqual(
      choice.logprobs!.content!.map((t) => tokenId(t.token)),
      chat40.continuation_ids,
    );
    assert.equal(
      choice.message.content,
      s.model.tokenizer.decode(chat40.continuation_ids, { skipSpecialTokens: true }),
    );
    assert.equal(res.usage!.prompt_tokens, chat40.prompt_ids.length);
  });

  it('streamed chat: role first, the same text, usage last with include_usage', async () => {
    const stream = await s.client.chat.completions.create({
      model: MODEL_NAME,
      messages: [{ role: 'user', content: userMessage }],
      max_tokens: 16,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      ...{ ignore_eos: true },
    });
    let text = '';
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks[0]!.choices[0]!.delta.role, 'assistant');
    for (const c of chunks) text += c.choices[0]?.delta.content ?? '';
    assert.equal(text, s.model.tokenizer.decode(chat40.continuation_ids, { skipSpecialTokens: true }));
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage!.completion_tokens, 16);
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason === 'length').length, 1);
  });

  it('n: 3 with a seed: three choices, reproducible as a whole', async () => {
    const ask = () =>
      s.client.completions.create({
        model: MODEL_NAME,
        prompt: 'The license',
        max_tokens: 8,
        temperature: 1.2,
        n: 3,
        seed: 1234,
      });
    const [a, b] = await Promise.all([ask(), ask()]);
    assert.deepEqual(a.choices.map((c) => c.index).sort(), [0, 1, 2]);
    const texts = (r: typeof a) => [...r.choices].sort((x, y) => x.index - y.index).map((c) => c.text);
    assert.deepEqual(texts(a), texts(b));
    assert.ok(new Set(texts(a)).size > 1, 'the choices differ from each other');
  });

  it('a stop string cuts the text before it and finishes with "stop"', async () => {
    const prompt = loadReference('deepseek-v3-tiny-b').prompts.find((p) => p.name === 'short7')!.prompt_ids;
    const full = await s.client.completions.create({
      model: MODEL_NAME,
      prompt,
      max_tokens: 16,
      temperature: 0,
      ...{ ignore_eos: true },
    });
    const text = full.choices[0]!.text;
    const stop = text.slice(5, 8);
    const cut = await s.client.completions.create({
      model: MODEL_NAME,
      prompt,
      max_tokens: 16,
      temperature: 0,
      stop: [stop],
      ...{ ignore_eos: true },
    });
    assert.equal(cut.choices[0]!.text, text.slice(0, text.indexOf(stop)));
    assert.equal(cut.choices[0]!.finish_reason, 'stop');
  });

  it('echo with logprobs scores the prompt (first entry null)', async () => {
    const prompt = loadReference('deepseek-v3-tiny-b').prompts.find((p) => p.name === 'short7')!;
    const res = await s.client.completions.create({
      model: MODEL_NAME,
      prompt: prompt.prompt_ids,
      max_tokens: 1,
      temperature: 0,
      echo: true,
      logprobs: 1,
    });
    const lp = res.choices[0]!.logprobs!;
    assert.equal(lp.token_logprobs!.length, prompt.prompt_ids.length + 1);
    assert.equal(lp.token_logprobs![0], null);
    assert.ok(lp.token_logprobs!.slice(1).every((v) => typeof v === 'number' && v <= 0));
    assert.ok(res.choices[0]!.text.startsWith(s.model.tokenizer.decode(prompt.prompt_ids)));
  });

  it("errors come back in OpenAI's shape", async () => {
    const post = async (body: string) => {
      const res = await fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return {
        status: res.status,
        body: (await res.json()) as {
          error: { message: string; type: string; param: string | null; code: string | null };
        },
      };
    };
    const malformed = await post('{"messages": [');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.type, 'invalid_request_error');
    const badField = await post(
      JSON.stringify({ model: MODEL_NAME, messages: [{ role: 'user', content: 'hi' }], temperature: 7 }),
    );
    assert.equal(badField.status, 400);
    assert.equal(badField.body.error.param, 'temperature');
    const tooLong = await post(
      JSON.stringify({ model: MODEL_NAME, messages: [{ role: 'user', content: 'hi' }], max_tokens: 100000 }),
    );
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.error.code, 'context_length_exceeded');
    const unknown = await post(JSON.stringify({ model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'model_not_found');
    await assert.rejects(
      s.client.chat.completions.create({
        model: MODEL_NAME,
        messages: [{ role: 'user', content: 'hi' }],
        temperature: 7,
      }),
      (err: { status?: number }) => err.status === 400,
    );
    const ok = await s.client.completions.create({ model: MODEL_NAME, prompt: 'still serving', max_tokens: 2 });
    assert.equal(ok.choices.length, 1);
  });

  it('a full queue answers 429', async () => {
    const busy = await startModelServer('deepseek-v3-tiny-b', { maxNumSeqs: 1, maxWaiting: 0 });
    try {
      const long = busy.client.completions.create({
        model: MODEL_NAME,
        prompt: 'a',
        max_tokens: 200,
        ...{ ignore_eos: true },
      });
      await new Promise((r) => setTimeout(r, 50));
      await assert.rejects(
        busy.client.completions.create({ model: MODEL_NAME, prompt: 'b', max_tokens: 2 }),
        (err: { status?: number }) => err.status === 429,
      );
      assert.equal((await long).choices[0]!.finish_reason, 'length');
    } finally {
      await busy.close();
    }
  });

  it('/tokenize, /detokenize and /v1/models', async () => {
    const tok = (await (
      await fetch(`${s.url}/tokenize`, {
        method: 'POST',
        body: JSON.stringify({ messages: [{ role: 'user', content: userMessage }] }),
        headers: { 'content-type': 'application/json' },
      })
    ).json()) as { tokens: number[]; count: number; max_model_len: number };
    assert.deepEqual(tok.tokens, chat40.prompt_ids);
    assert.equal(tok.count, chat40.prompt_ids.length);
    const detok = (await (
      await fetch(`${s.url}/detokenize`, {
        method: 'POST',
        body: JSON.stringify({ tokens: tok.tokens }),
        headers: { 'content-type': 'application/json' },
      })
    ).json()) as { prompt: string };
    assert.equal(detok.prompt, chat40.text);
    const models = await s.client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      [MODEL_NAME],
    );
  });
});
