// quant/: INT8 / INT4 / FP8 codecs (block-wise scales, and per-channel int8 for W8A8), used by the checkpoint loader, the graph builder and the
// latent cache. Pure arithmetic on typed arrays (and a worker-thread pool running the block quantizer on several
// threads): imports nothing else from the project.
export { E4M3_MAX, E4M3_MAX_CODE, E4M3_NAN, E4M3_TABLE, decodeE4M3, encodeE4M3, encodeRowE4M3 } from './e4m3.js';
export {
  allocateBlocks,
  blockZeroPoint,
  bytesPerBlock,
  dequantizeBlocks,
  quantizeBlocks,
  quantizeRowsInto,
} from './int-blocks.js';
export type { BlockBits, BlockQuantized, BlockQuantizer } from './int-blocks.js';
export { channelsFromRowBlocks, dequantizeChannels } from './int8-channels.js';
export type { ChannelQuantized } from './int8-channels.js';
export { BlockQuantizePool, parseQuantThreads } from './block-quantize-pool.js';
export type { BlockQuantizePoolOptions } from './block-quantize-pool.js';
export { FP8_WEIGHT_BLOCK, dequantizeFp8Blocks, fp8ScaleInvShape, quantizeFp8Blocks } from './fp8-blocks.js';
export type { Fp8Blocks } from './fp8-blocks.js';
export { absMax, roundHalfEven, scaleFor } from './scale.js';
