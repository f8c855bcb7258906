// Sampling in the real executor worker: a step with row specs returns exactly what sampling the returned logits
// on this thread gives (draws, penalties, logit_bias, logprobs, prompt rows, grammar masks), masks that come after
// the model are waited for or, past the grace, answered on their own message; and a worker that dies holding a
// row for a late mask fails that request with executor_crashed instead of leaving it waiting.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { LatentEngine } from '../engine/engine.js';
import type { EngineRequest, TokenEvent } from '../engine/types.js';
import type { GrammarBackend, MatcherId, StepMasks } from '../grammar/grammar-service.js';
import { ExecutorCrashed } from '../model/executor/errors.js';
import type { BlockId, Executor, ForwardInputs } from '../model/executor/types.js';
import { stepLogits } from '../model/executor/types.js';
import type { LoadedModel } from '../model/load.js';
import { loadModel } from '../model/load.js';
import { Rng } from '../util/rng.js';
import { PenaltyTracker } from '../sampling/logits-processors.js';
import { RowSampler, sampleStep } from '../sampling/row-sampler.js';
import type { RowSpec, StepMaskRows } from '../sampling/step-spec.js';
import { DEFAULT_SAMPLING, type SamplingOptions } from '../sampling/types.js';
import { fixtureDir, loadReference, tempCacheDir } from './helpers/fixtures.js';
import { WorkerFaults } from './helpers/worker-faults.js';

const BLOCK_SIZE = 8;

/** One sequence prefilled from scratch into consecutive blocks from `first` on, every token's logits row returned. */
function prefill(ids: readonly number[], first: number): ForwardInputs {
  const n = ids.length;
  const blocks = Array.from({ length: Math.ceil(n / BLOCK_SIZE) }, (_, i) => first + i); // the table covers every position
  return {
    tokenIds: Int32Array.from(ids),
    positions: Int32Array.from({ length: n }, (_, i) => i),
    seqs: [{ queryLen: n, contextLen: 0, blockTable: blocks as BlockId[] }],
    slotMapping: Int32Array.from(
      { length: n },
      (_, i) => blocks[Math.floor(i / BLOCK_SIZE)]! * BLOCK_SIZE + (i % BLOCK_SIZE),
    ),
    logitsIndices: Int32Array.from({ length: n }, (_, i) => i),
  };
}

function maskRows(vocab: number, allowed: readonly (readonly number[])[]): StepMaskRows {
  const words = Math.ceil(vocab / 32);
  const masks = new Int32Array(allowed.length * words);
  allowed.forEach((ids, slot) => {
    for (const id of ids) masks[slot * words + (id >> 5)]! |= 1 << (id & 31);
  });
  return { masks, words, refused: allowed.map(() => null) };
}

const later = <T>(ms: number, value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms));

describe('sampling in the executor worker', () => {
  const cacheDir = tempCacheDir();
  let model: LoadedModel;
  const ids = loadReference('deepseek-v3-tiny-b').prompts.find((p) => p.name === 'short7')!.fed_ids;
  before(async () => {
    model = await loadModel(fixtureDir('deepseek-v3-tiny-b'), { cacheDir, blockSize: BLOCK_SIZE, numBlocks: 32 });
  });
  after(async () => {
    await model.executor.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  function specs(): RowSpec[] {
    const options: SamplingOptions = {
      ...DEFAULT_SAMPLING,
      temperature: 0.9,
      topP: 0.95,
      topK: 50,
      repetitionPenalty: 1.2,
      frequencyPenalty: 0.3,
      logitBias: new Map([[17, 4]]),
    };
    const tracker = new PenaltyTracker(ids);
    tracker.add(17);
    const rng = new Rng(42);
    return [
      { kind: 'score', row: 0, token: ids[1]!, numTop: 3 },
      { kind: 'score', row: 1, token: ids[2]!, numTop: 0 },
      {
        kind: 'sample',
        row: 3,
        options,
        uniform: rng.nextUnit(),
        penalties: tracker.snapshot(options),
        logprobs: 4,
        maskSlot: null,
        holdBack: null,
        allowed: null,
      },
      {
        kind: 'sample',
        row: 4,
        options: { ...DEFAULT_SAMPLING, temperature: 0 },
        uniform: null,
        penalties: null,
        logprobs: 2,
        maskSlot: 0,
        holdBack: null,
        allowed: null,
      },
      {
        kind: 'sample',
        row: ids.length - 1,
        options: { ...DEFAULT_SAMPLING, temperature: 1.5 },
        uniform: rng.nextUnit(),
        penalties: null,
        logprobs: null,
        maskSlot: 1,
        holdBack: null,
        allowed: null,
      },
    ];
  }

  it('returns what sampling the same logits on this thread returns, waiting for masks that come after the model', async () => {
    const vocab = model.executor.vocabSize;
    const allowed = [
      [3, 200, 9],
      [ids[0]!, 60],
    ];
    const logits = stepLogits(await model.executor.step(prefill(ids, 0)));
    const want = await sampleStep(
      new RowSampler(vocab),
      logits,
      { rows: specs(), maskGraceMs: null },
      Promise.resolve(maskRows(vocab, allowed)),
    );
    const got = await model.executor.step({
      ...prefill(ids, 8),
      sampling: { rows: specs(), masks: later(150, maskRows(vocab, allowed)), maskGraceMs: null },
    });
    assert.equal(got.logits, null);
    assert.equal(got.samples!.late, null);
    assert.deepEqual(got.samples!.results, want.results);
    assert.deepEqual(
      got.samples!.results.map((r) => r.kind),
      ['score', 'score', 'token', 'token', 'token'],
    );
  });

  it('masks later than the grace: free rows come back at once, the constrained ones on a later message', async () => {
    const vocab = model.executor.vocabSize;
    const allowed = [[5], [7, 8]];
    const logits = stepLogits(await model.executor.step(prefill(ids, 16)));
    const want = await sampleStep(
      new RowSampler(vocab),
      logits,
      { rows: specs(), maskGraceMs: null },
      Promise.resolve(maskRows(vocab, allowed)),
    );
    const got = await model.executor.step({
      ...prefill(ids, 24),
      sampling: { rows: specs(), masks: later(300, maskRows(vocab, allowed)), maskGraceMs: 1 },
    });
    assert.deepEqual(
      got.samples!.results.map((r) => r.kind),
      ['score', 'score', 'token', 'held', 'held'],
    );
    assert.deepEqual(got.samples!.results.slice(0, 3), want.results.slice(0, 3));
    const late = await got.samples!.late!;
    assert.deepEqual(
      [...late].sort((a, b) => a[0] - b[0]),
      [
        [3, want.results[3]],
        [4, want.results[4]],
      ],
    );
  });
});

/** Masks for every fill, allowing every token; `hold` keeps them back until release(), as a compile would. */
class SlowGrammar implements GrammarBackend {
  compiling = true;
  private next = 0;
  private held: (() => void)[] = [];
  constructor(private readonly vocab: number) {}
  open(): MatcherId {
    return this.next++ as MatcherId;
  }
  close(): void {}
  async step(_accepts: readonly (readonly [MatcherId, number])[], fills: readonly MatcherId[]): Promise<StepMasks> {
    await new Promise<void>((resolve) => this.held.push(resolve));
    const words = Math.ceil(this.vocab / 32);
    return { masks: new Int32Array(fills.length * words).fill(-1), words, rejected: new Set(), missing: new Set() };
  }
  release(): void {
    for (const r of this.held.splice(0)) r();
  }
}

describe('a worker that dies holding a row for a late mask', () => {
  const cacheDir = tempCacheDir();
  const faults = new WorkerFaults();
  let model: LoadedModel;
  before(async () => {
    model = await loadModel(fixtureDir('deepseek-v3-tiny-b'), {
      cacheDir,
      blockSize: BLOCK_SIZE,
      numBlocks: 32,
      warn: () => {},
      spawnWorker: faults.spawn,
    });
  });
  after(async () => {
    await model.executor.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('fails that request with executor_crashed (no hang); the next request is served by a fresh worker', {
    timeout: 60_000,
  }, async () => {
    const grammar = new SlowGrammar(model.executor.vocabSize);
    let sawHeld!: () => void;
    const held = new Promise<void>((resolve) => {
      sawHeld = resolve;
    });
    const inner = model.executor;
    const watched: Executor = {
      vocabSize: inner.vocabSize,
      cache: inner.cache,
      device: inner.device,
      close: () => inner.close(),
      async step(inputs) {
        const out = await inner.step(inputs);
        if (out.samples?.results.some((r) => r.kind === 'held') === true) sawHeld();
        return out;
      },
    };
    const engine = new LatentEngine(
      watched,
      model.tokenizer,
      { maxNumSeqs: 4, maxNumBatchedTokens: 64, maxWaiting: 4, maxModelLen: 256, enablePrefixCaching: true },
      {},
      undefined,
      grammar,
    );
    const base: EngineRequest = {
      id: 'g',
      promptIds: [5, 6, 7, 8],
      maxTokens: 4,
      sampling: { ...DEFAULT_SAMPLING, temperature: 0 },
      stop: [],
      stopTokenIds: [],
      ignoreEos: true,
      logprobs: null,
      promptLogprobs: null,
    };
    const events = engine.submit({ ...base, grammar: { kind: 'regex', pattern: '.*' } })[Symbol.asyncIterator]();
    const first = events.next();
    await held; // the step has run and its constrained row is held in the worker (its mask is behind a "compile")
    assert.equal(engine.stats().numRunning, 1);
    await faults.killIdleWorker();
    await assert.rejects(first, (err: unknown) => err instanceof ExecutorCrashed && err.code === 'executor_crashed');
    grammar.release();
    const tokens: number[] = [];
    for await (const e of engine.submit({ ...base, id: 'free' }) as AsyncIterable<TokenEvent>)
      if (e.type === 'delta') tokens.push(...e.tokenIds);
    assert.equal(tokens.length, 4);
    assert.equal(model.executor.numRestarts, 1);
    await engine.shutdown();
  });
});
