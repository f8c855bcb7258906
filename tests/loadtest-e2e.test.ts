// `latentserve bench serve` and `bench http` end to end against a real latentserve on 127.0.0.1 (a fixture
// checkpoint, in-process): a few dozen short streamed requests, then the three outputs and their fields.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runBench } from '../cli/bench.js';
import { UsageError } from '../cli/options.js';
import { runHttpBench } from '../loadtest/http-bench.js';
import { startModelServer, type ModelServer } from './helpers/server.js';

describe('latentserve bench against a test server', () => {
  let server: ModelServer;
  let out: string;
  before(async () => {
    server = await startModelServer('deepseek-v3-tiny-b');
    out = mkdtempSync(join(tmpdir(), 'loadtest-e2e-'));
  });
  after(async () => {
    await server.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('bench serve sweeps concurrency and writes results.json, report.md and SVG charts', async () => {
    const inputLen = 24;
    const outputLen = 8;
    // The CLI prints vLLM's result block per level on stdout; the test runner shows it as diagnostics.
    await runBench([
      'serve',
      '--base-url',
      server.url,
      '--concurrency',
      '1,4',
      '--num-prompts',
      '8',
      '--input-len',
      String(inputLen),
      '--output-len',
      String(outputLen),
      '--goodput',
      'ttft:60000,tpot:60000',
      '--max-duration',
      '120',
      '--save-detailed',
      '--out',
      out,
    ]);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
      settings: Record<string, unknown>;
      runs: Record<string, unknown>[];
    };
    assert.equal(results.settings['ignore_eos'], true);
    assert.equal(results.settings['token_counts'], 'usage');
    assert.deepEqual(
      results.runs.map((r) => r['max_concurrency']),
      [1, 4],
    );
    for (const run of results.runs) {
      assert.equal(run['model_id'], 'fixture');
      assert.equal(run['completed'], 8);
      assert.equal(run['failed'], 0);
      assert.equal(run['request_rate'], 'inf');
      // Prompts are cut to the exact length through /tokenize; ignore_eos makes every output exactly outputLen.
      assert.equal(run['total_input_tokens'], 8 * inputLen);
      assert.equal(run['total_output_tokens'], 8 * outputLen);
      assert.deepEqual(run['output_lens'], Array(8).fill(outputLen));
      for (const metric of ['ttft', 'tpot', 'itl', 'e2el']) {
        for (const stat of ['mean', 'median', 'std', 'p90', 'p99']) {
          const v = run[`${stat}_${metric}_ms`];
          assert.ok(typeof v === 'number' && Number.isFinite(v) && v >= 0, `${stat}_${metric}_ms = ${String(v)}`);
        }
      }
      const n = (k: string): number => run[k] as number;
      assert.ok(n('mean_ttft_ms') > 0 && n('median_e2el_ms') >= n('median_ttft_ms'));
      assert.ok(n('p99_ttft_ms') >= n('median_ttft_ms'));
      assert.ok(Math.abs(n('request_throughput') - 8 / n('duration')) < 1e-9);
      assert.ok(Math.abs(n('output_throughput') - (8 * outputLen) / n('duration')) < 1e-9);
      assert.ok(Math.abs(n('total_token_throughput') - (8 * (inputLen + outputLen)) / n('duration')) < 1e-9);
      assert.ok(
        Math.abs(n('request_goodput') - n('request_throughput')) < 1e-9,
        'generous SLOs: every request is good',
      );
      assert.equal((run['ttfts'] as number[]).length, 8);
    }

    const report = readFileSync(join(out, 'report.md'), 'utf8');
    assert.match(report, /## Summary/);
    assert.match(report, /\| fixture \| 1 \| 8 \| 0 \|/);
    assert.match(report, /\| fixture \| 4 \| 8 \| 0 \|/);
    for (const svg of ['throughput.svg', 'latency.svg', 'distribution.svg']) {
      assert.ok(report.includes(`](${svg})`), `report links ${svg}`);
      const text = readFileSync(join(out, svg), 'utf8');
      assert.match(text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assert.ok(text.includes('<polyline') && !text.includes('NaN'), svg);
    }
  });

  it('bench serve works on the chat endpoint at a Poisson request rate, sampling at temperature 0.8', async () => {
    const chatOut = join(out, 'chat');
    await runBench([
      'serve',
      '--base-url',
      `${server.url}/v1`,
      '--endpoint',
      'chat',
      '--concurrency',
      '2',
      '--request-rate',
      '20',
      '--num-prompts',
      '4',
      '--input-len',
      '40',
      '--output-len',
      '4',
      '--temperature',
      '0.8',
      '--top-p',
      '0.9',
      '--out',
      chatOut,
    ]);
    const results = JSON.parse(readFileSync(join(chatOut, 'results.json'), 'utf8')) as {
      settings: Record<string, unknown>;
      runs: Record<string, unknown>[];
    };
    assert.equal(results.settings['backend'], 'openai-chat');
    assert.deepEqual(results.settings['sampling'], { temperature: 0.8, topP: 0.9, topK: null, minP: null });
    const run = results.runs[0]!;
    assert.deepEqual([run['completed'], run['failed'], run['request_rate'], run['burstiness']], [4, 0, 20, 1]);
    assert.equal(run['total_input_tokens'], 4 * 40); // the chat template counted in
    assert.equal(run['total_output_tokens'], 4 * 4);
    assert.equal('ttfts' in run, false, 'per-request arrays only with --save-detailed');
    assert.ok(existsSync(join(chatOut, 'distribution.svg')));
  });

  it('bench http measures /health and a 1-token completion with autocannon', async () => {
    const results = await runHttpBench({
      target: { baseUrl: server.url, model: 'fixture', endpoint: 'completions', apiKey: null },
      label: 'fixture',
      connections: 2,
      durationS: 1,
    });
    assert.deepEqual(
      results.map((r) => r.name),
      ['health', '1-token completion'],
    );
    for (const r of results) {
      assert.ok(r.requests > 0 && r.requests_per_s > 0, r.name);
      assert.equal(r.non_2xx, 0, r.name);
      assert.ok(r.latency_p50_ms <= r.latency_p99_ms);
    }
  });

  it('refuses a target that is not loopback unless --allow-remote', async () => {
    await assert.rejects(
      runBench(['serve', '--base-url', 'http://192.0.2.1:8000']),
      (err: Error) => err instanceof UsageError && /--allow-remote/.test(err.message),
    );
    await assert.rejects(runBench(['http', '--base-url', 'http://example.com']), UsageError);
    await assert.rejects(runBench(['serve']), /--base-url/);
    await assert.rejects(
      runBench(['serve', '--base-url', server.url, '--temperature', '3']),
      (err: Error) => err instanceof UsageError && /--temperature must be a number ≥ 0 and ≤ 2/.test(err.message),
    );
    await assert.rejects(runBench(['nonsense']), UsageError);
  });
});
