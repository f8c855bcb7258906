import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { arrivalOffsetsMs } from './arrivals.js';

function gaps(offsets: number[]): number[] {
  return offsets.slice(1).map((t, i) => t - offsets[i]!);
}

function stats(xs: number[]): { mean: number; cv: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  return { mean, cv: Math.sqrt(variance) / mean };
}

describe('arrivalOffsetsMs', () => {
  it('sends everything at once at an infinite rate', () => {
    assert.deepEqual(arrivalOffsetsMs(4, { requestRate: Infinity, burstiness: 1 }, 0), [0, 0, 0, 0]);
  });

  for (const burstiness of [1, 0.5, 4]) {
    it(`keeps the mean rate and a CV of 1/√burstiness (burstiness ${burstiness})`, () => {
      const rate = 8; // requests per second → mean gap 125 ms
      const offsets = arrivalOffsetsMs(40_001, { requestRate: rate, burstiness }, 7);
      assert.equal(offsets[0], 0);
      const { mean, cv } = stats(gaps(offsets));
      assert.ok(Math.abs(mean - 1000 / rate) / (1000 / rate) < 0.03, `mean gap ${mean} ms`);
      // Gamma(k, θ): coefficient of variation 1/√k; 1 for Poisson.
      assert.ok(Math.abs(cv - 1 / Math.sqrt(burstiness)) < 0.05, `cv ${cv}`);
      const observedRate = (offsets.length - 1) / (offsets.at(-1)! / 1000);
      assert.ok(Math.abs(observedRate - rate) / rate < 0.03, `rate ${observedRate}`);
    });
  }

  it('is non-decreasing and reproducible from the seed', () => {
    const a = arrivalOffsetsMs(500, { requestRate: 3, burstiness: 0.3 }, 42);
    assert.deepEqual(a, arrivalOffsetsMs(500, { requestRate: 3, burstiness: 0.3 }, 42));
    assert.notDeepEqual(a, arrivalOffsetsMs(500, { requestRate: 3, burstiness: 0.3 }, 43));
    for (let i = 1; i < a.length; i++) assert.ok(a[i]! >= a[i - 1]!);
  });

  it('Poisson gaps are exponential: P(gap > mean) ≈ 1/e', () => {
    const g = gaps(arrivalOffsetsMs(20_001, { requestRate: 1, burstiness: 1 }, 3));
    const above = g.filter((x) => x > 1000).length / g.length;
    assert.ok(Math.abs(above - Math.exp(-1)) < 0.02, `P(gap > mean) = ${above}`);
  });

  it('rejects a non-positive rate or burstiness', () => {
    assert.throws(() => arrivalOffsetsMs(2, { requestRate: 0, burstiness: 1 }, 0), RangeError);
    assert.throws(() => arrivalOffsetsMs(2, { requestRate: 1, burstiness: 0 }, 0), RangeError);
  });
});
