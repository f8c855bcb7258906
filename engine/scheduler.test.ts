// The scheduler alone: token budget, decodes before prefill, chunking, max_num_seqs, preemption order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KvCacheManager } from '../cache/kv-cache-manager.js';
import { Request } from './request.js';
import { Scheduler } from './scheduler.js';
import type { SchedulerOutput } from './scheduler.js';
import { DEFAULT_SAMPLING } from './types.js';

function req(id: string, promptLen: number, maxTokens = 4): Request {
  return new Request(
    {
      id,
      promptIds: Array.from({ length: promptLen }, (_, i) => 10 + i + id.length),
      maxTokens,
      sampling: DEFAULT_SAMPLING,
      stop: [],
      stopTokenIds: [],
      ignoreEos: false,
      logprobs: null,
      promptLogprobs: null,
    },
    [1],
    0,
  );
}

/** Runs one step, "sampling" token 5 for every request that samples. */
function step(s: Scheduler): SchedulerOutput {
  const out = s.schedule();
  s.update(out, new Map(out.scheduled.filter((e) => e.samples).map((e) => [e.request.id, 5])));
  return out;
}

const summary = (out: SchedulerOutput) =>
  out.scheduled.map((e) => `${e.request.id}:${e.numNewTokens}${e.samples ? '*' : ''}`);

describe('Scheduler', () => {
  it('chunks prefill under the budget and puts running requests first', () => {
    const kv = new KvCacheManager({ numBlocks: 32, blockSize: 4, enablePrefixCaching: false });
    const s = new Scheduler({ maxNumSeqs: 8, maxNumBatchedTokens: 10 }, kv);
    s.add(req('a', 14));
    s.add(req('b', 3));
    assert.deepEqual(summary(step(s)), ['a:10']);
    assert.deepEqual(summary(step(s)), ['a:4*', 'b:3*']);
    assert.deepEqual(summary(step(s)), ['a:1*', 'b:1*']);
  });

  it('never runs more than maxNumSeqs', () => {
    const kv = new KvCacheManager({ numBlocks: 32, blockSize: 4, enablePrefixCaching: false });
    const s = new Scheduler({ maxNumSeqs: 2, maxNumBatchedTokens: 100 }, kv);
    for (const id of ['a', 'b', 'c']) s.add(req(id, 2));
    assert.deepEqual(summary(step(s)), ['a:2*', 'b:2*']);
    assert.equal(s.numWaiting, 1);
  });

  it('preempts the newest running request when blocks run out, and resumes it first', () => {
    const kv = new KvCacheManager({ numBlocks: 3, blockSize: 4, enablePrefixCaching: false });
    const s = new Scheduler({ maxNumSeqs: 8, maxNumBatchedTokens: 100 }, kv);
    const newer = req('new', 4, 3);
    s.add(req('old', 4, 3));
    s.add(newer);
    assert.deepEqual(summary(step(s)), ['old:4*', 'new:4*']); // one block each, one left
    const out = s.schedule(); // both need a second block: only one is free
    assert.deepEqual(summary(out), ['old:1*']);
    assert.deepEqual(
      out.preempted.map((r) => r.id),
      ['new'],
    );
    assert.equal(newer.numComputedTokens, 0);
    assert.equal(newer.status, 'waiting');
    assert.deepEqual(newer.tokenIds.length, 5, 'generated tokens are kept for the recompute');
    s.update(out, new Map([['old', 5]]));
    assert.deepEqual(summary(step(s)), ['old:1*']); // still no room for new (needs 2 blocks)
    assert.deepEqual(summary(step(s)), ['new:5*']); // old finished (3 tokens): new recomputes prompt + its token
    assert.equal(kv.numUsedBlocks(), 2);
  });

  it('update finishes at max tokens or a stop token and frees blocks', () => {
    const kv = new KvCacheManager({ numBlocks: 8, blockSize: 4, enablePrefixCaching: false });
    const s = new Scheduler({ maxNumSeqs: 8, maxNumBatchedTokens: 100 }, kv);
    const a = req('a', 3, 2);
    s.add(a);
    step(s);
    const out = s.schedule();
    const finished = s.update(out, new Map([['a', 5]]));
    assert.deepEqual(
      finished.map((r) => r.finishReason),
      ['length'],
    );
    assert.equal(kv.numUsedBlocks(), 0);
    const b = req('b', 3, 10);
    s.add(b);
    const done = s.update(s.schedule(), new Map([['b', 1]]));
    assert.deepEqual(
      done.map((r) => [r.finishReason, r.stopReason]),
      [['stop', 1]],
    );
  });

  it('caps batch × longest chunk: a long prefill beside many decodes is chunked to maxPaddedQuerySlots / seats', () => {
    const kv = new KvCacheManager({ numBlocks: 64, blockSize: 4, enablePrefixCaching: false });
    const s = new Scheduler({ maxNumSeqs: 8, maxNumBatchedTokens: 100, maxPaddedQuerySlots: 40 }, kv);
    for (const id of ['a', 'b', 'c']) s.add(req(id, 2, 10));
    step(s); // three short prefills: 3 × 2 slots
    s.add(req('long', 30));
    // Four seats: chunks of at most 10 tokens, so the padded block is 4 × 10 ≤ 40.
    assert.deepEqual(summary(step(s)), ['a:1*', 'b:1*', 'c:1*', 'long:10']);
    assert.deepEqual(summary(step(s)), ['a:1*', 'b:1*', 'c:1*', 'long:10']);
    assert.deepEqual(summary(step(s)), ['a:1*', 'b:1*', 'c:1*', 'long:10*']);
  });

  it('without a cap given, the padded block is at most 4 × maxNumBatchedTokens', () => {
    const kv = new KvCacheManager({ numBlocks: 64, blockSize: 4, enablePrefixCaching: false });
    const s = new Scheduler({ maxNumSeqs: 8, maxNumBatchedTokens: 20 }, kv);
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) s.add(req(id, 1, 10));
    step(s);
    s.add(req('long', 40));
    const out = step(s); // 8 seats, 80 slots: chunks of at most 10 (the budget alone would allow 13)
    assert.deepEqual(summary(out).at(-1), 'long:10');
  });

  it('caps batch × chunk × longest context: long contexts beside a prefill get shorter chunks', () => {
    const kv = new KvCacheManager({ numBlocks: 64, blockSize: 4, enablePrefixCaching: false });
    const s = new Scheduler(
      { maxNumSeqs: 8, maxNumBatchedTokens: 100, maxPaddedQuerySlots: 1000, maxAttentionBlock: 960 },
      kv,
    );
    for (const id of ['a', 'b']) s.add(req(id, 60, 10));
    assert.deepEqual(summary(step(s)), ['a:8', 'b:8']); // 2 seats, 60 keys: chunks of 960 / 60 / 2 = 8
    while (step(s).scheduled.some((e) => !e.samples)) {
      /* the prefills finish in 8-token chunks */
    }
    s.add(req('long', 30));
    // 3 seats, the longest context 61–62 tokens = 64 keys: chunks of 960 / 64 / 3 = 5.
    const out = s.schedule();
    assert.deepEqual(summary(out).at(-1), 'long:5');
  });
});
