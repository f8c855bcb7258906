import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { ApiKeyChecker, parseApiKeys } from './auth.js';
import { MODEL, startTestServer, type TestServer } from './harness.test-helper.js';

test('keys come from repeated flags and a comma-separated LATENTSERVE_API_KEY, blanks and repeats dropped', () => {
  assert.deepEqual(parseApiKeys(['a', 'b'], ' c , ,a,d '), ['a', 'b', 'c', 'd']);
  assert.deepEqual(parseApiKeys([], undefined), []);
  assert.deepEqual(parseApiKeys([], ''), []);
});

test('the checker accepts every configured key and nothing else (other lengths, prefixes, case)', () => {
  const checker = new ApiKeyChecker(['sk-first', 'sk-second-key']);
  assert.ok(checker.matches('sk-first'));
  assert.ok(checker.matches('sk-second-key'));
  for (const wrong of [
    '',
    'sk-firs',
    'sk-first ',
    'SK-FIRST',
    'sk-second',
    'sk-second-key-and-more',
    'x'.repeat(10_000),
  ]) {
    assert.ok(!checker.matches(wrong), JSON.stringify(wrong.slice(0, 20)));
  }
});

describe('Bearer auth on a live server', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ apiKeys: ['key-one', 'key-two'] });
  });
  after(async () => {
    await s.close();
  });

  const call = (path: string, init: RequestInit = {}): Promise<Response> => fetch(s.url + path, init);
  const body = JSON.stringify({ model: MODEL, prompt: 'Hello', max_tokens: 2 });

  test("no key or a wrong key: 401 in OpenAI's error shape with WWW-Authenticate", async () => {
    const cases: [Record<string, string>, string | null][] = [
      [{}, null],
      [{ authorization: 'Bearer nope' }, 'invalid_api_key'],
      [{ authorization: 'Basic a2V5LW9uZTo=' }, null],
      [{ authorization: 'Bearer' }, null],
      [{ authorization: 'key-one' }, null],
      [{ authorization: 'Bearer key-one extra' }, null],
    ];
    for (const [headers, code] of cases) {
      const res = await call('/v1/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      const json = (await res.json()) as { error: Record<string, unknown> };
      assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
      assert.equal(json.error['type'], 'invalid_request_error');
      assert.equal(json.error['code'], code);
      assert.ok(!String(json.error['message']).includes('key-one'), 'never echoes a key');
    }
  });

  test("every key works, the scheme is case-insensitive, and the SDK's apiKey is the Bearer token", async () => {
    for (const auth of ['Bearer key-one', 'Bearer key-two', 'bearer key-one', 'BEARER   key-two ']) {
      const res = await call('/v1/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body,
      });
      assert.equal(res.status, 200, auth);
    }
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'key-two', maxRetries: 0 });
    assert.equal((await client.models.list()).data[0]!.id, MODEL);
    const wrong = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'key-three', maxRetries: 0 });
    await assert.rejects(wrong.models.list(), (err: unknown) => err instanceof OpenAI.AuthenticationError);
  });

  test('/v1/*, /tokenize, /detokenize and unknown paths need the key; /health and /metrics stay open', async () => {
    for (const [method, path] of [
      ['GET', '/v1/models'],
      ['POST', '/tokenize'],
      ['POST', '/detokenize'],
      ['POST', '/v1/chat/completions'],
      ['GET', '/v1/nope'],
      ['GET', '/admin'],
    ]) {
      assert.equal((await call(path!, { method: method! })).status, 401, path);
    }
    assert.equal((await call('/health')).status, 200);
    assert.equal((await call('/metrics')).status, 200);
  });
});

test('--protect-metrics puts /metrics behind the key too; /health stays open', async () => {
  const s = await startTestServer({ apiKeys: ['k'], protectMetrics: true });
  try {
    assert.equal((await fetch(`${s.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer k' } })).status, 200);
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
  } finally {
    await s.close();
  }
});

test('without keys the server is open', async () => {
  const s = await startTestServer();
  try {
    assert.equal((await fetch(`${s.url}/v1/models`)).status, 200);
  } finally {
    await s.close();
  }
});
