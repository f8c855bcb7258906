// Graceful shutdown of the real `latentserve serve` process: SIGTERM stops new work (503 + Retry-After, /health
// 503) while running streams finish, then the process exits 0; past --drain-timeout (or on a second signal) the
// remaining streams end with a final error event instead of a dropped connection. Also: JSON logs, bad
// hardening flags exit 2, and a request-limit flag reaches the request schema.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT, fixtureDir, tempCacheDir } from './helpers/fixtures.js';
import { sseEvents } from './helpers/hardening-server.js';

const BIN = join(REPO_ROOT, 'bin', 'latentserve.js');
const KEY = 'test-key';

interface Served {
  readonly url: string;
  readonly proc: ChildProcessByStdio<null, Readable, Readable>;
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

describe('graceful shutdown of latentserve serve', () => {
  const cacheDir = tempCacheDir();
  after(() => rmSync(cacheDir, { recursive: true, force: true }));

  async function serve(extra: string[]): Promise<Served> {
    const proc = spawn(
      process.execPath,
      [BIN, 'serve', '--model', fixtureDir('deepseek-v3-tiny-b'), '--port', '0', '--api-key', KEY, ...extra],
      {
        env: { ...process.env, LATENTSERVE_CACHE_DIR: cacheDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const logs: Record<string, unknown>[] = [];
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      proc.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
          buffered = buffered.slice(nl + 1);
          logs.push(line);
          if (typeof line['url'] === 'string' && logs.length > 0 && line['model'] !== undefined) resolve(line['url']);
        }
      });
      void exited.then((code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
    });
    return { url, proc, logs, exited };
  }

  /** Starts a stream and resolves once its first token arrived, with a promise of the whole body. */
  async function startStream(url: string, maxTokens: number): Promise<{ rest: Promise<string> }> {
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: maxTokens, n: 2, ignore_eos: true, stream: true }),
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('"text"')) text += decoder.decode((await reader.read()).value, { stream: true });
    // Wrapped: an async function returning a bare promise would wait for it.
    return {
      rest: (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return text;
          text += decoder.decode(value, { stream: true });
        }
      })(),
    };
  }

  it('SIGTERM: new requests 503 with Retry-After, /health 503, the running stream finishes, exit 0', async () => {
    const s = await serve(['--drain-timeout', '60']);
    const { rest: body } = await startStream(s.url, 400);
    s.proc.kill('SIGTERM');
    let health = await fetch(`${s.url}/health`);
    for (let i = 0; i < 100 && health.status === 200; i++) {
      await new Promise((r) => setTimeout(r, 5));
      health = await fetch(`${s.url}/health`);
    }
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), { status: 'draining' });
    const refused = await fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ prompt: 'x', max_tokens: 2 }),
    });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(((await refused.json()) as { error: { type: string } }).error.type, 'service_unavailable');

    const events = sseEvents(await body);
    assert.equal(events.at(-1), '[DONE]');
    const finishes = events.filter(
      (e) => (e as { choices?: { finish_reason: string | null }[] }).choices?.[0]?.finish_reason === 'length',
    );
    assert.equal(finishes.length, 2, 'both choices ran to max_tokens');
    assert.equal(await s.exited, 0);
    assert.ok(s.logs.some((l) => l['msg'] === 'latentserve: stopped' && l['drained'] === true));
    assert.ok(
      s.logs.some((l) => l['msg'] === 'request' && l['status'] === 503 && typeof l['reqId'] === 'string'),
      'access lines are JSON',
    );
  });

  it('past --drain-timeout the remaining stream ends with a final error event, and the process still exits 0', async () => {
    const s = await serve(['--drain-timeout', '0.2']);
    const { rest: body } = await startStream(s.url, 480);
    s.proc.kill('SIGTERM');
    const events = sseEvents(await body);
    assert.equal(events.at(-1), '[DONE]');
    assert.equal((events.at(-2) as { error: { type: string } }).error.type, 'service_unavailable');
    assert.equal(await s.exited, 0);
    assert.ok(s.logs.some((l) => l['msg'] === 'drain timeout: ending the remaining requests'));
  });

  it('a second SIGINT stops waiting for the drain', async () => {
    const s = await serve(['--drain-timeout', '600']);
    const { rest: body } = await startStream(s.url, 480);
    s.proc.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 50));
    s.proc.kill('SIGINT');
    const events = sseEvents(await body);
    assert.equal((events.at(-2) as { error: { type: string } }).error.type, 'service_unavailable');
    assert.equal(await s.exited, 0);
  });

  it("--max-stop-strings 32: 32 stop strings are served, 33 are refused with the limit's message", async () => {
    const s = await serve(['--max-stop-strings', '32']);
    try {
      const post = (stop: string[]) =>
        fetch(`${s.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
          body: JSON.stringify({ prompt: 'x', max_tokens: 2, stop }),
        });
      const stops = (k: number) => Array.from({ length: k }, (_, i) => `stop${i}`);
      const served = await post(stops(32));
      assert.equal(served.status, 200, await served.clone().text());
      const refused = await post(stops(33));
      assert.equal(refused.status, 400);
      const { error } = (await refused.json()) as { error: { param: string; message: string } };
      assert.equal(error.param, 'stop');
      assert.ok(error.message.includes('At most 32 stop strings, got 33.'), error.message);
    } finally {
      s.proc.kill('SIGTERM');
      assert.equal(await s.exited, 0);
    }
  });

  it('bad hardening flags exit 2 with the usage', async () => {
    const run = promisify(execFile);
    for (const flags of [
      ['--max-n', '17'],
      ['--log-level', 'loud'],
      ['--drain-timeout', '-1'],
      ['--max-body-bytes', 'lots'],
    ]) {
      await assert.rejects(
        run(process.execPath, [BIN, 'serve', '--model', fixtureDir('deepseek-v3-tiny-b'), ...flags], {
          env: { ...process.env, LATENTSERVE_CACHE_DIR: cacheDir },
        }),
        (err: { code: number; stderr: string }) => err.code === 2 && err.stderr.includes('usage'),
        flags.join(' '),
      );
    }
  });
});
