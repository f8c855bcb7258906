import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  startScriptedServer,
  textChunk,
  usageChunk,
  writeSse,
  type ScriptedServer,
} from './client/scripted-server.test-helper.js';
import type { Target } from './client/target.js';
import type { BenchPrompt } from './dataset.js';
import { arrivalOffsetsMs } from './arrivals.js';
import { runLevel, type LevelOptions } from './run-level.js';

const prompts = (n: number, prompt = 'ok'): BenchPrompt[] =>
  Array.from({ length: n }, () => ({ prompt, promptLen: 3, outputLen: 2 }));

describe('runLevel', () => {
  let server: ScriptedServer;
  before(async () => {
    server = await startScriptedServer(async (req, res) => {
      const slowMs = req.body['prompt'] === 'slow' ? 10_000 : 30;
      await writeSse(res, [
        [5, textChunk('a')],
        [slowMs, textChunk('b')],
        [0, usageChunk(3, 2)],
        [0, '[DONE]'],
      ]);
    });
  });
  after(() => server.close());

  const options = (over: Partial<LevelOptions>): LevelOptions => ({
    target: { baseUrl: server.url, model: 'm', endpoint: 'completions', apiKey: null } satisfies Target,
    prompts: prompts(12),
    maxConcurrency: 3,
    arrival: { requestRate: Infinity, burstiness: 1 },
    seed: 0,
    ignoreEos: true,
    includeUsage: true,
    maxDurationMs: Infinity,
    ...over,
  });

  it('never has more than maxConcurrency requests in flight', async () => {
    const seen: number[] = [];
    const run = await runLevel(options({ onProgress: (p) => seen.push(p.inFlight) }));
    assert.equal(run.outcomes.length, 12);
    assert.ok(run.outcomes.every((o) => o?.success === true));
    assert.equal(Math.max(...seen), 3);
    assert.ok(server.maxInFlight() <= 3, `server saw ${server.maxInFlight()} at once`);
    assert.equal(run.hitDeadline, false);
  });

  it('sends at the arrival times when the cap is not reached', async () => {
    const arrival = { requestRate: 20, burstiness: 1 };
    const run = await runLevel(options({ prompts: prompts(5), maxConcurrency: Infinity, arrival }));
    const sent = run.outcomes.map((o) => o!.sentAtMs - run.startedAtMs);
    const due = arrivalOffsetsMs(5, arrival, 0);
    assert.ok(due.at(-1)! > 20, 'Poisson arrivals at 20/s spread five requests out');
    // Never early (timers may fire ~1 ms ahead), in order; how late depends on the machine, so it is not asserted.
    for (let i = 0; i < sent.length; i++)
      assert.ok(sent[i]! >= due[i]! - 2, `request ${i} sent at ${sent[i]} ms, due at ${due[i]} ms`);
    for (let i = 1; i < sent.length; i++) assert.ok(sent[i]! >= sent[i - 1]!);
  });

  it('stops at the deadline: requests in flight are cancelled, later ones never sent', async () => {
    const t0 = performance.now();
    const run = await runLevel(options({ prompts: prompts(6, 'slow'), maxConcurrency: 2, maxDurationMs: 300 }));
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 5000, `took ${elapsed} ms; the slow requests would have taken 10 s`);
    assert.equal(run.hitDeadline, true);
    assert.equal(run.outcomes.filter((o) => o?.cancelled === true).length, 2);
    assert.equal(run.outcomes.filter((o) => o === null).length, 4);
  });
});
