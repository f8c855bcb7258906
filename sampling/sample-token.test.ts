import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  SamplingScratch,
  argmax,
  argmaxIfFinite,
  filterTokens,
  logSoftmax,
  sampleToken,
  scaledExp,
  scaledExpBucketed,
  topK,
} from './sample-token.js';
import { Rng } from '../util/rng.js';

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
  assert.deepEqual(
    topK(v, 3).map((t) => t.id),
    [1, 4, 3],
  );
  assert.deepEqual(
    topK(v, 3).map((t) => t.logprob),
    [v[1], v[4], v[3]],
  );
  assert.deepEqual(topK(v, 0), []);
  assert.deepEqual(
    topK(v, 10).map((t) => t.id),
    [1, 4, 3, 0, 2],
  );
});

test('topK breaks ties by lower id first, including at the cut-off', () => {
  const v = Float32Array.from([0.5, 0.8, 0.5, 0.8, 0.5, 0.1]);
  assert.deepEqual(
    topK(v, 3).map((t) => t.id),
    [1, 3, 0],
  );
  assert.deepEqual(
    topK(v, 4).map((t) => t.id),
    [1, 3, 0, 2],
  );
  assert.deepEqual(
    topK(v, 1).map((t) => t.id),
    [1],
  );
});

test('property: topK equals a stable sort by (value desc, id asc), truncated to k', () => {
  const valuesArb = fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 1, maxLength: 40 });
  fc.assert(
    fc.property(valuesArb, fc.integer({ min: 0, max: 45 }), (raw, k) => {
      const v = Float32Array.from(raw, (x) => x / 2);
      const want = Array.from(v, (logprob, id) => ({ id, logprob }))
        .sort((a, b) => b.logprob - a.logprob || a.id - b.id)
        .slice(0, k);
      assert.deepEqual(topK(v, k), want);
    }),
    { numRuns: 300 },
  );
});

test('scaledExp is exp((logit − max) / t) within 1e-6 relative, to the subnormals; −Infinity gives 0', () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ min: -2000, max: 0, noNaN: true }), { minLength: 1, maxLength: 200 }),
      fc.constantFrom(0.01, 0.3, 0.7, 1, 1.7),
      (raw, t) => {
        const logits = Float32Array.from(raw);
        const max = Math.max(...logits);
        const out = new Float64Array(logits.length);
        const sum = scaledExp(logits, max, t, out);
        let want = 0;
        for (let i = 0; i < logits.length; i++) {
          const ref = Math.exp((logits[i]! - max) / t);
          want += ref;
          const got = out[i]!;
          if (ref > 1e-300) assert.ok(Math.abs(got / ref - 1) < 1e-6, `exp ${ref} got ${got}`);
          else assert.ok(got <= 1e-299 && got >= 0, `tiny ${ref} got ${got}`);
        }
        assert.ok(Math.abs(sum / want - 1) < 1e-6);
      },
    ),
  );
  const masked = new Float64Array(4).fill(NaN);
  assert.equal(scaledExp(Float32Array.from([0, -Infinity, -745, -700]), 0, 1, masked), 1 + masked[3]!);
  assert.equal(masked[1], 0);
  assert.ok(masked[2]! >= 0 && masked[2]! <= 5e-324, `${masked[2]}`); // exp(−745): the last subnormal, or 0
  assert.ok(Math.abs(masked[3]! / Math.exp(-700) - 1) < 1e-6);
});

test('argmax returns the first index of the maximum', () => {
  assert.equal(argmax(Float32Array.from([3, 7, 7, 1])), 1);
  assert.equal(argmax(Float32Array.from([-5, -2, -9])), 1);
  assert.equal(argmax(Float32Array.from([4])), 0);
  assert.equal(argmax(Float32Array.from([1, 2, 3, 9])), 3);
});

test('argmaxIfFinite: the first maximum of a finite range (relative to start), −1 when any value is not finite', () => {
  // Few distinct values, so ties fall across the four lanes and the tail.
  const value = fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: -3, max: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity) },
  );
  fc.assert(
    fc.property(fc.array(value, { maxLength: 23 }), fc.nat(), fc.nat(), (xs, a, b) => {
      const values = Float32Array.from(xs);
      const start = xs.length === 0 ? 0 : a % (xs.length + 1);
      const end = start + (xs.length === 0 ? 0 : b % (xs.length - start + 1));
      const range = values.subarray(start, end);
      const want = range.length > 0 && range.every(Number.isFinite) ? argmax(range) : -1;
      assert.equal(argmaxIfFinite(values, start, end), want);
    }),
    { numRuns: 2000 },
  );
  const big = randomLogits(32_003, 5);
  assert.equal(argmaxIfFinite(big), argmax(big));
  big[32_002] = -Infinity; // in the tail past the lanes
  assert.equal(argmaxIfFinite(big), -1);
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

test('topK restricts sampling to the k most likely tokens, in proportion', () => {
  // Masses 0.4, 0.3, 0.2, 0.1: topK 2 keeps {0, 1} in proportion 4 : 3.
  const logits = Float32Array.from([0.3, 0.4, 0.1, 0.2].map(Math.log));
  const rng = new Rng(99);
  const scratch = new SamplingScratch();
  const counts = [0, 0, 0, 0];
  const draws = 8000;
  for (let i = 0; i < draws; i++)
    counts[sampleToken(logits, { temperature: 1, topP: 1, topK: 2, minP: 0 }, rng, scratch)]!++;
  assert.equal(counts[0]! + counts[1]!, draws);
  assert.ok(Math.abs(counts[1]! / draws - 4 / 7) < 0.03, `token 1 frequency ${counts[1]! / draws}`);
  for (let i = 0; i < 50; i++)
    assert.equal(sampleToken(logits, { temperature: 1, topP: 1, topK: 1, minP: 0 }, rng, scratch), 1);
  // k ≥ V is off.
  const all = new Set(
    Array.from({ length: 400 }, () => sampleToken(logits, { temperature: 1, topP: 1, topK: 10, minP: 0 }, rng)),
  );
  assert.equal(all.size, 4);
});

test('topK breaks ties at the cut-off by lower id', () => {
  const logits = Float32Array.from([1, 2, 2, 2, 0]);
  const rng = new Rng(3);
  const seen = new Set(
    Array.from({ length: 300 }, () => sampleToken(logits, { temperature: 1, topP: 1, topK: 2, minP: 0 }, rng)),
  );
  assert.deepEqual([...seen].sort(), [1, 2]);
});

test('minP drops tokens below minP × max probability, then renormalizes', () => {
  // Masses 0.5, 0.3, 0.15, 0.05: minP 0.25 keeps p ≥ 0.125 → {0, 1, 2}, in proportion 10 : 6 : 3.
  const logits = Float32Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log));
  const rng = new Rng(4242);
  const scratch = new SamplingScratch();
  const counts = [0, 0, 0, 0];
  const draws = 12000;
  for (let i = 0; i < draws; i++)
    counts[sampleToken(logits, { temperature: 1, topP: 1, topK: 0, minP: 0.25 }, rng, scratch)]!++;
  assert.equal(counts[3], 0);
  [10 / 19, 6 / 19, 3 / 19].forEach((want, id) => {
    assert.ok(Math.abs(counts[id]! / draws - want) < 0.02, `token ${id}: ${counts[id]! / draws} vs ${want}`);
  });
  // minP 1 keeps only the maximum.
  for (let i = 0; i < 50; i++)
    assert.equal(sampleToken(logits, { temperature: 1, topP: 1, topK: 0, minP: 1 }, rng, scratch), 0);
});

test('minP applies to temperature-scaled probabilities', () => {
  // At T = 0.5 the masses become ∝ 0.25, 0.09, 0.0225: relative 1, 0.36, 0.09; minP 0.2 keeps {0, 1}.
  const logits = Float32Array.from([0.5, 0.3, 0.15].map(Math.log));
  const rng = new Rng(8);
  const seen = new Set(
    Array.from({ length: 500 }, () => sampleToken(logits, { temperature: 0.5, topP: 1, topK: 0, minP: 0.2 }, rng)),
  );
  assert.deepEqual([...seen].sort(), [0, 1]);
});

test('top-k, then min-p, then top-p over what remains', () => {
  // Masses 0.4, 0.25, 0.2, 0.1, 0.05. topK 3 → {0,1,2} with mass 0.85; minP 0.55 (threshold 0.22) → {0,1};
  // topP 0.6 of the remaining 0.65 = 0.39 → {0} alone would be 0.4 ≥ 0.39, so only token 0.
  const logits = Float32Array.from([0.4, 0.25, 0.2, 0.1, 0.05].map(Math.log));
  const rng = new Rng(12);
  for (let i = 0; i < 100; i++)
    assert.equal(sampleToken(logits, { temperature: 1, topP: 0.6, topK: 3, minP: 0.55 }, rng), 0);
  // topP 0.7 of 0.65 = 0.455 → {0, 1}, in proportion 8 : 5.
  const counts = [0, 0, 0, 0, 0];
  const draws = 6000;
  for (let i = 0; i < draws; i++)
    counts[sampleToken(logits, { temperature: 1, topP: 0.7, topK: 3, minP: 0.55 }, rng)]!++;
  assert.equal(counts[0]! + counts[1]!, draws);
  assert.ok(Math.abs(counts[0]! / draws - 8 / 13) < 0.03, `token 0 frequency ${counts[0]! / draws}`);
});

/** The filtered set by brute force: full sort by (logit desc, id asc), then top-k, min-p, top-p. */
function referenceKept(
  logits: Float32Array,
  p: { temperature: number; topP: number; topK: number; minP: number },
): Set<number> {
  const probs = softmax64(logits, p.temperature);
  let order = Array.from(logits, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
  if (p.topK > 0) order = order.slice(0, p.topK);
  const maxP = probs[order[0]!]!;
  order = order.filter((id) => probs[id]! >= p.minP * maxP);
  const total = order.reduce((s, id) => s + probs[id]!, 0);
  let mass = 0;
  let kept = 0;
  // At the top-p boundary the sampler may keep one more token than float64 rounding says (a tiny tail token can
  // push the threshold past an exact half): the reference keeps that token too, so it is a superset there.
  while (kept < order.length && (kept === 0 || mass < p.topP * total * (1 + 1e-9))) mass += probs[order[kept++]!]!;
  return new Set(order.slice(0, kept));
}

test('property: every draw lies in the brute-force filtered set', () => {
  const arb = fc.record({
    raw: fc.array(fc.integer({ min: -40, max: 40 }), { minLength: 1, maxLength: 300 }),
    temperature: fc.constantFrom(0.3, 1, 2),
    topP: fc.constantFrom(1, 0.95, 0.5, 0.1),
    topK: fc.constantFrom(0, 1, 3, 20),
    minP: fc.constantFrom(0, 0.05, 0.5),
    seed: fc.nat(),
  });
  const scratch = new SamplingScratch();
  fc.assert(
    fc.property(arb, ({ raw, seed, ...params }) => {
      const logits = Float32Array.from(raw, (x) => x / 4);
      const kept = referenceKept(logits, params);
      const rng = new Rng(seed);
      for (let i = 0; i < 20; i++)
        assert.ok(kept.has(sampleToken(logits, params, rng, scratch)), `outside ${[...kept]}`);
    }),
    { numRuns: 300 },
  );
});

// The draw covers exactly the filtered tokens: a filter that lost some (say, the tokens above the cut bucket)
// would still pass the membership property above.
test('property: the filtered tokens are the brute-force set, with their mass', () => {
  const arb = fc.record({
    raw: fc.array(fc.integer({ min: -60, max: 60 }), { minLength: 1, maxLength: 400 }),
    temperature: fc.constantFrom(0.3, 0.7, 1, 2),
    topP: fc.constantFrom(1, 0.95, 0.5, 0.1),
    topK: fc.constantFrom(0, 1, 3, 20, 100),
    minP: fc.constantFrom(0, 0.05, 0.5),
  });
  const scratch = new SamplingScratch();
  fc.assert(
    fc.property(arb, ({ raw, ...params }) => {
      const logits = Float32Array.from(raw, (x) => x / 4);
      const n = logits.length;
      let max = -Infinity;
      for (const v of logits) if (v > max) max = v;
      scratch.ensure(n);
      const k = params.topK > 0 ? params.topK : n;
      const minP = params.minP;
      const cut = { max, t: params.temperature, k, minP, topP: params.topP };
      const { count, mass } = filterTokens(logits, cut, scratch, scaledExpBucketed(logits, cut, scratch));
      const got = [...scratch.ids.subarray(0, count)];
      assert.equal(new Set(got).size, count, 'no token twice');
      const ref = referenceKept(logits, params);
      for (const id of got) assert.ok(ref.has(id), `${id} is not in ${[...ref]}`);
      assert.ok(ref.size - count <= 1, `kept ${count} of ${ref.size}`); // the reference may keep one boundary token more
      const sum = got.reduce((a, id) => a + scratch.probs[id]!, 0);
      assert.ok(Math.abs(sum - mass) <= 1e-9 * sum, `mass ${mass} vs ${sum}`);
    }),
    { numRuns: 400 },
  );
});

test("scaledExpBucketed: scaledExp's values, and each min-p survivor tallied in the bucket of its −ln p", () => {
  const scratch = new SamplingScratch();
  for (const [seed, t, minP] of [
    [1, 1, 0],
    [2, 0.3, 0.05],
    [3, 2, 0],
    [4, 0.01, 0],
  ] as const) {
    const logits = randomLogits(3000, seed, 6);
    logits[7] = Number.NEGATIVE_INFINITY; // a masked token: p = 0, never a survivor
    let max = -Infinity;
    for (const v of logits) if (v > max) max = v;
    scratch.ensure(logits.length);
    const { survivors, survivorMass } = scaledExpBucketed(logits, { max, t, k: 10, minP, topP: 0.9 }, scratch);
    const exps = new Float64Array(logits.length);
    scaledExp(logits, max, t, exps);
    assert.deepEqual(scratch.probs.subarray(0, logits.length), exps);
    let count = 0;
    let mass = 0;
    const perBucket = new Map<number, [number, number]>();
    exps.forEach((p, i) => {
      if (p === 0 || p < minP) return;
      count++;
      mass += p;
      const b = scratch.buckets[i]!;
      // −ln p in quarter nats, the last bucket open-ended; float rounding may move a token across one edge.
      const want = Math.min(255, Math.floor(((max - logits[i]!) / t) * 4));
      assert.ok(Math.abs(b - want) <= 1, `token ${i}: bucket ${b}, −ln p gives ${want}`);
      const [c, m] = perBucket.get(b) ?? [0, 0];
      perBucket.set(b, [c + 1, m + p]);
    });
    assert.ok(count >= (t >= 1 && minP === 0 ? 10 : 1) && count <= logits.length - 1, `${count} survivors`);
    assert.equal(survivors, count);
    assert.ok(Math.abs(survivorMass - mass) <= 1e-12 * mass);
    for (let b = 0; b < 256; b++) {
      const [c, m] = perBucket.get(b) ?? [0, 0];
      assert.equal(scratch.bucketCount[b], c, `bucket ${b}`);
      assert.ok(Math.abs(scratch.bucketMass[b]! - m) <= 1e-12 * mass, `bucket ${b} mass`);
    }
  }
});

test('a reused scratch gives the same draws as a fresh one, across vocabulary sizes', () => {
  const scratch = new SamplingScratch();
  for (const [n, params] of [
    [50, { temperature: 1, topP: 0.9, topK: 5, minP: 0 }],
    [500, { temperature: 0.8, topP: 1, topK: 0, minP: 0.1 }],
    [20, { temperature: 1.2, topP: 1, topK: 0, minP: 0 }],
  ] as const) {
    const logits = randomLogits(n, n);
    const a = new Rng(1);
    const b = new Rng(1);
    for (let i = 0; i < 50; i++) assert.equal(sampleToken(logits, params, a, scratch), sampleToken(logits, params, b));
  }
});

test('masked (-Infinity) tokens are never drawn', () => {
  const logits = Float32Array.from([-Infinity, 0, -Infinity, 0.5, -Infinity]);
  const rng = new Rng(77);
  for (const params of [
    { temperature: 1, topP: 1 },
    { temperature: 1, topP: 0.99, topK: 4, minP: 0 },
  ]) {
    for (let i = 0; i < 300; i++) assert.ok([1, 3].includes(sampleToken(logits, params, rng)));
  }
});
