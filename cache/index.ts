// cache/: the paged latent cache's bookkeeping — block ids, refCounts, block tables, slots and the prefix cache
// (chained block hashes, LRU eviction of freed cached blocks). The executor owns the memory; this folder owns
// only ids. Must not import engine/, server/ or model/.
export type { BlockHash, BlockId } from './types.js';
export { BlockPool, blocksFor, slotOf } from './block-pool.js';
export { BlockHasher } from './block-hash.js';
export { KvCacheManager } from './kv-cache-manager.js';
export type { CachedPrefix, KvCacheManagerOptions } from './kv-cache-manager.js';
