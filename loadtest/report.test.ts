// report.md and the SVG charts from a hand-made result: tables carry the numbers, charts are well-formed SVG
// with one line per series.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cdfPoints, charts } from './charts-svg.js';
import { computeMetrics, type MeasuredRequest } from './metrics.js';
import { reportMarkdown } from './report-md.js';
import { textSummary } from './report-text.js';
import type { BenchResults, RunWithDetail } from './results.js';
import { logTicks, niceTicks } from './svg.js';

function run(label: string, concurrency: number, ttftMs: number): RunWithDetail {
  const reqs: MeasuredRequest[] = [1, 2, 3].map((k) => ({
    success: true,
    ttftMs: ttftMs * k,
    itlMs: [10, 20 * k],
    latencyMs: ttftMs * k + 40,
    promptTokens: 8,
    outputTokens: 3,
  }));
  const metrics = computeMetrics(reqs, 2, { percentiles: [90, 99], goodput: null });
  return {
    result: {
      label,
      model_id: 'm',
      endpoint: '/v1/completions',
      num_prompts: 3,
      request_rate: 'inf',
      burstiness: 1,
      max_concurrency: concurrency,
      cancelled: 0,
      not_sent: 0,
      error_counts: {},
      ...metrics,
    },
    detail: {
      input_lens: [8, 8, 8],
      output_lens: [3, 3, 3],
      ttfts: reqs.map((r) => r.ttftMs / 1000),
      itls: reqs.map((r) => r.itlMs.map((x) => x / 1000)),
      errors: ['', '', ''],
    },
  };
}

const runs = [run('float32', 1, 100), run('float32', 4, 300), run('int8', 1, 80), run('int8', 4, 200)];
const results: BenchResults = {
  tool: 'test',
  date: '2025-01-01T00:00:00.000Z',
  settings: {
    base_url: 'http://127.0.0.1:1',
    backend: 'openai',
    dataset: 'random',
    input_len: 8,
    output_len: 3,
    seed: 0,
    goodput: null,
    percentiles: [90, 99],
    ignore_eos: true,
    token_counts: 'usage',
    max_duration_s: null,
    sampling: { temperature: 0.7, topP: 0.95, topK: null, minP: null },
  },
  runs: runs.map((r) => r.result),
  http: [],
  notes: ['a note'],
};

describe('report.md', () => {
  it('has a summary row per run and a latency table per metric', () => {
    const md = reportMarkdown(results, charts(runs, [90, 99]));
    assert.match(md, /\| float32 \| 1 \| 3 \| 0 \| 2\.00 \| 1\.50 \| 4\.5 \| 16\.5 \| 200\.0 \|/);
    assert.match(md, /\| int8 \| 4 \|/);
    assert.ok(md.includes('- sampling: temperature 0.7, top_p 0.95\n'), 'the sampling settings are stated');
    for (const h of [
      '### TTFT',
      '### TPOT',
      '### ITL',
      '### E2EL',
      '## Notes',
      '![Throughput versus concurrency](throughput.svg)',
    ])
      assert.ok(md.includes(h), h);
  });
});

describe('terminal summary', () => {
  it("prints vLLM's result block", () => {
    const text = textSummary(runs[0]!.result, [90, 99]);
    assert.match(text, /Serving Benchmark Result: float32/);
    assert.match(text, /Successful requests:\s+3\n/);
    assert.match(text, /Request throughput \(req\/s\):\s+1\.50\n/);
    assert.match(text, /Median TTFT \(ms\):\s+200\.00\n/);
    assert.match(text, /P99 ITL \(ms\):/);
  });
});

describe('charts', () => {
  const files = charts(runs, [90, 99]);
  it('draws throughput, latency and distribution charts as SVG', () => {
    assert.deepEqual(
      files.map((f) => f.file),
      ['throughput.svg', 'latency.svg', 'distribution.svg'],
    );
    for (const f of files) {
      assert.match(f.svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assert.ok(f.svg.trimEnd().endsWith('</svg>'));
      assert.ok(!f.svg.includes('NaN'), `${f.file} has NaN coordinates`);
    }
    const lines = (svg: string): number => (svg.match(/<polyline/g) ?? []).length;
    assert.equal(lines(files[0]!.svg), 2 * 2); // 2 panels × 2 labels
    assert.equal(lines(files[1]!.svg), 4 * 2 * 3); // 4 metrics × 2 labels × (median, p90, p99)
    assert.equal(lines(files[2]!.svg), 2 * 4); // TTFT and ITL × 4 runs
  });

  it('CDF points run from the minimum at 0 to the maximum at 1', () => {
    assert.deepEqual(cdfPoints([3, 1, 2]), [
      [1, 0],
      [2, 0.5],
      [3, 1],
    ]);
    assert.deepEqual(cdfPoints([]), []);
  });

  it('ticks cover the data', () => {
    assert.deepEqual(niceTicks(0, 9.5), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(logTicks(3, 40), [2, 5, 10, 20, 50]);
    assert.deepEqual(logTicks(3, 40_000), [1, 10, 100, 1000, 10_000, 100_000]);
  });
});
