import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BlockPool, blocksFor, slotOf } from './block-pool.js';
import type { BlockHash, BlockId } from './types.js';

const ids = (...n: number[]): BlockId[] => n as BlockId[];

function usedCount(pool: BlockPool): number {
  let used = 0;
  for (let id = 0; id < pool.numBlocks; id++) if (pool.refCount(id as BlockId) > 0) used++;
  return used;
}

test('a fresh pool has every block free with refCount 0', () => {
  const pool = new BlockPool(5);
  assert.equal(pool.numBlocks, 5);
  assert.equal(pool.numFree, 5);
  for (let id = 0; id < 5; id++) assert.equal(pool.refCount(id as BlockId), 0);
});

test('allocate hands out distinct blocks, low ids first, each with refCount 1', () => {
  const pool = new BlockPool(8);
  const a = pool.allocate(3);
  assert.deepEqual(a, [0, 1, 2]);
  const b = pool.allocate(2);
  assert.deepEqual(b, [3, 4]);
  assert.equal(pool.numFree, 3);
  for (const id of [...a!, ...b!]) assert.equal(pool.refCount(id), 1);
  assert.equal(pool.refCount(5 as BlockId), 0);
});

test('allocate(0) takes nothing', () => {
  const pool = new BlockPool(4);
  assert.deepEqual(pool.allocate(0), []);
  assert.equal(pool.numFree, 4);
});

test('release frees blocks and they are handed out again', () => {
  const pool = new BlockPool(4);
  const a = pool.allocate(4)!;
  assert.equal(pool.numFree, 0);
  pool.release(ids(a[1]!, a[3]!));
  assert.equal(pool.numFree, 2);
  assert.equal(pool.refCount(a[1]!), 0);
  assert.equal(pool.refCount(a[0]!), 1);
  const again = pool.allocate(2)!;
  assert.deepEqual([...again].sort(), [1, 3]);
  assert.equal(pool.numFree, 0);
});

test('allocate returns null when exhausted and takes nothing', () => {
  const pool = new BlockPool(4);
  const a = pool.allocate(3)!;
  assert.equal(pool.allocate(2), null);
  assert.equal(pool.numFree, 1);
  assert.equal(usedCount(pool), 3);
  // The one remaining block is still available in full.
  const b = pool.allocate(1);
  assert.equal(b!.length, 1);
  assert.ok(!a.includes(b![0]!));
  assert.equal(pool.allocate(1), null);
  assert.equal(pool.numFree, 0);
});

test('releasing a block twice throws', () => {
  const pool = new BlockPool(3);
  const a = pool.allocate(1)!;
  pool.release(a);
  assert.throws(() => pool.release(a), /released while not in use/);
  assert.equal(pool.numFree, 3);
});

test('releasing a never-allocated or out-of-range block throws', () => {
  const pool = new BlockPool(3);
  assert.throws(() => pool.release(ids(1)), /block 1 released while not in use/);
  assert.throws(() => pool.release(ids(7)), /block 7/);
  assert.equal(pool.numFree, 3);
});

type Op = { readonly kind: 'allocate'; readonly n: number } | { readonly kind: 'release'; readonly pick: number };

test('property: numFree + used == numBlocks under any allocate/release sequence; releasing all restores the pool', () => {
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('allocate' as const), n: fc.integer({ min: 0, max: 12 }) }),
    fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 32 }), fc.array(opArb, { maxLength: 60 }), (numBlocks, ops) => {
      const pool = new BlockPool(numBlocks);
      const held: BlockId[][] = [];
      const heldIds = new Set<number>();
      const everHanded = new Set<number>();
      for (const op of ops) {
        if (op.kind === 'allocate') {
          const freeBefore = pool.numFree;
          const got = pool.allocate(op.n);
          if (op.n > freeBefore) {
            assert.equal(got, null);
            assert.equal(pool.numFree, freeBefore);
          } else {
            assert.ok(got !== null);
            assert.equal(got.length, op.n);
            for (const id of got) {
              assert.ok(id >= 0 && id < numBlocks);
              assert.ok(!heldIds.has(id), `block ${id} handed out twice`);
              assert.equal(pool.refCount(id), 1);
              heldIds.add(id);
              everHanded.add(id);
            }
            assert.equal(pool.numFree, freeBefore - op.n);
            held.push(got);
          }
        } else if (held.length > 0) {
          const [group] = held.splice(op.pick % held.length, 1);
          pool.release(group!);
          for (const id of group!) {
            heldIds.delete(id);
            assert.equal(pool.refCount(id), 0);
          }
        }
        assert.equal(pool.numFree + usedCount(pool), numBlocks);
        assert.equal(usedCount(pool), heldIds.size);
        // The blocks touched are ids [0, numTouched): every id ever handed out, and no other.
        assert.equal(pool.numTouched, everHanded.size);
        for (const id of everHanded) assert.ok(id < pool.numTouched);
      }
      for (const group of held) pool.release(group);
      assert.equal(pool.numFree, numBlocks);
      assert.equal(usedCount(pool), 0);
    }),
    { numRuns: 300 },
  );
});

test('blocksFor rounds up', () => {
  assert.equal(blocksFor(0, 16), 0);
  assert.equal(blocksFor(1, 16), 1);
  assert.equal(blocksFor(16, 16), 1);
  assert.equal(blocksFor(17, 16), 2);
  assert.equal(blocksFor(33, 16), 3);
});

test('slotOf maps a position through the block table', () => {
  const table = ids(5, 2, 9);
  assert.equal(slotOf(table, 0, 4), 20);
  assert.equal(slotOf(table, 3, 4), 23);
  assert.equal(slotOf(table, 4, 4), 8);
  assert.equal(slotOf(table, 9, 4), 37);
  assert.equal(slotOf(table, 11, 4), 39);
});

test('slotOf refuses positions beyond the table', () => {
  assert.throws(() => slotOf(ids(5, 2, 9), 12, 4), /position 12 beyond the sequence's 3 blocks/);
  assert.throws(() => slotOf([], 0, 4), /beyond/);
});

test('prefix-cache states: a hashed block released to 0 stays cached and allocatable, until evicted', () => {
  const pool = new BlockPool(2);
  const [a, b] = pool.allocate(2)! as [BlockId, BlockId];
  const h = 'h' as BlockHash;
  assert.equal(pool.cacheBlock(a, h), true);
  assert.equal(pool.cacheBlock(b, h), false); // first entry wins
  assert.equal(pool.blockHash(b), null);
  assert.throws(() => pool.cacheBlock(a, 'g' as BlockHash), /already cached/);
  assert.throws(() => pool.touch([b]), /not cached/);
  pool.release([a, b]);
  assert.deepEqual([pool.numFree, pool.numUsed, pool.numCached], [2, 0, 1]);
  assert.equal(pool.cachedBlock(h), a);
  pool.touch([a]); // a hit takes it back out of the evictable set
  assert.deepEqual([pool.refCount(a), pool.numFree, pool.numEvictable([a])], [1, 1, 0]);
  pool.release([a]);
  assert.equal(pool.numEvictable([a, b]), 1);
  assert.deepEqual(pool.allocate(2)!.sort(), [a, b].sort()); // free list first, then evicts a
  assert.equal(pool.cachedBlock(h), null);
  assert.equal(pool.blockHash(a), null);
  assert.equal(pool.numCached, 0);
});
