// One load level: send each prompt at its arrival time, at most `maxConcurrency` in flight (later arrivals wait
// for a slot, as vLLM's semaphore makes them), until every request has ended or the deadline passes. At the
// deadline nothing new is sent and requests in flight are aborted; those are reported as cancelled, not failed.
import { setMaxListeners } from 'node:events';
import { arrivalOffsetsMs, type ArrivalProcess } from './arrivals.js';
import { streamRequest, type SamplingSpec, type StreamOutcome } from './client/stream-request.js';
import type { Target } from './client/target.js';
import type { BenchPrompt } from './dataset.js';

export interface LevelOptions {
  readonly target: Target;
  readonly prompts: readonly BenchPrompt[];
  /** Infinity: no cap. */
  readonly maxConcurrency: number;
  readonly arrival: ArrivalProcess;
  readonly seed: number;
  readonly ignoreEos: boolean;
  readonly includeUsage: boolean;
  /** Absent: greedy. */
  readonly sampling?: SamplingSpec;
  /** Infinity: no deadline. */
  readonly maxDurationMs: number;
  readonly onProgress?: (progress: LevelProgress) => void;
}

export interface LevelProgress {
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
  readonly inFlight: number;
  readonly elapsedMs: number;
}

export interface LevelRun {
  /** In prompt order; null for a prompt never sent (the deadline came first). */
  readonly outcomes: readonly (StreamOutcome | null)[];
  /** performance.now() at the start of the run; outcomes' sentAtMs are on the same clock. */
  readonly startedAtMs: number;
  readonly durationS: number;
  readonly hitDeadline: boolean;
}

/** A counting semaphore whose waiters give up when `signal` aborts. */
class Slots {
  private readonly waiters: (() => void)[] = [];
  constructor(private free: number) {}

  async acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false;
    if (this.free > 0) {
      this.free--;
      return true;
    }
    return new Promise<boolean>((resolve) => {
      const grant = (): void => {
        signal.removeEventListener('abort', giveUp);
        resolve(true);
      };
      const giveUp = (): void => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      };
      this.waiters.push(grant);
      signal.addEventListener('abort', giveUp, { once: true });
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next === undefined) this.free++;
    else next();
  }
}

function sleepUntil(atMs: number, signal: AbortSignal): Promise<boolean> {
  const delay = atMs - performance.now();
  if (signal.aborted) return Promise.resolve(false);
  if (delay <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, delay);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export async function runLevel(opts: LevelOptions): Promise<LevelRun> {
  const total = opts.prompts.length;
  const offsets = arrivalOffsetsMs(total, opts.arrival, opts.seed);
  const slots = new Slots(opts.maxConcurrency === Infinity ? Number.MAX_SAFE_INTEGER : opts.maxConcurrency);
  const deadline = new AbortController();
  // Every waiting or running request listens to the deadline (fetch adds its own listener too): not a leak.
  setMaxListeners(2 * total + 10, deadline.signal);
  let completed = 0;
  let failed = 0;
  let inFlight = 0;
  const startedAtMs = performance.now();
  const report = (): void =>
    opts.onProgress?.({ total, completed, failed, inFlight, elapsedMs: performance.now() - startedAtMs });
  const timer = opts.maxDurationMs === Infinity ? null : setTimeout(() => deadline.abort(), opts.maxDurationMs);
  report();

  const one = async (prompt: BenchPrompt, i: number): Promise<StreamOutcome | null> => {
    if (!(await sleepUntil(startedAtMs + offsets[i]!, deadline.signal))) return null;
    if (!(await slots.acquire(deadline.signal))) return null;
    inFlight++;
    report();
    try {
      const spec = {
        prompt: prompt.prompt,
        maxTokens: prompt.outputLen,
        ignoreEos: opts.ignoreEos,
        includeUsage: opts.includeUsage,
        ...(opts.sampling !== undefined && { sampling: opts.sampling }),
      };
      const outcome = await streamRequest(opts.target, spec, deadline.signal);
      if (outcome.success) completed++;
      else if (!outcome.cancelled) failed++;
      return outcome;
    } finally {
      inFlight--;
      slots.release();
      report();
    }
  };
  try {
    const outcomes = await Promise.all(opts.prompts.map(one));
    return {
      outcomes,
      startedAtMs,
      durationS: (performance.now() - startedAtMs) / 1000,
      hitDeadline: deadline.signal.aborted,
    };
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}
