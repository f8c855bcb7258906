// Fault isolation: a step the executor rejects, a NaN in one request's logits, and a worker crash (in a step or
// while idle) fail at most the requests of that step, the cache bookkeeping stays consistent (no block leaked or
// double-owned, no stale prefix reused), and the server keeps serving. First on the FakeExecutor (which throws if
// a request ever reads a cache slot that was not written since the crash), then on the real worker-thread
// executor behind the HTTP API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LatentEngine } from '../engine/engine.js';
import type { EngineConfig, TokenizerLike } from '../engine/engine.js';
import { FakeExecutor } from '../engine/fake-executor.js';
import type { EngineRequest, TokenEvent } from '../engine/types.js';
import { DEFAULT_SAMPLING } from '../engine/types.js';
import { ExecutorCrashed, ExecutorError } from '../model/executor/errors.js';
import type { Executor, ForwardInputs, RunnerOutput } from '../model/executor/types.js';
import { ForwardingExecutor } from '../model/executor/forwarding-executor.js';
import { stepLogits } from '../model/executor/types.js';
import { RowSampler, sampleStep } from '../sampling/row-sampler.js';
import { loadReference } from './helpers/fixtures.js';
import {
  MODEL_NAME,
  sseEvents,
  startHardenedServer,
  waitFor,
  type HardenedServer,
} from './helpers/hardening-server.js';
import { WorkerFaults } from './helpers/worker-faults.js';

const VOCAB = 64;
const RESERVED = 2;
const BLOCK = 4;
const MARK = 63; // a prompt token that marks the request whose logits get poisoned

const tokenizer: TokenizerLike = {
  eosTokenIds: [1],
  decode: (ids) => ids.map((t) => String.fromCharCode(97 + (t % 26))).join(''),
};

const prompt = (seed: number, len: number): number[] =>
  Array.from({ length: len }, (_, i) => RESERVED + ((seed * 13 + i * 7) % (VOCAB - RESERVED - 1)));

function request(id: string, promptIds: number[], maxTokens = 12): EngineRequest {
  return {
    id,
    promptIds,
    maxTokens,
    sampling: { ...DEFAULT_SAMPLING, temperature: 0 },
    stop: [],
    stopTokenIds: [],
    ignoreEos: true,
    logprobs: null,
    promptLogprobs: null,
  };
}

function reference(p: readonly number[], n: number): number[] {
  const seq = [...p];
  for (let i = 0; i < n; i++) seq.push(FakeExecutor.nextToken(seq, VOCAB, RESERVED));
  return seq.slice(p.length);
}

/** Collects a stream: its tokens, and either its finish event or the error it ended with. */
async function outcome(
  events: AsyncIterable<TokenEvent>,
): Promise<{ tokens: number[]; error: unknown; cached: number | null }> {
  const tokens: number[] = [];
  try {
    for await (const e of events) {
      if (e.type === 'delta') tokens.push(...e.tokenIds);
      else return { tokens, error: null, cached: e.usage.cachedTokens };
    }
    return { tokens, error: new Error('no finish event'), cached: null };
  } catch (err) {
    return { tokens, error: err, cached: null };
  }
}

/**
 * A FakeExecutor that can throw, poison the logits of the MARK-ed sequence, or crash: a crash swaps in a fresh
 * FakeExecutor, whose cache slots are all unwritten, exactly as a restarted worker's pools are empty.
 */
class FaultyFake implements Executor {
  inner: FakeExecutor;
  crashes = 0;
  /** What the next step does instead of running. */
  next: 'throw' | 'crash-in-step' | 'crash-idle' | null = null;
  /** Poison the MARK-ed sequence's logits once it has this many tokens in context (null = never). */
  poisonAtContext: number | null = null;
  private markedBlock: number | null = null;

  constructor(private readonly config: { numBlocks: number }) {
    this.inner = this.fresh();
  }

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
    const fault = this.next;
    this.next = null;
    if (fault === 'throw') throw new Error('kernel exploded');
    if (fault === 'crash-in-step' || fault === 'crash-idle') {
      this.inner = this.fresh();
      this.crashes++;
      throw new ExecutorCrashed('worker died (test)', fault === 'crash-in-step');
    }
    return this.inner.step(inputs);
  }

  async close(): Promise<void> {}

  private fresh(): FakeExecutor {
    return new FakeExecutor({
      vocabSize: VOCAB,
      numBlocks: this.config.numBlocks,
      blockSize: BLOCK,
      reserved: RESERVED,
      editLogits: (inputs, logits) => {
        if (this.poisonAtContext !== null) this.poison(inputs, logits);
      },
    });
  }

  private poison(inputs: ForwardInputs, logits: Float32Array): void {
    let offset = 0;
    for (const seq of inputs.seqs) {
      const tokens = inputs.tokenIds.subarray(offset, offset + seq.queryLen);
      if (seq.contextLen === 0 && tokens.includes(MARK)) this.markedBlock = seq.blockTable[0] ?? null;
      const marked = this.markedBlock !== null && seq.blockTable[0] === this.markedBlock;
      if (marked && seq.contextLen + seq.queryLen >= this.poisonAtContext!) {
        inputs.logitsIndices.forEach((t, row) => {
          if (t >= offset && t < offset + seq.queryLen) logits[row * VOCAB + 5] = Number.NaN;
        });
      }
      offset += seq.queryLen;
    }
  }
}

function setup(config: Partial<EngineConfig> = {}, numBlocks = 64) {
  const executor = new FaultyFake({ numBlocks });
  const engine = new LatentEngine(executor, tokenizer, {
    maxNumSeqs: 8,
    maxNumBatchedTokens: 64,
    maxWaiting: 64,
    maxModelLen: 256,
    enablePrefixCaching: true,
    ...config,
  });
  return { executor, engine };
}

/** Runs until `count` tokens of `events` arrived, then returns an iterator positioned there. */
async function afterTokens(
  events: AsyncIterable<TokenEvent>,
  count: number,
): Promise<{ tokens: number[]; rest: AsyncIterable<TokenEvent> }> {
  const it = events[Symbol.asyncIterator]();
  const tokens: number[] = [];
  while (tokens.length < count) {
    const r = await it.next();
    if (r.done) break;
    if (r.value.type === 'delta') tokens.push(...r.value.tokenIds);
  }
  return { tokens, rest: { [Symbol.asyncIterator]: () => it } };
}

describe('engine fault isolation (FakeExecutor)', () => {
  it('a thrown step fails only the requests in it; waiting requests carry on; no block leaks', async () => {
    const { executor, engine } = setup({ maxNumSeqs: 1 });
    const a = engine.submit(request('a', prompt(1, 6), 20));
    const b = engine.submit(request('b', prompt(2, 6), 6)); // waits for a's seat
    const started = await afterTokens(a, 2);
    executor.next = 'throw';
    const [outA, outB] = await Promise.all([outcome(started.rest), outcome(b)]);
    assert.ok(outA.error instanceof ExecutorError && outA.error.code === 'executor_error', String(outA.error));
    assert.match((outA.error as Error).message, /kernel exploded/);
    assert.equal(outB.error, null);
    assert.deepEqual(outB.tokens, reference(prompt(2, 6), 6));
    const c = await outcome(engine.submit(request('c', prompt(3, 9), 5)));
    assert.deepEqual(c.tokens, reference(prompt(3, 9), 5));
    assert.equal(engine.stats().cacheBlocksUsed, 0);
  });

  it('NaN logits fail only the request they belong to, mid-stream; its batch-mates finish exactly', async () => {
    const { executor, engine } = setup();
    const marked = [MARK, ...prompt(4, 5)];
    executor.poisonAtContext = marked.length + 3;
    const [bad, good] = await Promise.all([
      outcome(engine.submit(request('bad', marked, 12))),
      outcome(engine.submit(request('good', prompt(5, 6), 12))),
    ]);
    assert.ok(bad.error instanceof ExecutorError && bad.error.code === 'non_finite_logits', String(bad.error));
    assert.equal(bad.tokens.length, 3, 'the tokens before the NaN were delivered');
    assert.deepEqual(bad.tokens, reference(marked, 3));
    assert.equal(good.error, null);
    assert.deepEqual(good.tokens, reference(prompt(5, 6), 12));
    assert.equal(engine.stats().cacheBlocksUsed, 0);
  });

  it("a crash in a step fails that step's requests and forgets every cached block (no stale prefix reuse)", async () => {
    const { executor, engine } = setup({ maxNumSeqs: 1 });
    const shared = prompt(6, 13); // three full blocks of 4, reusable by prefix
    const first = await outcome(engine.submit(request('first', shared, 4)));
    assert.equal(first.error, null);
    const again = await outcome(engine.submit(request('again', shared, 4)));
    assert.equal(again.cached, 12, 'the prefix cache works before the crash');

    const running = engine.submit(request('running', prompt(7, 6), 20));
    const waiting = engine.submit(request('waiting', prompt(8, 6), 6));
    const started = await afterTokens(running, 2);
    executor.next = 'crash-in-step';
    const [outRunning, outWaiting] = await Promise.all([outcome(started.rest), outcome(waiting)]);
    assert.ok(outRunning.error instanceof ExecutorCrashed, String(outRunning.error));
    assert.deepEqual(
      outWaiting.tokens,
      reference(prompt(8, 6), 6),
      'the waiting request is computed on the new worker',
    );

    // The fresh FakeExecutor throws on any read of a slot not written since the crash: reusing the old prefix
    // blocks would fail this request.
    const after = await outcome(engine.submit(request('after', shared, 4)));
    assert.equal(after.error, null, String(after.error));
    assert.equal(after.cached, 0);
    assert.deepEqual(after.tokens, reference(shared, 4));
    assert.equal(executor.crashes, 1);
    assert.equal(engine.stats().cacheBlocksUsed, 0);
  });

  it('a crash found before the step ran fails nobody: running requests are recomputed and finish exactly', async () => {
    const { executor, engine } = setup({ maxNumBatchedTokens: 8 });
    const prompts = [prompt(9, 10), prompt(10, 7), prompt(11, 3)];
    const streams = prompts.map((p, i) => engine.submit(request(`r${i}`, p, 16)));
    const started = await afterTokens(streams[0]!, 5);
    executor.next = 'crash-idle';
    const outs = await Promise.all([outcome(started.rest), outcome(streams[1]!), outcome(streams[2]!)]);
    assert.deepEqual([...started.tokens, ...outs[0]!.tokens], reference(prompts[0]!, 16));
    outs.slice(1).forEach((o, i) => {
      assert.equal(o.error, null, String(o.error));
      assert.deepEqual(o.tokens, reference(prompts[i + 1]!, 16));
    });
    assert.equal(executor.crashes, 1);
    assert.equal(engine.stats().cacheBlocksUsed, 0);
  });

  it('repeated faults of every kind leave the block pool whole', async () => {
    const { executor, engine } = setup({ maxNumSeqs: 4, maxNumBatchedTokens: 16 }, 24);
    const faults = ['throw', 'crash-in-step', 'crash-idle', null] as const;
    for (let round = 0; round < 12; round++) {
      const streams = Array.from({ length: 6 }, (_, i) =>
        engine.submit(request(`x${round}-${i}`, prompt(round * 7 + i, 3 + ((round + i) % 9)), 10)),
      );
      const pending = streams.map((s) => outcome(s));
      await new Promise((r) => setImmediate(r));
      executor.next = faults[round % faults.length]!;
      const outs = await Promise.all(pending);
      for (const o of outs) if (o.error !== null) assert.ok(o.error instanceof ExecutorError, String(o.error));
      assert.equal(engine.stats().cacheBlocksUsed, 0, `round ${round}`);
      assert.equal(engine.stats().numRunning + engine.stats().numWaiting, 0);
    }
    const last = await outcome(engine.submit(request('last', prompt(99, 11), 8)));
    assert.deepEqual(last.tokens, reference(prompt(99, 11), 8));
  });
});

/** Wraps the real executor: `arm` makes the next step throw, crash the worker mid-step, or find it dead. */
class FaultInjector extends ForwardingExecutor {
  armed: 'throw' | 'crash-in-step' | 'crash-idle' | null = null;
  poisonPrompt: readonly number[] | null = null;
  private poisonedBlock: number | null = null;
  killWorker: () => Promise<void> = async () => {};
  crashNextStep: () => void = () => {};
  private sampler: RowSampler | null = null;

  override async step(inputs: ForwardInputs): Promise<RunnerOutput> {
    const fault = this.armed;
    this.armed = null;
    if (fault === 'throw') throw new Error('injected failure');
    if (fault === 'crash-idle') await this.killWorker();
    if (fault === 'crash-in-step') this.crashNextStep();
    if (this.poisonPrompt === null || inputs.sampling === undefined) return this.inner.step(inputs);
    // Poisoning needs the logits on this side: run the step for its logits, then sample them here as the worker would.
    const { sampling, ...plain } = inputs;
    const logits = stepLogits(await this.inner.step(plain));
    this.poison(inputs, logits);
    this.sampler ??= new RowSampler(this.vocabSize);
    return { logits: null, samples: await sampleStep(this.sampler, logits, sampling, sampling.masks) };
  }

  /**
   * NaN into every logits row of the sequence whose prompt is `poisonPrompt`, once it is 10 tokens past its start.
   * It is found by its prefill: the step completing the prompt (a prefix-cache hit may have supplied its head).
   */
  private poison(inputs: ForwardInputs, logits: Float32Array): void {
    const prompt = this.poisonPrompt!;
    let offset = 0;
    for (const seq of inputs.seqs) {
      const fed = Array.from(inputs.tokenIds.subarray(offset, offset + seq.queryLen));
      if (seq.contextLen + seq.queryLen === prompt.length && fed.every((t, i) => t === prompt[seq.contextLen + i]))
        this.poisonedBlock = seq.blockTable[0] ?? null; // its own: the prompt is shorter than a block
      if (seq.blockTable[0] === this.poisonedBlock && seq.contextLen > 10) {
        inputs.logitsIndices.forEach((t, row) => {
          if (t >= offset && t < offset + seq.queryLen)
            logits.fill(Number.NaN, row * this.vocabSize, (row + 1) * this.vocabSize);
        });
      }
      offset += seq.queryLen;
    }
  }
}

describe('fault isolation on the real executor, through the API', () => {
  let s: HardenedServer;
  let faults: FaultInjector;
  const ref = loadReference('deepseek-v3-tiny-b').prompts.find((p) => p.name === 'chat40')!;
  const greedy = (extra: object = {}) => ({
    model: MODEL_NAME,
    prompt: ref.prompt_ids,
    max_tokens: 16,
    temperature: 0,
    ignore_eos: true,
    ...extra,
  });
  const tokensOf = (text: string): number[] =>
    (JSON.parse(text) as { choices: { logprobs: { tokens: string[] } }[] }).choices[0]!.logprobs.tokens.map((t) =>
      Number(t.replace('token_id:', '')),
    );
  const exact = async (): Promise<void> => {
    const res = await s.post('/v1/completions', greedy({ logprobs: 0, return_tokens_as_token_ids: true }));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(tokensOf(res.text), ref.continuation_ids, 'the server still computes the reference tokens');
  };

  before(async () => {
    const workers = new WorkerFaults();
    s = await startHardenedServer({
      spawnWorker: workers.spawn,
      wrap: (inner) => {
        faults = new FaultInjector(inner);
        return faults;
      },
    });
    faults.killWorker = () => workers.killIdleWorker();
    faults.crashNextStep = () => workers.crashNextStep();
  });
  after(async () => {
    await s.close();
  });

  /** Starts a long stream, waits for its first tokens, arms the fault, and returns the stream's events. */
  async function streamWithFault(
    fault: FaultInjector['armed'],
    body: object = greedy({ max_tokens: 200, stream: true }),
  ): Promise<unknown[]> {
    const res = await fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let text = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (fault !== null && (text.match(/"text"/g) ?? []).length >= 3) {
        faults.armed = fault;
        fault = null;
      }
    }
    return sseEvents(text);
  }

  it('a thrown step: the stream ends with a clear error event, then the server serves exactly', async () => {
    const events = await streamWithFault('throw');
    assert.equal(events.at(-1), '[DONE]');
    const error = (events.at(-2) as { error: { code: string; message: string; type: string } }).error;
    assert.equal(error.code, 'executor_error');
    assert.equal(error.type, 'server_error');
    assert.ok(!error.message.includes('injected'), 'internal messages stay in the log');
    assert.ok(s.logs.some((l) => JSON.stringify(l).includes('injected failure')));
    await exact();
  });

  it('the worker dies mid-step: that stream gets executor_crashed, the worker restarts, the cache is rebuilt', async () => {
    await exact(); // puts the reference prompt's blocks in the prefix cache
    const restarts = s.executor.numRestarts;
    const events = await streamWithFault('crash-in-step');
    assert.equal(events.at(-1), '[DONE]');
    assert.equal((events.at(-2) as { error: { code: string } }).error.code, 'executor_crashed');
    await exact(); // the old prefix blocks are gone with the old worker; reusing them would change the tokens
    const usage = JSON.parse((await s.post('/v1/completions', greedy())).text) as {
      usage: { prompt_tokens_details: { cached_tokens: number } };
    };
    assert.ok(usage.usage.prompt_tokens_details.cached_tokens > 0, 'the prefix cache fills again on the new worker');
    assert.equal(s.executor.numRestarts, restarts + 1);
  });

  it('the worker dies between steps: nobody fails, the running stream is recomputed and stays exact', async () => {
    const restarts = s.executor.numRestarts;
    const events = await streamWithFault(
      'crash-idle',
      greedy({ max_tokens: 16, stream: true, logprobs: 0, return_tokens_as_token_ids: true }),
    );
    const chunks = events.filter(
      (e): e is { choices: { text: string; logprobs: { tokens: string[] } | null }[] } =>
        typeof e === 'object' && e !== null && 'choices' in e,
    );
    assert.ok(!events.some((e) => typeof e === 'object' && e !== null && 'error' in e), JSON.stringify(events.at(-2)));
    const tokens = chunks
      .flatMap((c) => c.choices[0]?.logprobs?.tokens ?? [])
      .map((t) => Number(t.replace('token_id:', '')));
    assert.deepEqual(tokens, ref.continuation_ids);
    assert.equal(s.executor.numRestarts, restarts + 1);
  });

  it('NaN logits end only the affected stream; a concurrent stream completes exactly', async () => {
    const marked = [0, 5, 9, 14, 20, 27, 33]; // starts with BOS, as the reference prompt does; the other one does not
    faults.poisonPrompt = marked;
    try {
      const [bad, good] = await Promise.all([
        s.post('/v1/completions', greedy({ prompt: marked, max_tokens: 40, stream: true })),
        s.post('/v1/completions', greedy({ prompt: ref.prompt_ids.slice(1), max_tokens: 40 })),
      ]);
      const events = sseEvents(bad.text);
      assert.equal((events.at(-2) as { error: { code: string } }).error.code, 'non_finite_logits');
      assert.equal(good.status, 200, good.text);
    } finally {
      faults.poisonPrompt = null;
    }
  });

  it('afterwards: nothing running, no block in use, /health ok', async () => {
    await waitFor(() => s.engine.stats().numRunning === 0 && s.engine.stats().numWaiting === 0);
    assert.equal(s.engine.stats().cacheBlocksUsed, 0);
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
    await exact();
  });
});
