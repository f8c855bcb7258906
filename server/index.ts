// server/: the OpenAI-compatible HTTP API (Hono): routes, zod request schemas, SSE, error mapping, /metrics, and
// the hardening around them — Bearer auth, request limits, request ids and JSON logs, drain on shutdown.
// Talks to the engine only through engine.submit (an AsyncIterable<TokenEvent>, cancelled by an AbortSignal);
// never imports model/ internals beyond the tokenizer and the executor's error classes, nor onnxruntime-node.
//
//   request-log → lifecycle (drain) → auth → body limit → route: body ─zod→ limits → EngineRequest × n
//     ─engine.submit→ TokenEvent streams ─merge→ chunks / response
export { createApp } from './app.js';
export { listen, DEFAULT_TIMEOUTS } from './listen.js';
export type { ConnectionTimeouts, Listening } from './listen.js';
export { ServerMetrics } from './metrics.js';
export type { ServerOptions } from './options.js';
export { toErrorResponse } from './errors.js';
export type { ErrorBody } from './errors.js';
export { parseApiKeys } from './auth.js';
export { ServerLifecycle } from './lifecycle.js';
export { DEFAULT_LIMITS } from './limits.js';
export type { ServerLimits } from './limits.js';
