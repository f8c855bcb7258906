import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeExecutor } from '../engine/fake-executor.js';
import type { LoadedModel } from '../model/load.js';
import { decodeRate } from './decode-rate.js';
import { TimedExecutor } from './timed-executor.js';

const PROMPT_STEP_MS = 400;
const tokenizer = { decode: (ids: readonly number[]) => ids.join(' '), eosTokenIds: [] };

test('TimedExecutor splits prompt steps from decode steps and marks when the prompt step ended', async () => {
  const decodeStarts: number[] = [];
  const fake = new FakeExecutor({
    vocabSize: 64,
    numBlocks: 8,
    blockSize: 4,
    beforeStep: async (inputs) => {
      if (inputs.tokenIds.length === 1) decodeStarts.push(performance.now());
      else await sleep(PROMPT_STEP_MS);
    },
  });
  const timed = new TimedExecutor(fake);
  const rate = await decodeRate({ executor: timed, tokenizer } as unknown as LoadedModel, [3, 4, 5, 6, 7], 6);
  // Timed from the prompt step's end: had the 400 ms prompt step been counted, 6 tokens would be under 15 tokens/s.
  assert.ok(Number.isFinite(rate) && rate > 6 / (PROMPT_STEP_MS / 1000), `rate ${rate}`);
  // decodeRate wraps the executor it is given once more; the outer TimedExecutor saw the same steps.
  assert.equal(timed.prefillTokens, 5);
  assert.equal(timed.decodeMs.length, 6);
  assert.equal(decodeStarts.length, 6);
  assert.ok(
    decodeStarts.every((t) => t >= timed.prefillEndAt),
    'every decode step starts after the prompt step ended',
  );
  assert.ok(timed.lastEndAt >= decodeStarts.at(-1)!);
});

test('decodeRate refuses a run whose steps are not one prompt step and the decode steps asked for', async () => {
  // A 1-token prompt's step is a single-token step: nothing marks where generation starts.
  const fake = new FakeExecutor({ vocabSize: 64, numBlocks: 8, blockSize: 4 });
  await assert.rejects(
    decodeRate({ executor: fake, tokenizer } as unknown as LoadedModel, [3], 4),
    /expected one prompt step and 4 decode steps, got 5/,
  );
});
