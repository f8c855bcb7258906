// Per-request block tables over a BlockPool, with prefix caching (vLLM v1's KVCacheManager). The scheduler calls
// findCachedPrefix → allocateSlots as a request is admitted, allocateSlots as it grows, cacheFullBlocks after each
// step and free when it finishes or is preempted. Ids only: the executor writes latent rows at the slots.
//
// Prefix hits go past whole blocks (what llama.cpp's slot reuse and SGLang's radix cache give): after the last
// full block that hits, the next block of the prompt is compared token by token with the cached blocks that
// follow the same prefix, full ones and the partly filled last block a finished request leaves behind. The
// longest match is copied (takeCopies: rows, not recomputed) into the request's own first new block, since that
// block will be written past the match and a cached block is never written. A repeated 48-token prompt at block
// size 16 then computes 1 token instead of 16.
//
// Invariants (tested in kv-cache-manager*.test.ts):
// - numUsedBlocks() + numFreeBlocks() = numBlocks at all times.
// - Each block's refCount = the number of live block tables holding it; all return to 0 once every request is freed.
// - Block tables are append-only: a request's table only grows until free() drops it whole.
// - A block is written by the executor only while its request holds it alone and it has no hash. Full blocks are
//   hashed once computed, and a request's partly filled last block when it is freed (after its last write), so a
//   cached block (and every block adopted or copied from) is never written again and its rows match its hash.
// - Hashes are chained: a hit on block i implies blocks 0..i-1 hold the same tokens too.
import { BlockHasher } from './block-hash.js';
import { BlockPool, blocksFor } from './block-pool.js';
import type { BlockHash, BlockId } from './types.js';

export interface KvCacheManagerOptions {
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly enablePrefixCaching: boolean;
}

/**
 * What of a prompt the prefix cache holds: leading full blocks to adopt, then optionally the first rows of a
 * cached block to copy. numTokens = blocks.length × blockSize + (tail?.numTokens ?? 0).
 */
export interface CachedPrefix {
  readonly blocks: readonly BlockId[];
  /** A cached block whose first numTokens rows (1 ≤ numTokens < blockSize) are the prompt's next rows. */
  readonly tail: { readonly block: BlockId; readonly numTokens: number } | null;
  readonly numTokens: number;
}

/** Rows the executor copies before a step reads the cache: slots [src, src + rows) → [dst, dst + rows). */
export interface SlotCopy {
  readonly srcSlot: number;
  readonly dstSlot: number;
  readonly rows: number;
}

/** A cached block as the start of what may follow its parent: its tokens (all blockSize, or a partial block's). */
interface TailEntry {
  readonly parent: string;
  readonly tokens: readonly number[];
}

interface RequestBlocks {
  readonly blockTable: BlockId[];
  /** Leading blocks whose chained hash has been computed (registered, or left uncached as a duplicate). */
  numHashedBlocks: number;
  /** Hash of block numHashedBlocks − 1; null before the first. */
  lastHash: BlockHash | null;
}

export const NO_PREFIX: CachedPrefix = { blocks: [], tail: null, numTokens: 0 };
const ROOT = '';

export class KvCacheManager {
  readonly numBlocks: number;
  readonly blockSize: number;
  private readonly enablePrefixCaching: boolean;
  private readonly pool: BlockPool;
  private readonly hasher: BlockHasher;
  private readonly requests = new Map<string, RequestBlocks>();
  /** Cached blocks by the hash of the block before them (ROOT for first blocks), for matches inside a block. */
  private readonly tailsByParent = new Map<string, Set<BlockId>>();
  private readonly tailOf: (TailEntry | undefined)[];
  private copies: SlotCopy[] = [];

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
    this.tailOf = new Array<TailEntry | undefined>(opts.numBlocks).fill(undefined);
  }

  /**
   * The longest cached prefix of tokenIds: leading full blocks by chained hash, then the longest run of the next
   * block's tokens that a cached block after the same prefix starts with. Never covers all of tokenIds: at least
   * one token must be computed to produce logits. Does not change refCounts.
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
    const start = blocks.length * this.blockSize;
    const tail = this.longestTail(
      parent ?? ROOT,
      tokenIds,
      start,
      Math.min(this.blockSize - 1, tokenIds.length - 1 - start),
    );
    return { blocks, tail, numTokens: start + (tail?.numTokens ?? 0) };
  }

  /**
   * Ensures the request holds blocks covering numTokens tokens. On its first call cachedPrefix is adopted first
   * (refCount +1 each, no longer evictable), and its tail's rows are queued for copying into the request's next
   * block (takeCopies). Returns false and changes nothing when too few blocks are allocatable.
   */
  allocateSlots(requestId: string, numTokens: number, cachedPrefix: CachedPrefix = NO_PREFIX): boolean {
    const existing = this.requests.get(requestId);
    const prefix = existing === undefined ? cachedPrefix.blocks : [];
    if (existing === undefined) this.checkPrefix(cachedPrefix, numTokens);
    const held = (existing?.blockTable.length ?? 0) + prefix.length;
    const needed = Math.max(0, blocksFor(numTokens, this.blockSize) - held);
    // Adopting an evictable prefix block takes it out of the allocatable count.
    if (needed > this.pool.numFree - this.pool.numEvictable(prefix)) return false;

    const req = existing ?? this.adopt(requestId, prefix);
    if (needed > 0) {
      const fresh = this.pool.allocate(needed)!;
      for (const id of fresh) this.dropTail(id);
      req.blockTable.push(...fresh);
    }
    const tail = existing === undefined ? cachedPrefix.tail : null;
    if (tail !== null) {
      // Queued now, run by the executor before this step's writes: the source's rows are read before any block
      // taken above (even the source itself, if it was evicted into this table) is written.
      const dst = req.blockTable[prefix.length]!;
      this.copies.push({ srcSlot: tail.block * this.blockSize, dstSlot: dst * this.blockSize, rows: tail.numTokens });
    }
    return true;
  }

  /** Row copies queued by allocateSlots since the last call; the next step must carry them, before its reads. */
  takeCopies(): SlotCopy[] {
    const out = this.copies;
    this.copies = [];
    return out;
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
      const start = i * this.blockSize;
      const hash = this.hasher.hash(req.lastHash, tokenIds, start);
      const block = req.blockTable[i]!;
      if (this.pool.cacheBlock(block, hash))
        this.addTail(block, req.lastHash, tokenIds.slice(start, start + this.blockSize));
      req.lastHash = hash;
      req.numHashedBlocks = i + 1;
    }
  }

  /**
   * Releases the request's blocks tail first, so its tail is evicted before its head. Unknown ids: no-op.
   * With `computed` (the request's tokens and how many of them have rows written by finished steps), its full
   * blocks are cached first, and a partly filled last block stays cached too, for prompts that continue it.
   */
  free(
    requestId: string,
    computed?: { readonly tokenIds: readonly number[]; readonly numComputedTokens: number },
  ): void {
    const req = this.requests.get(requestId);
    if (req === undefined) return;
    if (computed !== undefined && this.enablePrefixCaching) {
      this.cacheFullBlocks(requestId, computed.tokenIds, computed.numComputedTokens);
      const start = req.numHashedBlocks * this.blockSize;
      const end = Math.min(computed.numComputedTokens, computed.tokenIds.length);
      const block = req.blockTable[req.numHashedBlocks];
      // The block past the hashed ones is the request's own (adopted blocks are all hashed), written up to `end`.
      if (block !== undefined && end > start && end - start < this.blockSize) {
        const hash = this.hasher.hashPartial(req.lastHash, computed.tokenIds, start, end);
        if (this.pool.cacheBlock(block, hash)) this.addTail(block, req.lastHash, computed.tokenIds.slice(start, end));
      }
    }
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

  // A prefix must come from findCachedPrefix just before: every block still cached, tokens = what it claims, and
  // room for at least the tail's block.
  private checkPrefix(prefix: CachedPrefix, numTokens: number): void {
    const tailTokens = prefix.tail?.numTokens ?? 0;
    if (prefix.numTokens !== prefix.blocks.length * this.blockSize + tailTokens) {
      throw new Error(
        `cached prefix of ${prefix.blocks.length} blocks and ${tailTokens} tail rows claims ${prefix.numTokens} tokens`,
      );
    }
    for (const id of [...prefix.blocks, ...(prefix.tail === null ? [] : [prefix.tail.block])]) {
      if (this.pool.blockHash(id) === null) throw new Error(`cached prefix block ${id} is no longer cached`);
    }
    if (prefix.tail !== null && (tailTokens < 1 || tailTokens >= this.blockSize || numTokens <= prefix.numTokens)) {
      throw new Error(`a tail of ${tailTokens} rows needs a block of its own (${numTokens} tokens requested)`);
    }
  }

  private longestTail(
    parent: string,
    tokenIds: readonly number[],
    start: number,
    limit: number,
  ): { block: BlockId; numTokens: number } | null {
    let best: { block: BlockId; numTokens: number } | null = null;
    if (limit < 1) return best;
    for (const block of this.tailsByParent.get(parent) ?? []) {
      const tokens = this.tailOf[block]!.tokens;
      const n = Math.min(limit, tokens.length);
      let m = 0;
      while (m < n && tokens[m] === tokenIds[start + m]) m++;
      if (m > (best?.numTokens ?? 0)) best = { block, numTokens: m };
    }
    return best;
  }

  private addTail(block: BlockId, parent: BlockHash | null, tokens: readonly number[]): void {
    const key = parent ?? ROOT;
    this.tailOf[block] = { parent: key, tokens };
    let set = this.tailsByParent.get(key);
    if (set === undefined) this.tailsByParent.set(key, (set = new Set()));
    set.add(block);
  }

  /** Forgets `block` as a tail: it was just allocated, which evicts its hash if it had one. */
  private dropTail(block: BlockId): void {
    const entry = this.tailOf[block];
    if (entry === undefined) return;
    this.tailOf[block] = undefined;
    const set = this.tailsByParent.get(entry.parent)!;
    set.delete(block);
    if (set.size === 0) this.tailsByParent.delete(entry.parent);
  }
}
