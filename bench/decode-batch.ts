// A batch of N sequences driven straight through an Executor: each sequence's prompt is prefilled in its own step,
// then every decode step carries one new token per sequence (greedy, so expert routing follows real tokens).
// Shared by model-bench (--decode-batch) and graph-race; it needs only the Executor contract, so it also drives an
// executor loaded from another build's dist (graph-race's "before").
import type { BlockId, Executor, ForwardInputs, SequenceSlice } from '../model/executor/types.js';
import { stepLogits } from '../model/executor/types.js';

export interface BatchTimings {
  /** Tokens and milliseconds of the prefill steps (one per sequence). */
  readonly prefillTokens: number;
  readonly prefillMs: number;
  /** Milliseconds of each decode step (each step decodes `batch` tokens). */
  readonly decodeStepMs: readonly number[];
}

/** Cache blocks `batch` sequences of promptTokens + decodeTokens need at `blockSize`. */
export function blocksForBatch(batch: number, promptTokens: number, decodeTokens: number, blockSize: number): number {
  return batch * Math.ceil((promptTokens + decodeTokens) / blockSize);
}

/** A deterministic prompt of `length` token ids below `vocab` (different per sequence). */
export function batchPrompt(seq: number, length: number, vocab: number): number[] {
  return Array.from({ length }, (_, i) => (((i + 31 * seq) * 7919 + 13) % Math.min(vocab, 1000)) + 3);
}

/** Prefills `batch` prompts, then runs `decodeTokens` decode steps over all of them; times each step. */
export async function runDecodeBatch(
  executor: Executor,
  batch: number,
  promptTokens: number,
  decodeTokens: number,
): Promise<BatchTimings> {
  const { blockSize, numBlocks } = executor.cache;
  const blocksPerSeq = Math.ceil((promptTokens + decodeTokens) / blockSize);
  if (batch * blocksPerSeq > numBlocks)
    throw new Error(`decode batch needs ${batch * blocksPerSeq} cache blocks, the executor has ${numBlocks}`);
  const blockTables = Array.from({ length: batch }, (_, s) =>
    Array.from({ length: blocksPerSeq }, (_, b) => (s * blocksPerSeq + b) as BlockId),
  );
  const slot = (seq: number, position: number): number =>
    blockTables[seq]![Math.floor(position / blockSize)]! * blockSize + (position % blockSize);
  const vocab = executor.vocabSize;
  const last = new Array<number>(batch);

  let prefillMs = 0;
  for (let s = 0; s < batch; s++) {
    const prompt = batchPrompt(s, promptTokens, vocab);
    const inputs: ForwardInputs = {
      tokenIds: Int32Array.from(prompt),
      positions: Int32Array.from(prompt, (_, i) => i),
      seqs: [
        {
          queryLen: promptTokens,
          contextLen: 0,
          blockTable: blockTables[s]!.slice(0, Math.ceil(promptTokens / blockSize)),
        },
      ],
      slotMapping: Int32Array.from(prompt, (_, i) => slot(s, i)),
      logitsIndices: Int32Array.of(promptTokens - 1),
    };
    const t0 = performance.now();
    const out = await executor.step(inputs);
    prefillMs += performance.now() - t0;
    last[s] = argmax(stepLogits(out), 0, vocab);
  }

  const decodeStepMs: number[] = [];
  for (let d = 0; d < decodeTokens; d++) {
    const position = promptTokens + d;
    const used = Math.floor(position / blockSize) + 1; // blocks holding positions [0, position]
    const seqs: SequenceSlice[] = blockTables.map((blockTable) => ({
      queryLen: 1,
      contextLen: position,
      blockTable: blockTable.slice(0, used),
    }));
    const inputs: ForwardInputs = {
      tokenIds: Int32Array.from(last),
      positions: new Int32Array(batch).fill(position),
      seqs,
      slotMapping: Int32Array.from(last, (_, s) => slot(s, position)),
      logitsIndices: Int32Array.from(last, (_, s) => s),
    };
    const t0 = performance.now();
    const out = await executor.step(inputs);
    decodeStepMs.push(performance.now() - t0);
    const logits = stepLogits(out);
    for (let s = 0; s < batch; s++) last[s] = argmax(logits, s * vocab, vocab);
  }
  return { prefillTokens: batch * promptTokens, prefillMs, decodeStepMs };
}

function argmax(logits: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (logits[offset + i]! > logits[offset + best]!) best = i;
  return best;
}
