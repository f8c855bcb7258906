// cache/: the paged latent cache's bookkeeping — block ids, refCounts, block tables and slots. The executor owns
// the memory; this folder owns only ids. Must not import engine/, server/ or model/.
export type { BlockId } from './types.js';
export { BlockPool, blocksFor, slotOf } from './block-pool.js';
