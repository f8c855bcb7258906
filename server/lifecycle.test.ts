import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL, sseData, startTestServer } from './harness.test-helper.js';
import { ServerLifecycle } from './lifecycle.js';

const streamBody = (maxTokens: number) =>
  JSON.stringify({ model: MODEL, prompt: 'Hello', max_tokens: maxTokens, stream: true });

test('draining: new requests 503 with Retry-After and Connection: close, /health 503, running streams finish', async () => {
  const lifecycle = new ServerLifecycle();
  const s = await startTestServer({ lifecycle });
  try {
    s.engine.tokenDelayMs = 5;
    const running = await fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: streamBody(40),
    });
    assert.equal(running.status, 200);
    assert.equal(lifecycle.numInFlight, 1);
    lifecycle.startDrain();

    const refused = await s.post('/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 2 });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(refused.headers.get('connection'), 'close');
    assert.equal(refused.json.error.type, 'service_unavailable');
    const health = await fetch(`${s.url}/health`);
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), { status: 'draining' });
    assert.equal((await fetch(`${s.url}/metrics`)).status, 200, 'metrics stay scrapeable');

    const events = sseData(await running.text()) as any[];
    assert.equal(events.at(-1), '[DONE]');
    assert.equal(events.at(-2).choices[0].finish_reason, 'length', 'the running stream ran to its end');
    assert.equal(await lifecycle.idle(1000), true);
    assert.equal(lifecycle.numInFlight, 0);
  } finally {
    await s.close();
  }
});

test('abortAll after the drain timeout: streams end with a final shutting-down event, collected requests with 503', async () => {
  const lifecycle = new ServerLifecycle();
  const s = await startTestServer({ lifecycle });
  try {
    s.engine.tokenDelayMs = 10;
    const stream = fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: streamBody(200),
    });
    const collected = s.post('/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 200 });
    // Both must be running before the drain starts (a fixed 50 ms sleep lost this race on a loaded machine).
    const deadline = Date.now() + 5000;
    while (lifecycle.numInFlight < 2 || s.engine.requests.length < 2) {
      assert.ok(Date.now() < deadline, 'both requests started');
      await new Promise((r) => setTimeout(r, 5));
    }
    lifecycle.startDrain();
    assert.equal(await lifecycle.idle(50), false, 'still running after a short wait');
    lifecycle.abortAll();
    const events = sseData(await (await stream).text()) as any[];
    assert.equal(events.at(-1), '[DONE]');
    assert.equal(events.at(-2).error.type, 'service_unavailable');
    const res = await collected;
    assert.equal(res.status, 503);
    assert.equal(await lifecycle.idle(1000), true);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(s.engine.stats().numRunning, 0, 'the engine requests were cancelled');
  } finally {
    await s.close();
  }
});
