// SchedulerOutput → ForwardInputs: the step's tokens back to back, their positions and cache slots, and which
// logits rows to return (sampling rows, plus prompt-logprob rows where asked).
import type { KvCacheManager } from '../cache/kv-cache-manager.js';
import { slotOf } from '../cache/block-pool.js';
import type { ForwardInputs, SequenceSlice } from '../model/executor/types.js';
import type { ScheduledRequest, SchedulerOutput } from './scheduler.js';

export interface RowPlan {
  readonly scheduled: ScheduledRequest;
  /** Logits row scoring prompt token `position + 1`, for each such position in this step. */
  readonly promptRows: readonly { readonly row: number; readonly position: number }[];
  /** Logits row to sample the next token from, or null. */
  readonly sampleRow: number | null;
}

export function buildStepInputs(
  output: SchedulerOutput,
  kv: KvCacheManager,
): { inputs: ForwardInputs; plans: RowPlan[] } {
  const n = output.numTokens;
  const tokenIds = new Int32Array(n);
  const positions = new Int32Array(n);
  const slotMapping = new Int32Array(n);
  const logitsIndices: number[] = [];
  const seqs: SequenceSlice[] = [];
  const plans: RowPlan[] = [];
  let offset = 0;
  for (const s of output.scheduled) {
    const { request, start, numNewTokens } = s;
    const blockTable = kv.blockTable(request.id);
    const promptRows: { row: number; position: number }[] = [];
    for (let i = 0; i < numNewTokens; i++) {
      const position = start + i;
      tokenIds[offset + i] = request.tokenIds[position]!;
      positions[offset + i] = position;
      slotMapping[offset + i] = slotOf(blockTable, position, kv.blockSize);
      // Position p's logits score prompt token p + 1, unless an earlier run (before a preemption) scored it.
      const scoresPromptToken =
        position + 1 < request.numPromptTokens && position + 1 >= request.promptLogprobEntries.length;
      if (request.promptLogprobs !== null && scoresPromptToken) {
        promptRows.push({ row: logitsIndices.length, position });
        logitsIndices.push(offset + i);
      }
    }
    let sampleRow: number | null = null;
    if (s.samples) {
      sampleRow = logitsIndices.length;
      logitsIndices.push(offset + numNewTokens - 1);
    }
    seqs.push({ queryLen: numNewTokens, contextLen: start, blockTable });
    plans.push({ scheduled: s, promptRows, sampleRow });
    offset += numNewTokens;
  }
  const copies = kv.takeCopies();
  const slotCopies =
    copies.length === 0 ? undefined : Int32Array.from(copies.flatMap((c) => [c.srcSlot, c.dstSlot, c.rows]));
  return {
    inputs: { tokenIds, positions, seqs, slotMapping, logitsIndices: Int32Array.from(logitsIndices), slotCopies },
    plans,
  };
}
