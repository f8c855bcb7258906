// Seeded sampling is byte-identical to the main-thread sampler it replaced: the engine sends each row's uniform
// draw with the step and the executor samples there, and the tokens and logprobs equal those of the old loop —
// walk the row on this thread, apply penalties and logit_bias, sampleToken with the request's Rng — whatever the
// batch, and across an executor crash found before a step was sent (whose draws must not be lost).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExecutorCrashed } from '../model/executor/errors.js';
import type { Executor, ForwardInputs, RunnerOutput } from '../model/executor/types.js';
import { stepLogits } from '../model/executor/types.js';
import { Rng } from '../util/rng.js';
import { PenaltyTracker, applyLogitsProcessors } from '../sampling/logits-processors.js';
import { logprobEntry } from '../sampling/logprobs.js';
import { sampleToken } from '../sampling/sample-token.js';
import type { LogprobEntry } from '../sampling/types.js';
import { LatentEngine, type TokenizerLike } from './engine.js';
import { FakeExecutor } from './fake-executor.js';
import { DEFAULT_SAMPLING, type EngineRequest, type SamplingOptions, type TokenEvent } from './types.js';

const VOCAB = 64;
const RESERVED = 2;
const BLOCK = 4;
const tokenizer: TokenizerLike = {
  eosTokenIds: [1],
  decode: (ids) => ids.map((t) => String.fromCharCode(97 + (t % 26))).join(''),
};

const prompt = (seed: number, len: number): number[] =>
  Array.from({ length: len }, (_, i) => RESERVED + ((seed * 13 + i * 7) % (VOCAB - RESERVED)));

const OPTIONS: SamplingOptions[] = [
  { ...DEFAULT_SAMPLING, temperature: 1.5, seed: 11 },
  {
    ...DEFAULT_SAMPLING,
    temperature: 1.2,
    topP: 0.9,
    topK: 20,
    minP: 0.01,
    seed: 12,
    repetitionPenalty: 1.3,
    frequencyPenalty: 0.5,
    presencePenalty: 0.3,
    logitBias: new Map([
      [5, 2],
      [9, 1.5],
    ]),
  },
  { ...DEFAULT_SAMPLING, temperature: 0 },
  { ...DEFAULT_SAMPLING, temperature: 2, topP: 0.8, seed: 2 ** 40 + 3, frequencyPenalty: -0.5 },
];

function request(i: number, maxTokens: number): EngineRequest {
  return {
    id: `r${i}`,
    promptIds: prompt(i, 5 + 3 * i),
    maxTokens,
    sampling: OPTIONS[i]!,
    stop: [],
    stopTokenIds: [],
    ignoreEos: true,
    logprobs: 2,
    promptLogprobs: null,
  };
}

/** The fake model's raw logits after `context`, from a fresh FakeExecutor (no sampling specs: it returns logits). */
async function rawLogits(context: readonly number[]): Promise<Float32Array> {
  const blocks = Math.ceil(context.length / BLOCK);
  const fake = new FakeExecutor({ vocabSize: VOCAB, numBlocks: blocks, blockSize: BLOCK, reserved: RESERVED });
  const n = context.length;
  return stepLogits(
    await fake.step({
      tokenIds: Int32Array.from(context),
      positions: Int32Array.from({ length: n }, (_, i) => i),
      seqs: [{ queryLen: n, contextLen: 0, blockTable: Array.from({ length: blocks }, (_, b) => b as never) }],
      slotMapping: Int32Array.from({ length: n }, (_, i) => i),
      logitsIndices: Int32Array.of(n - 1),
    }),
  );
}

/** The sampling loop as it ran on the engine's thread before: one request alone, its Rng drawn in place. */
async function oldLoop(req: EngineRequest): Promise<{ tokens: number[]; logprobs: LogprobEntry[] }> {
  const rng = new Rng(req.sampling.seed!);
  const penalties = new PenaltyTracker(req.promptIds);
  const context = [...req.promptIds];
  const tokens: number[] = [];
  const logprobs: LogprobEntry[] = [];
  for (let i = 0; i < req.maxTokens; i++) {
    const raw = await rawLogits(context);
    const processed = raw.slice();
    applyLogitsProcessors(processed, req.sampling, penalties);
    const token = sampleToken(processed, req.sampling, rng);
    penalties.add(token);
    logprobs.push(logprobEntry(raw, token, req.logprobs!, new Float32Array(VOCAB)));
    tokens.push(token);
    context.push(token);
  }
  return { tokens, logprobs };
}

async function collect(events: AsyncIterable<TokenEvent>): Promise<{ tokens: number[]; logprobs: LogprobEntry[] }> {
  const tokens: number[] = [];
  const logprobs: LogprobEntry[] = [];
  for await (const e of events)
    if (e.type === 'delta') {
      tokens.push(...e.tokenIds);
      logprobs.push(...(e.logprobs ?? []));
    }
  return { tokens, logprobs };
}

/** A FakeExecutor that, at the chosen steps, reports a worker found dead before the step was sent. */
class CrashBeforeSend implements Executor {
  private inner = this.fresh();
  private stepNo = 0;
  constructor(private readonly crashAt: ReadonlySet<number>) {}
  get vocabSize(): number {
    return VOCAB;
  }
  get cache(): Executor['cache'] {
    return this.inner.cache;
  }
  get device(): Executor['device'] {
    return 'cpu';
  }
  async step(inputs: ForwardInputs): Promise<RunnerOutput> {
    if (this.crashAt.has(this.stepNo++)) {
      this.inner = this.fresh();
      throw new ExecutorCrashed('worker found dead (test)', false);
    }
    return this.inner.step(inputs);
  }
  async close(): Promise<void> {}
  private fresh(): FakeExecutor {
    return new FakeExecutor({ vocabSize: VOCAB, numBlocks: 64, blockSize: BLOCK, reserved: RESERVED });
  }
}

describe('seeded sampling in the executor', () => {
  const maxTokens = 12;
  const reqs = [0, 1, 3].map((i) => request(i, maxTokens));

  it('gives the tokens and logprobs of the old main-thread loop, batched together with a greedy request', async () => {
    const executor = new FakeExecutor({ vocabSize: VOCAB, numBlocks: 64, blockSize: BLOCK, reserved: RESERVED });
    const engine = new LatentEngine(executor, tokenizer, {
      maxNumSeqs: 8,
      maxNumBatchedTokens: 64,
      maxWaiting: 8,
      maxModelLen: 256,
      enablePrefixCaching: true,
    });
    const outs = await Promise.all([...reqs, request(2, maxTokens)].map((r) => collect(engine.submit(r))));
    for (const [i, r] of reqs.entries()) assert.deepEqual(outs[i], await oldLoop(r), `request ${r.id}`);
    assert.ok(
      new Set(outs.slice(0, 3).flatMap((o) => o.tokens)).size > 6,
      'the draws matter: outputs are not all the peak token',
    );
  });

  it('keeps the draws of a step that never ran: the same tokens after crashes found before sending', async () => {
    const engine = new LatentEngine(new CrashBeforeSend(new Set([3, 4, 9])), tokenizer, {
      maxNumSeqs: 8,
      maxNumBatchedTokens: 64,
      maxWaiting: 8,
      maxModelLen: 256,
      enablePrefixCaching: true,
    });
    const outs = await Promise.all(reqs.map((r) => collect(engine.submit(r))));
    for (const [i, r] of reqs.entries()) assert.deepEqual(outs[i], await oldLoop(r), `request ${r.id}`);
  });
});
