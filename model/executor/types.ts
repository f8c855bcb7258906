// The contract between the engine and whatever runs the model. One step = one forward pass over a batch of
// sequences, each contributing `queryLen` new tokens on top of `contextLen` tokens already in the cache.
//
//   SchedulerOutput → ForwardInputs → (executor) → RunnerOutput

import type { BlockId } from '../../cache/types.js';
import type { StepSamples, StepSampling } from '../../sampling/step-spec.js';

export type { BlockId };

export interface SequenceSlice {
  /** New tokens of this sequence in this step (its tokens are contiguous in `tokenIds`). */
  readonly queryLen: number;
  /** Tokens of this sequence whose latent rows are already in the cache. */
  readonly contextLen: number;
  /** Blocks holding positions [0, contextLen + queryLen), in order. */
  readonly blockTable: readonly BlockId[];
}

export interface ForwardInputs {
  /** [numTokens] the step's new tokens, sequences back to back. */
  readonly tokenIds: Int32Array;
  /** [numTokens] the position of each new token within its sequence. */
  readonly positions: Int32Array;
  readonly seqs: readonly SequenceSlice[];
  /** [numTokens] cache slot (blockId · blockSize + offset) receiving each new token's latent row. */
  readonly slotMapping: Int32Array;
  /**
   * (srcSlot, dstSlot, rows) triples: before the step reads the cache, each range of rows is copied, in order
   * (prefix-cache hits inside a block, cache/kv-cache-manager.ts). Absent: no copies.
   */
  readonly slotCopies?: Int32Array;
  /** Indices into `tokenIds` whose logits are computed, in this order (logits row r = logitsIndices[r]). */
  readonly logitsIndices: Int32Array;
  /**
   * What to do with those logits rows where they are computed: score prompt tokens, sample next tokens. With it
   * the step returns `samples` and no logits; without it (parity tests, benches), the logits.
   */
  readonly sampling?: StepSampling;
}

/** ForwardInputs.slotCopies as a list, in order. */
export function slotCopiesOf(inputs: ForwardInputs): { src: number; dst: number; rows: number }[] {
  const flat = inputs.slotCopies ?? new Int32Array(0);
  if (flat.length % 3 !== 0) throw new Error(`slotCopies holds ${flat.length} values, not (src, dst, rows) triples`);
  return Array.from({ length: flat.length / 3 }, (_, i) => ({
    src: flat[3 * i]!,
    dst: flat[3 * i + 1]!,
    rows: flat[3 * i + 2]!,
  }));
}

export interface RunnerOutput {
  /** [logitsIndices.length, vocabSize] float32; null when the step carried `sampling`. */
  readonly logits: Float32Array | null;
  /** One result per sampling row spec; null when the step carried no `sampling`. */
  readonly samples: StepSamples | null;
}

/** The logits of a step that carried no sampling specs. */
export function stepLogits(out: RunnerOutput): Float32Array {
  if (out.logits === null) throw new Error('this step was sampled by the executor: it returned samples, not logits');
  return out.logits;
}

export interface CacheGeometry {
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly numLayers: number;
  /** Values per token per layer: kvLoraRank + qkRopeHeadDim. */
  readonly rowWidth: number;
  readonly bytesPerValue: number;
  /** Per-row scale bytes (fp8 rows carry one float32 scale). */
  readonly scaleBytesPerRow: number;
}

export interface Executor {
  readonly vocabSize: number;
  readonly cache: CacheGeometry;
  /** The device actually in use (after any fallback). */
  readonly device: 'cpu' | 'cuda';
  step(inputs: ForwardInputs): Promise<RunnerOutput>;
  close(): Promise<void>;
}

/** The cache geometry of a pool: float32 rows, or E4M3 codes (one byte a value) plus a float32 scale per row. */
export function cacheGeometry(
  numBlocks: number,
  blockSize: number,
  numLayers: number,
  rowWidth: number,
  dtype: 'fp32' | 'fp8',
): CacheGeometry {
  return dtype === 'fp8'
    ? { numBlocks, blockSize, numLayers, rowWidth, bytesPerValue: 1, scaleBytesPerRow: 4 }
    : { numBlocks, blockSize, numLayers, rowWidth, bytesPerValue: 4, scaleBytesPerRow: 0 };
}

/** Bytes the cache holds per token: layers × ((kvLoraRank + qkRopeHeadDim) × bytesPerValue + scale bytes). */
export function cacheBytesPerToken(g: CacheGeometry): number {
  return g.numLayers * (g.rowWidth * g.bytesPerValue + g.scaleBytesPerRow);
}
