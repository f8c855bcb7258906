// Random operation sequences on a KvCacheManager against a simulated executor memory: computing token `pos`
// writes, at its slot, the row's identity — the token ids 0..pos it depends on (a latent row depends on its whole
// prefix through attention). Every prefix hit must read back exactly the request's rows, including rows the
// executor copies (takeCopies) out of a cached block for a hit that ends inside a block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { blocksFor, slotOf } from './block-pool.js';
import { KvCacheManager, type CachedPrefix } from './kv-cache-manager.js';
import type { BlockId } from './types.js';

type Op =
  | { readonly kind: 'admit'; readonly tokens: number[] }
  | { readonly kind: 'append'; readonly pick: number; readonly tokens: number[] }
  | { readonly kind: 'compute'; readonly pick: number; readonly n: number }
  | { readonly kind: 'free'; readonly pick: number; readonly keepRows: boolean }
  | { readonly kind: 'probe'; readonly tokens: number[] };

// A two-letter alphabet and short blocks make prefixes collide often.
const tokensArb = (maxLength: number): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('admit' as const), tokens: tokensArb(12) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('append' as const), pick: fc.nat(), tokens: tokensArb(3) }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant('compute' as const), pick: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat(), keepRows: fc.boolean() }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('probe' as const), tokens: tokensArb(12) }), weight: 1 },
);

interface Live {
  readonly tokens: number[];
  numComputed: number;
  /** Block table as last seen, to check that tables are append-only. */
  table: BlockId[];
}

test('property: invariants hold under random find/allocate/append/compute/cache/free; hits read back the right tokens', () => {
  const seen = { hitBlocks: 0, evictableHits: 0, evictions: 0, rejected: 0, tailRows: 0, selfCopies: 0 };
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 16 }),
      fc.integer({ min: 1, max: 3 }),
      fc.boolean(),
      fc.array(opArb, { maxLength: 80, size: 'max' }),
      (numBlocks, blockSize, enablePrefixCaching, ops) => {
        const kv = new KvCacheManager({ numBlocks, blockSize, enablePrefixCaching });
        const memory = new Array<string | undefined>(numBlocks * blockSize).fill(undefined);
        const row = (tokens: readonly number[], pos: number): string => tokens.slice(0, pos + 1).join(',');
        const live = new Map<string, Live>();
        let nextId = 0;
        const pick = (n: number): [string, Live] | undefined => [...live][n % Math.max(1, live.size)];
        const refCounts = (): number[] => Array.from({ length: numBlocks }, (_, id) => kv.refCount(id as BlockId));
        const state = (): string =>
          JSON.stringify([
            refCounts(),
            kv.numFreeBlocks(),
            kv.numCachedBlocks(),
            [...live.keys()].map((id) => kv.blockTable(id)),
          ]);

        const checkHit = (hit: CachedPrefix, tokens: readonly number[]): void => {
          const tailRows = hit.tail?.numTokens ?? 0;
          assert.equal(hit.numTokens, hit.blocks.length * blockSize + tailRows);
          assert.ok(tailRows < blockSize);
          assert.ok(hit.numTokens < tokens.length, 'a hit never covers the whole prompt');
          if (!enablePrefixCaching) assert.equal(hit.numTokens, 0);
          const source = hit.tail === null ? hit.blocks : [...hit.blocks, hit.tail.block];
          for (let pos = 0; pos < hit.numTokens; pos++) {
            assert.equal(memory[slotOf(source, pos, blockSize)], row(tokens, pos), `hit row ${pos} holds another row`);
          }
        };
        /** What the executor does before a step: copy rows, in order. */
        const runCopies = (): void => {
          for (const c of kv.takeCopies()) {
            if (c.srcSlot === c.dstSlot) seen.selfCopies++;
            for (let r = 0; r < c.rows; r++) memory[c.dstSlot + r] = memory[c.srcSlot + r];
          }
        };

        const checkInvariants = (): void => {
          assert.equal(kv.numUsedBlocks() + kv.numFreeBlocks(), numBlocks);
          const expected = new Array<number>(numBlocks).fill(0);
          for (const [id, r] of live) {
            const table = kv.blockTable(id);
            assert.deepEqual(table.slice(0, r.table.length), r.table, 'block tables are append-only');
            assert.equal(table.length, blocksFor(r.tokens.length, blockSize));
            assert.equal(new Set(table).size, table.length);
            for (const b of table) expected[b]!++;
            r.table = [...table];
          }
          assert.deepEqual(refCounts(), expected, 'refCount = number of live tables holding the block');
          assert.equal(kv.numUsedBlocks(), expected.filter((n) => n > 0).length);
          assert.ok(kv.numCachedBlocks() <= (enablePrefixCaching ? numBlocks : 0));
        };

        for (const op of ops) {
          if (op.kind === 'admit') {
            const id = `r${nextId++}`;
            const hit = kv.findCachedPrefix(op.tokens);
            checkHit(hit, op.tokens);
            const before = state();
            const adoptedEvictable = hit.blocks.filter((b) => kv.refCount(b) === 0).length;
            const needed = blocksFor(op.tokens.length, blockSize) - hit.blocks.length;
            const freeBefore = kv.numFreeBlocks();
            const cachedBefore = kv.numCachedBlocks();
            const ok = kv.allocateSlots(id, op.tokens.length, hit);
            if (kv.numCachedBlocks() < cachedBefore) seen.evictions++;
            assert.equal(
              ok,
              needed <= freeBefore - adoptedEvictable,
              'refused only when too few blocks are allocatable',
            );
            if (!ok) {
              seen.rejected++;
              assert.equal(state(), before, 'a refused allocation changes nothing');
              assert.deepEqual(kv.blockTable(id), []);
              assert.deepEqual(kv.takeCopies(), [], 'a refused allocation queues no copy');
            } else {
              seen.hitBlocks += hit.blocks.length;
              seen.tailRows += hit.tail?.numTokens ?? 0;
              if (adoptedEvictable > 0) seen.evictableHits++;
              assert.deepEqual(kv.blockTable(id).slice(0, hit.blocks.length), hit.blocks);
              runCopies();
              // The request's own table now reads back its whole hit.
              for (let pos = 0; pos < hit.numTokens; pos++) {
                assert.equal(memory[slotOf(kv.blockTable(id), pos, blockSize)], row(op.tokens, pos), `row ${pos}`);
              }
              live.set(id, { tokens: [...op.tokens], numComputed: hit.numTokens, table: [] });
            }
          } else if (op.kind === 'append') {
            const [id, r] = pick(op.pick) ?? [];
            if (id === undefined || r === undefined) continue;
            const before = state();
            const needed = blocksFor(r.tokens.length + op.tokens.length, blockSize) - r.table.length;
            const freeBefore = kv.numFreeBlocks();
            const cachedBefore = kv.numCachedBlocks();
            const ok = kv.allocateSlots(id, r.tokens.length + op.tokens.length);
            if (kv.numCachedBlocks() < cachedBefore) seen.evictions++;
            assert.equal(ok, needed <= freeBefore);
            if (ok) r.tokens.push(...op.tokens);
            else assert.equal(state(), before, 'a refused allocation changes nothing');
          } else if (op.kind === 'compute') {
            const [id, r] = pick(op.pick) ?? [];
            if (id === undefined || r === undefined) continue;
            const end = Math.min(r.tokens.length, r.numComputed + op.n);
            for (let pos = r.numComputed; pos < end; pos++) {
              const block: BlockId = kv.blockTable(id)[Math.floor(pos / blockSize)]!;
              // Only a block nobody else holds is written: adopted (cached) blocks are read-only.
              assert.equal(kv.refCount(block), 1, `write into shared block ${block}`);
              memory[slotOf(kv.blockTable(id), pos, blockSize)] = row(r.tokens, pos);
            }
            r.numComputed = end;
            const cachedBefore = kv.numCachedBlocks();
            kv.cacheFullBlocks(id, r.tokens, r.numComputed);
            const cachedAfter = kv.numCachedBlocks();
            kv.cacheFullBlocks(id, r.tokens, r.numComputed); // idempotent
            assert.equal(kv.numCachedBlocks(), cachedAfter);
            assert.ok(cachedAfter >= cachedBefore);
          } else if (op.kind === 'free') {
            const [id, r] = pick(op.pick) ?? [];
            if (id === undefined || r === undefined) continue;
            kv.free(id, op.keepRows ? { tokenIds: r.tokens, numComputedTokens: r.numComputed } : undefined);
            live.delete(id);
            assert.deepEqual(kv.blockTable(id), []);
          } else {
            checkHit(kv.findCachedPrefix(op.tokens), op.tokens);
          }
          checkInvariants();
        }

        for (const id of live.keys()) kv.free(id);
        live.clear();
        checkInvariants();
        assert.equal(kv.numUsedBlocks(), 0);
        assert.equal(kv.numFreeBlocks(), numBlocks);
        if (!enablePrefixCaching) assert.equal(kv.numCachedBlocks(), 0);
      },
    ),
    { numRuns: 1000 },
  );
  // The sequences must actually exercise hits and exhaustion, or the checks above prove little.
  assert.ok(seen.hitBlocks > 0, 'no prefix hit in any run');
  assert.ok(seen.evictableHits > 0, 'no hit on a freed (evictable) block in any run');
  assert.ok(seen.evictions > 0, 'no eviction in any run');
  assert.ok(seen.rejected > 0, 'no refused allocation in any run');
  assert.ok(seen.tailRows > 0, 'no hit ended inside a block in any run');
  assert.ok(seen.selfCopies > 0, 'no copy source was evicted into its own destination in any run');
});
