// The HTTP edge real clients meet first: CORS (preflight without auth, Access-Control-Allow-Origin on every
// response, streams included), 405 with Allow, GET /version, and the 499 of a client that left before the response.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MODEL, captureLogger, startTestServer } from './harness.test-helper.js';

const ORIGIN = 'http://app.example';
const KEY = 'k';

test('CORS preflight: 204 without an API key, naming the allowed methods and headers', async () => {
  const s = await startTestServer({
    apiKeys: [KEY],
    cors: { allowedOrigins: [ORIGIN], allowedMethods: ['*'], allowedHeaders: ['*'] },
  });
  try {
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /\bPOST\b/);
    assert.equal(res.headers.get('access-control-allow-headers'), 'authorization, content-type');
    assert.equal(await res.text(), '');
    // A preflight from an origin not on the list gets no CORS headers, so the browser refuses the real request.
    const other = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  } finally {
    await s.close();
  }
});

test('CORS: Access-Control-Allow-Origin on every response to an allowed origin (200, 401, 404, 400, SSE stream)', async () => {
  const s = await startTestServer({
    apiKeys: [KEY],
    cors: { allowedOrigins: [ORIGIN], allowedMethods: ['*'], allowedHeaders: ['*'] },
  });
  try {
    const auth = { authorization: `Bearer ${KEY}`, origin: ORIGIN };
    const acao = async (res: Response): Promise<string | null> => {
      await res.arrayBuffer();
      return res.headers.get('access-control-allow-origin');
    };
    assert.equal(await acao(await fetch(`${s.url}/v1/models`, { headers: auth })), ORIGIN);
    assert.equal(await acao(await fetch(`${s.url}/v1/models`, { headers: { origin: ORIGIN } })), ORIGIN); // 401
    assert.equal(await acao(await fetch(`${s.url}/nope`, { headers: auth })), ORIGIN); // 404
    const bad = await s.post('/v1/completions', { model: MODEL, prompt: 'x', temperature: 9 }, { origin: ORIGIN });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('access-control-allow-origin'), ORIGIN);
    const streamed = await s.post(
      '/v1/completions',
      { model: MODEL, prompt: 'Hi', max_tokens: 3, stream: true },
      { origin: ORIGIN },
    );
    assert.equal(streamed.status, 200);
    assert.equal(streamed.headers.get('access-control-allow-origin'), ORIGIN);
    assert.equal(streamed.json.at(-1), '[DONE]');
    assert.match(streamed.headers.get('access-control-expose-headers') ?? '', /x-request-id/);
    assert.match(streamed.headers.get('vary') ?? '', /Origin/);
    // Another origin, or none: no CORS headers.
    assert.equal(
      await acao(await fetch(`${s.url}/v1/models`, { headers: { ...auth, origin: 'http://evil.example' } })),
      null,
    );
    assert.equal(await acao(await fetch(`${s.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })), null);
  } finally {
    await s.close();
  }
});

test('CORS: `*` allows any origin; explicit methods and headers lists are enforced on preflight', async () => {
  const s = await startTestServer({
    cors: { allowedOrigins: ['*'], allowedMethods: ['GET', 'POST'], allowedHeaders: ['content-type'] },
  });
  try {
    const res = await fetch(`${s.url}/v1/models`, { headers: { origin: 'http://anything.example' } });
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const preflight = (method: string, headers: string) =>
      fetch(`${s.url}/v1/completions`, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://anything.example',
          'access-control-request-method': method,
          'access-control-request-headers': headers,
        },
      });
    const ok = await preflight('POST', 'Content-Type');
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), '*');
    assert.equal(ok.headers.get('access-control-allow-methods'), 'GET, POST');
    assert.equal((await preflight('DELETE', 'content-type')).headers.get('access-control-allow-origin'), null);
    assert.equal((await preflight('POST', 'x-custom')).headers.get('access-control-allow-origin'), null);
  } finally {
    await s.close();
  }
});

test('without --allowed-origins no CORS headers are sent, and OPTIONS is a 405 like any other method', async () => {
  const s = await startTestServer();
  try {
    const res = await fetch(`${s.url}/v1/models`, { headers: { origin: ORIGIN } });
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const preflight = await fetch(`${s.url}/v1/completions`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 405);
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
  } finally {
    await s.close();
  }
});

test("a method the route does not take: 405 with Allow, in OpenAI's error shape; unknown paths stay 404", async () => {
  const s = await startTestServer();
  try {
    const get = await fetch(`${s.url}/v1/chat/completions`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const body = (await get.json()) as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(body.error['type'], 'invalid_request_error');
    assert.equal(body.error['code'], 'method_not_allowed');
    assert.match(String(body.error['message']), /GET.*\/v1\/chat\/completions/);
    const del = await fetch(`${s.url}/v1/models/${MODEL}`, { method: 'DELETE' });
    assert.equal(del.status, 405);
    assert.equal(del.headers.get('allow'), 'GET, HEAD');
    await del.arrayBuffer();
    const post = await fetch(`${s.url}/health`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await post.arrayBuffer();
    const missing = await fetch(`${s.url}/v1/nothing`, { method: 'POST' });
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
  } finally {
    await s.close();
  }
});

test('GET /version answers {"version"} from package.json', async () => {
  const s = await startTestServer();
  try {
    const res = await fetch(`${s.url}/version`);
    assert.equal(res.status, 200);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.deepEqual(await res.json(), { version: pkg.version });
  } finally {
    await s.close();
  }
});

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function clientClosedCount(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('latentserve_http_client_closed_requests_total '));
  assert.ok(line, 'the 499 counter is exported');
  return Number(line.split(' ')[1]);
}

test('a client that leaves before any response is logged as 499 (never 503) and counted apart in /metrics', async () => {
  const { logger, lines } = captureLogger();
  const s = await startTestServer({ logger });
  s.engine.tokenDelayMs = 20;
  try {
    assert.equal(await clientClosedCount(s.url), 0);
    const controller = new AbortController();
    const before = s.engine.requests.length;
    const pending = fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'gone-early' },
      body: JSON.stringify({ model: MODEL, prompt: 'Hello', max_tokens: 200 }),
      signal: controller.signal,
    });
    await waitFor(() => s.engine.requests.length > before);
    controller.abort();
    await assert.rejects(pending);
    await waitFor(() => lines.some((l) => l['reqId'] === 'gone-early' && l['msg'] === 'request'));
    const access = lines.find((l) => l['reqId'] === 'gone-early' && l['msg'] === 'request')!;
    assert.equal(access['status'], 499);
    assert.equal(await clientClosedCount(s.url), 1);

    // A stream the client leaves part-way had its response (200) begun: logged as such, not a 499.
    const streamController = new AbortController();
    const res = await fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'left-mid-stream' },
      body: JSON.stringify({ model: MODEL, prompt: 'Hello', max_tokens: 200, stream: true }),
      signal: streamController.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    streamController.abort();
    await waitFor(() => lines.some((l) => l['reqId'] === 'left-mid-stream' && l['msg'] === 'request'));
    assert.equal(lines.find((l) => l['reqId'] === 'left-mid-stream' && l['msg'] === 'request')!['status'], 200);
    assert.equal(await clientClosedCount(s.url), 1);
  } finally {
    await s.close();
  }
});

test("CORS flag values: comma lists, JSON lists (vLLM's form), repeats; a malformed JSON list is refused", async () => {
  const { parseCorsList } = await import('./cors.js');
  assert.deepEqual(parseCorsList(['http://a.example, http://b.example']), ['http://a.example', 'http://b.example']);
  assert.deepEqual(parseCorsList(['["http://a.example", "http://c.example"]', 'http://a.example']), [
    'http://a.example',
    'http://c.example',
  ]);
  assert.deepEqual(parseCorsList(['*']), ['*']);
  assert.deepEqual(parseCorsList([]), []);
  assert.throws(() => parseCorsList(['["http://a.example"']), /JSON list/);
  assert.throws(() => parseCorsList(['[1, 2]']), /JSON list/);
});
