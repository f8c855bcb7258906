// server/: the OpenAI-compatible HTTP API (Hono): routes, zod request schemas, SSE, error mapping, /metrics.
// Talks to the engine only through engine.submit (an AsyncIterable<TokenEvent>, cancelled by an AbortSignal);
// never imports model/ internals beyond the tokenizer, nor onnxruntime-node.
//
//   request body ─zod→ EngineRequest × n ─engine.submit→ TokenEvent streams ─merge→ chunks / response
export { createApp } from './app.js';
export { listen } from './listen.js';
export type { Listening } from './listen.js';
export { ServerMetrics } from './metrics.js';
export type { ServerOptions } from './options.js';
export { toErrorResponse } from './errors.js';
export type { ErrorBody } from './errors.js';
