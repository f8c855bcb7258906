// server/: the OpenAI-compatible HTTP API (Hono): routes, zod request schemas, SSE, error mapping, /metrics.
// Talks to the engine only through engine.submit / abort; never imports model/ internals or onnxruntime-node.
export {};
