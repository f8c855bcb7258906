// Continuous batching without phases (vLLM v1): each step spends a token budget, first on running requests
// (oldest first; a decode costs one token, an unfinished prefill continues in chunks), then on waiting requests
// (their uncached prompt, chunked to what is left). Pure and synchronous: no I/O, no model.
//
// Invariants:
// - a running request always has numComputedTokens < numTokens (something to compute);
// - a request in a step samples iff the step brings numComputedTokens up to numTokens;
// - a request awaiting a deferred sample (`awaitingSample`) is never scheduled: running, it is skipped; at the
//   head of the waiting queue, it holds admission until its token is appended (a deferral lasts milliseconds);
// - when blocks run out, the newest running request is preempted by recompute: its blocks are freed, its
//   progress reset to 0, and it goes back to the front of the waiting queue (tokens generated so far are kept);
// - attention runs on a padded [B, T] block of queries against S = the longest context's keys (model/graph/mla.ts),
//   so a long prefill chunk next to 31 decodes would compute, and hold in memory, 32 × T × S scores per head. Each
//   chunk is capped so that B × T ≤ maxPaddedQuerySlots and B × T × S ≤ maxAttentionBlock, with B = the sequences
//   this step may hold and S = the longest context among them (in whole blocks); a decode (1 token) always fits.
import { NO_PREFIX, type KvCacheManager } from '../cache/kv-cache-manager.js';
import type { Request } from './request.js';

export interface SchedulerConfig {
  /** Requests running at once. */
  readonly maxNumSeqs: number;
  /** Tokens per step across all requests. */
  readonly maxNumBatchedTokens: number;
  /** Batch × longest chunk per step (padded query rows); default 4 × maxNumBatchedTokens. */
  readonly maxPaddedQuerySlots?: number;
  /** Batch × longest chunk × longest context per step (attention scores per head); default maxPaddedQuerySlots × 512. */
  readonly maxAttentionBlock?: number;
}

export const PADDED_QUERY_SLOTS_PER_BATCHED_TOKEN = 4;
export const ATTENTION_KEYS_PER_QUERY_SLOT = 512;

/** The caps a scheduler with this config applies (defaults filled in). */
export function stepShapeCaps(config: SchedulerConfig): { maxPaddedQuerySlots: number; maxAttentionBlock: number } {
  const maxPaddedQuerySlots =
    config.maxPaddedQuerySlots ?? PADDED_QUERY_SLOTS_PER_BATCHED_TOKEN * config.maxNumBatchedTokens;
  return {
    maxPaddedQuerySlots,
    maxAttentionBlock: config.maxAttentionBlock ?? maxPaddedQuerySlots * ATTENTION_KEYS_PER_QUERY_SLOT,
  };
}

export interface ScheduledRequest {
  readonly request: Request;
  /** numComputedTokens before this step: the first new token's position. */
  readonly start: number;
  readonly numNewTokens: number;
  /** Whether this step produces the request's next token. */
  readonly samples: boolean;
}

export interface SchedulerOutput {
  readonly scheduled: readonly ScheduledRequest[];
  /** Requests pushed back to waiting in this step to free blocks. */
  readonly preempted: readonly Request[];
  readonly numTokens: number;
}

export interface PrefixCacheEvents {
  onPrefixCacheQuery?(queriedTokens: number, hitTokens: number): void;
  onPreemption?(): void;
}

export class Scheduler {
  private readonly waiting: Request[] = [];
  private readonly running: Request[] = [];

  constructor(
    private readonly config: SchedulerConfig,
    private readonly kv: KvCacheManager,
    private readonly events: PrefixCacheEvents = {},
  ) {}

  get numWaiting(): number {
    return this.waiting.length;
  }

  get numRunning(): number {
    return this.running.length;
  }

  hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  add(request: Request): void {
    request.status = 'waiting';
    this.waiting.push(request);
  }

  /**
   * Removes a request wherever it is and frees its blocks. Returns it, or null if unknown. `keepRows`: every row
   * below numComputedTokens was written by a finished step, so its blocks stay in the prefix cache, a partly
   * filled last block included. Aborts and failures do not say so (a failed step may not have run its copies).
   */
  remove(id: string, keepRows = false): Request | null {
    for (const queue of [this.running, this.waiting]) {
      const i = queue.findIndex((r) => r.id === id);
      if (i >= 0) {
        const [request] = queue.splice(i, 1);
        this.kv.free(id, keepRows ? request! : undefined);
        return request!;
      }
    }
    return null;
  }

  schedule(): SchedulerOutput {
    let budget = this.config.maxNumBatchedTokens;
    const scheduled: ScheduledRequest[] = [];
    const preempted: Request[] = [];
    const maxChunk = this.maxChunk();

    for (let i = 0; i < this.running.length && budget > 0; i++) {
      const request = this.running[i]!;
      if (request.awaitingSample) continue;
      const numNew = Math.min(request.numTokens - request.numComputedTokens, budget, maxChunk);
      while (!this.kv.allocateSlots(request.id, request.numComputedTokens + numNew)) {
        const victim = this.running.pop()!;
        this.preempt(victim);
        preempted.push(victim);
        if (victim === request) break;
      }
      if (request.status !== 'running') break; // preempted itself: nothing older left to shrink
      scheduled.push(this.entry(request, numNew));
      budget -= numNew;
    }

    while (
      preempted.length === 0 &&
      this.waiting.length > 0 &&
      this.running.length < this.config.maxNumSeqs &&
      budget > 0
    ) {
      const request = this.waiting[0]!;
      if (request.awaitingSample) break;
      const cached =
        request.numComputedTokens === 0 && !request.needsPromptLogprobs
          ? this.kv.findCachedPrefix(request.tokenIds)
          : NO_PREFIX;
      const numNew = Math.min(request.numTokens - cached.numTokens, budget, maxChunk);
      if (!this.kv.allocateSlots(request.id, cached.numTokens + numNew, cached)) break;
      if (request.numOutputTokens === 0) {
        // First admission (not a preempted request coming back): this is the prefix-cache query that counts.
        this.events.onPrefixCacheQuery?.(request.numTokens, cached.numTokens);
        request.numCachedTokens = cached.numTokens;
      }
      this.waiting.shift();
      request.numComputedTokens = cached.numTokens;
      request.status = 'running';
      this.running.push(request);
      scheduled.push(this.entry(request, numNew));
      budget -= numNew;
    }

    return { scheduled, preempted, numTokens: this.config.maxNumBatchedTokens - budget };
  }

  /**
   * Records a finished step: computed counts advance, sampled tokens are appended, full blocks enter the prefix
   * cache, and requests reaching EOS / a stop token / max tokens finish (blocks freed). Returns those.
   */
  update(output: SchedulerOutput, sampled: ReadonlyMap<string, number>): Request[] {
    const finished: Request[] = [];
    for (const { request, numNewTokens } of output.scheduled) {
      if (request.status !== 'running') continue; // removed while the step ran
      request.numComputedTokens += numNewTokens;
      const token = sampled.get(request.id);
      if (token !== undefined && this.append(request, token)) {
        finished.push(request);
        continue;
      }
      this.kv.cacheFullBlocks(request.id, request.tokenIds, request.numComputedTokens);
    }
    return finished;
  }

  /** Appends a token sampled after its step was recorded (a deferred sample); true when that finished the request. */
  appendDeferred(request: Request, token: number): boolean {
    request.awaitingSample = false;
    return request.status !== 'finished' && this.append(request, token);
  }

  /** Appends `token`; finishes the request on a stop token or at its token limit (returns true then). */
  private append(request: Request, token: number): boolean {
    request.tokenIds.push(token);
    const stopToken = request.stopTokenIds.has(token);
    if (!stopToken && request.numOutputTokens < request.maxTokens) return false;
    this.finish(request, stopToken ? 'stop' : 'length', stopToken ? token : null);
    return true;
  }

  /** Ends a running request (e.g. on a stop string found in its text) and frees its blocks. */
  finish(request: Request, reason: 'stop' | 'length', stopReason: string | number | null): void {
    if (request.status === 'finished') return;
    this.remove(request.id, true);
    request.status = 'finished';
    request.finishReason = reason;
    request.stopReason = stopReason;
  }

  /**
   * The longest chunk this step may give a sequence. Every sequence of the step is running now or among the first
   * waiting ones, so B ≤ seats and S ≤ their longest numTokens rounded up to whole blocks.
   */
  private maxChunk(): number {
    const seats = Math.max(1, Math.min(this.config.maxNumSeqs, this.running.length + this.waiting.length));
    let longest = 1;
    for (const r of this.running) longest = Math.max(longest, r.numTokens);
    for (let i = 0; i < this.waiting.length && i < seats; i++) longest = Math.max(longest, this.waiting[i]!.numTokens);
    const keys = Math.ceil(longest / this.kv.blockSize) * this.kv.blockSize;
    const caps = stepShapeCaps(this.config);
    return Math.max(1, Math.floor(Math.min(caps.maxPaddedQuerySlots, caps.maxAttentionBlock / keys) / seats));
  }

  private entry(request: Request, numNewTokens: number): ScheduledRequest {
    const start = request.numComputedTokens;
    return { request, start, numNewTokens, samples: start + numNewTokens === request.numTokens };
  }

  private preempt(request: Request): void {
    this.kv.free(request.id, request);
    request.numComputedTokens = 0;
    request.status = 'waiting';
    this.waiting.unshift(request);
    this.events.onPreemption?.();
  }
}
