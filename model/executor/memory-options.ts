// How the executor asks ONNX Runtime to manage its working memory, and whether steps are padded to a few shape
// buckets (shape-buckets.ts). Every step has its own combination of dynamic dimensions (num_tokens, batch,
// query_len, max_blocks, num_logits); what ONNX Runtime keeps per combination decides whether a long-running
// server's resident memory plateaus. bench/rss-probe.ts measures each knob; README "Memory under load" has the
// figures behind the defaults.
//
// The Node binding (onnxruntime-node 1.30) exposes only these knobs: `enableMemPattern`, `enableCpuMemArena` and
// session config entries (`extra`). The CPU arena's extend strategy and the run option
// `memory.enable_memory_arena_shrinkage` are not reachable from Node (its RunOptions parser reads only
// logSeverityLevel and tag; the arena config is not an option there).

export interface ExecutorMemoryOptions {
  /**
   * ONNX Runtime's memory pattern: it plans the step's buffers once per input-shape combination and keeps the
   * plan for the session's life.
   */
  readonly memPattern: boolean;
  /** ONNX Runtime's CPU arena (BFC): freed buffers return to the arena, which never gives memory back. */
  readonly cpuArena: boolean;
  /** Pad each step's dynamic dimensions up to a shape bucket, so the set of shapes ONNX Runtime sees is small. */
  readonly shapeBuckets: boolean;
}

/** What the server runs with (chosen by measurement: README "Memory under load"). */
export const DEFAULT_EXECUTOR_MEMORY: ExecutorMemoryOptions = {
  memPattern: false,
  cpuArena: true,
  shapeBuckets: true,
};

/** Parses `memPattern=0,cpuArena=1,shapeBuckets=1` (any subset) over the defaults; throws RangeError on bad text. */
export function parseExecutorMemory(
  text: string,
  base: ExecutorMemoryOptions = DEFAULT_EXECUTOR_MEMORY,
): ExecutorMemoryOptions {
  const out: Record<keyof ExecutorMemoryOptions, boolean> = { ...base };
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)) {
    const m = /^(memPattern|cpuArena|shapeBuckets)=(0|1|on|off|true|false)$/.exec(part);
    if (m === null)
      throw new RangeError(`bad executor memory option "${part}" (expected memPattern|cpuArena|shapeBuckets = 0|1)`);
    out[m[1] as keyof ExecutorMemoryOptions] = m[2] === '1' || m[2] === 'on' || m[2] === 'true';
  }
  return out;
}

export function describeExecutorMemory(m: ExecutorMemoryOptions): string {
  return `memPattern=${m.memPattern ? 1 : 0},cpuArena=${m.cpuArena ? 1 : 0},shapeBuckets=${m.shapeBuckets ? 1 : 0}`;
}
