// Fuzzing a live server on the fixture model: 1,200 generated malformed (and some valid) requests — wrong types,
// huge and negative numbers, deep and huge JSON, invalid UTF-8, unknown fields, bad token ids, empty and oversized
// prompts, bad auth, wrong methods, and streaming clients that stop reading or vanish. The server must answer
// every one without a 5xx (nor a server_error event inside a stream), log no server fault, stay up, and end with
// nothing running and no cache block in use. Deterministic (seeded) and bounded in time.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { MODEL_NAME, startHardenedServer, waitFor, type HardenedServer } from './helpers/hardening-server.js';

const KEY = 'fuzz-key';
const NUM_CASES = 1200;
const CONCURRENCY = 24;
const SEED = 20240611;
const BODY_LIMIT = 256 * 1024;
const VOCAB = 1024;
const REQUEST_TIMEOUT_MS = 15_000;

/** mulberry32: small, seeded, good enough to pick cases. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Body = string | Uint8Array | null;

interface Case {
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Body;
  /** A streaming client that reads `readChunks` chunks, then stops reading; destroyed after `holdMs`. */
  readonly brokenReader?: { readonly readChunks: number; readonly holdMs: number };
}

const NASTY_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  -0,
  1.5,
  -1e308,
  1e308,
  2 ** 53 + 1,
  -(2 ** 63),
  1e21,
  '',
  ' ',
  '0',
  '-1',
  'NaN',
  'Infinity',
  [],
  [[]],
  {},
  { a: 1 },
  [1, 'a', null],
  'x'.repeat(5000),
  '\u0000\u0001\u001f',
  '\ud800',
  '\udfff\ud800',
  '💥'.repeat(100),
  '<｜begin▁of▁sentence｜>',
  '{{ raise_exception("x") }}',
  '{% for x in range(99999999) %}x{% endfor %}',
];

const NUMERIC_FIELDS = [
  'max_tokens',
  'max_completion_tokens',
  'n',
  'temperature',
  'top_p',
  'top_k',
  'min_p',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'repetition_penalty',
  'logprobs',
  'top_logprobs',
  'prompt_logprobs',
];
const HUGE_NUMBERS = [-1, -(2 ** 31), 2 ** 31, 2 ** 53, 1e300, -1e300, 0, 1e-320, 17, 21, 100_000, 4096, -0.5, 99.999];

function makeCases(count: number): Case[] {
  const random = rng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const anything = fc
    .sample(fc.anything({ maxDepth: 3, withBigInt: false }), { seed: SEED, numRuns: 400 })
    .filter((v) => {
      try {
        JSON.stringify(v);
        return true;
      } catch {
        return false;
      }
    });
  const strings = fc.sample(fc.string({ unit: 'binary', maxLength: 200 }), { seed: SEED + 1, numRuns: 200 });
  const auth = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };

  const validChat = (): Record<string, unknown> => ({
    model: pick([MODEL_NAME, undefined, null]),
    messages: [
      { role: pick(['user', 'system']), content: pick(strings) || 'hi' },
      { role: 'user', content: pick(['Hello', 'Tell me a story', strings[int(0, 199)]!]) },
    ],
    max_tokens: int(1, 8),
    temperature: pick([0, 0.7, 1.3, undefined]),
    ...(random() < 0.3 && { n: int(1, 4) }),
    ...(random() < 0.3 && { stop: pick([['.', 'a'], 'the', ['\n']]) }),
    ...(random() < 0.3 && { logprobs: true, top_logprobs: int(0, 20) }),
    ...(random() < 0.2 && { logit_bias: { [String(int(0, VOCAB - 1))]: int(-100, 100) } }),
    ...(random() < 0.4 && { stream: true, stream_options: { include_usage: random() < 0.5 } }),
    ...(random() < 0.2 && { seed: int(0, 1e6) }),
  });
  const validCompletion = (): Record<string, unknown> => ({
    model: MODEL_NAME,
    prompt: pick<unknown>([
      'Once upon a time',
      [0, 5, 9, 14],
      [
        [3, 4],
        [5, 6, 7],
      ],
      ['a', 'b'],
      pick(strings) || 'x',
    ]),
    max_tokens: int(1, 8),
    ...(random() < 0.3 && { echo: true }),
    ...(random() < 0.3 && { logprobs: int(0, 5) }),
    ...(random() < 0.3 && { n: int(1, 3) }),
    ...(random() < 0.2 && { prompt_logprobs: int(0, 3) }),
    ...(random() < 0.4 && { stream: true }),
    ...(random() < 0.3 && { ignore_eos: true }),
  });
  const json = (path: string, body: unknown, headers: Record<string, string> = auth): Case => ({
    kind: '',
    method: 'POST',
    path,
    headers,
    body: JSON.stringify(body) ?? 'null',
  });
  const deep = (depth: number, open: string, close: string, inner = '1'): string =>
    open.repeat(depth) + inner + close.repeat(depth);

  const generators: [string, () => Case][] = [
    ['valid chat', () => json('/v1/chat/completions', validChat())],
    ['valid completion', () => json('/v1/completions', validCompletion())],
    [
      'wrong type',
      () => {
        const base = random() < 0.5 ? validChat() : validCompletion();
        const field = pick([
          ...Object.keys(base),
          'messages',
          'prompt',
          'stream_options',
          'stop',
          'logit_bias',
          'user',
          'suffix',
          'echo',
          'ignore_eos',
        ]);
        base[field] = random() < 0.5 ? pick(NASTY_VALUES) : pick(anything);
        return json('messages' in base ? '/v1/chat/completions' : '/v1/completions', base);
      },
    ],
    [
      'huge or negative number',
      () => {
        const base = random() < 0.5 ? validChat() : validCompletion();
        base[pick(NUMERIC_FIELDS)] = pick(HUGE_NUMBERS);
        return json('messages' in base ? '/v1/chat/completions' : '/v1/completions', base);
      },
    ],
    [
      'wrong message shape',
      () =>
        json('/v1/chat/completions', {
          model: MODEL_NAME,
          max_tokens: 2,
          messages: pick<unknown>([
            [],
            [{}],
            [{ role: 'user' }],
            [{ role: 'tool', content: 'x' }],
            [{ role: 'user', content: [{ type: 'image_url', image_url: 'x' }] }],
            [{ role: 'user', content: [{ type: 'text', text: 5 }] }],
            [{ role: 'assistant', content: null }],
            pick(anything),
            Array(300).fill({ role: 'user', content: 'hi' }),
          ]),
        }),
    ],
    [
      'deep JSON',
      () => {
        const depth = pick([64, 1000, 20_000, 100_000]);
        const where = pick(['prompt', 'content', 'body', 'logit_bias']);
        const body =
          where === 'prompt'
            ? `{"model":"${MODEL_NAME}","prompt":${deep(depth, '[', ']')},"max_tokens":2}`
            : where === 'content'
              ? `{"messages":[{"role":"user","content":${deep(depth, '[', ']', '{"type":"text","text":"x"}')}}]}`
              : where === 'logit_bias'
                ? `{"messages":[{"role":"user","content":"x"}],"logit_bias":${deep(depth, '{"1":', '}')}}`
                : deep(depth, '{"a":', '}');
        return {
          kind: '',
          method: 'POST',
          path: pick(['/v1/completions', '/v1/chat/completions', '/tokenize']),
          headers: auth,
          body,
        };
      },
    ],
    [
      'huge JSON',
      () => {
        const size = pick([BODY_LIMIT - 1000, BODY_LIMIT + 1, 2 * BODY_LIMIT, 4 * BODY_LIMIT]);
        const shape = pick(['ids', 'text', 'keys', 'stops', 'whitespace']);
        const body =
          shape === 'ids'
            ? JSON.stringify({
                model: MODEL_NAME,
                prompt: Array.from({ length: Math.floor(size / 2) }, () => 7),
                max_tokens: 1,
              })
            : shape === 'text'
              ? JSON.stringify({ model: MODEL_NAME, prompt: 'lorem ipsum '.repeat(size / 12), max_tokens: 1 })
              : shape === 'whitespace'
                ? JSON.stringify({ messages: [{ role: 'user', content: ' '.repeat(size) }] })
                : shape === 'keys'
                  ? JSON.stringify({
                      messages: [{ role: 'user', content: 'x' }],
                      logit_bias: Object.fromEntries(
                        Array.from({ length: size / 12 }, (_, i) => [String(i % VOCAB), 1]),
                      ),
                    })
                  : JSON.stringify({
                      messages: [{ role: 'user', content: 'x' }],
                      stop: Array.from({ length: size / 8 }, () => 'stop'),
                    });
        return {
          kind: '',
          method: 'POST',
          path: shape === 'ids' || shape === 'text' ? '/v1/completions' : '/v1/chat/completions',
          headers: auth,
          body,
        };
      },
    ],
    [
      'invalid UTF-8',
      () => {
        const good = Buffer.from(JSON.stringify(random() < 0.5 ? validCompletion() : validChat()));
        const bad = pick([
          [0xff],
          [0xc0, 0xaf],
          [0xed, 0xa0, 0x80],
          [0xf4, 0x90, 0x80, 0x80],
          [0xe2, 0x82],
          [0x80, 0x80, 0x80],
        ]);
        const at = good.indexOf('"', good.length / 2);
        const body =
          random() < 0.5
            ? Buffer.concat([good.subarray(0, at + 1), Buffer.from(bad), good.subarray(at + 1)])
            : Buffer.from([...bad, ...good]);
        return {
          kind: '',
          method: 'POST',
          path: good.includes('messages') ? '/v1/chat/completions' : '/v1/completions',
          headers: auth,
          body: new Uint8Array(body),
        };
      },
    ],
    [
      'escaped lone surrogates',
      () => ({
        kind: '',
        method: 'POST',
        path: pick(['/v1/completions', '/tokenize']),
        headers: auth,
        body: `{"model":"${MODEL_NAME}","prompt":"a\\ud800b\\udfff\\udbff\\u0000c","max_tokens":2,"stop":["\\ud800"]}`,
      }),
    ],
    [
      'unknown fields',
      () => {
        const base = random() < 0.5 ? validChat() : validCompletion();
        for (let i = 0; i < int(1, 5); i++)
          base[
            pick([
              'functions',
              'tools',
              'response_format',
              '__proto__',
              'constructor',
              'x'.repeat(int(1, 300)),
              pick(strings),
            ])
          ] = pick(anything);
        return json('messages' in base ? '/v1/chat/completions' : '/v1/completions', base);
      },
    ],
    [
      'bad token ids',
      () => {
        const ids = pick<unknown>([
          [-1],
          [VOCAB],
          [VOCAB + 1],
          [2 ** 31],
          [1.5],
          ['5'],
          [null],
          [0, 1e20],
          [NaN],
          [[-3]],
          Array(10).fill(VOCAB - 1),
        ]);
        const route = pick(['/v1/completions', '/detokenize', 'logit_bias']);
        if (route === '/detokenize') return json(route, { model: MODEL_NAME, tokens: ids });
        if (route === 'logit_bias')
          return json('/v1/completions', {
            model: MODEL_NAME,
            prompt: 'x',
            max_tokens: 2,
            logit_bias: { [String((ids as unknown[])[0])]: 5 },
          });
        return json(route, { model: MODEL_NAME, prompt: ids, max_tokens: 2 });
      },
    ],
    [
      'empty or oversized prompt',
      () =>
        pick([
          json('/v1/completions', { model: MODEL_NAME, prompt: '' }),
          json('/v1/completions', { model: MODEL_NAME, prompt: [] }),
          json('/v1/completions', { model: MODEL_NAME, prompt: [[]] }),
          json('/v1/chat/completions', { messages: [{ role: 'user', content: '' }], max_tokens: 2 }),
          json('/v1/completions', { model: MODEL_NAME, prompt: Array(200).fill(9), max_tokens: 2 }),
          json('/v1/completions', { model: MODEL_NAME, prompt: 'word '.repeat(int(100, 5000)) }),
          json('/v1/chat/completions', { messages: [{ role: 'user', content: 'word '.repeat(int(100, 5000)) }] }),
          json('/tokenize', { model: MODEL_NAME, prompt: 'word '.repeat(int(100, 50_000)) }),
          json('/v1/completions', { model: MODEL_NAME, prompt: 'fits', max_tokens: 95 }),
        ]),
    ],
    [
      'malformed HTTP',
      () =>
        pick<Case>([
          { kind: '', method: 'POST', path: '/v1/completions', headers: auth, body: '{"prompt": "x", "max_tokens": 2' },
          { kind: '', method: 'POST', path: '/v1/completions', headers: auth, body: '' },
          { kind: '', method: 'POST', path: '/v1/completions', headers: auth, body: null },
          {
            kind: '',
            method: 'POST',
            path: '/v1/chat/completions',
            headers: { ...auth, 'content-type': 'text/plain' },
            body: 'hello',
          },
          { kind: '', method: 'GET', path: '/v1/completions', headers: auth, body: null },
          { kind: '', method: 'PUT', path: '/v1/chat/completions', headers: auth, body: '{}' },
          { kind: '', method: 'DELETE', path: '/health', headers: {}, body: null },
          { kind: '', method: 'POST', path: '/v1/models', headers: auth, body: '{}' },
          {
            kind: '',
            method: 'GET',
            path: `/v1/models/${encodeURIComponent(pick(strings))}`,
            headers: auth,
            body: null,
          },
          { kind: '', method: 'GET', path: '/v1/../../etc/passwd', headers: auth, body: null },
          {
            kind: '',
            method: 'POST',
            path: '/v1/completions',
            headers: { 'content-type': 'application/json' },
            body: '{"prompt":"x"}',
          },
          {
            kind: '',
            method: 'POST',
            path: '/v1/completions',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}x` },
            body: '{"prompt":"x"}',
          },
          { kind: '', method: 'POST', path: '/tokenize', headers: auth, body: JSON.stringify(pick(anything)) },
          { kind: '', method: 'POST', path: '/detokenize', headers: auth, body: JSON.stringify(pick(anything)) },
          { kind: '', method: 'GET', path: '/metrics', headers: {}, body: null },
          { kind: '', method: 'GET', path: '/health', headers: {}, body: null },
        ]),
    ],
    [
      'random JSON body',
      () => json(pick(['/v1/completions', '/v1/chat/completions', '/tokenize', '/detokenize']), pick(anything)),
    ],
    [
      'broken SSE reader',
      () => {
        const body =
          random() < 0.5
            ? { ...validChat(), stream: true, max_tokens: int(4, 16), n: int(1, 16), logprobs: true, top_logprobs: 20 }
            : { ...validCompletion(), stream: true, max_tokens: int(4, 16), n: int(1, 8), ignore_eos: true };
        return {
          ...json('messages' in body ? '/v1/chat/completions' : '/v1/completions', body),
          brokenReader: { readChunks: int(0, 3), holdMs: int(0, 300) },
        };
      },
    ],
  ];
  return Array.from({ length: count }, (_, i) => {
    const [kind, make] = generators[i % generators.length]!;
    return { ...make(), kind };
  });
}

interface Result {
  readonly status: number;
  /** SSE error events of type server_error (a 500 hidden inside a 200 stream). */
  readonly streamServerErrors: number;
}

async function send(url: string, c: Case): Promise<Result> {
  const res = await fetch(url + c.path, {
    method: c.method,
    headers: c.headers,
    ...(c.body === null || c.method === 'GET' ? {} : { body: c.body }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  const streamServerErrors = res.headers.get('content-type')?.startsWith('text/event-stream')
    ? text
        .split('\n\n')
        .filter(
          (e) => e.startsWith('data: {"error"') && (e.includes('"server_error"') || e.includes('"timeout_error"')),
        ).length
    : 0;
  return { status: res.status, streamServerErrors };
}

/** A streaming client that stops reading after a few chunks, keeps the connection open a while, then vanishes. */
function sendBroken(url: string, c: Case): Promise<Result> {
  const { hostname, port } = new URL(url);
  const { readChunks, holdMs } = c.brokenReader!;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: hostname, port: Number(port), method: c.method, path: c.path, headers: c.headers },
      (res) => {
        let chunks = 0;
        const status = res.statusCode ?? 0;
        const stop = (): void => {
          res.pause();
          setTimeout(() => {
            req.destroy();
            resolve({ status, streamServerErrors: 0 });
          }, holdMs);
        };
        if (readChunks === 0) stop();
        else
          res.on('data', () => {
            if (++chunks === readChunks) stop();
          });
        res.on('end', () => resolve({ status, streamServerErrors: 0 }));
      },
    );
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end(c.body ?? undefined);
  });
}

describe('fuzzing a live server', () => {
  let s: HardenedServer;
  before(async () => {
    s = await startHardenedServer({
      engine: { maxModelLen: 96, maxNumSeqs: 16, maxWaiting: 48 },
      server: {
        apiKeys: [KEY],
        limits: { maxBodyBytes: BODY_LIMIT, maxCompletionTokens: 16, requestTimeoutMs: 10_000 },
      },
      timeouts: { headersTimeoutMs: 2000 },
    });
  });
  after(async () => {
    await s.close();
  });

  // No timing assertion (the machine is shared): each request has its own timeout and the whole run a generous one.
  it(`${NUM_CASES} generated requests: no 5xx, no crash, no server fault logged, nothing left running`, {
    timeout: 300_000,
  }, async (t) => {
    const cases = makeCases(NUM_CASES);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < cases.length) {
          const c = cases[next++]!;
          try {
            const r = c.brokenReader === undefined ? await send(s.url, c) : await sendBroken(s.url, c);
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            if (r.status >= 500 || r.status === 0 || r.streamServerErrors > 0)
              failures.push(`${c.kind}: ${c.method} ${c.path} → ${r.status} (${r.streamServerErrors} stream errors)`);
          } catch (err) {
            failures.push(
              `${c.kind}: ${c.method} ${c.path} → ${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`,
            );
          }
        }
      }),
    );
    const elapsedMs = performance.now() - t0;
    const summary = JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])));
    t.diagnostic(`statuses ${summary} in ${Math.round(elapsedMs)} ms`);
    assert.deepEqual(failures.slice(0, 20), [], `failures (of ${failures.length}); statuses ${summary}`);
    assert.equal(
      [...statuses.values()].reduce((a, b) => a + b, 0),
      NUM_CASES,
    );
    assert.ok((statuses.get(200) ?? 0) > 100, `some requests were valid and served: ${summary}`);
    for (const expected of [400, 401, 404, 413])
      assert.ok((statuses.get(expected) ?? 0) > 0, `no ${expected} in ${summary}`);

    // Broken readers are gone; everything they started must be cancelled or finished, every block freed.
    await waitFor(
      () => {
        const st = s.engine.stats();
        return st.numRunning === 0 && st.numWaiting === 0 && s.lifecycle.numInFlight === 0;
      },
      15_000,
      'engine idle and no request in flight',
    );
    assert.equal(s.engine.stats().cacheBlocksUsed, 0, 'no cache block in use');
    const faults = s.logs.filter((l) => (l['level'] as number) >= 50);
    assert.deepEqual(faults.slice(0, 3), [], 'no server fault was logged');
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
    const ok = await s.post(
      '/v1/completions',
      { model: MODEL_NAME, prompt: 'still alive', max_tokens: 4 },
      { authorization: `Bearer ${KEY}` },
    );
    assert.equal(ok.status, 200, ok.text);
  });
});
