import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../util/rng.js';
import { PenaltyTracker, applyLogitsProcessors } from './logits-processors.js';
import { logprobEntry } from './logprobs.js';
import { RowSampler, sampleStep } from './row-sampler.js';
import { sampleToken } from './sample-token.js';
import type { RowSpec, SampleRowSpec, StepMaskRows } from './step-spec.js';
import { DEFAULT_SAMPLING, type SamplingOptions } from './types.js';

const VOCAB = 100;

function logitsOf(rows: number, seed: number): Float32Array {
  const out = new Float32Array(rows * VOCAB);
  new Rng(seed, 'logits').fillNormal(out, 0, 3);
  return out;
}

function sampleSpec(row: number, options: SamplingOptions, extra: Partial<SampleRowSpec> = {}): SampleRowSpec {
  return {
    kind: 'sample',
    row,
    options,
    uniform: null,
    penalties: null,
    logprobs: null,
    maskSlot: null,
    holdBack: null,
    allowed: null,
    ...extra,
  };
}

test('a sampled row gives exactly what sampleToken gives on the main thread with the same draw, penalties and bias', () => {
  const options: SamplingOptions = {
    ...DEFAULT_SAMPLING,
    temperature: 0.8,
    topP: 0.9,
    topK: 40,
    minP: 0.01,
    repetitionPenalty: 1.3,
    frequencyPenalty: 0.4,
    presencePenalty: 0.2,
    logitBias: new Map([
      [7, 5],
      [9, -3],
    ]),
  };
  const sampler = new RowSampler(VOCAB);
  for (let seed = 0; seed < 40; seed++) {
    const logits = logitsOf(2, seed);
    const tracker = new PenaltyTracker([3, 7, 7, 11]);
    for (const t of [7, 12, 12, 40]) tracker.add(t);
    // The old way: the engine walks the row itself, drawing from the request's Rng.
    const reference = logits.slice(VOCAB, 2 * VOCAB);
    const processed = reference.slice();
    applyLogitsProcessors(processed, options, tracker);
    const want = sampleToken(processed, options, new Rng(seed));
    const wantLogprob = logprobEntry(reference, want, 3, new Float32Array(VOCAB));
    // The new way: the draw travels with the step, the row is sampled where the logits are.
    const uniform = new Rng(seed).nextUnit();
    const { results, held } = sampler.sample(
      logits,
      [sampleSpec(1, options, { uniform, penalties: tracker.snapshot(options), logprobs: 3 })],
      null,
    );
    assert.equal(held.length, 0);
    assert.deepEqual(results, [{ kind: 'token', token: want, logprob: wantLogprob }]);
  }
});

test('greedy rows need no draw; a non-greedy row without one is a bug, not a silent argmax', () => {
  const sampler = new RowSampler(VOCAB);
  const logits = logitsOf(1, 1);
  let best = 0;
  for (let i = 1; i < VOCAB; i++) if (logits[i]! > logits[best]!) best = i;
  const greedy = sampler.sample(logits, [sampleSpec(0, { ...DEFAULT_SAMPLING, temperature: 0 })], null).results;
  assert.deepEqual(greedy, [{ kind: 'token', token: best, logprob: null }]);
  const withLogprobs = { ...sampleSpec(0, { ...DEFAULT_SAMPLING, temperature: 0 }), logprobs: 3 };
  assert.deepEqual(sampler.sample(logits, [withLogprobs], null).results, [
    { kind: 'token', token: best, logprob: logprobEntry(logits, best, 3, new Float32Array(VOCAB)) },
  ]);
  assert.throws(() => sampler.sample(logits, [sampleSpec(0, DEFAULT_SAMPLING)], null), /needs a uniform draw/);
});

test('a greedy row with −Inf entries (masked-out ids) still takes its finite argmax, with its logprobs', () => {
  const sampler = new RowSampler(VOCAB);
  const logits = logitsOf(1, 4);
  let best = 0;
  for (let i = 1; i < VOCAB; i++) if (logits[i]! > logits[best]!) best = i;
  logits[(best + 1) % VOCAB] = -Infinity;
  const spec = { ...sampleSpec(0, { ...DEFAULT_SAMPLING, temperature: 0 }), logprobs: 2 };
  const { results } = sampler.sample(logits, [spec], null);
  assert.deepEqual(results, [
    { kind: 'token', token: best, logprob: logprobEntry(logits, best, 2, new Float32Array(VOCAB)) },
  ]);
});

test('held-back ids (min_tokens) are never drawn while anything else is allowed; logprobs stay those of the raw row', () => {
  const sampler = new RowSampler(VOCAB);
  const logits = logitsOf(1, 6);
  const order = [...logits.keys()].sort((a, b) => logits[b]! - logits[a]! || a - b);
  const [best, second, third] = order as [number, number, number];
  const greedy = { ...DEFAULT_SAMPLING, temperature: 0 };
  const spec = { ...sampleSpec(0, greedy), holdBack: [best, second], logprobs: 1 };
  assert.deepEqual(sampler.sample(logits, [spec], null).results, [
    { kind: 'token', token: third, logprob: logprobEntry(logits, third, 1, new Float32Array(VOCAB)) },
  ]);
  // Sampled rows too: many draws, never a held-back id.
  for (let u = 0; u < 1; u += 0.01) {
    const hot = { ...sampleSpec(0, { ...DEFAULT_SAMPLING, temperature: 2 }), uniform: u, holdBack: [best] };
    const [r] = sampler.sample(logits, [hot], null).results;
    assert.ok(r!.kind === 'token' && r!.token !== best, JSON.stringify(r));
  }
  // A grammar that allows only a held-back id (a finished JSON value allows only EOS) ends there anyway.
  const onlyBest = { ...sampleSpec(0, greedy), maskSlot: 0, holdBack: [best] };
  assert.deepEqual(sampler.sample(logits, [onlyBest], maskRows([[best]])).results, [
    { kind: 'token', token: best, logprob: null },
  ]);
  // The step's logits are not changed for the next row that reads them.
  assert.deepEqual(sampler.sample(logits, [sampleSpec(0, greedy)], null).results, [
    { kind: 'token', token: best, logprob: null },
  ]);
});

test('allowed ids (allowed_token_ids): the draw keeps to them; with a grammar that allows none of them the row fails', () => {
  const sampler = new RowSampler(VOCAB);
  const logits = logitsOf(1, 8);
  const order = [...logits.keys()].sort((a, b) => logits[b]! - logits[a]! || a - b);
  const allowed = [order[5]!, order[9]!, order[20]!];
  const greedy = { ...DEFAULT_SAMPLING, temperature: 0 };
  assert.deepEqual(sampler.sample(logits, [sampleSpec(0, greedy, { allowed, logprobs: 0 })], null).results, [
    { kind: 'token', token: order[5]!, logprob: logprobEntry(logits, order[5]!, 0, new Float32Array(VOCAB)) },
  ]);
  const seen = new Set<number>();
  for (let u = 0; u < 1; u += 0.01) {
    const hot = sampleSpec(0, { ...DEFAULT_SAMPLING, temperature: 3 }, { uniform: u, allowed });
    const [r] = sampler.sample(logits, [hot], null).results;
    assert.ok(r!.kind === 'token', JSON.stringify(r));
    seen.add(r!.kind === 'token' ? r!.token : -1);
  }
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    [...allowed].sort((a, b) => a - b),
  );
  const masked = sampleSpec(0, greedy, { allowed, maskSlot: 0 });
  assert.deepEqual(sampler.sample(logits, [masked], maskRows([[order[0]!, order[1]!]])).results, [
    { kind: 'failed', code: 'grammar_error', message: 'grammar: it allows none of allowed_token_ids' },
  ]);
  assert.deepEqual(sampler.sample(logits, [masked], maskRows([[order[0]!, order[9]!]])).results, [
    { kind: 'token', token: order[9]!, logprob: null },
  ]);
});

test('a NaN or +Inf row fails only its own spec; score rows report the prompt token they score', () => {
  const sampler = new RowSampler(VOCAB);
  const logits = logitsOf(3, 2);
  logits[VOCAB + 5] = Number.NaN;
  logits[2 * VOCAB + 9] = Infinity;
  const rows: RowSpec[] = [
    { kind: 'score', row: 0, token: 17, numTop: 2 },
    sampleSpec(1, { ...DEFAULT_SAMPLING, temperature: 0 }),
    { kind: 'score', row: 2, token: 3, numTop: 0 },
  ];
  const { results } = sampler.sample(logits, rows, null);
  assert.deepEqual(results[0], {
    kind: 'score',
    entry: logprobEntry(logits.subarray(0, VOCAB), 17, 2, new Float32Array(VOCAB)),
  });
  assert.equal(results[1]!.kind, 'failed');
  assert.equal(results[2]!.kind, 'failed');
  assert.equal(results[1]!.kind === 'failed' && results[1]!.code, 'non_finite_logits');
});

function maskRows(
  allowed: readonly (readonly number[])[],
  refused: readonly (string | null)[] = allowed.map(() => null),
): StepMaskRows {
  const words = Math.ceil(VOCAB / 32);
  const masks = new Int32Array(allowed.length * words);
  allowed.forEach((ids, slot) => {
    for (const id of ids) masks[slot * words + (id >> 5)]! |= 1 << (id & 31);
  });
  return { masks, words, refused };
}

test('a constrained row samples only allowed tokens, reports the masked distribution, and fails when refused', () => {
  const sampler = new RowSampler(VOCAB);
  const logits = logitsOf(2, 3);
  const options = { ...DEFAULT_SAMPLING, temperature: 1 };
  const rows = [
    sampleSpec(0, options, { uniform: 0.5, maskSlot: 0, logprobs: 1 }),
    sampleSpec(1, options, { uniform: 0.5, maskSlot: 1 }),
  ];
  const { results } = sampler.sample(
    logits,
    rows,
    maskRows([[4, 50, 99], [1]], [null, 'the previous token was refused']),
  );
  const first = results[0]!;
  assert.ok(first.kind === 'token' && [4, 50, 99].includes(first.token));
  assert.ok(first.kind === 'token' && first.logprob!.top.every((t) => [4, 50, 99].includes(t.id)));
  assert.deepEqual(results[1], {
    kind: 'failed',
    code: 'grammar_error',
    message: 'grammar: the previous token was refused',
  });
});

test('masks later than the grace: constrained rows are held (copied), the rest answered now, the held ones when masks come', async () => {
  const sampler = new RowSampler(VOCAB);
  const logits = logitsOf(2, 4);
  let deliver!: (m: StepMaskRows) => void;
  const masks = new Promise<StepMaskRows>((resolve) => {
    deliver = resolve;
  });
  const rows = [
    sampleSpec(0, { ...DEFAULT_SAMPLING, temperature: 0 }),
    sampleSpec(1, { ...DEFAULT_SAMPLING, temperature: 0 }, { maskSlot: 0 }),
  ];
  const { results, late } = await sampleStep(sampler, logits, { rows, maskGraceMs: 1 }, masks);
  assert.equal(results[0]!.kind, 'token');
  assert.deepEqual(results[1], { kind: 'held' });
  assert.ok(late !== null);
  logits.fill(Number.NaN); // the held row was copied out: the step's buffer may be reused
  deliver(maskRows([[33]]));
  assert.deepEqual([...(await late)], [[1, { kind: 'token', token: 33, logprob: null }]]);
});

test('with no grace the step waits for its masks and holds nothing', async () => {
  const sampler = new RowSampler(VOCAB);
  const logits = logitsOf(1, 5);
  const masks = new Promise<StepMaskRows>((resolve) => setTimeout(() => resolve(maskRows([[8]])), 20));
  const { results, late } = await sampleStep(
    sampler,
    logits,
    { rows: [sampleSpec(0, { ...DEFAULT_SAMPLING, temperature: 0 }, { maskSlot: 0 })], maskGraceMs: null },
    masks,
  );
  assert.equal(late, null);
  assert.deepEqual(results, [{ kind: 'token', token: 8, logprob: null }]);
});
