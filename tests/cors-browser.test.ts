// CORS in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core; no browser download)
// loads a page from one origin that streams a chat completion through `fetch` from latentserve on another origin,
// with an API key (so the browser sends a preflight). .ci/run installs chromium; elsewhere the test is skipped
// with a message when no Chromium binary is found.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { MODEL, startTestServer, type TestServer } from '../server/harness.test-helper.js';

const CHROMIUM = [process.env['LATENTSERVE_CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => p !== undefined && p !== '' && existsSync(p),
);
const SKIP =
  CHROMIUM === undefined
    ? "no Chromium found (install Debian's `chromium`, as .ci/run does, or set LATENTSERVE_CHROMIUM)"
    : false;
const KEY = 'browser-key';

/**
 * What the page runs (playwright sends its source to the browser, so it uses nothing from this module): a streamed
 * chat completion read chunk by chunk, or the error fetch raised.
 */
async function streamChat({
  apiUrl,
  key,
  model,
}: {
  apiUrl: string;
  key: string;
  model: string;
}): Promise<
  { ok: true; status: number; deltas: string[]; done: boolean; requestId: string | null } | { ok: false; error: string }
> {
  try {
    const res = await fetch(`${apiUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 6, stream: true }),
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const datas = text
      .split('\n\n')
      .filter((b) => b.startsWith('data: '))
      .map((b) => b.slice(6));
    const deltas = datas
      .filter((d) => d !== '[DONE]')
      .map((d) => (JSON.parse(d) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '')
      .filter((c) => c !== '');
    return {
      ok: true,
      status: res.status,
      deltas,
      done: datas.at(-1) === '[DONE]',
      requestId: res.headers.get('x-request-id'),
    };
  } catch (err) {
    return { ok: false, error: String(err) };
  }
}

describe('CORS from headless Chromium', { skip: SKIP }, () => {
  let api: TestServer;
  let page: Server;
  let pageOrigin: string;
  let browser: Browser;

  before(async () => {
    page = createServer((_req, res) => res.end('<!doctype html><title>client</title>'));
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    pageOrigin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
    api = await startTestServer({
      apiKeys: [KEY],
      cors: { allowedOrigins: [pageOrigin], allowedMethods: ['*'], allowedHeaders: ['*'] },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM!, headless: true, timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
    await api?.close();
    await new Promise((resolve) => page?.close(resolve));
  });

  it('a page on an allowed origin streams a chat completion through fetch, with an API key', async () => {
    const tab = await browser.newPage();
    await tab.goto(`${pageOrigin}/`);
    const before = api.engine.requests.length;
    const result = await tab.evaluate(streamChat, { apiUrl: api.url, key: KEY, model: MODEL });
    assert.ok(result.ok, `fetch failed in the browser: ${result.ok ? '' : result.error}`);
    assert.equal(result.status, 200);
    assert.ok(result.deltas.length >= 2, `streamed deltas: ${JSON.stringify(result.deltas)}`);
    assert.ok(result.done, 'the stream ends with [DONE]');
    assert.ok(result.requestId, 'x-request-id is exposed to the page');
    assert.equal(api.engine.requests.length, before + 1);
    await tab.close();
  });

  it('a page on another origin is refused by the browser (no Access-Control-Allow-Origin)', async () => {
    const other = createServer((_req, res) => res.end('<!doctype html><title>other</title>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const tab = await browser.newPage();
      // `localhost` is a different origin from `127.0.0.1`.
      await tab.goto(`http://localhost:${(other.address() as AddressInfo).port}/`);
      const before = api.engine.requests.length;
      const result = await tab.evaluate(streamChat, { apiUrl: api.url, key: KEY, model: MODEL });
      assert.equal(result.ok, false);
      assert.equal(api.engine.requests.length, before, 'the refused preflight never reached the engine');
      await tab.close();
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });
});
