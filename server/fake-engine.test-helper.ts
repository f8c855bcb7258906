// A deterministic Engine for server tests: it "generates" a fixed sentence, starting at an offset derived from
// the prompt length and the seed, so outputs are reproducible and differ between seeds. It honours maxTokens,
// stop strings (minimal: no hold-back), logprobs, prompt logprobs and the AbortSignal, and can be told to fail.
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogprobEntry, TokenLogprob } from '../sampling/index.js';
import type { Engine, EngineObserver, EngineRequest, EngineStats, TokenEvent } from '../engine/types.js';
import type { ModelTokenizer } from '../model/tokenizer.js';
import { Aborted } from './errors.js';

const SENTENCE = ' the quick brown fox jumps over the lazy dog.';

export class FakeEngine implements Engine {
  readonly maxModelLen = 4096;
  /** Every request submitted, in order. */
  readonly requests: EngineRequest[] = [];
  /** Ids whose AbortSignal fired before they finished. */
  readonly abortedIds: string[] = [];
  /** Ids that ran to their finish event. */
  readonly finishedIds: string[] = [];
  /** Thrown synchronously from submit (e.g. new Overloaded()). */
  submitError: Error | null = null;
  /** Fail with a plain Error after this many tokens, for requests that `failWhen` picks. */
  failAfterTokens: number | null = null;
  failWhen: (request: EngineRequest) => boolean = () => true;
  /** Pause before each token, so tests can disconnect mid-stream. */
  tokenDelayMs = 0;
  /** Token ids to "generate" instead of the sentence; the request finishes with `stop` (as at EOS) after them. */
  script: readonly number[] | null = null;
  private running = 0;
  private readonly cycle: number[];

  constructor(
    private readonly tokenizer: ModelTokenizer,
    private readonly observer: EngineObserver = {},
  ) {
    this.cycle = tokenizer.encode(SENTENCE);
  }

  submit(request: EngineRequest, signal?: AbortSignal): AsyncIterable<TokenEvent> {
    if (this.submitError) throw this.submitError;
    this.requests.push(request);
    return this.generate(request, signal);
  }

  stats(): EngineStats {
    return {
      numRunning: this.running,
      numWaiting: 0,
      cacheBlocksUsed: this.running,
      cacheBlocksTotal: 64,
      cacheBlocksTouched: 0,
      cacheBlockSize: 64,
      cacheBytesPerToken: 1536,
    };
  }

  async shutdown(): Promise<void> {}

  /** The token the fake emits at step k of `request`. */
  tokenAt(request: EngineRequest, k: number): number {
    if (this.script !== null) return this.script[k]!;
    const offset = request.promptIds.length + (request.sampling.seed ?? 0);
    return this.cycle[(offset + k) % this.cycle.length]!;
  }

  private entry(id: number, k: number, top: number): LogprobEntry {
    const alternatives: TokenLogprob[] = Array.from({ length: top }, (_, r) => ({
      id: (id + r) % 900,
      logprob: -0.5 * (r + 1),
    }));
    return { id, logprob: -0.25 - k / 100, top: alternatives };
  }

  private async *generate(request: EngineRequest, signal?: AbortSignal): AsyncGenerator<TokenEvent> {
    const started = performance.now();
    this.running++;
    this.observer.onPromptTokens?.(request.promptIds.length);
    this.observer.onPrefixCacheQuery?.(request.promptIds.length, 0);
    try {
      const ids: number[] = [];
      let emitted = '';
      let stopReason: string | null = null;
      const limit = Math.min(request.maxTokens, this.script?.length ?? Infinity);
      for (let k = 0; k < limit && stopReason === null; k++) {
        await (this.tokenDelayMs > 0 ? sleep(this.tokenDelayMs, undefined, { signal }) : sleep(0));
        if (signal?.aborted) throw new Aborted('aborted');
        if (this.failAfterTokens !== null && k >= this.failAfterTokens && this.failWhen(request)) {
          throw new Error('executor exploded (fake)');
        }
        const id = this.tokenAt(request, k);
        ids.push(id);
        this.observer.onGenerationTokens?.(1);
        if (k === 0) this.observer.onFirstToken?.((performance.now() - started) / 1000);
        else this.observer.onInterToken?.(0.001);
        let text = this.tokenizer.decode(ids, { skipSpecialTokens: request.skipSpecialTokens ?? true });
        for (const stop of request.stop) {
          const at = text.indexOf(stop);
          if (at >= 0) {
            text = text.slice(0, at);
            stopReason = stop;
          }
        }
        const entries = request.logprobs === null ? null : [this.entry(id, k, request.logprobs)];
        yield { type: 'delta', text: text.slice(emitted.length), tokenIds: [id], logprobs: entries };
        emitted = text;
      }
      const usage = { promptTokens: request.promptIds.length, completionTokens: ids.length, cachedTokens: 0 };
      const promptLogprobs =
        request.promptLogprobs === null
          ? null
          : request.promptIds.map((id, j) => (j === 0 ? null : this.entry(id, j, request.promptLogprobs!)));
      this.finishedIds.push(request.id);
      this.observer.onRequestFinished?.((performance.now() - started) / 1000, usage);
      const scriptDone = this.script !== null && ids.length === this.script.length;
      yield {
        type: 'finish',
        reason: stopReason === null && !scriptDone ? 'length' : 'stop',
        stopReason,
        usage,
        promptLogprobs,
      };
    } catch (err) {
      if (signal?.aborted || (err as Error).name === 'AbortError') {
        this.abortedIds.push(request.id);
        throw new Aborted('aborted');
      }
      throw err;
    } finally {
      this.running--;
    }
  }
}
