import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { MODEL, sseData, startTestServer, type TestServer } from './harness.test-helper.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

function generated(promptLen: number, maxTokens: number, seed = 0): number[] {
  return Array.from({ length: maxTokens }, (_, k) =>
    s.engine.tokenAt({ promptIds: new Array(promptLen), sampling: { seed } } as never, k),
  );
}

test('text prompt: encoded with special tokens, text_completion shape, usage', async () => {
  const res = await s.client.completions.create({ model: MODEL, prompt: 'Hello world', max_tokens: 3 });
  const promptIds = s.tokenizer.encode('Hello world', { addSpecialTokens: true });
  assert.deepEqual(s.engine.requests.at(-1)!.promptIds, promptIds);
  assert.equal(res.object, 'text_completion');
  assert.match(res.id, /^cmpl-/);
  assert.equal(res.choices[0]!.text, s.tokenizer.decode(generated(promptIds.length, 3)));
  assert.equal(res.choices[0]!.finish_reason, 'length');
  assert.equal(res.choices[0]!.logprobs, null);
  assert.deepEqual(res.usage, {
    prompt_tokens: promptIds.length,
    completion_tokens: 3,
    total_tokens: promptIds.length + 3,
    prompt_tokens_details: { cached_tokens: 0 },
  });
});

test('token-id prompt with logprobs, echo and return_tokens_as_token_ids', async () => {
  const prompt = [75, 104, 363, 114];
  const res = await s.client.completions.create({
    model: MODEL,
    prompt,
    max_tokens: 3,
    logprobs: 2,
    echo: true,
    ...({ return_tokens_as_token_ids: true } as object),
  });
  const req = s.engine.requests.at(-1)!;
  assert.deepEqual(req.promptIds, prompt);
  assert.equal(req.logprobs, 2);
  assert.equal(req.promptLogprobs, 2);
  const out = generated(prompt.length, 3);
  const choice = res.choices[0]!;
  assert.equal(choice.text, s.tokenizer.decode(prompt) + s.tokenizer.decode(out));
  const lp = choice.logprobs!;
  assert.deepEqual(
    lp.tokens,
    [...prompt, ...out].map((id) => `token_id:${id}`),
  );
  assert.equal(lp.token_logprobs![0], null);
  assert.equal(lp.top_logprobs![0], null);
  assert.ok(lp.token_logprobs!.slice(1).every((v) => typeof v === 'number'));
  // The chosen token plus up to 2 alternatives.
  assert.ok(
    lp.top_logprobs!.slice(1).every((t) => t !== null && Object.keys(t).length >= 2 && Object.keys(t).length <= 3),
  );
  const lengths = [...prompt, ...out].map((id) => s.tokenizer.decode([id]).length);
  assert.deepEqual(
    lp.text_offset,
    lengths.map((_, i) => lengths.slice(0, i).reduce((a, b) => a + b, 0)),
  );
});

test('number[][] prompts with n:2: one block of choices per prompt, usage summed', async () => {
  const prompts = [
    [75, 104, 363],
    [281, 265, 594, 47, 393],
  ];
  const res = await s.client.completions.create({ model: MODEL, prompt: prompts, max_tokens: 2, n: 2, seed: 3 });
  assert.deepEqual(
    res.choices.map((c) => c.index),
    [0, 1, 2, 3],
  );
  const ids = s.engine.requests.slice(-4).map((r) => [r.id.slice(res.id.length), r.promptIds.length, r.sampling.seed]);
  assert.deepEqual(ids, [
    ['-0', 3, 3],
    ['-1', 3, 4],
    ['-2', 5, 3],
    ['-3', 5, 4],
  ]);
  assert.equal(res.choices[2]!.text, s.tokenizer.decode(generated(5, 2, 3)));
  assert.deepEqual(res.usage, {
    prompt_tokens: 8,
    completion_tokens: 8,
    total_tokens: 16,
    prompt_tokens_details: { cached_tokens: 0 },
  });
});

test('string[] prompts', async () => {
  const res = await s.client.completions.create({ model: MODEL, prompt: ['Hello', 'how are you'], max_tokens: 1 });
  assert.equal(res.choices.length, 2);
  assert.deepEqual(s.engine.requests.at(-1)!.promptIds, s.tokenizer.encode('how are you', { addSpecialTokens: true }));
});

test('streaming completions: echo first, text chunks with offsets, usage chunk', async () => {
  const stream = await s.client.completions.create({
    model: MODEL,
    prompt: 'Hello world',
    max_tokens: 4,
    stream: true,
    echo: true,
    logprobs: 1,
    stream_options: { include_usage: true },
  });
  const chunks: OpenAI.Completion[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.ok(chunks.every((c) => c.object === 'text_completion'));
  assert.equal(chunks[0]!.choices[0]!.text, 'Hello world');
  const text = chunks.map((c) => c.choices[0]?.text ?? '').join('');
  const promptLen = s.tokenizer.encode('Hello world', { addSpecialTokens: true }).length;
  assert.equal(text, 'Hello world' + s.tokenizer.decode(generated(promptLen, 4)));
  const offsets = chunks.flatMap((c) => c.choices[0]?.logprobs?.text_offset ?? []);
  assert.equal(offsets.length, 4);
  assert.equal(offsets[0], 'Hello world'.length);
  assert.equal(chunks.at(-2)!.choices[0]!.finish_reason, 'length');
  assert.deepEqual(chunks.at(-1)!.choices, []);
  assert.equal(chunks.at(-1)!.usage?.total_tokens, promptLen + 4);
});

test('raw SSE framing: data lines, then [DONE]', async () => {
  const res = await fetch(`${s.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: [75, 104], max_tokens: 2, stream: true }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
  const text = await res.text();
  assert.ok(text.endsWith('data: [DONE]\n\n'));
  const data = sseData(text);
  assert.equal(data.at(-1), '[DONE]');
  assert.equal(data.length, 2 + 1 + 1);
});

test('a field /v1/completions does not implement is a 400 naming it, not silently dropped', async () => {
  for (const field of ['unknown_vendor_field', 'tools', 'functions']) {
    const res = await s.post('/v1/completions', { prompt: 'x', max_tokens: 2, [field]: { a: 1 } });
    assert.equal(res.status, 400, field);
    assert.equal(res.json.error.param, field);
    assert.equal(res.json.error.code, 'unsupported_parameter');
  }
});
