// What the HTTP layer is built from; the composition root (cli) constructs these and calls createApp.
import type { Engine } from '../engine/types.js';
import type { ModelTokenizer } from '../model/tokenizer.js';
import type { ServerMetrics } from './metrics.js';

export interface ServerOptions {
  readonly engine: Engine;
  readonly tokenizer: ModelTokenizer;
  /** The only `model` value requests may name (absent is accepted too). */
  readonly servedModelName: string;
  /** Prompt + completion tokens per request, at most. */
  readonly maxModelLen: number;
  /** Also passed to the engine as its EngineObserver. */
  readonly metrics: ServerMetrics;
}
