// What the executor has run, shape-wise, since its worker started: the distinct graph input shapes, the distinct sizes
// of each dynamic dimension (with shape buckets on: the buckets seen) and the largest step by each term of a step's
// working set (step-memory.ts): token-wise activations follow N, the gathered cached rows follow B × maxBlocks, and
// attention's score blocks follow B × T × maxBlocks. ONNX Runtime's CPU arena keeps its high-water mark, which those
// three largest terms set: a step no larger in any of them fits in memory the arena already holds. A soak's warm-up
// ends when the three stop growing (bench/soak-verdict.ts). Counted on the main thread, from the same dimensions
// packStep gives the graph; a restarted worker starts a fresh arena, so the executor starts fresh stats with it.
import type { StepDims } from './pack.js';

/** The largest step run so far, by each term of its working set. */
export interface LargestStep {
  /** N: tokens in the graph (token-wise activations). */
  readonly tokens: number;
  /** B × maxBlocks: cached blocks gathered for attention. */
  readonly gathered: number;
  /** B × T × maxBlocks: attention score blocks (per head, in blocks of keys). */
  readonly attention: number;
}

export class StepShapeStats {
  private readonly shapes = new Set<string>();
  private readonly sizes = Array.from({ length: 5 }, () => new Set<number>());
  private tokens = 0;
  private gathered = 0;
  private attention = 0;

  record(dims: StepDims): void {
    const [n, b, t, maxBlocks] = dims;
    this.shapes.add(dims.join(','));
    dims.forEach((size, d) => this.sizes[d]!.add(size));
    this.tokens = Math.max(this.tokens, n);
    this.gathered = Math.max(this.gathered, b * maxBlocks);
    this.attention = Math.max(this.attention, b * t * maxBlocks);
  }

  /** Distinct combinations of (N, B, T, maxBlocks, R). */
  get numShapes(): number {
    return this.shapes.size;
  }

  /** Distinct sizes of those five dimensions, summed. */
  get numSizes(): number {
    return this.sizes.reduce((n, s) => n + s.size, 0);
  }

  get largest(): LargestStep {
    return { tokens: this.tokens, gathered: this.gathered, attention: this.attention };
  }
}
