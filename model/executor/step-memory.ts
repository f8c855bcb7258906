// An upper bound on one step's working memory (ONNX Runtime's intermediates), for the server's start-up line. The
// CPU arena keeps its high-water mark, so the resident memory a server settles at is about
//   weights and runtime (resident after load) + latent cache pools (as blocks are first written) + this bound.
// The largest intermediates are attention's [B, H, T, S] blocks (scores, scaled, masked, softmax: up to four alive
// around the softmax), bounded by the scheduler's cap on B × T × S (a decode-only batch may exceed it: B × 1 × the
// longest context); then the gathered cached rows [B, S, rowWidth] and the token-wise activations [N, widest].
// Shape buckets pad B, T and S (through max_blocks) by up to 25 % each, and N likewise.
import { bucketUp } from './shape-buckets.js';

export interface StepShapeLimits {
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  /** The scheduler's cap on batch × longest chunk × longest context. */
  readonly maxAttentionBlock: number;
  readonly maxModelLen: number;
  readonly blockSize: number;
  readonly shapeBuckets: boolean;
}

export interface StepModelDims {
  readonly numAttentionHeads: number;
  /** kvLoraRank + qkRopeHeadDim. */
  readonly rowWidth: number;
  /** The widest token-wise activation, in values per token (gate+up of the widest MLP, or the vocabulary). */
  readonly widestActivation: number;
}

const ATTENTION_BLOCKS_ALIVE = 4;
const TOKEN_ACTIVATIONS_ALIVE = 4;
const FLOAT_BYTES = 4;

export function stepWorkingSetBound(limits: StepShapeLimits, dims: StepModelDims): number {
  const padding = limits.shapeBuckets ? 1.25 : 1;
  const keys = Math.ceil(limits.maxModelLen / limits.blockSize) * limits.blockSize * padding;
  const block = Math.max(limits.maxAttentionBlock, limits.maxNumSeqs * keys) * padding ** 3;
  const attention = ATTENTION_BLOCKS_ALIVE * block * dims.numAttentionHeads * FLOAT_BYTES;
  const gathered = limits.maxNumSeqs * padding * keys * dims.rowWidth * FLOAT_BYTES;
  const tokens = limits.shapeBuckets ? bucketUp(limits.maxNumBatchedTokens) : limits.maxNumBatchedTokens;
  return Math.round(attention + gathered + TOKEN_ACTIVATIONS_ALIVE * tokens * dims.widestActivation * FLOAT_BYTES);
}
