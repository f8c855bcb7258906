import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runHttpBench } from './http-bench.js';

describe('runHttpBench (autocannon)', () => {
  const seen: { method: string; url: string; body: string }[] = [];
  // Keeps the first requests of each kind (the POSTs come after many GETs).
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => {
      body += b.toString();
    });
    req.on('end', () => {
      if (seen.filter((x) => x.method === req.method).length < 5)
        seen.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  let url = '';
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('reports requests/s and latency percentiles for /health and a 1-token completion', async () => {
    const results = await runHttpBench({
      target: { baseUrl: url, model: 'm', endpoint: 'completions', apiKey: null },
      label: 'x',
      connections: 2,
      durationS: 1,
    });
    assert.deepEqual(
      results.map((r) => r.name),
      ['health', '1-token completion'],
    );
    for (const r of results) {
      assert.ok(r.requests > 10 && r.requests_per_s > 10, `${r.name}: ${r.requests} requests`);
      assert.ok(r.latency_p50_ms <= r.latency_p99_ms && r.latency_p99_ms <= r.latency_max_ms);
      assert.equal(r.non_2xx, 0);
      assert.equal(r.errors, 0);
    }
    const post = seen.find((s) => s.method === 'POST')!;
    assert.equal(post.url, '/v1/completions');
    assert.deepEqual(JSON.parse(post.body), { model: 'm', prompt: 'Hi', max_tokens: 1, temperature: 0 });
  });
});
