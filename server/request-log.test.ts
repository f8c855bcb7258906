import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL, captureLogger, startTestServer } from './harness.test-helper.js';

const SECRET_PROMPT = 'my secret prompt about zebras';

test('x-request-id: a sane client id is echoed, anything else is replaced by a UUID, on every response', async () => {
  const s = await startTestServer({ apiKeys: ['k'] });
  try {
    const get = (headers: Record<string, string>, path = '/v1/models') =>
      fetch(s.url + path, { headers: { authorization: 'Bearer k', ...headers } });
    assert.equal((await get({ 'x-request-id': 'trace-42.a:b_c' })).headers.get('x-request-id'), 'trace-42.a:b_c');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    for (const bad of ['has space', 'x'.repeat(129), 'new\u00e9line', '']) {
      assert.match((await get({ 'x-request-id': bad })).headers.get('x-request-id') ?? '', uuid, JSON.stringify(bad));
    }
    assert.match((await get({})).headers.get('x-request-id') ?? '', uuid);
    // Errors from middleware and from the not-found handler carry it too.
    assert.match((await fetch(`${s.url}/v1/models`)).headers.get('x-request-id') ?? '', uuid); // 401
    assert.match((await get({}, '/nope')).headers.get('x-request-id') ?? '', uuid); // 404
    const streamed = await s.post(
      '/v1/completions',
      { model: MODEL, prompt: 'Hi', max_tokens: 2, stream: true },
      { 'x-request-id': 'stream-1' },
    );
    assert.equal(streamed.headers.get('x-request-id'), 'stream-1');
  } finally {
    await s.close();
  }
});

test('logs are JSON lines with reqId, method, path, status and duration; prompts never appear by default', async () => {
  const { logger, lines } = captureLogger();
  const s = await startTestServer({ logger });
  try {
    await s.post(
      '/v1/chat/completions',
      { model: MODEL, messages: [{ role: 'user', content: SECRET_PROMPT }], max_tokens: 2 },
      { 'x-request-id': 'req-chat' },
    );
    await s.post(
      '/v1/completions',
      { model: MODEL, prompt: SECRET_PROMPT, max_tokens: 2, stream: true },
      { 'x-request-id': 'req-stream' },
    );
    await s.post('/tokenize', { model: MODEL, prompt: SECRET_PROMPT });
    await s.post('/v1/completions', { model: MODEL, prompt: SECRET_PROMPT, max_tokens: 2, temperature: 9 });
    await new Promise((r) => setTimeout(r, 20)); // access lines are written when the response closes
    const access = lines.filter((l) => l['msg'] === 'request');
    const chat = access.find((l) => l['reqId'] === 'req-chat');
    assert.ok(chat, 'access line for the chat request');
    assert.equal(chat['method'], 'POST');
    assert.equal(chat['path'], '/v1/chat/completions');
    assert.equal(chat['status'], 200);
    assert.equal(typeof chat['durationMs'], 'number');
    assert.equal(access.find((l) => l['reqId'] === 'req-stream')?.['status'], 200);
    assert.ok(access.some((l) => l['status'] === 400));
    const all = JSON.stringify(lines);
    assert.ok(!all.includes('zebras'), 'no prompt text in any log line');
  } finally {
    await s.close();
  }
});

test('--log-prompts logs them; a 500 logs the stack server-side but not to the client', async () => {
  const { logger, lines } = captureLogger();
  const s = await startTestServer({ logger, logPrompts: true });
  try {
    await s.post(
      '/v1/chat/completions',
      { model: MODEL, messages: [{ role: 'user', content: SECRET_PROMPT }], max_tokens: 2 },
      { 'x-request-id': 'req-logged' },
    );
    const prompt = lines.find((l) => l['msg'] === 'prompt' && l['reqId'] === 'req-logged');
    assert.ok(JSON.stringify(prompt).includes('zebras'));

    s.engine.failAfterTokens = 0;
    const failed = await s.post(
      '/v1/completions',
      { model: MODEL, prompt: 'x', max_tokens: 2 },
      { 'x-request-id': 'req-500' },
    );
    assert.equal(failed.status, 500);
    assert.ok(!JSON.stringify(failed.json).includes('exploded'));
    const error = lines.find((l) => l['reqId'] === 'req-500' && l['level'] === 50);
    assert.ok(JSON.stringify(error).includes('executor exploded (fake)'), 'the log has the real error');
  } finally {
    await s.close();
  }
});
