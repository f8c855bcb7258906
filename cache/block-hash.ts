// Chained block hashes for prefix caching: hash_i = sha256(hash_{i-1} bytes ‖ tokenIds of block i as int32).
// Chaining makes a hash name the whole prefix up to and including its block, so equal hashes mean equal prefixes
// (up to sha256 collisions) and the same block tokens after a different prefix never match. The int32 bytes are
// platform-endian; hashes live only in this process, never on disk or the wire.
import { createHash } from 'node:crypto';
import type { BlockHash } from './types.js';

export class BlockHasher {
  // [blockSize] int32; reused so hashing a block allocates only the digest.
  private readonly scratch: Int32Array;
  private readonly scratchBytes: Uint8Array;

  constructor(readonly blockSize: number) {
    this.scratch = new Int32Array(blockSize);
    this.scratchBytes = new Uint8Array(this.scratch.buffer);
  }

  /** Hash of the full block tokenIds[start, start + blockSize) chained onto `parent` (null for the first block). */
  hash(parent: BlockHash | null, tokenIds: readonly number[], start: number): BlockHash {
    if (start + this.blockSize > tokenIds.length)
      throw new Error(`block at ${start} is not full (${tokenIds.length} tokens)`);
    for (let i = 0; i < this.blockSize; i++) this.scratch[i] = tokenIds[start + i]!;
    const h = createHash('sha256');
    if (parent !== null) h.update(parent, 'base64');
    return h.update(this.scratchBytes).digest('base64') as BlockHash;
  }

  /**
   * Hash naming a partly filled block: its first tokenIds[start, end) after `parent`. Marked so it never equals a
   * full block's hash; only the tail index (kv-cache-manager.ts) looks blocks up by it, never a prefix match.
   */
  hashPartial(parent: BlockHash | null, tokenIds: readonly number[], start: number, end: number): BlockHash {
    if (end <= start || end - start >= this.blockSize)
      throw new Error(`a partial block holds 1..${this.blockSize - 1} tokens, got ${end - start}`);
    this.scratch.fill(0);
    for (let i = start; i < end; i++) this.scratch[i - start] = tokenIds[i]!;
    const h = createHash('sha256').update('partial');
    if (parent !== null) h.update(parent, 'base64');
    h.update(Int32Array.of(end - start));
    return h.update(this.scratchBytes).digest('base64') as BlockHash;
  }
}
