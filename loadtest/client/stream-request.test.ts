import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  chatChunk,
  sleep,
  startScriptedServer,
  textChunk,
  usageChunk,
  writeSse,
  type ScriptedServer,
} from './scripted-server.test-helper.js';
import { streamRequest, type RequestSpec } from './stream-request.js';
import type { Target } from './target.js';

const spec: RequestSpec = { prompt: 'hi', maxTokens: 3, ignoreEos: true, includeUsage: true };

describe('streamRequest', () => {
  let server: ScriptedServer;
  before(async () => {
    server = await startScriptedServer(async (req, res) => {
      const scenario = String(req.body['prompt'] ?? (req.body['messages'] as { content: string }[])[0]!.content);
      if (scenario === 'hi' || scenario === 'chat') {
        const chat = req.path === '/v1/chat/completions';
        const chunk = (t: string): unknown => (chat ? chatChunk({ content: t }) : textChunk(t));
        await writeSse(res, [
          ...(chat ? [[0, chatChunk({ role: 'assistant', content: '' })] as const] : []),
          [60, chunk('a')],
          [40, chunk('b')],
          [40, chunk('c')],
          [0, chat ? chatChunk({}) : textChunk('')],
          ...(req.body['stream_options'] ? [[0, usageChunk(7, 3)] as const] : []),
          [0, '[DONE]'],
        ]);
      } else if (scenario === 'nousage') {
        await writeSse(res, [
          [0, textChunk('x')],
          [10, textChunk('y')],
          [0, '[DONE]'],
        ]);
      } else if (scenario === 'http-error') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'bad field', type: 'invalid_request_error' } }));
      } else if (scenario === 'mid-stream-error') {
        await writeSse(res, [
          [0, textChunk('x')],
          [0, { error: { message: 'engine died' } }],
          [0, '[DONE]'],
        ]);
      } else if (scenario === 'empty') {
        await writeSse(res, [
          [0, textChunk('')],
          [0, '[DONE]'],
        ]);
      } else if (scenario === 'hang') {
        await writeSse(res, [
          [0, textChunk('x')],
          [5000, textChunk('y')],
        ]);
      }
    });
  });
  after(() => server.close());
  const target = (endpoint: Target['endpoint'] = 'completions'): Target => ({
    baseUrl: server.url,
    model: 'm',
    endpoint,
    apiKey: 'k',
  });

  it('times TTFT at the first content chunk and one ITL per later content chunk', async () => {
    const out = await streamRequest(target(), spec);
    assert.equal(out.success, true, out.error);
    assert.equal(out.itlMs.length, 2);
    // Only what the script guarantees: chunk i cannot arrive before the server wrote it (60, 100, 140 ms after the
    // request; timers may fire ~1 ms early). A late chunk shortens the next gap, so single gaps have no lower bound.
    const [first, second] = out.itlMs as [number, number];
    assert.ok(out.ttftMs >= 55, `ttft ${out.ttftMs}`);
    assert.ok(first >= 0 && second >= 0, `gaps ${out.itlMs}`);
    assert.ok(out.ttftMs + first >= 95, `second chunk at ${out.ttftMs + first}`);
    assert.ok(out.ttftMs + first + second >= 135, `third chunk at ${out.ttftMs + first + second}`);
    // Gaps run chunk to chunk, not from the request: they add up to no more than the whole request.
    assert.ok(out.latencyMs >= out.ttftMs + first + second);
    assert.equal(out.generatedText, 'abc');
    assert.deepEqual(out.usage, { promptTokens: 7, completionTokens: 3 });
  });

  it('sends a vLLM-style streaming body with the bearer key', async () => {
    await streamRequest(target(), spec);
    const body = server.requests.at(-1)!.body;
    assert.deepEqual(body, {
      model: 'm',
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      ignore_eos: true,
      prompt: 'hi',
      max_tokens: 3,
    });
    const plain = await streamRequest(target(), { ...spec, ignoreEos: false, includeUsage: false });
    assert.equal(plain.usage, null);
    const sent = server.requests.at(-1)!.body;
    assert.equal('ignore_eos' in sent, false);
    assert.equal('stream_options' in sent, false);
    // vLLM's --temperature/--top-p/--top-k/--min-p: each filter only when set.
    await streamRequest(target(), { ...spec, sampling: { temperature: 0.7, topP: 0.95, topK: null, minP: 0.05 } });
    const sampled = server.requests.at(-1)!.body;
    assert.equal(sampled.temperature, 0.7);
    assert.equal(sampled.top_p, 0.95);
    assert.equal(sampled.min_p, 0.05);
    assert.equal('top_k' in sampled, false);
  });

  it('chat: the empty role chunk is not the first token', async () => {
    const out = await streamRequest(target('chat'), { ...spec, prompt: 'chat' });
    assert.equal(out.success, true, out.error);
    assert.ok(out.ttftMs >= 55, `ttft ${out.ttftMs}`);
    assert.equal(out.itlMs.length, 2);
    const body = server.requests.at(-1)!;
    assert.equal(body.path, '/v1/chat/completions');
    assert.deepEqual(body.body['messages'], [{ role: 'user', content: 'chat' }]);
    assert.equal(body.body['max_completion_tokens'], 3);
  });

  it('leaves usage null when the server sends none', async () => {
    const out = await streamRequest(target(), { ...spec, prompt: 'nousage' });
    assert.equal(out.success, true);
    assert.equal(out.usage, null);
    assert.equal(out.contentChunks, 2);
  });

  it('fails on an HTTP error, an error event, or a stream without content', async () => {
    const http = await streamRequest(target(), { ...spec, prompt: 'http-error' });
    assert.deepEqual([http.success, http.error], [false, 'HTTP 400: bad field']);
    const mid = await streamRequest(target(), { ...spec, prompt: 'mid-stream-error' });
    assert.deepEqual([mid.success, mid.error], [false, 'engine died']);
    const empty = await streamRequest(target(), { ...spec, prompt: 'empty' });
    assert.equal(empty.success, false);
    assert.match(empty.error, /Never received/);
    const refused = await streamRequest({ ...target(), baseUrl: 'http://127.0.0.1:9' }, spec);
    assert.equal(refused.success, false);
    assert.equal(refused.cancelled, false);
  });

  it('reports an aborted request as cancelled, not failed', async () => {
    const controller = new AbortController();
    const pending = streamRequest(target(), { ...spec, prompt: 'hang' }, controller.signal);
    await sleep(100);
    controller.abort();
    const out = await pending;
    assert.equal(out.success, false);
    assert.equal(out.cancelled, true);
  });
});
