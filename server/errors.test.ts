import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Overloaded, Unavailable } from '../engine/errors.js';
import { MAX_MODEL_LEN, MODEL, sseData, startTestServer, type TestServer } from './harness.test-helper.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});
afterEach(() => {
  s.engine.submitError = null;
  s.engine.failAfterTokens = null;
  s.engine.failWhen = () => true;
});

const messages = [{ role: 'user', content: 'Hello' }];
const chat = (extra: object) => s.post('/v1/chat/completions', { model: MODEL, messages, max_tokens: 2, ...extra });

function assertError(json: any, type: string, param: string | null, code: string | null = null): void {
  assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(json.error.type, type);
  assert.equal(json.error.param, param);
  assert.equal(json.error.code, code);
  assert.equal(typeof json.error.message, 'string');
}

test('malformed JSON is a 400 invalid_request_error with param null', async () => {
  const { status, json } = await s.post('/v1/chat/completions', '{"model": "tiny-b", "messages": [');
  assert.equal(status, 400);
  assertError(json, 'invalid_request_error', null);
});

test('schema violations name the field in param', async () => {
  const cases: [object, string][] = [
    [{ temperature: 3 }, 'temperature'],
    [{ top_p: 0 }, 'top_p'],
    [{ n: 17 }, 'n'],
    [{ max_tokens: 0 }, 'max_tokens'],
    [{ top_logprobs: 21, logprobs: true }, 'top_logprobs'],
    [{ messages: [{ role: 'user', content: 5 }] }, 'messages.0.content'],
    [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages.0.role'],
    [{ messages: [] }, 'messages'],
    [{ stop: 7 }, 'stop'],
    [{ logit_bias: { abc: 1 } }, 'logit_bias.abc'],
  ];
  for (const [extra, param] of cases) {
    const { status, json } = await chat(extra);
    assert.equal(status, 400, param);
    assertError(json, 'invalid_request_error', param);
  }
  const completions = await s.post('/v1/completions', { model: MODEL, prompt: 'x', logprobs: 21 });
  assert.equal(completions.status, 400);
  assertError(completions.json, 'invalid_request_error', 'logprobs');
});

test('unknown model: 404 model_not_found (as the SDK sees it)', async () => {
  await assert.rejects(
    s.client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }),
    (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      assert.equal(err.param, 'model');
      assert.equal(err.type, 'invalid_request_error');
      return true;
    },
  );
});

test('context too long: 400 context_length_exceeded', async () => {
  const long = await chat({ max_tokens: MAX_MODEL_LEN });
  assert.equal(long.status, 400);
  assertError(long.json, 'invalid_request_error', 'max_tokens', 'context_length_exceeded');
  assert.match(long.json.error.message, /'max_tokens' is too large/);
  const prompt = new Array(MAX_MODEL_LEN).fill(75);
  const noRoom = await s.post('/v1/completions', { model: MODEL, prompt });
  assertError(noRoom.json, 'invalid_request_error', 'prompt', 'context_length_exceeded');
});

test('out-of-vocabulary token ids: 400', async () => {
  const { status, json } = await s.post('/v1/completions', { model: MODEL, prompt: [1, 100000] });
  assert.equal(status, 400);
  assertError(json, 'invalid_request_error', 'prompt');
  const bias = await chat({ logit_bias: { '100000': 1 } });
  assertError(bias.json, 'invalid_request_error', 'logit_bias');
});

test('Overloaded → 429, Unavailable → 503, before any stream starts', async () => {
  s.engine.submitError = new Overloaded('queue full');
  const overloaded = await chat({ stream: true });
  assert.equal(overloaded.status, 429);
  assertError(overloaded.json, 'rate_limit_exceeded', null, 'rate_limit_exceeded');
  await assert.rejects(s.client.completions.create({ model: MODEL, prompt: 'x' }), OpenAI.RateLimitError);
  s.engine.submitError = new Unavailable('engine stopped');
  const unavailable = await chat({});
  assert.equal(unavailable.status, 503);
  assert.equal(unavailable.json.error.message, 'engine stopped');
});

test('unexpected failures: 500 with a generic message and no stack', async () => {
  s.engine.failAfterTokens = 0;
  const { status, json } = await chat({});
  assert.equal(status, 500);
  assertError(json, 'server_error', null);
  assert.doesNotMatch(JSON.stringify(json), /exploded|at .*\.js/);
});

test('a failure mid-stream is a final error event, then [DONE]', async () => {
  s.engine.failAfterTokens = 2;
  const res = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages, max_tokens: 10, stream: true }),
  });
  assert.equal(res.status, 200);
  const data = sseData(await res.text()) as any[];
  assert.equal(data.at(-1), '[DONE]');
  assertError(data.at(-2), 'server_error', null);
  assert.ok(data.slice(0, -2).every((d) => d.object === 'chat.completion.chunk'));
  // The SDK surfaces the error event as an exception.
  const stream = await s.client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
  });
  await assert.rejects(async () => {
    for await (const _ of stream);
  }, OpenAI.APIError);
});

test('n>1: one failing choice aborts the others', async () => {
  s.engine.tokenDelayMs = 5;
  s.engine.failAfterTokens = 1;
  s.engine.failWhen = (r) => r.id.endsWith('-1');
  try {
    const { status } = await chat({ n: 3, max_tokens: 50 });
    assert.equal(status, 500);
    const ids = s.engine.requests.slice(-3).map((r) => r.id);
    await waitFor(() => s.engine.abortedIds.includes(ids[0]!) && s.engine.abortedIds.includes(ids[2]!));
    assert.ok(!s.engine.finishedIds.includes(ids[0]!));
  } finally {
    s.engine.tokenDelayMs = 0;
  }
});

test('a failing request never affects a concurrent one', async () => {
  s.engine.tokenDelayMs = 2;
  s.engine.failAfterTokens = 3;
  s.engine.failWhen = (r) => r.maxTokens === 20;
  try {
    const [bad, good] = await Promise.all([chat({ max_tokens: 20, stream: true }), chat({ max_tokens: 8 })]);
    assert.equal(bad.status, 200); // streamed, then an error event
    assert.equal(bad.json.at(-1), '[DONE]');
    assert.equal(bad.json.at(-2).error.type, 'server_error');
    assert.equal(good.status, 200);
    assert.equal(good.json.usage.completion_tokens, 8);
  } finally {
    s.engine.tokenDelayMs = 0;
  }
});

test('unknown routes are 404 in the OpenAI error shape', async () => {
  const { status, json } = await s.post('/v1/embeddings', { input: 'x' });
  assert.equal(status, 404);
  assertError(json, 'invalid_request_error', null);
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
