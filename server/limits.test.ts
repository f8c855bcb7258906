import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Overloaded } from '../engine/errors.js';
import { MODEL, startTestServer, type TestServer, type TestServerOptions } from './harness.test-helper.js';
import { ServerLifecycle } from './lifecycle.js';
import { ConcurrencyLimit, DEFAULT_LIMITS, resolveLimits } from './limits.js';

async function withServer(options: TestServerOptions, run: (s: TestServer) => Promise<void>): Promise<void> {
  const s = await startTestServer(options);
  try {
    await run(s);
  } finally {
    await s.close();
  }
}

const completion = (extra: object) => ({ model: MODEL, prompt: 'Hello there', max_tokens: 2, ...extra });
const chat = (extra: object) => ({
  model: MODEL,
  messages: [{ role: 'user', content: 'Hello there' }],
  max_tokens: 2,
  ...extra,
});

function assertRefused(
  res: { status: number; json: any },
  status: number,
  param: string | null,
  code: string | null = null,
): void {
  assert.equal(res.status, status, JSON.stringify(res.json));
  assert.deepEqual(Object.keys(res.json.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(res.json.error.param, param);
  if (code !== null) assert.equal(res.json.error.code, code);
}

test('defaults: n ≤ 16 whatever the flag, prompt and completion caps default to the context window', () => {
  const limits = resolveLimits({ maxN: 99 }, 512);
  assert.equal(limits.maxN, 16);
  assert.equal(limits.maxPromptTokens, 512);
  assert.equal(limits.maxCompletionTokens, 512);
  assert.equal(resolveLimits({}, 512).maxBodyBytes, DEFAULT_LIMITS.maxBodyBytes);
  const slots = new ConcurrencyLimit(1, 'things');
  const release = slots.acquire();
  assert.throws(() => slots.acquire(), Overloaded);
  release();
  release(); // idempotent
  assert.equal(slots.inUse, 0);
});

describe('request limits', () => {
  test('body size: 413 from Content-Length before reading, and from a chunked body as it streams', async () => {
    await withServer({ limits: { maxBodyBytes: 1024 } }, async (s) => {
      const big = JSON.stringify(completion({ prompt: 'x'.repeat(2000) }));
      assertRefused(await s.post('/v1/completions', big), 413, null, 'request_too_large');
      const chunks = [big.slice(0, 600), big.slice(600)];
      const res = await fetch(`${s.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new ReadableStream({
          pull(c) {
            const next = chunks.shift();
            if (next === undefined) c.close();
            else c.enqueue(new TextEncoder().encode(next));
          },
        }),
        duplex: 'half',
      } as RequestInit);
      assert.equal(res.status, 413);
      assert.equal(((await res.json()) as any).error.code, 'request_too_large');
      assert.equal((await s.post('/v1/completions', completion({}))).status, 200, 'small bodies pass');
    });
  });

  test('a 413 answered before its body arrived keeps the connection for the next request, however slowly the body comes', async () => {
    await withServer({ limits: { maxBodyBytes: 1024 } }, async (s) => {
      const { hostname, port } = new URL(s.url);
      const body = JSON.stringify(completion({ prompt: 'x'.repeat(4000) }));
      const socket = connect(Number(port), hostname);
      socket.on('error', () => {});
      let received = '';
      let closed = false;
      socket.on('data', (d) => {
        received += d.toString();
      });
      socket.on('close', () => {
        closed = true;
      });
      const until = async (what: string, done: () => boolean): Promise<void> => {
        for (const t0 = Date.now(); !done(); await new Promise((r) => setTimeout(r, 10))) {
          if (Date.now() - t0 > 5000)
            throw new Error(`${what}; got ${JSON.stringify(received.slice(0, 300))}, closed ${closed}`);
        }
      };
      try {
        socket.write(
          `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 1000)}`,
        );
        await until('no 413', () => received.includes('request_too_large'));
        assert.match(received, /^HTTP\/1\.1 413/);
        assert.doesNotMatch(received, /connection: close/i);
        // The rest of the body comes later than any fixed drain deadline (the adapter's is 500 ms), then a new request.
        await new Promise((r) => setTimeout(r, 800));
        assert.equal(closed, false, 'the server kept the connection while the body was still coming');
        const next = 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n';
        socket.write(body.slice(1000) + next);
        await until('no answer to the request after the refused body', () =>
          /HTTP\/1\.1 413[\s\S]*HTTP\/1\.1 200/.test(received),
        );
      } finally {
        socket.destroy();
      }
    });
  });

  test('n, prompts × n, stop strings (count and length) and logit_bias size', async () => {
    await withServer(
      { limits: { maxN: 4, maxChoices: 6, maxStopStrings: 2, maxStopLength: 8, maxLogitBias: 3 } },
      async (s) => {
        assertRefused(await s.post('/v1/chat/completions', chat({ n: 5 })), 400, 'n');
        assertRefused(await s.post('/v1/chat/completions', chat({ n: 17 })), 400, 'n');
        assertRefused(await s.post('/v1/completions', completion({ prompt: ['a', 'b'], n: 4 })), 400, 'n');
        assert.equal((await s.post('/v1/completions', completion({ prompt: ['a', 'b'], n: 3 }))).status, 200);
        assertRefused(await s.post('/v1/completions', completion({ stop: ['a', 'b', 'c'] })), 400, 'stop');
        assertRefused(await s.post('/v1/chat/completions', chat({ stop: 'longer than 8' })), 400, 'stop');
        assert.equal((await s.post('/v1/chat/completions', chat({ stop: ['a', '12345678'] }))).status, 200);
        // Characters are code points: 8 emoji (16 UTF-16 units) fit a limit of 8, a ninth does not.
        assert.equal((await s.post('/v1/completions', completion({ stop: '😀'.repeat(8) }))).status, 200);
        assertRefused(await s.post('/v1/completions', completion({ stop: '😀'.repeat(9) })), 400, 'stop');
        // stop_token_ids share the stop strings' cap.
        assertRefused(
          await s.post('/v1/completions', completion({ stop_token_ids: [5, 6, 7] })),
          400,
          'stop_token_ids',
        );
        assert.equal((await s.post('/v1/chat/completions', chat({ stop_token_ids: [5, 6] }))).status, 200);
        assertRefused(
          await s.post('/v1/completions', completion({ logit_bias: { 1: 1, 2: 1, 3: 1, 4: 1 } })),
          400,
          'logit_bias',
        );
        assert.equal((await s.post('/v1/completions', completion({ logit_bias: { 1: 1, 2: 1, 3: 1 } }))).status, 200);
      },
    );
  });

  test('the request schemas read their caps from the limits: 32 stop strings pass a limit of 32, 33 get its message', async () => {
    await withServer({ limits: { maxStopStrings: 32, maxN: 3 } }, async (s) => {
      const stops = (k: number) => Array.from({ length: k }, (_, i) => `stop${i}`);
      for (const path of ['/v1/completions', '/v1/chat/completions']) {
        const body = path === '/v1/completions' ? completion : chat;
        assert.equal((await s.post(path, body({ stop: stops(32) }))).status, 200, path);
        const refused = await s.post(path, body({ stop: stops(33) }));
        assertRefused(refused, 400, 'stop');
        assert.ok(refused.json.error.message.includes('At most 32 stop strings, got 33.'), refused.json.error.message);
        const tooMany = await s.post(path, body({ n: 4 }));
        assertRefused(tooMany, 400, 'n');
        assert.ok(tooMany.json.error.message.includes('n must be at most 3, got 4.'), tooMany.json.error.message);
      }
    });
  });

  test('prompt tokens (text, token ids, chat) and max_tokens against the caps and the context window', async () => {
    await withServer({ limits: { maxPromptTokens: 16, maxCompletionTokens: 8 } }, async (s) => {
      const long =
        'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen';
      assertRefused(
        await s.post('/v1/completions', completion({ prompt: long })),
        400,
        'prompt',
        'context_length_exceeded',
      );
      assertRefused(
        await s.post('/v1/completions', completion({ prompt: Array.from({ length: 17 }, (_, i) => i + 2) })),
        400,
        'prompt',
        'context_length_exceeded',
      );
      assertRefused(
        await s.post('/v1/chat/completions', chat({ messages: [{ role: 'user', content: long }] })),
        400,
        'messages',
        'context_length_exceeded',
      );
      assertRefused(await s.post('/v1/completions', completion({ max_tokens: 9 })), 400, 'max_tokens');
      assertRefused(
        await s.post('/v1/chat/completions', chat({ max_tokens: null, max_completion_tokens: 9 })),
        400,
        'max_completion_tokens',
      );
      // The prompt fits; the max_tokens asked for does not: the 400 names max_tokens (as vLLM), not the prompt.
      assertRefused(
        await s.post('/v1/completions', completion({ max_tokens: 100_000 })),
        400,
        'max_tokens',
        'context_length_exceeded',
      );
      assertRefused(
        await s.post('/v1/chat/completions', chat({ max_tokens: 100_000 })),
        400,
        'max_tokens',
        'context_length_exceeded',
      );
      assert.equal((await s.post('/v1/completions', completion({ max_tokens: null }))).status, 200);
      assert.equal(s.engine.requests.at(-1)!.maxTokens, 8, 'an absent max_tokens is capped');
    });
  });

  test('oversized text is refused before the tokenizer sees it (a run of spaces is quadratic in BPE)', async () => {
    await withServer({ limits: { maxBodyBytes: 8 * 2 ** 20 } }, async (s) => {
      const t0 = performance.now();
      for (const body of [
        completion({ prompt: ' '.repeat(3_000_000) }),
        chat({ messages: [{ role: 'user', content: ' '.repeat(3_000_000) }] }),
      ]) {
        const path = 'prompt' in body ? '/v1/completions' : '/v1/chat/completions';
        assertRefused(
          await s.post(path, body),
          400,
          'prompt' in body ? 'prompt' : 'messages',
          'context_length_exceeded',
        );
      }
      assertRefused(
        await s.post('/tokenize', { model: MODEL, prompt: ' '.repeat(3_000_000) }),
        400,
        'prompt',
        'context_length_exceeded',
      );
      assertRefused(
        await s.post('/detokenize', { model: MODEL, tokens: Array.from({ length: 300 }, () => 5) }),
        400,
        'tokens',
      );
      // Tokenizing these texts would take minutes; refusing them takes well under a second on a quiet machine, and
      // 2–3 s when the 2-core machine is loaded tenfold (measured), hence the margin.
      assert.ok(performance.now() - t0 < 5000, `took ${performance.now() - t0} ms`);
    });
  });

  test('a full queue and too many streams: 429 with Retry-After', async () => {
    await withServer({ limits: { maxConcurrentStreams: 1 } }, async (s) => {
      s.engine.tokenDelayMs = 10;
      const first = fetch(`${s.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(completion({ max_tokens: 30, stream: true })),
      });
      const res = await first;
      const second = await s.post('/v1/completions', completion({ stream: true }));
      assertRefused(second, 429, null, 'rate_limit_exceeded');
      assert.equal(second.headers.get('retry-after'), '1');
      assert.equal(
        (await s.post('/v1/completions', completion({}))).status,
        200,
        'non-streamed requests are not streams',
      );
      await res.text();
      await new Promise((r) => setTimeout(r, 20));
      assert.equal((await s.post('/v1/completions', completion({ stream: true }))).status, 200, 'the slot is back');

      s.engine.submitError = new Overloaded();
      const full = await s.post('/v1/chat/completions', chat({}));
      assertRefused(full, 429, null, 'rate_limit_exceeded');
      assert.equal(full.headers.get('retry-after'), '1');
    });
  });

  test('per-request deadline: 408 when collected, a final error event when streamed; the engine request is cancelled', async () => {
    await withServer({ limits: { requestTimeoutMs: 150 } }, async (s) => {
      s.engine.tokenDelayMs = 20;
      const collected = await s.post('/v1/completions', completion({ max_tokens: 200 }));
      assertRefused(collected, 408, null, 'request_timeout');
      assert.equal(collected.json.error.type, 'timeout_error');
      const streamed = await s.post('/v1/chat/completions', chat({ max_tokens: 200, stream: true, n: 2 }));
      assert.equal(streamed.status, 200);
      const data = streamed.json as any[];
      assert.equal(data.at(-1), '[DONE]');
      assert.equal(data.at(-2).error.code, 'request_timeout');
      assert.ok(
        data.some((d) => d.choices?.[0]?.delta?.content),
        'tokens arrived before the deadline',
      );
      const ids = s.engine.requests.slice(-3).map((r) => r.id);
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(
        ids.every((id) => s.engine.abortedIds.includes(id)),
        'all three engine requests were cancelled',
      );
      s.engine.tokenDelayMs = 0;
      assert.equal((await s.post('/v1/completions', completion({}))).status, 200, 'fast requests beat the deadline');
    });
  });
});

test('a streaming client that stops reading is dropped after the stall timeout; its slot and engine requests are freed', async () => {
  const lifecycle = new ServerLifecycle();
  await withServer(
    { lifecycle, maxModelLen: 1_000_000, limits: { streamStallTimeoutMs: 300, maxConcurrentStreams: 1 } },
    async (s) => {
      const { hostname, port } = new URL(s.url);
      const body = JSON.stringify(chat({ max_tokens: 200_000, n: 16, stream: true, logprobs: true, top_logprobs: 20 }));
      const socket = connect(Number(port), hostname, () => {
        socket.write(
          `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
        socket.pause(); // never reads: the server's writes back up once the socket buffers are full
      });
      socket.on('error', () => {});
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      try {
        await waitFor(() => lifecycle.numInFlight === 1, 'the stream started');
        await waitFor(() => lifecycle.numInFlight === 0, 'the stalled stream was dropped', 15_000);
        const ids = s.engine.requests.slice(-16).map((r) => r.id);
        await waitFor(() => s.engine.stats().numRunning === 0, 'every choice was cancelled');
        assert.ok(ids.every((id) => !s.engine.finishedIds.includes(id)));
        socket.resume(); // a paused socket only sees the server's close once it reads up to it
        await closed;
        assert.equal(
          (await s.post('/v1/completions', completion({ stream: true }))).status,
          200,
          'the stream slot is free again',
        );
      } finally {
        socket.destroy();
      }
    },
  );
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('connection timeouts', () => {
  /** Opens a raw connection, writes `text`, and resolves with what the server sent and when it closed. */
  function rawExchange(url: string, text: string): Promise<{ response: string; closedAfterMs: number }> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      let response = '';
      const socket = connect(Number(port), hostname, () => socket.write(text));
      socket.on('data', (d) => {
        response += d.toString();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve({ response, closedAfterMs: performance.now() - t0 }));
      setTimeout(() => {
        socket.destroy();
        reject(new Error('server kept a slow client connected'));
      }, 5000).unref();
    });
  }

  test('a client that never finishes its headers, or its body, is answered 408 and disconnected', async () => {
    await withServer({ timeouts: { headersTimeoutMs: 300, requestBodyTimeoutMs: 600 } }, async (s) => {
      const headers = await rawExchange(s.url, 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: app');
      assert.match(headers.response, /^HTTP\/1\.1 408/);
      assert.ok(headers.closedAfterMs < 2000, `${headers.closedAfterMs} ms`);
      const body = await rawExchange(
        s.url,
        'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"pro',
      );
      assert.ok(body.closedAfterMs < 3000, `${body.closedAfterMs} ms`);
      assert.ok(!body.response.startsWith('HTTP/1.1 200'));
      assert.equal((await s.post('/v1/completions', completion({}))).status, 200);
    });
  });
});
