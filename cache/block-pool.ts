// Block ids of the paged latent cache. The pool owns ids and refCounts only; the executor owns the memory.
// Invariant: numFree + (blocks with refCount > 0) = numBlocks.
import type { BlockId } from './types.js';

export class BlockPool {
  private readonly freeIds: BlockId[] = [];
  private readonly refCounts: Uint32Array;

  constructor(readonly numBlocks: number) {
    this.refCounts = new Uint32Array(numBlocks);
    // Pop from the end hands out low ids first.
    for (let i = numBlocks - 1; i >= 0; i--) this.freeIds.push(i as BlockId);
  }

  get numFree(): number {
    return this.freeIds.length;
  }

  /** n fresh blocks with refCount 1, or null (and nothing taken) when fewer than n are free. */
  allocate(n: number): BlockId[] | null {
    if (n > this.freeIds.length) return null;
    const out: BlockId[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.freeIds.pop()!;
      this.refCounts[id] = 1;
      out.push(id);
    }
    return out;
  }

  /** Drops one reference to each block; blocks reaching refCount 0 become free. */
  release(blocks: readonly BlockId[]): void {
    for (const id of blocks) {
      const rc = this.refCounts[id];
      if (rc === undefined || rc === 0) throw new Error(`block ${id} released while not in use`);
      this.refCounts[id] = rc - 1;
      if (rc === 1) this.freeIds.push(id);
    }
  }

  refCount(id: BlockId): number {
    return this.refCounts[id] ?? 0;
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
