// Block ids of the paged latent cache and the prefix-cache map (vLLM v1's BlockPool). The pool owns ids,
// refCounts and hash → block; the executor owns the memory. Every block is in exactly one state:
//   free       refCount 0, no hash           in `freeIds`
//   evictable  refCount 0, hashed            in `evictable`, ordered by release (least recently released first out)
//   in use     refCount > 0, hashed or not
// Invariants: numFree (free + evictable) + numUsed = numBlocks; a hashed block is the one entry for its hash;
// a block gets a hash only while in use and loses it only when evicted (reallocated for new content).
import { LRUCache } from 'lru-cache';
import type { BlockHash, BlockId } from './types.js';

export class BlockPool {
  private readonly freeIds: BlockId[] = [];
  private readonly refCounts: Uint32Array;
  private readonly hashes: (BlockHash | undefined)[];
  private readonly byHash = new Map<BlockHash, BlockId>();
  // Values are the keys: pop() returns the value of the least recently set entry.
  private readonly evictable: LRUCache<BlockId, BlockId>;
  private touchedHighWater = 0;

  constructor(readonly numBlocks: number) {
    this.refCounts = new Uint32Array(numBlocks);
    this.hashes = new Array<BlockHash | undefined>(numBlocks).fill(undefined);
    this.evictable = new LRUCache<BlockId, BlockId>({ max: Math.max(1, numBlocks) });
    // Pop from the end hands out low ids first.
    for (let i = numBlocks - 1; i >= 0; i--) this.freeIds.push(i as BlockId);
  }

  /** Blocks allocatable now: the free list plus evictable cached blocks. */
  get numFree(): number {
    return this.freeIds.length + this.evictable.size;
  }

  /** Blocks with refCount > 0. */
  get numUsed(): number {
    return this.numBlocks - this.numFree;
  }

  /**
   * Blocks handed out at least once. The free list hands out never-used ids in ascending order (freed ones go back
   * on top), so these are ids [0, numTouched): the blocks whose memory the executor has written, and made resident.
   */
  get numTouched(): number {
    return this.touchedHighWater;
  }

  /** Blocks with a hash entry, in use or evictable. */
  get numCached(): number {
    return this.byHash.size;
  }

  /** Evictable blocks among `blocks`: those touch() would take out of the allocatable count. */
  numEvictable(blocks: readonly BlockId[]): number {
    let n = 0;
    for (const id of blocks) if (this.refCounts[id] === 0 && this.evictable.has(id)) n++;
    return n;
  }

  /**
   * n blocks with refCount 1 and no hash, or null (and nothing taken) when fewer than n are allocatable.
   * The free list goes first; then the least recently released cached block is evicted (its hash forgotten).
   */
  allocate(n: number): BlockId[] | null {
    if (n > this.numFree) return null;
    const out: BlockId[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.freeIds.pop() ?? this.evict();
      this.refCounts[id] = 1;
      if (id >= this.touchedHighWater) this.touchedHighWater = id + 1;
      out.push(id);
    }
    return out;
  }

  /** Takes one more reference to each cached block (a prefix hit); evictable ones stop being evictable. */
  touch(blocks: readonly BlockId[]): void {
    for (const id of blocks) {
      const rc = this.refCounts[id];
      if (rc === undefined || this.hashes[id] === undefined) throw new Error(`block ${id} touched while not cached`);
      if (rc === 0) this.evictable.delete(id);
      this.refCounts[id] = rc + 1;
    }
  }

  /** Drops one reference to each block, in order; at refCount 0 a hashed block becomes evictable, others free. */
  release(blocks: readonly BlockId[]): void {
    for (const id of blocks) {
      const rc = this.refCounts[id];
      if (rc === undefined || rc === 0) throw new Error(`block ${id} released while not in use`);
      this.refCounts[id] = rc - 1;
      if (rc > 1) continue;
      if (this.hashes[id] === undefined) this.freeIds.push(id);
      else this.evictable.set(id, id);
    }
  }

  /** The block cached under `hash`, or null. */
  cachedBlock(hash: BlockHash): BlockId | null {
    return this.byHash.get(hash) ?? null;
  }

  /**
   * Registers an in-use, unhashed block under `hash`. Returns false (and registers nothing) when another block
   * already holds that hash: the existing entry wins and this block stays uncached.
   */
  cacheBlock(id: BlockId, hash: BlockHash): boolean {
    if (!(this.refCount(id) > 0) || this.hashes[id] !== undefined)
      throw new Error(`block ${id} cached while not in use or already cached`);
    if (this.byHash.has(hash)) return false;
    this.byHash.set(hash, id);
    this.hashes[id] = hash;
    return true;
  }

  blockHash(id: BlockId): BlockHash | null {
    return this.hashes[id] ?? null;
  }

  refCount(id: BlockId): number {
    return this.refCounts[id] ?? 0;
  }

  private evict(): BlockId {
    const id = this.evictable.pop();
    if (id === undefined) throw new Error('no block to evict');
    this.byHash.delete(this.hashes[id]!);
    this.hashes[id] = undefined;
    return id;
  }
}

/** Blocks needed to hold `numTokens` rows. */
export function blocksFor(numTokens: number, blockSize: number): number {
  return Math.ceil(numTokens / blockSize);
}

/** Cache slot of the row at `position` in a sequence with this block table. */
export function slotOf(blockTable: readonly BlockId[], position: number, blockSize: number): number {
  const block = blockTable[Math.floor(position / blockSize)];
  if (block === undefined) throw new Error(`position ${position} beyond the sequence's ${blockTable.length} blocks`);
  return block * blockSize + (position % blockSize);
}
