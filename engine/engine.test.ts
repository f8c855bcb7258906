// The batcher end to end on a FakeExecutor: batch invariance, chunked prefill, preemption, aborts, prefix
// caching, stop conditions, seeds and failure isolation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatentEngine } from './engine.js';
import type { EngineConfig, TokenizerLike } from './engine.js';
import { ContextLengthExceeded, Overloaded } from './errors.js';
import { FakeExecutor } from './fake-executor.js';
import type { FakeExecutorOptions } from './fake-executor.js';
import type { EngineObserver, EngineRequest, SamplingOptions, TokenEvent } from './types.js';
import { DEFAULT_SAMPLING } from './types.js';

const VOCAB = 64;
const EOS = 1;
const RESERVED = 2; // ids 0 (BOS) and 1 (EOS) are never predicted unless eosAfter says so

/** Token t > 1 decodes to one lowercase letter; 0 and 1 are specials (skipped). */
const tokenizer: TokenizerLike = {
  eosTokenIds: [EOS],
  decode: (ids, opts) =>
    ids
      .filter((t) => !(opts?.skipSpecialTokens && t < RESERVED))
      .map((t) => (t < RESERVED ? `<${t}>` : String.fromCharCode(97 + (t % 26))))
      .join(''),
};

const greedy: SamplingOptions = { ...DEFAULT_SAMPLING, temperature: 0 };

function request(id: string, promptIds: number[], over: Partial<EngineRequest> = {}): EngineRequest {
  return {
    id,
    promptIds,
    maxTokens: 8,
    sampling: greedy,
    stop: [],
    stopTokenIds: [],
    ignoreEos: false,
    logprobs: null,
    promptLogprobs: null,
    ...over,
  };
}

/** What the fake model generates greedily after `prompt`. */
function reference(prompt: readonly number[], n: number): number[] {
  const seq = [...prompt];
  for (let i = 0; i < n; i++) seq.push(FakeExecutor.nextToken(seq, VOCAB, RESERVED));
  return seq.slice(prompt.length);
}

function setup(
  exec: Partial<FakeExecutorOptions> = {},
  config: Partial<EngineConfig> = {},
  observer: EngineObserver = {},
) {
  const executor = new FakeExecutor({ vocabSize: VOCAB, numBlocks: 64, blockSize: 4, reserved: RESERVED, ...exec });
  const engine = new LatentEngine(
    executor,
    tokenizer,
    {
      maxNumSeqs: 16,
      maxNumBatchedTokens: 32,
      maxWaiting: 64,
      maxModelLen: 256,
      enablePrefixCaching: true,
      ...config,
    },
    observer,
  );
  return { executor, engine };
}

async function collect(events: AsyncIterable<TokenEvent>) {
  const tokens: number[] = [];
  let text = '';
  let finish: Extract<TokenEvent, { type: 'finish' }> | null = null;
  for await (const e of events) {
    if (e.type === 'delta') {
      tokens.push(...e.tokenIds);
      text += e.text;
    } else finish = e;
  }
  return { tokens, text, finish: finish! };
}

const prompt = (seed: number, len: number): number[] =>
  Array.from({ length: len }, (_, i) => RESERVED + ((seed * 13 + i * 7) % (VOCAB - RESERVED)));

describe('LatentEngine', () => {
  it('generates what the model predicts, greedily', async () => {
    const { engine } = setup();
    const p = prompt(1, 10);
    const out = await collect(engine.submit(request('a', p)));
    assert.deepEqual(out.tokens, reference(p, 8));
    assert.equal(out.finish.reason, 'length');
    assert.deepEqual(out.finish.usage, { promptTokens: 10, completionTokens: 8, cachedTokens: 0 });
    assert.equal(engine.stats().cacheBlocksUsed, 0);
    // The blocks allocated for its 18 tokens stay touched (their pages resident) after release.
    assert.equal(engine.stats().cacheBlocksTouched, Math.ceil(18 / engine.stats().cacheBlockSize));
  });

  it('16 concurrent requests give exactly what each gives alone, sharing steps', async () => {
    const { engine, executor } = setup();
    const prompts = Array.from({ length: 16 }, (_, i) => prompt(i + 3, 3 + ((i * 5) % 17)));
    const outs = await Promise.all(
      prompts.map((p, i) => collect(engine.submit(request(`r${i}`, p, { maxTokens: 6 + (i % 4) })))),
    );
    outs.forEach((o, i) => assert.deepEqual(o.tokens, reference(prompts[i]!, 6 + (i % 4)), `request ${i}`));
    assert.ok(
      executor.steps.some((s) => s.seqs.length >= 8),
      'decodes of many requests share steps',
    );
    assert.ok(
      executor.steps.every((s) => s.tokenIds.length <= 32),
      'the token budget holds',
    );
    assert.ok(
      executor.steps.some((s) => s.seqs.some((q) => q.queryLen > 1) && s.seqs.some((q) => q.queryLen === 1)),
      'prefill chunks join decodes',
    );
    assert.equal(engine.stats().cacheBlocksUsed, 0);
  });

  it('preempts by recompute when blocks run out, and still gets every token right', async () => {
    let preemptions = 0;
    const { engine } = setup(
      { numBlocks: 10 },
      {},
      {
        onPreemption: () => {
          preemptions++;
        },
      },
    );
    const prompts = Array.from({ length: 6 }, (_, i) => prompt(i + 40, 5));
    const outs = await Promise.all(
      prompts.map((p, i) => collect(engine.submit(request(`p${i}`, p, { maxTokens: 12 })))),
    );
    outs.forEach((o, i) => assert.deepEqual(o.tokens, reference(prompts[i]!, 12), `request ${i}`));
    assert.ok(preemptions > 0, 'the pool (40 slots) cannot hold 6 × 17 tokens at once');
    assert.equal(engine.stats().cacheBlocksUsed, 0);
  });

  it('an aborted request leaves the batch within one step and frees its blocks', async () => {
    const controller = new AbortController();
    let stepsAfterAbort = -1;
    const { engine, executor } = setup({
      beforeStep: (inputs) => {
        if (controller.signal.aborted) stepsAfterAbort++;
        if (stepsAfterAbort > 0) assert.ok(inputs.seqs.length === 1, 'only the surviving request runs');
      },
    });
    const other = collect(engine.submit(request('keep', prompt(7, 6), { maxTokens: 20 })));
    const seen: number[] = [];
    for await (const e of engine.submit(request('drop', prompt(8, 6), { maxTokens: 50 }), controller.signal)) {
      if (e.type === 'delta') seen.push(...e.tokenIds);
      if (seen.length === 3) controller.abort();
    }
    assert.equal(seen.length, 3);
    assert.deepEqual((await other).tokens, reference(prompt(7, 6), 20));
    assert.ok(executor.steps.length < 30);
    assert.equal(engine.stats().cacheBlocksUsed, 0);
    assert.equal(engine.stats().numRunning + engine.stats().numWaiting, 0);
  });

  it('leaving the for-await loop cancels the request', async () => {
    const { engine } = setup();
    for await (const e of engine.submit(request('x', prompt(9, 4), { maxTokens: 100 }))) {
      if (e.type === 'delta') break;
    }
    await new Promise((r) => setImmediate(r));
    assert.equal(engine.stats().cacheBlocksUsed, 0);
    assert.equal(engine.stats().numRunning, 0);
  });

  it('a repeated prompt hits the prefix cache and skips its prefill', async () => {
    const hits: number[] = [];
    const { engine, executor } = setup({}, {}, { onPrefixCacheQuery: (_q, h) => hits.push(h) });
    const p = prompt(11, 30);
    const first = await collect(engine.submit(request('first', p, { maxTokens: 3 })));
    const before = executor.steps.length;
    const second = await collect(engine.submit(request('second', p, { maxTokens: 3 })));
    assert.deepEqual(second.tokens, first.tokens);
    // 7 full blocks of 4, then 1 of the 2 rows of the 8th (first's), copied: the last token is always computed.
    assert.equal(second.finish.usage.cachedTokens, 29);
    assert.deepEqual(hits, [0, 29]);
    const prefill = executor.steps[before]!;
    assert.equal(prefill.tokenIds.length, 1, 'only the last token of the prompt is computed');
    const [src, dst, rows] = prefill.slotCopies!;
    assert.equal(rows, 1);
    assert.equal(dst, prefill.seqs[0]!.blockTable[7]! * 4);
    assert.notEqual(src, dst);
  });

  it('a follow-up prompt that continues a finished one reuses its rows up to the last token, output included', async () => {
    const { engine, executor } = setup();
    const p = prompt(5, 13);
    const first = await collect(engine.submit(request('turn1', p, { maxTokens: 6 })));
    // The next turn: the conversation so far (the last output token was never computed) plus a new message.
    const next = [...p, ...first.tokens, ...prompt(1, 3)];
    const before = executor.steps.length;
    const second = await collect(engine.submit(request('turn2', next, { maxTokens: 2 })));
    assert.equal(second.finish.usage.cachedTokens, p.length + first.tokens.length - 1);
    assert.equal(executor.steps[before]!.tokenIds.length, 4);
    // The fake model's tokens depend on every earlier token, read through the cache: a wrong row would change them.
    assert.deepEqual(second.tokens, reference(next, 2));
  });

  it('stops on EOS (not shown), or runs to max_tokens with ignore_eos', async () => {
    const { engine } = setup({ eosAfter: { length: 8, eosId: EOS } });
    const p = prompt(2, 5);
    const stopped = await collect(engine.submit(request('eos', p, { maxTokens: 10 })));
    assert.equal(stopped.finish.reason, 'stop');
    assert.equal(stopped.finish.stopReason, EOS);
    assert.equal(stopped.tokens.at(-1), EOS);
    assert.equal(stopped.tokens.length, 4);
    assert.ok(!stopped.text.includes('<'), 'special tokens are not rendered');
    const ignored = await collect(engine.submit(request('ign', p, { maxTokens: 10, ignoreEos: true })));
    assert.equal(ignored.finish.reason, 'length');
    assert.equal(ignored.tokens.length, 10);
    assert.ok(!ignored.text.includes('<'), 'special tokens are skipped by default');
    // skip_special_tokens: false renders them (the fake tokenizer spells EOS `<1>`).
    const shown = await collect(
      engine.submit(request('show', p, { maxTokens: 10, ignoreEos: true, skipSpecialTokens: false })),
    );
    assert.deepEqual(shown.tokens, ignored.tokens);
    assert.equal(shown.text, ignored.text + '<1>'.repeat(7));
  });

  it('min_tokens holds EOS and stop_token_ids back until that many tokens are out, then they stop as usual', async () => {
    const { engine } = setup({ eosAfter: { length: 8, eosId: EOS } });
    const p = prompt(2, 5); // EOS would be the 4th token
    const held = await collect(engine.submit(request('min', p, { maxTokens: 10, minTokens: 6 })));
    assert.equal(held.tokens.length, 7);
    assert.ok(!held.tokens.slice(0, 6).includes(EOS), `${held.tokens}`);
    assert.equal(held.tokens.at(-1), EOS);
    assert.equal(held.finish.reason, 'stop');
    // The first three tokens are the model's own (EOS was not in play yet), the next three its second choice.
    assert.deepEqual(held.tokens.slice(0, 3), reference(p, 3));
    // A stop token id is held back the same way: the free run's first token, asked to stop at once.
    const free = await collect(engine.submit(request('free', p, { maxTokens: 10, ignoreEos: true })));
    const first = free.tokens[0]!;
    const stopped = await collect(engine.submit(request('stopid', p, { maxTokens: 10, stopTokenIds: [first] })));
    assert.deepEqual(stopped.tokens, [first]);
    assert.equal(stopped.finish.stopReason, first);
    const later = await collect(
      engine.submit(request('stopid-min', p, { maxTokens: 10, stopTokenIds: [first], minTokens: 2, ignoreEos: true })),
    );
    assert.notEqual(later.tokens[0], first);
    assert.notEqual(later.tokens[1], first);
  });

  it('include_stop_str_in_output keeps the stop string that ended the text, found mid-stream or at the end', async () => {
    const { engine } = setup({ eosAfter: { length: 14, eosId: EOS } });
    const p = prompt(5, 6);
    const full = await collect(engine.submit(request('full', p, { maxTokens: 12 })));
    const stop = full.text.slice(4, 6);
    const kept = await collect(
      engine.submit(request('kept', p, { maxTokens: 12, stop: [stop], includeStopStrInOutput: true })),
    );
    assert.equal(kept.finish.stopReason, stop);
    assert.equal(kept.text, full.text.slice(0, full.text.indexOf(stop) + stop.length));
    // A stop string held back when EOS ends the output (its last letters, a prefix of a longer stop): not a match.
    const tail = full.text.slice(-2);
    const held = await collect(
      engine.submit(request('held', p, { maxTokens: 12, stop: [`${tail}zz`], includeStopStrInOutput: true })),
    );
    assert.equal(held.text, full.text);
  });

  it('allowed_token_ids: every token comes from the set (EOS too, so only a listed EOS can end it)', async () => {
    const { engine } = setup({ eosAfter: { length: 8, eosId: EOS } });
    const p = prompt(2, 5);
    const allowed = [7, 11, 12];
    const only = await collect(engine.submit(request('only', p, { maxTokens: 10, allowedTokenIds: allowed })));
    assert.equal(only.tokens.length, 10);
    assert.ok(
      only.tokens.every((t) => allowed.includes(t)),
      `${only.tokens}`,
    );
    assert.equal(only.finish.reason, 'length');
    const withEos = await collect(
      engine.submit(request('eos', p, { maxTokens: 10, allowedTokenIds: [...allowed, EOS] })),
    );
    assert.equal(withEos.finish.reason, 'stop');
    assert.equal(withEos.tokens.at(-1), EOS);
    assert.ok(withEos.tokens.length <= 4, `${withEos.tokens}`); // by the 4th token EOS is the model's own choice
    assert.ok(
      withEos.tokens.every((t) => allowed.includes(t) || t === EOS),
      `${withEos.tokens}`,
    );
  });

  it('min_tokens: stop strings match only in the text after the first min_tokens tokens', async () => {
    const { engine } = setup();
    const p = prompt(5, 6);
    const full = await collect(engine.submit(request('full', p, { maxTokens: 12 })));
    const stop = full.text[1]!; // one letter per token: the second token's
    for (const minTokens of [0, 2, 5]) {
      const cut = await collect(
        engine.submit(request(`cut${minTokens}`, p, { maxTokens: 12, stop: [stop], minTokens })),
      );
      const at = full.text.indexOf(stop, minTokens);
      assert.equal(cut.text, at < 0 ? full.text : full.text.slice(0, at), `min_tokens ${minTokens}`);
      assert.equal(cut.finish.reason, at < 0 ? 'length' : 'stop');
    }
  });

  it('stop strings end generation and are not part of the text', async () => {
    const { engine } = setup();
    const p = prompt(5, 6);
    const full = await collect(engine.submit(request('full', p, { maxTokens: 12 })));
    const stop = full.text.slice(4, 6);
    const cut = await collect(engine.submit(request('cut', p, { maxTokens: 12, stop: [stop] })));
    assert.equal(cut.finish.reason, 'stop');
    assert.equal(cut.finish.stopReason, stop);
    assert.equal(cut.text, full.text.slice(0, full.text.indexOf(stop)));
  });

  it('same seed ⇒ same sampled output; another seed ⇒ another', async () => {
    const { engine } = setup();
    const sampling = (seed: number): SamplingOptions => ({ ...DEFAULT_SAMPLING, temperature: 5, seed });
    const run = async (id: string, seed: number) =>
      (await collect(engine.submit(request(id, prompt(3, 5), { maxTokens: 16, sampling: sampling(seed) })))).tokens;
    const [a, b, c] = await Promise.all([run('s1', 42), run('s2', 42), run('s3', 43)]);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('prompt logprobs cover every prompt token across chunked prefill', async () => {
    const { engine } = setup({}, { maxNumBatchedTokens: 5 });
    const p = prompt(6, 13);
    const out = await collect(engine.submit(request('lp', p, { maxTokens: 2, promptLogprobs: 2, logprobs: 3 })));
    const entries = out.finish.promptLogprobs!;
    assert.equal(entries.length, 13);
    assert.equal(entries[0], null);
    entries.slice(1).forEach((e, j) => {
      assert.equal(e!.id, p[j + 1]);
      assert.equal(e!.top.length, 2);
    });
  });

  it('refuses what it cannot take: context overflow, full queue', () => {
    const { engine } = setup({}, { maxNumSeqs: 1, maxWaiting: 1, maxModelLen: 20 });
    assert.throws(() => engine.submit(request('long', prompt(1, 15), { maxTokens: 6 })), ContextLengthExceeded);
    engine.submit(request('running', prompt(1, 5)));
    engine.submit(request('waiting', prompt(2, 5)));
    assert.throws(() => engine.submit(request('refused', prompt(3, 5))), Overloaded);
  });

  it('a failing step ends only its requests; the engine keeps serving', async () => {
    let fail = true;
    const { engine } = setup({
      beforeStep: () => {
        if (fail) {
          fail = false;
          throw new Error('device lost');
        }
      },
    });
    await assert.rejects(collect(engine.submit(request('doomed', prompt(1, 5)))), /device lost/);
    const ok = await collect(engine.submit(request('fine', prompt(1, 5))));
    assert.deepEqual(ok.tokens, reference(prompt(1, 5), 8));
    assert.equal(engine.stats().cacheBlocksUsed, 0);
  });
});
