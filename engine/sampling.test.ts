import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { argmax, logSoftmax, sampleToken, topK } from './sampling.js';
import { Rng } from '../model/rng.js';

function randomLogits(n: number, seed: number, std = 3): Float32Array {
  const out = new Float32Array(n);
  new Rng(seed, 'logits').fillNormal(out, 0, std);
  return out;
}

/** softmax(logits / temperature) in float64. */
function softmax64(logits: Float32Array, temperature = 1): number[] {
  const max = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp((v - max) / temperature));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

test('logSoftmax sums to 1 in probability space and matches a float64 reference', () => {
  const logits = randomLogits(1000, 1);
  const lp = logSoftmax(logits);
  assert.equal(lp.length, 1000);
  let sum = 0;
  for (const v of lp) sum += Math.exp(v);
  assert.ok(Math.abs(sum - 1) < 1e-5, `sum of probabilities ${sum}`);
  const ref = softmax64(logits).map(Math.log);
  for (let i = 0; i < lp.length; i++) {
    const want = ref[i]!;
    assert.ok(Math.abs(lp[i]! - want) <= 1e-6 * Math.max(1, Math.abs(want)), `token ${i}: ${lp[i]} vs ${want}`);
  }
});

test('logSoftmax is stable for large logits and writes into the given buffer', () => {
  const logits = Float32Array.from([1000, 1001, 999]);
  const out = new Float32Array(3);
  const lp = logSoftmax(logits, out);
  assert.equal(lp, out);
  const ref = softmax64(Float32Array.from([1, 2, 0])).map(Math.log);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(lp[i]! - ref[i]!) < 1e-6, `${lp[i]} vs ${ref[i]}`);
});

test('topK returns the k largest, highest first', () => {
  const v = Float32Array.from([0.1, 0.9, -2, 0.5, 0.7]);
  assert.deepEqual(topK(v, 3).map((t) => t.id), [1, 4, 3]);
  assert.deepEqual(topK(v, 3).map((t) => t.logprob), [v[1], v[4], v[3]]);
  assert.deepEqual(topK(v, 0), []);
  assert.deepEqual(topK(v, 10).map((t) => t.id), [1, 4, 3, 0, 2]);
});

test('topK breaks ties by lower id first, including at the cut-off', () => {
  const v = Float32Array.from([0.5, 0.8, 0.5, 0.8, 0.5, 0.1]);
  assert.deepEqual(topK(v, 3).map((t) => t.id), [1, 3, 0]);
  assert.deepEqual(topK(v, 4).map((t) => t.id), [1, 3, 0, 2]);
  assert.deepEqual(topK(v, 1).map((t) => t.id), [1]);
});

test('property: topK equals a stable sort by (value desc, id asc), truncated to k', () => {
  const valuesArb = fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 1, maxLength: 40 });
  fc.assert(fc.property(valuesArb, fc.integer({ min: 0, max: 45 }), (raw, k) => {
    const v = Float32Array.from(raw, (x) => x / 2);
    const want = Array.from(v, (logprob, id) => ({ id, logprob }))
      .sort((a, b) => b.logprob - a.logprob || a.id - b.id)
      .slice(0, k);
    assert.deepEqual(topK(v, k), want);
  }), { numRuns: 300 });
});

test('argmax returns the first index of the maximum', () => {
  assert.equal(argmax(Float32Array.from([3, 7, 7, 1])), 1);
  assert.equal(argmax(Float32Array.from([-5, -2, -9])), 1);
  assert.equal(argmax(Float32Array.from([4])), 0);
  assert.equal(argmax(Float32Array.from([1, 2, 3, 9])), 3);
});

test('temperature 0 is greedy whatever topP', () => {
  const rng = new Rng(7);
  for (let seed = 0; seed < 20; seed++) {
    const logits = randomLogits(64, seed);
    const want = argmax(logits);
    assert.equal(sampleToken(logits, { temperature: 0, topP: 1 }, rng), want);
    assert.equal(sampleToken(logits, { temperature: 0, topP: 0.3 }, rng), want);
  }
});

test('the same seed gives the same sequence; another seed a different one', () => {
  const logits = randomLogits(32, 3, 1);
  const draw = (seed: number): number[] => {
    const rng = new Rng(seed);
    return Array.from({ length: 100 }, () => sampleToken(logits, { temperature: 1, topP: 0.95 }, rng));
  };
  const a = draw(1234);
  assert.deepEqual(draw(1234), a);
  assert.notDeepEqual(draw(1235), a);
  assert.ok(new Set(a).size > 3, 'draws should not be constant at temperature 1');
});

test('topP restricts sampling to the nucleus', () => {
  // Token 3 holds e^5 / (e^5 + 4) ≈ 97% of the mass: with topP 0.5 it is the whole nucleus.
  const dominant = Float32Array.from([0, 0, 0, 5, 0]);
  const rng = new Rng(11);
  for (let i = 0; i < 200; i++) assert.equal(sampleToken(dominant, { temperature: 1, topP: 0.5 }, rng), 3);

  // Masses 0.5, 0.3, 0.15, 0.05: topP 0.7 keeps {0, 1}, sampled in proportion 5 : 3.
  const logits = Float32Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log));
  const counts = [0, 0, 0, 0];
  const draws = 4000;
  for (let i = 0; i < draws; i++) counts[sampleToken(logits, { temperature: 1, topP: 0.7 }, rng)]!++;
  assert.equal(counts[2], 0);
  assert.equal(counts[3], 0);
  assert.ok(Math.abs(counts[0]! / draws - 0.625) < 0.03, `token 0 frequency ${counts[0]! / draws}`);
});

test('temperature sampling frequencies match softmax(logits / T)', () => {
  const logits = Float32Array.from([1, 2, 3, 0.5, -1]);
  for (const temperature of [0.7, 1.5]) {
    const want = softmax64(logits, temperature);
    const rng = new Rng(2024);
    const counts = new Array<number>(logits.length).fill(0);
    const draws = 20000;
    for (let i = 0; i < draws; i++) counts[sampleToken(logits, { temperature, topP: 1 }, rng)]!++;
    // Binomial std ≤ 0.0036 at 20k draws; 0.015 is over 4σ.
    counts.forEach((c, id) => {
      assert.ok(Math.abs(c / draws - want[id]!) < 0.015, `T=${temperature} token ${id}: ${c / draws} vs ${want[id]}`);
    });
  }
});

test('topP at or near 0 keeps the most likely token (greedy), never nothing', () => {
  const logits = Float32Array.from([0.1, 2, 1.9, -3]);
  const rng = new Rng(5);
  for (let i = 0; i < 50; i++) assert.equal(sampleToken(logits, { temperature: 1, topP: 0 }, rng), 1);
});
