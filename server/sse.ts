// Server-sent events in OpenAI's framing: `data: {json}\n\n` per chunk, then `data: [DONE]\n\n`. A failure after
// the stream began becomes one final `data: {"error": …}` event (through errors.ts) before [DONE], so the client
// sees a clean end of stream. A client that goes away aborts `controller`, which cancels the engine requests.
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { toErrorResponse } from './errors.js';

export type SendChunk = (chunk: object) => Promise<void>;

export function sseResponse(c: Context, controller: AbortController, produce: (send: SendChunk) => Promise<void>): Response {
  return streamSSE(c, async (stream) => {
    stream.onAbort(() => controller.abort());
    // Only the client leaving silences the stream; `controller` also fires when a sibling choice fails.
    const clientGone = (): boolean => stream.aborted || c.req.raw.signal.aborted;
    const send: SendChunk = (chunk) => stream.writeSSE({ data: JSON.stringify(chunk) });
    try {
      await produce(send);
    } catch (err) {
      if (clientGone()) return;
      await stream.writeSSE({ data: JSON.stringify(toErrorResponse(err).body) });
    }
    if (!clientGone()) await stream.writeSSE({ data: '[DONE]' });
  });
}

/** An AbortController that fires when the HTTP client disconnects (or the server aborts the request). */
export function requestAbortController(c: Context): AbortController {
  const controller = new AbortController();
  const signal = c.req.raw.signal;
  if (signal.aborted) controller.abort();
  else signal.addEventListener('abort', () => controller.abort(), { once: true });
  return controller;
}
