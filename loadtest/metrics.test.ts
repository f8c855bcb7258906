import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeMetrics, mean, percentile, requestTpotMs, std, type MeasuredRequest } from './metrics.js';

const close = (actual: number | null | undefined, expected: number, eps = 1e-9): void => {
  assert.ok(typeof actual === 'number' && Math.abs(actual - expected) <= eps, `${actual} ≉ ${expected}`);
};

/** A request whose chunks arrive at `chunkTimesMs` (from send) and whose stream ends at `endMs`. */
function timeline(
  chunkTimesMs: number[],
  endMs: number,
  outputTokens = chunkTimesMs.length,
  promptTokens = 10,
): MeasuredRequest {
  return {
    success: true,
    ttftMs: chunkTimesMs[0]!,
    itlMs: chunkTimesMs.slice(1).map((t, i) => t - chunkTimesMs[i]!),
    latencyMs: endMs,
    promptTokens,
    outputTokens,
  };
}

const failed: MeasuredRequest = {
  success: false,
  ttftMs: 0,
  itlMs: [],
  latencyMs: 5,
  promptTokens: 10,
  outputTokens: 0,
};

describe('percentile (numpy linear interpolation)', () => {
  it('matches numpy.percentile on known samples', () => {
    close(percentile([1, 2, 3, 4], 50), 2.5);
    close(percentile([1, 2, 3, 4], 90), 3.7);
    close(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 9.91);
    close(percentile([10, 1, 7], 25), 4); // sorted [1, 7, 10]: rank 0.5 → 1 + 0.5 · 6
    close(percentile([5], 99), 5);
    close(percentile([3, 1], 0), 1);
    close(percentile([3, 1], 100), 3);
  });
  it('is 0 for an empty sample, like vLLM', () => {
    assert.equal(percentile([], 99), 0);
    assert.equal(mean([]), 0);
    assert.equal(std([]), 0);
  });
  it('std is the population standard deviation', () => {
    close(std([2, 4, 4, 4, 5, 5, 7, 9]), 2);
  });
});

describe('computeMetrics on synthetic timelines', () => {
  // A: first chunk at 100 ms, then every 20 ms, 5 tokens, ends at 180 ms → TPOT (180 − 100) / 4 = 20.
  const a = timeline([100, 120, 140, 160, 180], 180);
  // B: first chunk at 300 ms, gaps 50 and 10, ends at 400 ms with 4 tokens (the last chunk carried two).
  const b = timeline([300, 350, 360], 400, 4);
  // C: a single token: no ITL, no TPOT.
  const c = timeline([50], 50, 1);
  const requests = [a, b, c, failed];
  const m = computeMetrics(requests, 2, { percentiles: [90, 99], goodput: null });

  it('counts and throughputs', () => {
    assert.equal(m.completed, 3);
    assert.equal(m.failed, 1);
    assert.equal(m.duration, 2);
    assert.equal(m.total_input_tokens, 30); // failed requests' prompts are not counted
    assert.equal(m.total_output_tokens, 10);
    close(m.request_throughput, 1.5);
    close(m.output_throughput, 5);
    close(m.total_token_throughput, 20);
    assert.equal(m.request_goodput, null);
  });

  it('TTFT over completed requests', () => {
    close(m.mean_ttft_ms, 150);
    close(m.median_ttft_ms, 100);
    close(m.p90_ttft_ms, 260); // [50, 100, 300]: rank 1.8 → 100 + 0.8 · 200
    close(m.p99_ttft_ms, 296);
  });

  it('TPOT per request with more than one token', () => {
    close(requestTpotMs(a)!, 20);
    close(requestTpotMs(b)!, 100 / 3);
    assert.equal(requestTpotMs(c), null);
    close(m.mean_tpot_ms, (20 + 100 / 3) / 2);
    close(m.median_tpot_ms, (20 + 100 / 3) / 2);
    close(m.p99_tpot_ms, 20 + 0.99 * (100 / 3 - 20));
  });

  it('ITL pools every gap of every request', () => {
    // gaps: 20, 20, 20, 20 (A) and 50, 10 (B) → sorted [10, 20, 20, 20, 20, 50]
    close(m.mean_itl_ms, 140 / 6);
    close(m.median_itl_ms, 20);
    close(m.p90_itl_ms, 35); // rank 4.5 → 20 + 0.5 · 30
    close(m.p99_itl_ms, 48.5); // rank 4.95
  });

  it('E2EL over completed requests', () => {
    close(m.mean_e2el_ms, 630 / 3);
    close(m.median_e2el_ms, 180);
    close(m.std_e2el_ms, std([180, 400, 50]));
  });

  it('goodput counts completed requests meeting every SLO', () => {
    const g = (slo: Parameters<typeof computeMetrics>[2]['goodput']): number | null =>
      computeMetrics(requests, 2, { percentiles: [], goodput: slo }).request_goodput;
    close(g({ ttftMs: 100 }), 1); // A and C
    close(g({ tpotMs: 25 }), 1); // A (20) and C (TPOT 0); B is 33.3
    close(g({ ttftMs: 200, e2elMs: 100 }), 0.5); // C only
    close(g({}), 1.5);
  });

  it('reports 0 latencies and no throughput when everything failed', () => {
    const none = computeMetrics([failed, failed], 1, { percentiles: [99], goodput: { ttftMs: 1 } });
    assert.equal(none.completed, 0);
    assert.equal(none.failed, 2);
    assert.equal(none.mean_ttft_ms, 0);
    assert.equal(none.p99_itl_ms, 0);
    assert.equal(none.request_goodput, 0);
  });

  it('spells percentile keys as vLLM does', () => {
    const keys = Object.keys(computeMetrics([a], 1, { percentiles: [99.9, 50], goodput: null }));
    assert.ok(keys.includes('p99.9_ttft_ms'));
    assert.ok(keys.includes('p50_e2el_ms'));
    for (const k of [
      'mean_ttft_ms',
      'median_tpot_ms',
      'std_itl_ms',
      'request_throughput',
      'output_throughput',
      'total_token_throughput',
    ])
      assert.ok(keys.includes(k), k);
  });
});
