import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PenaltyTracker, applyLogitsProcessors, logitsProcessorsNeutral } from './logits-processors.js';
import { DEFAULT_SAMPLING, type SamplingOptions } from './types.js';

const opts = (o: Partial<SamplingOptions>): SamplingOptions => ({ ...DEFAULT_SAMPLING, ...o });

function assertClose(got: Float32Array, want: number[]): void {
  assert.equal(got.length, want.length);
  want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) < 1e-6, `logit ${i}: ${got[i]} vs ${w}`));
}

test('PenaltyTracker counts output tokens and tracks prompt ∪ output', () => {
  const t = new PenaltyTracker([5, 1, 5]);
  assert.deepEqual([...t.seen].sort(), [1, 5]);
  assert.equal(t.outputCounts.size, 0);
  t.add(2);
  t.add(5);
  t.add(2);
  assert.deepEqual([...t.outputCounts].sort(), [
    [2, 2],
    [5, 1],
  ]);
  assert.deepEqual([...t.seen].sort(), [1, 2, 5]);
});

test('neutral options change nothing', () => {
  const t = new PenaltyTracker([0, 1]);
  t.add(2);
  const logits = Float32Array.from([1, -2, 3, 0.5]);
  assert.ok(logitsProcessorsNeutral(DEFAULT_SAMPLING));
  assert.ok(logitsProcessorsNeutral(opts({ logitBias: new Map() })));
  assert.ok(!logitsProcessorsNeutral(opts({ presencePenalty: 0.1 })));
  applyLogitsProcessors(logits, DEFAULT_SAMPLING, t);
  assert.deepEqual([...logits], [1, -2, 3, 0.5]);
});

test('repetition penalty divides positive and multiplies negative logits of prompt and output tokens', () => {
  const t = new PenaltyTracker([0, 1]);
  t.add(3);
  const logits = Float32Array.from([2, -1, 4, 0.6, -3]);
  applyLogitsProcessors(logits, opts({ repetitionPenalty: 2 }), t);
  assertClose(logits, [1, -2, 4, 0.3, -3]);
});

test('frequency and presence penalties apply to output tokens only', () => {
  const t = new PenaltyTracker([0]);
  t.add(1);
  t.add(1);
  t.add(1);
  t.add(2);
  const logits = Float32Array.from([1, 1, 1, 1]);
  applyLogitsProcessors(logits, opts({ frequencyPenalty: 0.5, presencePenalty: 0.25 }), t);
  // token 1: 1 − 0.5·3 − 0.25 = −0.75; token 2: 1 − 0.5 − 0.25 = 0.25; prompt-only token 0 untouched.
  assertClose(logits, [1, -0.75, 0.25, 1]);
  const neg = Float32Array.from([1, 1, 1, 1]);
  applyLogitsProcessors(neg, opts({ frequencyPenalty: -1 }), t);
  assertClose(neg, [1, 4, 2, 1]);
});

test('logit bias is added last; out-of-range ids are ignored', () => {
  const t = new PenaltyTracker([]);
  const logits = Float32Array.from([0, 1, 2]);
  applyLogitsProcessors(
    logits,
    opts({
      logitBias: new Map([
        [0, 5],
        [2, -100],
        [7, 3],
        [-1, 3],
      ]),
    }),
    t,
  );
  assertClose(logits, [5, 1, -98]);
});

test('all together, in vLLM order: repetition, then frequency/presence, then bias', () => {
  const t = new PenaltyTracker([0, 1]);
  t.add(1);
  t.add(1);
  t.add(2);
  const logits = Float32Array.from([3, 2, -1, 0.5]);
  applyLogitsProcessors(
    logits,
    opts({
      repetitionPenalty: 1.5,
      frequencyPenalty: 0.2,
      presencePenalty: 0.1,
      logitBias: new Map([
        [1, 1],
        [3, -0.5],
      ]),
    }),
    t,
  );
  // 0: 3/1.5 = 2. 1: 2/1.5 − 0.2·2 − 0.1 + 1 = 1.8333. 2: −1·1.5 − 0.2 − 0.1 = −1.8. 3: 0.5 − 0.5 = 0.
  assertClose(logits, [2, 2 / 1.5 - 0.4 - 0.1 + 1, -1.8, 0]);
});

test('-Infinity logit bias masks a token', () => {
  const logits = Float32Array.from([1, 2]);
  applyLogitsProcessors(logits, opts({ logitBias: new Map([[1, -Infinity]]) }), new PenaltyTracker([]));
  assert.equal(logits[1], -Infinity);
});
