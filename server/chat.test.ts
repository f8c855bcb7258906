import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { MAX_MODEL_LEN, MODEL, startTestServer, type TestServer } from './harness.test-helper.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: 'Hello world, how are you?' },
];

function expectedPromptIds(): number[] {
  return s.tokenizer.encode(s.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }));
}

/** What the fake generates for this prompt and seed (no stop strings). */
function expectedText(promptLen: number, maxTokens: number, seed = 0): string {
  const ids = Array.from({ length: maxTokens }, (_, k) =>
    s.engine.tokenAt({ promptIds: new Array(promptLen), sampling: { seed } } as never, k),
  );
  return s.tokenizer.decode(ids);
}

test("vLLM's min_tokens, stop_token_ids, include_stop_str_in_output and allowed_token_ids reach the EngineRequest; bad values are 400s", async () => {
  const ok = await s.post('/v1/chat/completions', {
    model: MODEL,
    messages,
    max_tokens: 5,
    min_tokens: 3,
    stop_token_ids: [9, 11],
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  const req = s.engine.requests.at(-1)!;
  assert.equal(req.minTokens, 3);
  assert.deepEqual(req.stopTokenIds, [9, 11]);
  const completion = await s.post('/v1/completions', { model: MODEL, prompt: 'Hi', max_tokens: 4, min_tokens: 4 });
  assert.equal(completion.status, 200, JSON.stringify(completion.json));
  assert.equal(s.engine.requests.at(-1)!.minTokens, 4);
  for (const [path, body, message] of [
    [
      '/v1/chat/completions',
      { model: MODEL, messages, max_completion_tokens: 2, min_tokens: 3 },
      'min_tokens must be at most max_completion_tokens (2), got 3.',
    ],
    [
      '/v1/completions',
      { model: MODEL, prompt: 'Hi', max_tokens: 2, min_tokens: 3 },
      'min_tokens must be at most max_tokens (2), got 3.',
    ],
  ] as const) {
    const refused = await s.post(path, body);
    assert.equal(refused.status, 400, path);
    assert.equal(refused.json.error.param, 'min_tokens');
    assert.equal(refused.json.error.message, message);
  }
  const more = await s.post('/v1/completions', {
    model: MODEL,
    prompt: 'Hi',
    max_tokens: 2,
    include_stop_str_in_output: true,
    allowed_token_ids: [5, 9, 5],
  });
  assert.equal(more.status, 200, JSON.stringify(more.json));
  assert.equal(s.engine.requests.at(-1)!.includeStopStrInOutput, true);
  assert.deepEqual(s.engine.requests.at(-1)!.allowedTokenIds, [5, 9]);
  const empty = await s.post('/v1/chat/completions', { model: MODEL, messages, allowed_token_ids: [] });
  assert.equal(empty.status, 400);
  assert.equal(empty.json.error.param, 'allowed_token_ids');
  const negative = await s.post('/v1/completions', { model: MODEL, prompt: 'Hi', min_tokens: -1 });
  assert.equal(negative.status, 400);
  assert.equal(negative.json.error.param, 'min_tokens');
});

test('openai-node passes the vLLM stop and token-set fields through, and surfaces their 400 with its param', async () => {
  const vllm = { min_tokens: 2, stop_token_ids: [9], include_stop_str_in_output: true, allowed_token_ids: [5, 9, 12] };
  const stream = await s.client.chat.completions.create({
    model: MODEL,
    messages,
    max_tokens: 4,
    stream: true,
    ...(vllm as object),
  });
  for await (const _ of stream);
  const chat = s.engine.requests.at(-1)!;
  assert.deepEqual(
    [chat.minTokens, chat.stopTokenIds, chat.includeStopStrInOutput, chat.allowedTokenIds],
    [2, [9], true, [5, 9, 12]],
  );
  await s.client.completions.create({ model: MODEL, prompt: 'Hi', max_tokens: 4, ...(vllm as object) });
  const completion = s.engine.requests.at(-1)!;
  assert.deepEqual(
    [completion.minTokens, completion.stopTokenIds, completion.includeStopStrInOutput, completion.allowedTokenIds],
    [2, [9], true, [5, 9, 12]],
  );
  await assert.rejects(
    s.client.completions.create({ model: MODEL, prompt: 'Hi', max_tokens: 1, ...({ min_tokens: 2 } as object) }),
    (err: InstanceType<typeof OpenAI.BadRequestError>) =>
      err instanceof OpenAI.BadRequestError &&
      err.param === 'min_tokens' &&
      /at most max_tokens \(1\)/.test(err.message),
  );
});

test('non-streaming chat: content, usage, and the EngineRequest it submits', async () => {
  const res = await s.client.chat.completions.create({
    model: MODEL,
    messages,
    max_tokens: 5,
    temperature: 0.5,
    top_p: 0.9,
    seed: 7,
    presence_penalty: 0.5,
    frequency_penalty: 0.25,
    logit_bias: { '42': 3 },
    // vLLM's extras, which the SDK passes through:
    ...({ top_k: 20, min_p: 0.05, repetition_penalty: 1.1, ignore_eos: true, user: 'u1' } as object),
  });
  const promptIds = expectedPromptIds();
  assert.equal(res.object, 'chat.completion');
  assert.match(res.id, /^chatcmpl-/);
  assert.equal(res.model, MODEL);
  assert.equal(res.choices.length, 1);
  const choice = res.choices[0]!;
  assert.equal(choice.message.role, 'assistant');
  assert.equal(choice.message.content, expectedText(promptIds.length, 5, 7));
  assert.equal(choice.finish_reason, 'length');
  assert.equal(choice.logprobs, null);
  assert.deepEqual(res.usage, {
    prompt_tokens: promptIds.length,
    completion_tokens: 5,
    total_tokens: promptIds.length + 5,
    prompt_tokens_details: { cached_tokens: 0 },
  });
  const req = s.engine.requests.at(-1)!;
  assert.equal(req.id, `${res.id}-0`);
  assert.deepEqual(req.promptIds, promptIds);
  assert.equal(req.maxTokens, 5);
  assert.deepEqual(req.stopTokenIds, []);
  assert.equal(req.ignoreEos, true);
  assert.equal(req.logprobs, null);
  assert.deepEqual(
    { ...req.sampling, logitBias: [...req.sampling.logitBias!] },
    {
      temperature: 0.5,
      topP: 0.9,
      topK: 20,
      minP: 0.05,
      presencePenalty: 0.5,
      frequencyPenalty: 0.25,
      repetitionPenalty: 1.1,
      logitBias: [[42, 3]],
      seed: 7,
    },
  );
});

test('max_tokens defaults to what the context window leaves; text parts are joined', async () => {
  const res = await s.client.chat.completions.create({
    model: MODEL,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Hello world,' },
          { type: 'text', text: 'how are you?' },
        ],
      },
    ],
  });
  const promptIds = s.tokenizer.encode(
    s.tokenizer.applyChatTemplate([{ role: 'user', content: 'Hello world,\nhow are you?' }], {
      addGenerationPrompt: true,
    }),
  );
  const req = s.engine.requests.at(-1)!;
  assert.deepEqual(req.promptIds, promptIds);
  assert.equal(req.maxTokens, MAX_MODEL_LEN - promptIds.length);
  assert.equal(res.usage?.completion_tokens, MAX_MODEL_LEN - promptIds.length);
});

test('streaming chat: role first, then content, finish, and the include_usage chunk', async () => {
  const stream = await s.client.chat.completions.create({
    model: MODEL,
    messages,
    max_tokens: 6,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]!.id));
  assert.deepEqual(chunks[0]!.choices[0]!.delta, { role: 'assistant', content: '' });
  const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  assert.equal(content, expectedText(expectedPromptIds().length, 6));
  const finish = chunks.at(-2)!;
  assert.equal(finish.choices[0]!.finish_reason, 'length');
  const last = chunks.at(-1)!;
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage?.completion_tokens, 6);
  assert.equal(last.usage?.prompt_tokens, expectedPromptIds().length);
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === null));
});

test('stop strings end the choice with finish_reason stop, the stop string excluded', async () => {
  const res = await s.client.chat.completions.create({ model: MODEL, messages, max_tokens: 30, stop: ['lazy'] });
  const choice = res.choices[0]!;
  assert.equal(choice.finish_reason, 'stop');
  assert.ok(!choice.message.content!.includes('lazy'));
  assert.ok(choice.message.content!.length > 0);
  assert.deepEqual(s.engine.requests.at(-1)!.stop, ['lazy']);
  assert.equal((choice as unknown as { stop_reason: string }).stop_reason, 'lazy');
});

test('logprobs with top_logprobs, token strings and token_id:N', async () => {
  const res = await s.client.chat.completions.create({
    model: MODEL,
    messages,
    max_tokens: 4,
    logprobs: true,
    top_logprobs: 2,
  });
  const content = res.choices[0]!.logprobs!.content!;
  assert.equal(s.engine.requests.at(-1)!.logprobs, 2);
  assert.equal(content.length, 4);
  assert.equal(content.map((c) => c.token).join(''), res.choices[0]!.message.content);
  for (const entry of content) {
    assert.equal(typeof entry.logprob, 'number');
    assert.deepEqual(entry.bytes, [...Buffer.from(entry.token, 'utf8')]);
    assert.equal(entry.top_logprobs.length, 2);
  }
  const asIds = await s.client.chat.completions.create({
    model: MODEL,
    messages,
    max_tokens: 2,
    logprobs: true,
    ...({ return_tokens_as_token_ids: true } as object),
  });
  const tokens = asIds.choices[0]!.logprobs!.content!.map((c) => c.token);
  const ids = [0, 1].map((k) => s.engine.tokenAt(s.engine.requests.at(-1)!, k));
  assert.deepEqual(
    tokens,
    ids.map((id) => `token_id:${id}`),
  );
});

test('n:3 with a seed: distinct seeded choices, reproducible as a whole', async () => {
  const ask = () => s.client.chat.completions.create({ model: MODEL, messages, max_tokens: 4, n: 3, seed: 11 });
  const a = await ask();
  const seeds = s.engine.requests.slice(-3).map((r) => [r.id, r.sampling.seed]);
  assert.deepEqual(seeds, [
    [`${a.id}-0`, 11],
    [`${a.id}-1`, 12],
    [`${a.id}-2`, 13],
  ]);
  const b = await ask();
  assert.deepEqual(
    a.choices.map((c) => c.index),
    [0, 1, 2],
  );
  const texts = a.choices.map((c) => c.message.content);
  assert.equal(new Set(texts).size, 3);
  assert.deepEqual(
    b.choices.map((c) => c.message.content),
    texts,
  );
  assert.equal(a.usage?.completion_tokens, 12);
  assert.equal(a.usage?.prompt_tokens, expectedPromptIds().length);
});

test('n:2 streamed: every choice gets a role chunk and a finish chunk', async () => {
  const stream = await s.client.chat.completions.create({
    model: MODEL,
    messages,
    max_tokens: 3,
    n: 2,
    seed: 1,
    stream: true,
  });
  const text = ['', ''];
  const finishes: (string | null)[] = [null, null];
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      text[c.index] += c.delta.content ?? '';
      if (c.finish_reason) finishes[c.index] = c.finish_reason;
    }
  }
  assert.deepEqual(finishes, ['length', 'length']);
  assert.equal(text[0], expectedText(expectedPromptIds().length, 3, 1));
  assert.equal(text[1], expectedText(expectedPromptIds().length, 3, 2));
});

test('prompt_logprobs: vLLM shape on each choice', async () => {
  const res = await s.client.chat.completions.create({
    model: MODEL,
    messages,
    max_tokens: 1,
    ...({ prompt_logprobs: 1 } as object),
  });
  const promptLogprobs = (res.choices[0] as unknown as { prompt_logprobs: (Record<string, object> | null)[] })
    .prompt_logprobs;
  const promptIds = expectedPromptIds();
  assert.equal(promptLogprobs.length, promptIds.length);
  assert.equal(promptLogprobs[0], null);
  const second = promptLogprobs[1]!;
  const own = second[String(promptIds[1])] as { logprob: number; rank: number | null; decoded_token: string };
  assert.equal(typeof own.logprob, 'number');
  assert.equal(own.decoded_token, s.tokenizer.decode([promptIds[1]!]));
});
