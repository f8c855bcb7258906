// What the HTTP layer is built from; the composition root (cli) constructs these and calls createApp.
import type { Engine } from '../engine/types.js';
import type { ModelTokenizer } from '../model/tokenizer.js';
import type { ServerMetrics } from './metrics.js';

export interface ServerOptions {
  readonly engine: Engine;
  readonly tokenizer: ModelTokenizer;
  /** The only `model` value requests may name (absent is accepted too). */
  readonly servedModelName: string;
  /** Token ids the model accepts in prompts and logit_bias: [0, vocabSize) (config vocab_size, which may exceed the tokenizer's). */
  readonly vocabSize: number;
  /** Prompt + completion tokens per request, at most. */
  readonly maxModelLen: number;
  /** Also passed to the engine as its EngineObserver. */
  readonly metrics: ServerMetrics;
}
