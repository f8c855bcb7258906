import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { stepDims } from './pack.js';
import { reserveSteps, reserveStepMemory, type ReserveLimits } from './reserve.js';
import type { Executor, ForwardInputs, RunnerOutput } from './types.js';

// serve's default step limits, with a 64 MiB mini cache in blocks of 64 (57 blocks)
const serve: ReserveLimits = {
  maxNumSeqs: 32,
  maxNumBatchedTokens: 512,
  maxPaddedQuerySlots: 2048,
  maxAttentionBlock: 2048 * 512,
  maxModelLen: 4096,
  numBlocks: 57,
  blockSize: 64,
};

/** The step as the scheduler's caps see it: batch, longest chunk, longest context in whole blocks. */
function shape(
  inputs: ForwardInputs,
  blockSize: number,
): { tokens: number; batch: number; chunk: number; keys: number } {
  const [tokens, batch, chunk, maxBlocks] = stepDims(inputs);
  return { tokens, batch, chunk, keys: maxBlocks * blockSize };
}

function checkWellFormed(inputs: ForwardInputs, limits: ReserveLimits): void {
  let token = 0;
  for (const s of inputs.seqs) {
    assert.ok(s.queryLen >= 1 && s.contextLen >= 0);
    assert.ok(s.contextLen + s.queryLen <= Math.min(limits.maxModelLen, limits.numBlocks * limits.blockSize));
    assert.equal(s.blockTable.length, Math.ceil((s.contextLen + s.queryLen) / limits.blockSize));
    for (let t = 0; t < s.queryLen; t++) assert.equal(inputs.positions[token + t], s.contextLen + t);
    token += s.queryLen;
  }
  assert.equal(inputs.tokenIds.length, token);
  assert.equal(inputs.slotMapping.length, token);
  for (const i of inputs.logitsIndices) assert.ok(i >= 0 && i < token);
}

test('the reservation reaches each term at the limits serve runs with', () => {
  const steps = Object.fromEntries(reserveSteps(serve).map((s) => [s.name, s.inputs]));
  const tokens = shape(steps['tokens']!, 64);
  assert.equal(tokens.tokens, 512);
  assert.equal(steps['tokens']!.logitsIndices.length, 512, 'prompt_logprobs can ask for every token');
  const attention = shape(steps['attention']!, 64);
  assert.equal(attention.batch, 32);
  assert.ok(attention.batch * attention.chunk <= serve.maxPaddedQuerySlots);
  const block = attention.batch * attention.chunk * attention.keys;
  assert.ok(
    block <= serve.maxAttentionBlock && block + attention.batch * attention.chunk * 64 > serve.maxAttentionBlock,
    `attention block ${block}`,
  );
  const gathered = shape(steps['gathered']!, 64);
  assert.deepEqual(
    [gathered.batch, gathered.chunk, gathered.keys],
    [32, 1, 57 * 64],
    'every decode at the cache-bounded longest context',
  );
});

test('the longest context is the window when the cache holds more', () => {
  const steps = reserveSteps({ ...serve, numBlocks: 4096 });
  const gathered = steps.find((s) => s.name === 'gathered')!.inputs;
  assert.equal(Math.max(...gathered.seqs.map((s) => s.contextLen + s.queryLen)), 4096);
});

test('every reservation step is well formed and within the scheduler caps (property)', () => {
  fc.assert(
    fc.property(
      fc.record({
        maxNumSeqs: fc.integer({ min: 1, max: 64 }),
        maxNumBatchedTokens: fc.integer({ min: 1, max: 4096 }),
        slotsPerToken: fc.integer({ min: 1, max: 8 }),
        keysPerSlot: fc.integer({ min: 1, max: 1024 }),
        maxModelLen: fc.integer({ min: 1, max: 8192 }),
        numBlocks: fc.integer({ min: 1, max: 512 }),
        blockSize: fc.constantFrom(1, 16, 64),
      }),
      (r) => {
        const limits: ReserveLimits = {
          maxNumSeqs: r.maxNumSeqs,
          maxNumBatchedTokens: r.maxNumBatchedTokens,
          maxPaddedQuerySlots: r.slotsPerToken * r.maxNumBatchedTokens,
          maxAttentionBlock: r.slotsPerToken * r.maxNumBatchedTokens * r.keysPerSlot,
          maxModelLen: r.maxModelLen,
          numBlocks: r.numBlocks,
          blockSize: r.blockSize,
        };
        for (const { name, inputs } of reserveSteps(limits)) {
          checkWellFormed(inputs, limits);
          const s = shape(inputs, limits.blockSize);
          assert.ok(s.batch <= limits.maxNumSeqs && s.tokens <= limits.maxNumBatchedTokens, name);
          if (s.chunk > 1) assert.ok(s.batch * s.chunk <= limits.maxPaddedQuerySlots, name);
        }
      },
    ),
  );
});

test('reserveStepMemory runs each step once, in order, on the executor', async () => {
  const seen: number[] = [];
  const executor = {
    vocabSize: 8,
    step: async (inputs: ForwardInputs): Promise<RunnerOutput> => {
      seen.push(inputs.tokenIds.length);
      return { logits: new Float32Array(inputs.logitsIndices.length * 8), samples: null };
    },
  } as unknown as Executor;
  const times = await reserveStepMemory(executor, serve);
  assert.deepEqual(Object.keys(times), ['tokens', 'attention', 'gathered']);
  assert.deepEqual(seen, [512, reserveSteps(serve)[1]!.inputs.tokenIds.length, 32]);
});
