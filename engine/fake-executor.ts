// A model-free Executor for tests: a deterministic "language model" whose next token depends on every earlier
// token of the sequence, read back through the cache exactly as the real graph does (block table + slots).
// A scheduling or paging bug therefore changes its output, just as it would a real model's. A step with sampling
// specs is sampled here by the same RowSampler the executor worker runs, masks and held rows included.
import {
  slotCopiesOf,
  type CacheGeometry,
  type Executor,
  type ForwardInputs,
  type RunnerOutput,
} from '../model/executor/types.js';
import { RowSampler, sampleStep } from '../sampling/row-sampler.js';

export interface FakeExecutorOptions {
  readonly vocabSize: number;
  readonly numBlocks: number;
  readonly blockSize: number;
  /** Token ids the fake never predicts (e.g. EOS), unless `eosAfter` says so. */
  readonly reserved?: number;
  /** Predict token `eosId` once a sequence is this long. */
  readonly eosAfter?: { readonly length: number; readonly eosId: number };
  /** Called before each step (to count steps, delay, or throw). */
  readonly beforeStep?: (inputs: ForwardInputs) => void | Promise<void>;
  /** Called with each step's logits [rows, vocabSize] before they are sampled (to poison a row). */
  readonly editLogits?: (inputs: ForwardInputs, logits: Float32Array) => void;
}

export class FakeExecutor implements Executor {
  readonly vocabSize: number;
  readonly cache: CacheGeometry;
  readonly device = 'cpu' as const;
  readonly steps: ForwardInputs[] = [];
  /** What each cache slot holds: the token whose row was written there (−1 = never written). */
  private readonly slots: Int32Array;
  private readonly sampler: RowSampler;

  constructor(private readonly opts: FakeExecutorOptions) {
    this.vocabSize = opts.vocabSize;
    this.cache = {
      numBlocks: opts.numBlocks,
      blockSize: opts.blockSize,
      numLayers: 1,
      rowWidth: 1,
      bytesPerValue: 4,
      scaleBytesPerRow: 0,
    };
    this.slots = new Int32Array(opts.numBlocks * opts.blockSize).fill(-1);
    this.sampler = new RowSampler(opts.vocabSize);
  }

  /** The fake model's next token after `context` (the reference the tests compare against). */
  static nextToken(context: readonly number[], vocabSize: number, reserved = 0): number {
    let h = 17;
    context.forEach((t, i) => {
      h = (Math.imul(h, 31) + t * (i + 1)) >>> 0;
    });
    return reserved + (h % (vocabSize - reserved));
  }

  async step(inputs: ForwardInputs): Promise<RunnerOutput> {
    this.steps.push(inputs);
    await this.opts.beforeStep?.(inputs);
    const { blockSize } = this.cache;
    for (const { src, dst, rows } of slotCopiesOf(inputs)) {
      for (let r = 0; r < rows; r++) {
        if (this.slots[src + r]! < 0) throw new Error(`copy from slot ${src + r}, never written`);
        this.slots[dst + r] = this.slots[src + r]!;
      }
    }
    const contexts: number[][] = [];
    let offset = 0;
    for (const seq of inputs.seqs) {
      // Cached tokens come only from the cache, through the block table: a wrong table or slot shows up.
      const cached: number[] = [];
      for (let p = 0; p < seq.contextLen; p++) {
        const block = seq.blockTable[Math.floor(p / blockSize)];
        if (block === undefined) throw new Error(`position ${p} has no block`);
        const token = this.slots[block * blockSize + (p % blockSize)]!;
        if (token < 0) throw new Error(`position ${p} read from a slot never written`);
        cached.push(token);
      }
      for (let i = 0; i < seq.queryLen; i++) {
        const t = offset + i;
        if (inputs.positions[t] !== seq.contextLen + i)
          throw new Error(`token ${t} has position ${inputs.positions[t]}, expected ${seq.contextLen + i}`);
        contexts[t] = [...cached, ...Array.from(inputs.tokenIds.subarray(offset, t + 1))];
      }
      offset += seq.queryLen;
    }
    inputs.slotMapping.forEach((slot, t) => {
      this.slots[slot] = inputs.tokenIds[t]!;
    });
    const logits = new Float32Array(inputs.logitsIndices.length * this.vocabSize);
    inputs.logitsIndices.forEach((t, r) => {
      const ctx = contexts[t]!;
      const eos = this.opts.eosAfter;
      const next =
        eos !== undefined && ctx.length >= eos.length
          ? eos.eosId
          : FakeExecutor.nextToken(ctx, this.vocabSize, this.opts.reserved);
      // A peaked but not one-hot distribution, so sampling and logprobs have something to do.
      for (let v = 0; v < this.vocabSize; v++) logits[r * this.vocabSize + v] = ((v * 7 + ctx.length) % 13) / 13;
      logits[r * this.vocabSize + next] = 8;
    });
    this.opts.editLogits?.(inputs, logits);
    if (inputs.sampling === undefined) return { logits, samples: null };
    return { logits: null, samples: await sampleStep(this.sampler, logits, inputs.sampling, inputs.sampling.masks) };
  }

  async close(): Promise<void> {}
}
