// Per-request block tables over a BlockPool, with prefix caching (vLLM v1's KVCacheManager). The scheduler calls
// findCachedPrefix → allocateSlots as a request is admitted, allocateSlots as it grows, cacheFullBlocks after each
// step and free when it finishes or is preempted. Ids only: the executor writes latent rows at the slots.
//
// Invariants (tested in kv-cache-manager*.test.ts):
// - numUsedBlocks() + numFreeBlocks() = numBlocks at all times.
// - Each block's refCount = the number of live block tables holding it; all return to 0 once every request is freed.
// - Block tables are append-only: a request's table only grows until free() drops it whole.
// - A block is written by the executor only before it is full; only full, computed blocks are hashed, so a cached
//   block (and every block adopted from the prefix cache) is never written again and its rows match its hash.
// - Hashes are chained: a hit on block i implies blocks 0..i-1 hold the same tokens too.
import { BlockHasher } from './block-hash.js';
import { BlockPool, blocksFor } from './block-pool.js';
import type { BlockHash, BlockId } from './types.js';

export interface KvCacheManagerOptions {
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly enablePrefixCaching: boolean;
}

/** Leading full blocks of a prompt found in the prefix cache; numTokens = blocks.length × blockSize. */
export interface CachedPrefix {
  readonly blocks: readonly BlockId[];
  readonly numTokens: number;
}

interface RequestBlocks {
  readonly blockTable: BlockId[];
  /** Leading blocks whose chained hash has been computed (registered, or left uncached as a duplicate). */
  numHashedBlocks: number;
  /** Hash of block numHashedBlocks − 1; null before the first. */
  lastHash: BlockHash | null;
}

const NO_PREFIX: CachedPrefix = { blocks: [], numTokens: 0 };

export class KvCacheManager {
  readonly numBlocks: number;
  readonly blockSize: number;
  private readonly enablePrefixCaching: boolean;
  private readonly pool: BlockPool;
  private readonly hasher: BlockHasher;
  private readonly requests = new Map<string, RequestBlocks>();

  constructor(opts: KvCacheManagerOptions) {
    if (!Number.isInteger(opts.blockSize) || opts.blockSize < 1)
      throw new Error(`blockSize must be a positive integer, got ${opts.blockSize}`);
    if (!Number.isInteger(opts.numBlocks) || opts.numBlocks < 0)
      throw new Error(`numBlocks must be a non-negative integer, got ${opts.numBlocks}`);
    this.numBlocks = opts.numBlocks;
    this.blockSize = opts.blockSize;
    this.enablePrefixCaching = opts.enablePrefixCaching;
    this.pool = new BlockPool(opts.numBlocks);
    this.hasher = new BlockHasher(opts.blockSize);
  }

  /**
   * Leading full blocks of tokenIds whose chained hash is cached. Never covers all of tokenIds: at least one token
   * must be computed to produce logits. Does not change refCounts.
   */
  findCachedPrefix(tokenIds: readonly number[]): CachedPrefix {
    if (!this.enablePrefixCaching || tokenIds.length === 0) return NO_PREFIX;
    const maxBlocks = Math.floor((tokenIds.length - 1) / this.blockSize);
    const blocks: BlockId[] = [];
    let parent: BlockHash | null = null;
    for (let i = 0; i < maxBlocks; i++) {
      const hash = this.hasher.hash(parent, tokenIds, i * this.blockSize);
      const block = this.pool.cachedBlock(hash);
      if (block === null) break;
      blocks.push(block);
      parent = hash;
    }
    return { blocks, numTokens: blocks.length * this.blockSize };
  }

  /**
   * Ensures the request holds blocks covering numTokens tokens. On its first call cachedPrefix is adopted first
   * (refCount +1 each, no longer evictable). Returns false and changes nothing when too few blocks are allocatable.
   */
  allocateSlots(requestId: string, numTokens: number, cachedPrefix: CachedPrefix = NO_PREFIX): boolean {
    const existing = this.requests.get(requestId);
    const prefix = existing === undefined ? cachedPrefix.blocks : [];
    if (existing === undefined) this.checkPrefix(cachedPrefix);
    const held = (existing?.blockTable.length ?? 0) + prefix.length;
    const needed = Math.max(0, blocksFor(numTokens, this.blockSize) - held);
    // Adopting an evictable prefix block takes it out of the allocatable count.
    if (needed > this.pool.numFree - this.pool.numEvictable(prefix)) return false;

    const req = existing ?? this.adopt(requestId, prefix);
    if (needed > 0) req.blockTable.push(...this.pool.allocate(needed)!);
    return true;
  }

  /** The request's block table (live: it only grows while the request lives); [] for unknown ids. */
  blockTable(requestId: string): readonly BlockId[] {
    return this.requests.get(requestId)?.blockTable ?? [];
  }

  /**
   * Registers in the prefix cache every full block among the first numComputedTokens of tokenIds (prompt + output
   * so far) not registered yet. A hash already held by another block keeps that entry. Idempotent.
   */
  cacheFullBlocks(requestId: string, tokenIds: readonly number[], numComputedTokens: number): void {
    if (!this.enablePrefixCaching) return;
    const req = this.requests.get(requestId);
    if (req === undefined) return;
    const numTokens = Math.min(numComputedTokens, tokenIds.length);
    const numFull = Math.min(Math.floor(numTokens / this.blockSize), req.blockTable.length);
    for (let i = req.numHashedBlocks; i < numFull; i++) {
      const hash = this.hasher.hash(req.lastHash, tokenIds, i * this.blockSize);
      this.pool.cacheBlock(req.blockTable[i]!, hash);
      req.lastHash = hash;
      req.numHashedBlocks = i + 1;
    }
  }

  /** Releases the request's blocks tail first, so its tail is evicted before its head. Unknown ids: no-op. */
  free(requestId: string): void {
    const req = this.requests.get(requestId);
    if (req === undefined) return;
    this.requests.delete(requestId);
    this.pool.release([...req.blockTable].reverse());
  }

  /** Blocks with refCount > 0 (held by live requests). */
  numUsedBlocks(): number {
    return this.pool.numUsed;
  }

  /** Blocks allocated at least once since start (their memory is resident). */
  numTouchedBlocks(): number {
    return this.pool.numTouched;
  }

  /** Blocks allocatable now: free list + evictable cached blocks. */
  numFreeBlocks(): number {
    return this.pool.numFree;
  }

  /** Blocks with a hash entry, in use or evictable. */
  numCachedBlocks(): number {
    return this.pool.numCached;
  }

  /** Live block tables holding `id`; for metrics and tests. */
  refCount(id: BlockId): number {
    return this.pool.refCount(id);
  }

  private adopt(requestId: string, prefix: readonly BlockId[]): RequestBlocks {
    this.pool.touch(prefix);
    const last = prefix[prefix.length - 1];
    const req: RequestBlocks = {
      blockTable: [...prefix],
      numHashedBlocks: prefix.length,
      lastHash: last === undefined ? null : this.pool.blockHash(last),
    };
    this.requests.set(requestId, req);
    return req;
  }

  // A prefix must come from findCachedPrefix just before: every block still cached, tokens = blocks × blockSize.
  private checkPrefix(prefix: CachedPrefix): void {
    if (prefix.numTokens !== prefix.blocks.length * this.blockSize) {
      throw new Error(`cached prefix of ${prefix.blocks.length} blocks claims ${prefix.numTokens} tokens`);
    }
    for (const id of prefix.blocks) {
      if (this.pool.blockHash(id) === null) throw new Error(`cached prefix block ${id} is no longer cached`);
    }
  }
}
