import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvCacheManager } from './kv-cache-manager.js';

const manager = (numBlocks: number, blockSize: number, enablePrefixCaching = true): KvCacheManager =>
  new KvCacheManager({ numBlocks, blockSize, enablePrefixCaching });

/** Admits a request the way the scheduler does: find the prefix, allocate, then compute and cache everything. */
function admitAndCompute(kv: KvCacheManager, id: string, tokens: readonly number[]): number {
  const hit = kv.findCachedPrefix(tokens);
  assert.ok(kv.allocateSlots(id, tokens.length, hit));
  kv.cacheFullBlocks(id, tokens, tokens.length);
  return hit.numTokens;
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

test('allocateSlots grows the table to ceil(numTokens / blockSize), append-only', () => {
  const kv = manager(8, 4);
  assert.ok(kv.allocateSlots('a', 5));
  const first = [...kv.blockTable('a')];
  assert.equal(first.length, 2);
  assert.ok(kv.allocateSlots('a', 8));
  assert.equal(kv.blockTable('a').length, 2);
  assert.ok(kv.allocateSlots('a', 9));
  assert.equal(kv.blockTable('a').length, 3);
  assert.ok(kv.allocateSlots('a', 1)); // never shrinks
  assert.deepEqual(kv.blockTable('a').slice(0, 2), first);
  assert.equal(kv.blockTable('a').length, 3);
  assert.ok(kv.allocateSlots('b', 20));
  assert.equal(kv.blockTable('b').length, 5);
  assert.equal(new Set([...kv.blockTable('a'), ...kv.blockTable('b')]).size, 8);
  assert.equal(kv.numUsedBlocks(), 8);
  assert.equal(kv.numFreeBlocks(), 0);
  assert.deepEqual(kv.blockTable('nobody'), []);
});

test('allocateSlots returns false and changes nothing when exhausted; free returns the blocks', () => {
  const kv = manager(4, 4);
  assert.ok(kv.allocateSlots('a', 9));
  assert.equal(kv.allocateSlots('b', 5), false);
  assert.deepEqual(kv.blockTable('b'), []);
  const before = [...kv.blockTable('a')];
  assert.equal(kv.allocateSlots('a', 17), false);
  assert.deepEqual(kv.blockTable('a'), before);
  assert.equal(kv.numUsedBlocks(), 3);
  assert.equal(kv.numFreeBlocks(), 1);
  kv.free('a');
  kv.free('a'); // unknown now: no-op
  kv.free('nobody');
  assert.deepEqual(kv.blockTable('a'), []);
  assert.equal(kv.numUsedBlocks(), 0);
  assert.equal(kv.numFreeBlocks(), 4);
  for (const id of before) assert.equal(kv.refCount(id), 0);
  assert.ok(kv.allocateSlots('b', 16));
});

// A: 3 full blocks of 4 + a partial one of 2. B shares A's first 2 blocks, then differs.
const A = range(14);
const B = [...range(8), 99, 98, 97, 96, 95];

for (const aAlive of [false, true]) {
  test(`prefix hit: B adopts A's 2 shared blocks (A ${aAlive ? 'still running' : 'freed'})`, () => {
    const kv = manager(16, 4);
    assert.equal(admitAndCompute(kv, 'a', A), 0);
    assert.equal(kv.numCachedBlocks(), 3); // the partial 4th block is not cached
    const aTable = [...kv.blockTable('a')];
    if (!aAlive) kv.free('a');
    const hit = kv.findCachedPrefix(B);
    assert.deepEqual(hit, { blocks: aTable.slice(0, 2), tail: null, numTokens: 8 }); // A's block 2 starts 8, not 99
    assert.equal(kv.refCount(aTable[0]!), aAlive ? 1 : 0); // find does not change refCounts
    assert.ok(kv.allocateSlots('b', B.length, hit));
    assert.deepEqual(kv.blockTable('b').slice(0, 2), aTable.slice(0, 2));
    assert.equal(kv.blockTable('b').length, 4);
    for (const id of aTable.slice(0, 2)) assert.equal(kv.refCount(id), aAlive ? 2 : 1);
    kv.cacheFullBlocks('b', B, B.length); // the adopted blocks are already cached; only B's third is new
    assert.equal(kv.numCachedBlocks(), 4);
    assert.equal(kv.numUsedBlocks(), aAlive ? 4 + 2 : 4);
    assert.equal(kv.numUsedBlocks() + kv.numFreeBlocks(), 16);
    kv.free('a');
    kv.free('b');
    for (let id = 0; id < 16; id++) assert.equal(kv.refCount(id as never), 0);
    assert.equal(kv.numFreeBlocks(), 16);
  });
}

test('a hit never covers the whole prompt: one token is always left to compute', () => {
  const kv = manager(16, 4);
  admitAndCompute(kv, 'a', A);
  // 2 full blocks, then 3 of the 4 rows of A's third (the last token is computed).
  assert.equal(kv.findCachedPrefix(A.slice(0, 12)).numTokens, 11);
  assert.equal(kv.findCachedPrefix(A.slice(0, 13)).numTokens, 12);
  assert.equal(kv.findCachedPrefix(A.slice(0, 4)).numTokens, 3);
  assert.equal(kv.findCachedPrefix(A.slice(0, 5)).numTokens, 4);
  assert.equal(kv.findCachedPrefix(A.slice(0, 1)).numTokens, 0);
  assert.equal(kv.findCachedPrefix([]).numTokens, 0);
});

test('hashes are chained: the same block tokens after a different prefix do not hit', () => {
  const kv = manager(16, 4);
  admitAndCompute(kv, 'a', A);
  assert.equal(kv.findCachedPrefix([7, 7, 7, 7, ...A.slice(4)]).numTokens, 0);
  assert.equal(kv.findCachedPrefix([...A.slice(4, 8), ...A.slice(4)]).numTokens, 0); // A's block 1 moved to 0
  assert.equal(kv.findCachedPrefix([...A.slice(0, 4), 7, 7, 7, 7, ...A.slice(8)]).numTokens, 4);
});

test('cacheFullBlocks registers computed full blocks only, idempotently, and keeps the first of duplicates', () => {
  const kv = manager(16, 4);
  assert.ok(kv.allocateSlots('a', A.length));
  kv.cacheFullBlocks('a', A, 7);
  assert.equal(kv.numCachedBlocks(), 1);
  kv.cacheFullBlocks('a', A, 14);
  kv.cacheFullBlocks('a', A, 14);
  assert.equal(kv.numCachedBlocks(), 3);
  kv.cacheFullBlocks('nobody', A, 14); // unknown: no-op
  // A twin computed without a hit (admitted before A cached anything) duplicates A's hashes: A's entries stay.
  assert.ok(kv.allocateSlots('twin', A.length));
  kv.cacheFullBlocks('twin', A, 14);
  assert.equal(kv.numCachedBlocks(), 3);
  assert.deepEqual(kv.findCachedPrefix(A).blocks, kv.blockTable('a').slice(0, 3));
  kv.free('twin'); // its uncached blocks go straight back to the free list
  assert.equal(kv.numFreeBlocks(), 16 - 4);
  assert.equal(kv.numCachedBlocks(), 3);
});

test('adopting evictable blocks counts against capacity: false changes nothing, not even the adoption', () => {
  const kv = manager(4, 4);
  admitAndCompute(kv, 'a', range(9)); // 2 cached blocks + 1 partial
  kv.free('a');
  assert.equal(kv.numFreeBlocks(), 4);
  const hit = kv.findCachedPrefix(range(20));
  assert.equal(hit.blocks.length, 2);
  assert.equal(kv.allocateSlots('b', 20, hit), false); // needs 2 adopted + 3 new > 4
  assert.deepEqual(kv.blockTable('b'), []);
  for (const id of hit.blocks) assert.equal(kv.refCount(id), 0);
  assert.equal(kv.numFreeBlocks(), 4);
  assert.equal(kv.numCachedBlocks(), 2);
  assert.ok(kv.allocateSlots('b', 16, hit));
  assert.equal(kv.numFreeBlocks(), 0);
  assert.equal(kv.numCachedBlocks(), 2); // the hit blocks survived: new blocks came from the free list
});

test('LRU: cached blocks are evicted least recently freed first, and an evicted hash no longer hits', () => {
  const kv = manager(4, 2);
  admitAndCompute(kv, 'p', [1, 1, 1]); // one cached block + one partial
  admitAndCompute(kv, 'q', [2, 2, 2]);
  kv.free('p');
  kv.free('q');
  assert.equal(kv.numCachedBlocks(), 2);
  // Re-using P's block makes it the most recently freed.
  const p = kv.findCachedPrefix([1, 1, 1]);
  assert.equal(p.numTokens, 2);
  assert.ok(kv.allocateSlots('p2', 3, p));
  kv.free('p2');
  assert.equal(kv.numFreeBlocks(), 4);
  assert.ok(kv.allocateSlots('s', 6)); // 2 from the free list, then evicts Q's block (older than P's)
  assert.equal(kv.findCachedPrefix([2, 2, 2]).numTokens, 0);
  assert.equal(kv.findCachedPrefix([1, 1, 1]).numTokens, 2);
  assert.ok(kv.allocateSlots('s', 8)); // evicts P's too
  assert.equal(kv.findCachedPrefix([1, 1, 1]).numTokens, 0);
  assert.equal(kv.numCachedBlocks(), 0);
  assert.equal(kv.allocateSlots('s', 9), false);
});

test('LRU: a request is freed tail first, so its head outlives its tail', () => {
  const kv = manager(3, 2);
  admitAndCompute(kv, 'a', [1, 2, 3, 4, 5]); // blocks [1,2] and [3,4] cached, [5] partial
  kv.free('a');
  assert.ok(kv.allocateSlots('x', 4)); // the partial block from the free list, then evicts A's tail
  assert.equal(kv.findCachedPrefix([1, 2, 3, 4, 5]).numTokens, 2);
});

test('disabled prefix caching never hits and returns freed blocks to the free list', () => {
  const kv = manager(4, 4, false);
  admitAndCompute(kv, 'a', A);
  assert.equal(kv.numCachedBlocks(), 0);
  assert.deepEqual(kv.findCachedPrefix(A), { blocks: [], tail: null, numTokens: 0 });
  kv.free('a');
  assert.equal(kv.findCachedPrefix(A).numTokens, 0);
  assert.equal(kv.numFreeBlocks(), 4);
  assert.ok(kv.allocateSlots('b', 16));
});

test('a stale or inconsistent prefix is refused loudly', () => {
  const kv = manager(4, 2);
  admitAndCompute(kv, 'a', [1, 1, 1]);
  const hit = kv.findCachedPrefix([1, 1, 1]);
  assert.throws(() => kv.allocateSlots('b', 3, { blocks: hit.blocks, tail: null, numTokens: 3 }), /claims 3 tokens/);
  kv.free('a');
  assert.ok(kv.allocateSlots('x', 8)); // evicts the cached block
  assert.throws(() => kv.allocateSlots('b', 3, hit), /no longer cached/);
});

test('a hit continues inside a block: the longest start of a following cached block is copied, not recomputed', () => {
  const kv = manager(16, 4);
  admitAndCompute(kv, 'a', A);
  assert.deepEqual(kv.takeCopies(), []); // A hit nothing
  const aTable = [...kv.blockTable('a')];
  kv.free('a', { tokenIds: A, numComputedTokens: A.length }); // A's partly filled 4th block ([12, 13]) stays cached
  assert.equal(kv.numCachedBlocks(), 4);

  // 2 full blocks, then 2 rows of A's (full) third block; B's 11th token differs.
  const b = [...A.slice(0, 10), 77, 78];
  const hitB = kv.findCachedPrefix(b);
  assert.deepEqual(hitB, { blocks: aTable.slice(0, 2), tail: { block: aTable[2], numTokens: 2 }, numTokens: 10 });
  assert.ok(kv.allocateSlots('b', b.length, hitB));
  const bTable = kv.blockTable('b');
  assert.equal(bTable.length, 3);
  assert.notEqual(bTable[2], aTable[2]); // B writes its own block; A's stays cached
  assert.deepEqual(kv.takeCopies(), [{ srcSlot: aTable[2]! * 4, dstSlot: bTable[2]! * 4, rows: 2 }]);
  assert.deepEqual(kv.takeCopies(), []); // taken once
  assert.equal(kv.refCount(aTable[2]!), 0);
  kv.cacheFullBlocks('b', b, b.length);

  // All of A plus one more token: 3 full blocks and both rows of the partial 4th.
  const c = [...A, 50];
  const hitC = kv.findCachedPrefix(c);
  assert.deepEqual(hitC, { blocks: aTable.slice(0, 3), tail: { block: aTable[3], numTokens: 2 }, numTokens: 14 });
  // A prompt equal to A: the partial block gives 1 row, leaving the last token to compute.
  assert.equal(kv.findCachedPrefix(A).numTokens, 13);
  // Two candidates after A's 2nd block: A's [8, 9, 10, 11] and B's [8, 9, 77, 78]; the longer match wins.
  assert.deepEqual(kv.findCachedPrefix([...A.slice(0, 10), 77, 5]).tail, { block: bTable[2], numTokens: 3 });
  assert.deepEqual(kv.findCachedPrefix([...A.slice(0, 11), 5]).tail, { block: aTable[2], numTokens: 3 });
});

test('a partly filled block is cached only when free is told its rows were written', () => {
  const kv = manager(8, 4);
  admitAndCompute(kv, 'a', A);
  kv.free('a'); // an abort or a failed step: rows past the full blocks are not vouched for
  assert.equal(kv.numCachedBlocks(), 3);
  assert.equal(kv.findCachedPrefix([...A, 1]).numTokens, 12);
  admitAndCompute(kv, 'b', A);
  kv.free('b', { tokenIds: [...A, 5, 6], numComputedTokens: 13 }); // 13 of 16 tokens computed: 1 row in block 4
  assert.equal(kv.findCachedPrefix([...A, 1]).numTokens, 13);
  // free caches full blocks first: C computed 6 tokens but its last cacheFullBlocks saw only 3.
  assert.ok(kv.allocateSlots('c', 7));
  kv.cacheFullBlocks('c', [9, 9, 9, 9, 9, 9, 9], 3);
  kv.free('c', { tokenIds: [9, 9, 9, 9, 9, 9, 9], numComputedTokens: 6 });
  assert.deepEqual(kv.findCachedPrefix([9, 9, 9, 9, 9, 9, 9]).numTokens, 6);
});

test('a copy source evicted for the request itself is its own destination: the copy is a no-op, the rows stay', () => {
  const kv = manager(2, 2);
  admitAndCompute(kv, 'a', [1, 2, 3]); // [1, 2] cached, [3] partial
  kv.free('a', { tokenIds: [1, 2, 3], numComputedTokens: 3 }); // released tail first: [3] is evicted first
  const hit = kv.findCachedPrefix([1, 2, 3, 9]);
  assert.equal(hit.numTokens, 3);
  assert.ok(kv.allocateSlots('b', 4, hit)); // no free block: evicts the source into B's table
  const src = hit.tail!.block;
  assert.deepEqual(kv.blockTable('b'), [...hit.blocks, src]);
  assert.deepEqual(kv.takeCopies(), [{ srcSlot: src * 2, dstSlot: src * 2, rows: 1 }]);
  assert.equal(kv.findCachedPrefix([1, 2, 3, 9]).numTokens, 2); // the partial block is B's now, not a cache entry
});

test('a refused allocation queues no copy', () => {
  const kv = manager(3, 2);
  admitAndCompute(kv, 'a', [1, 2, 3]);
  kv.free('a', { tokenIds: [1, 2, 3], numComputedTokens: 3 });
  const hit = kv.findCachedPrefix([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(hit.numTokens, 3);
  assert.equal(kv.allocateSlots('b', 8, hit), false);
  assert.deepEqual(kv.takeCopies(), []);
  assert.throws(() => kv.allocateSlots('b', 3, hit), /needs a block of its own/);
});
