import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL, startTestServer, type TestServer } from './harness.test-helper.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  s.engine.tokenDelayMs = 10;
});
after(async () => {
  await s.close();
});

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a streaming client that disconnects aborts its engine requests (all n of them)', async () => {
  const controller = new AbortController();
  const stream = await s.client.chat.completions.create(
    { model: MODEL, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 200, n: 2, stream: true },
    { signal: controller.signal },
  );
  let contentChunks = 0;
  // The SDK ends the loop quietly once its signal fires.
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta.content) contentChunks++;
    if (contentChunks === 2) controller.abort();
  }
  assert.equal(contentChunks, 2);
  const ids = s.engine.requests.slice(-2).map((r) => r.id);
  await waitFor(() => ids.every((id) => s.engine.abortedIds.includes(id)));
  assert.ok(ids.every((id) => !s.engine.finishedIds.includes(id)));
  await waitFor(() => s.engine.stats().numRunning === 0);
});

test('a non-streaming client that disconnects aborts its engine request', async () => {
  const controller = new AbortController();
  const before = s.engine.requests.length;
  const pending = s.client.completions.create(
    { model: MODEL, prompt: 'Hello', max_tokens: 200 },
    { signal: controller.signal },
  );
  await waitFor(() => s.engine.requests.length > before);
  await new Promise((r) => setTimeout(r, 30));
  controller.abort();
  await assert.rejects(pending);
  const id = s.engine.requests.at(-1)!.id;
  await waitFor(() => s.engine.abortedIds.includes(id));
  assert.ok(!s.engine.finishedIds.includes(id));
});

test('breaking out of the SDK stream also aborts the engine request', async () => {
  const stream = await s.client.completions.create({ model: MODEL, prompt: 'Hello', max_tokens: 200, stream: true });
  for await (const chunk of stream) if (chunk.choices[0]?.text) break;
  const id = s.engine.requests.at(-1)!.id;
  await waitFor(() => s.engine.abortedIds.includes(id));
});

test('the server keeps serving after disconnects', async () => {
  const res = await s.client.completions.create({ model: MODEL, prompt: 'Hello', max_tokens: 2 });
  assert.equal(res.usage?.completion_tokens, 2);
});
