// What the HTTP layer is built from; the composition root (cli) constructs these and calls createApp. Everything
// after `metrics` is optional, with the defaults of server/limits.ts, no auth, and a silent logger.
import type { Logger } from 'pino';
import type { Engine } from '../engine/types.js';
import type { GrammarSpec } from '../grammar/spec.js';
import type { CorsOptions } from './cors.js';
import type { PromptEncoder } from '../model/tokenizer-thread.js';
import type { ModelTokenizer } from '../model/tokenizer.js';
import type { ServerLifecycle } from './lifecycle.js';
import type { ConcurrencyLimit, PromptSizeGuard, ServerLimits } from './limits.js';
import type { ServerMetrics } from './metrics.js';

export interface ServerOptions {
  readonly engine: Engine;
  readonly tokenizer: ModelTokenizer;
  /** Prompt text → ids; `serve` passes a TokenizerThread so long prompts are encoded off the HTTP thread. Default: in place. */
  readonly encoder?: PromptEncoder;
  /** The only `model` value requests may name (absent is accepted too). */
  readonly servedModelName: string;
  /** The model's config vocab_size (rows), which may exceed the tokenizer's ids; requests may use [0, min of both). */
  readonly vocabSize: number;
  /** Prompt + completion tokens per request, at most. */
  readonly maxModelLen: number;
  /** Also passed to the engine as its EngineObserver. */
  readonly metrics: ServerMetrics;
  readonly limits?: Partial<ServerLimits>;
  /** Bearer keys; none = no auth. */
  readonly apiKeys?: readonly string[];
  /** Require a key for /metrics too (it is open by default, like /health). */
  readonly protectMetrics?: boolean;
  readonly logger?: Logger;
  /** Log prompts (messages / prompt) at info; off by default, prompts are never logged otherwise. */
  readonly logPrompts?: boolean;
  /** Browser access (--allowed-origins …); absent or no origins = no CORS headers. */
  readonly cors?: CorsOptions;
  /** Drain state for graceful shutdown; createApp makes one when absent. */
  readonly lifecycle?: ServerLifecycle;
  /** Responses kept for GET /v1/responses/{id} and previous_response_id (LRU); default 1000. */
  readonly responsesStoreSize?: number;
  /** Compiles structured-output grammars (the engine's grammar backend); absent = such requests get a 400. */
  readonly grammars?: GrammarCompiler;
}

/** The server's side of the grammar service: compile before submitting, so a bad grammar is a 400. */
export interface GrammarCompiler {
  compile(spec: GrammarSpec): Promise<void>;
}

/** ServerOptions with every default filled in, as the routes see them. */
export interface RouteOptions extends ServerOptions {
  /** Token ids a request may name in any field: [0, vocabSize), the model's rows the tokenizer knows (engine-request.ts). */
  readonly vocabSize: number;
  readonly encoder: PromptEncoder;
  readonly limits: ServerLimits;
  readonly logger: Logger;
  readonly logPrompts: boolean;
  readonly lifecycle: ServerLifecycle;
  readonly streamSlots: ConcurrencyLimit;
  readonly promptGuard: PromptSizeGuard;
}
