// Start-up reservation of the step working set, as llama.cpp reserves its compute buffers for the worst-case graph
// and vLLM profiles a maximal batch before serving: the executor runs, once, the largest step the scheduler can form
// by each term of a step's working set (step-memory.ts), so ONNX Runtime's CPU arena reaches its high-water mark
// before the first request, not minutes into the load when a rare long-context batch comes along. Resident memory
// after start-up is then the steady state, less the latent cache pages not yet written (bench:soak checks it).
//
// The three steps, within the scheduler's caps (engine/scheduler.ts):
//   tokens:    maxNumBatchedTokens prompt tokens, logits for every one of them (prompt_logprobs);
//   attention: maxNumSeqs sequences, one with the longest chunk the caps allow and the rest decoding, all at the
//              longest context that keeps batch × chunk × context within maxAttentionBlock;
//   gathered:  maxNumSeqs decodes, each at the longest context (the cache's capacity or maxModelLen, whichever is
//              less: sequences sharing a prefix can all be that long), which a decode-only batch may reach.
// Their cached rows are block 0's (zero or stale: only memory is the point) and their new rows go to block 0's first
// slot, which is free at start-up; the logits are dropped.
import type { BlockId, Executor, ForwardInputs, SequenceSlice } from './types.js';

export interface ReserveLimits {
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  readonly maxPaddedQuerySlots: number;
  readonly maxAttentionBlock: number;
  readonly maxModelLen: number;
  readonly numBlocks: number;
  readonly blockSize: number;
}

export type ReserveStepName = 'tokens' | 'attention' | 'gathered';

interface Slice {
  readonly queryLen: number;
  readonly contextLen: number;
}

function forwardInputs(slices: readonly Slice[], blockSize: number, allLogits: boolean): ForwardInputs {
  const numTokens = slices.reduce((n, s) => n + s.queryLen, 0);
  const positions = new Int32Array(numTokens);
  const seqs: SequenceSlice[] = [];
  const logits: number[] = [];
  let token = 0;
  for (const s of slices) {
    for (let t = 0; t < s.queryLen; t++) positions[token + t] = s.contextLen + t;
    if (!allLogits) logits.push(token + s.queryLen - 1);
    token += s.queryLen;
    seqs.push({
      ...s,
      blockTable: new Array<BlockId>(Math.ceil((s.contextLen + s.queryLen) / blockSize)).fill(0 as BlockId),
    });
  }
  return {
    tokenIds: new Int32Array(numTokens),
    positions,
    seqs,
    slotMapping: new Int32Array(numTokens),
    logitsIndices: allLogits ? Int32Array.from({ length: numTokens }, (_, i) => i) : Int32Array.from(logits),
  };
}

/** The reservation's steps (an empty list for limits that leave no room for a step, which the server refuses anyway). */
export function reserveSteps(limits: ReserveLimits): { name: ReserveStepName; inputs: ForwardInputs }[] {
  const { maxNumSeqs, maxNumBatchedTokens, maxPaddedQuerySlots, maxAttentionBlock, blockSize } = limits;
  const longest = Math.min(limits.maxModelLen, limits.numBlocks * blockSize);
  if (longest < 1) return [];
  const wholeBlocks = (n: number): number => Math.max(blockSize, Math.floor(n / blockSize) * blockSize);
  const steps: { name: ReserveStepName; inputs: ForwardInputs }[] = [];

  // tokens: chunks of at most `chunk` tokens, as few sequences as the caps allow.
  let chunk = Math.min(maxNumBatchedTokens, longest);
  const fits = (c: number): boolean => {
    const batch = Math.ceil(maxNumBatchedTokens / c);
    return (
      batch <= maxNumSeqs &&
      batch * c <= maxPaddedQuerySlots &&
      batch * c * wholeBlocks(c + blockSize - 1) <= maxAttentionBlock
    );
  };
  while (chunk > 1 && !fits(chunk)) chunk = Math.ceil(chunk / 2);
  const tokenSlices: Slice[] = [];
  for (let left = Math.min(maxNumBatchedTokens, maxNumSeqs * chunk); left > 0; left -= chunk) {
    tokenSlices.push({ queryLen: Math.min(chunk, left), contextLen: 0 });
  }
  steps.push({ name: 'tokens', inputs: forwardInputs(tokenSlices, blockSize, true) });

  // attention: one long chunk beside maxNumSeqs − 1 decodes, at the longest context the cap allows.
  const batch = Math.min(maxNumSeqs, maxNumBatchedTokens);
  const longChunk = Math.min(maxNumBatchedTokens - (batch - 1), Math.floor(maxPaddedQuerySlots / batch), longest);
  if (batch > 1 && longChunk > 1) {
    const context = Math.min(
      longest,
      Math.max(longChunk, Math.floor(maxAttentionBlock / (batch * longChunk) / blockSize) * blockSize),
    );
    const slices: Slice[] = [{ queryLen: longChunk, contextLen: context - longChunk }];
    for (let b = 1; b < batch; b++) slices.push({ queryLen: 1, contextLen: context - 1 });
    steps.push({ name: 'attention', inputs: forwardInputs(slices, blockSize, false) });
  }

  // gathered: every sequence decoding at the longest context.
  const decodes = Array.from({ length: Math.min(maxNumSeqs, maxNumBatchedTokens) }, () => ({
    queryLen: 1,
    contextLen: longest - 1,
  }));
  steps.push({ name: 'gathered', inputs: forwardInputs(decodes, blockSize, false) });
  return steps;
}

/** Runs the reservation's steps on an executor whose cache is empty; resolves with each step's time in ms. */
export async function reserveStepMemory(executor: Executor, limits: ReserveLimits): Promise<Record<string, number>> {
  const times: Record<string, number> = {};
  for (const { name, inputs } of reserveSteps(limits)) {
    const start = performance.now();
    await executor.step(inputs);
    times[name] = Math.round(performance.now() - start);
  }
  return times;
}
