import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pickBest } from './best-of.js';
import { MODEL, startTestServer, type TestServer } from './harness.test-helper.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

interface Choice {
  index: number;
  text: string;
  logprobs: { token_logprobs: number[] } | null;
  finish_reason: string;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

test('pickBest keeps the highest-scoring candidates of each prompt, best first, re-indexed', () => {
  const choices = ['a0', 'a1', 'a2', 'b0', 'b1', 'b2'].map((text, index) => ({ index, text }));
  const kept = pickBest(choices, [-3, -1, -2, -5, -4, -4], 3, 2);
  assert.deepEqual(kept, [
    { index: 0, text: 'a1' },
    { index: 1, text: 'a2' },
    { index: 2, text: 'b1' },
    { index: 3, text: 'b2' }, // tie: the earlier candidate first
  ]);
});

test('best_of: n of best_of candidates by cumulative logprob; usage counts every candidate', async () => {
  // Stop strings end the fake's candidates (seed + i each) after different numbers of tokens, so their cumulative
  // logprobs differ. All candidates, as plain n = 4 with logprobs:
  const body = { model: MODEL, prompt: 'Hello there', max_tokens: 12, stop: ['fox', 'lazy'], seed: 3, temperature: 1 };
  const all = await s.post('/v1/completions', { ...body, n: 4, logprobs: 0 });
  assert.equal(all.status, 200, JSON.stringify(all.json));
  const candidates = (all.json.choices as Choice[]).map((c) => ({
    text: c.text,
    score: sum(c.logprobs!.token_logprobs),
  }));
  assert.ok(new Set(candidates.map((c) => c.score)).size > 1, 'the candidates differ (premise)');
  const ranked = [...candidates].sort((a, b) => b.score - a.score);

  const best = await s.post('/v1/completions', { ...body, n: 2, best_of: 4, logprobs: 0 });
  assert.equal(best.status, 200, JSON.stringify(best.json));
  const got = best.json.choices as Choice[];
  assert.deepEqual(
    got.map((c) => c.index),
    [0, 1],
  );
  assert.deepEqual(
    got.map((c) => c.text),
    ranked.slice(0, 2).map((c) => c.text),
  );
  assert.deepEqual(
    got.map((c) => sum(c.logprobs!.token_logprobs)),
    ranked.slice(0, 2).map((c) => c.score),
  );
  assert.equal(
    best.json.usage.completion_tokens,
    all.json.usage.completion_tokens,
    'all four candidates were generated and billed',
  );

  // Without logprobs asked for, the engine still scores the candidates but none are returned.
  const quiet = await s.post('/v1/completions', { ...body, best_of: 4 });
  assert.equal(quiet.status, 200);
  assert.equal(quiet.json.choices.length, 1);
  assert.equal(quiet.json.choices[0].logprobs, null);
  assert.equal(quiet.json.choices[0].text, ranked[0]!.text);
  assert.ok(s.engine.requests.slice(-4).every((r) => r.logprobs === 0));
});

test('best_of with several prompts keeps n per prompt', async () => {
  const res = await s.post('/v1/completions', {
    model: MODEL,
    prompt: ['Hello there', 'Hi'],
    max_tokens: 6,
    stop: ['fox'],
    seed: 1,
    n: 1,
    best_of: 3,
  });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.deepEqual(
    (res.json.choices as Choice[]).map((c) => c.index),
    [0, 1],
  );
});

test('best_of refusals: below n, streamed above n, greedy, above the limit', async () => {
  const refused = async (extra: object, pattern: RegExp) => {
    const res = await s.post('/v1/completions', { model: MODEL, prompt: 'Hi', max_tokens: 2, ...extra });
    assert.equal(res.status, 400, JSON.stringify(extra));
    assert.equal(res.json.error.param, 'best_of');
    assert.match(res.json.error.message, pattern);
  };
  await refused({ n: 3, best_of: 2 }, /greater than or equal to n/);
  await refused({ best_of: 2, stream: true }, /cannot be streamed/);
  await refused({ best_of: 2, temperature: 0 }, /greedy/);
  await refused({ best_of: 17 }, /at most 16/);
  await refused({ best_of: 0 }, /./);
  // best_of = n is plain n, streamable and greedy-compatible.
  assert.equal(
    (await s.post('/v1/completions', { model: MODEL, prompt: 'Hi', max_tokens: 2, n: 2, best_of: 2, stream: true }))
      .status,
    200,
  );
});
