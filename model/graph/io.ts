// The step graph's contract: the names of its inputs and outputs, defined once. The graph builder (deepseek.ts)
// declares them, the executor worker feeds and fetches them, and the latent pools name their tensors after them,
// so a rename is a compile error rather than a failed run. Imports nothing (the worker and the pools may use it
// without pulling in the builder).
//
// Inputs (N new tokens of B sequences, ragged; T the longest chunk; R the rows that sample)
//   input_ids       [N]    int64
//   positions       [N]    int64
//   query_lens      [B]    int64 (new tokens per sequence; not read since keys sit in their own slots)
//   context_lens    [B]    int64 (cached tokens per sequence)
//   block_table     [B, maxBlocks] int64
//   pad_index       [B, T] int64 (token index of each padded slot)
//   unpad_index     [N]    int64 (padded slot b·T + t of each token)
//   logits_indices  [R]    int64 (token indices)
//   cache.<l>       [numBlocks, blockSize, kvLoraRank + qkRopeHeadDim] per layer: float32, or uint8 E4M3 codes
//   cache_scale.<l> [numBlocks, blockSize] float32 per layer (fp8 cache only: one scale per row)
// Outputs
//   logits          [R, vocab]  rows at logits_indices
//   latent.<l>      [N, kvLoraRank + qkRopeHeadDim] per layer: the step's new cache rows, stored at slotMapping

/** The per-step inputs, by the name the graph gives them. */
export const STEP_INPUTS = {
  inputIds: 'input_ids',
  positions: 'positions',
  queryLens: 'query_lens',
  contextLens: 'context_lens',
  blockTable: 'block_table',
  padIndex: 'pad_index',
  unpadIndex: 'unpad_index',
  logitsIndices: 'logits_indices',
} as const;

export const LOGITS_OUTPUT = 'logits';

export const cacheInputName = (layer: number): string => `cache.${layer}`;
export const cacheScaleInputName = (layer: number): string => `cache_scale.${layer}`;
export const latentOutputName = (layer: number): string => `latent.${layer}`;
