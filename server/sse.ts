// Server-sent events in OpenAI's framing: `data: {json}\n\n` per chunk, then `data: [DONE]\n\n`. A failure after
// the stream began (a model fault, the deadline, the server shutting down) becomes one final
// `data: {"error": …}` event (through errors.ts) before [DONE], so the client sees a clean end of stream. A client
// that goes away aborts `controller`, which cancels the engine requests.
//
// A reader that stops reading must not pin the request (and its stream slot) forever: a write the client has not
// taken after `stallTimeoutMs` (0 = never) counts as the client gone (request cancelled, connection dropped), every write
// gives up when `controller` fires, and the final events get FINAL_WRITE_MS to leave before the connection is
// dropped.
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Logger } from 'pino';
import { destroyConnection, type AppContext } from './app-env.js';
import { isServerFault, toErrorResponse } from './errors.js';
import { abortReason } from './request-scope.js';

/** Writes one `data:` event; `event` names it (the Responses API's `event: response.output_text.delta`). */
export type SendChunk = (chunk: object, event?: string) => Promise<void>;

const FINAL_WRITE_MS = 2000;

/** Rejects with the abort reason once `signal` fires (never resolves otherwise). */
function whenAborted(signal: AbortSignal): { promise: Promise<never>; dispose(): void } {
  let onAbort = (): void => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

export function sseResponse(
  c: AppContext,
  controller: AbortController,
  produce: (send: SendChunk) => Promise<void>,
  onDone: () => void,
  stallTimeoutMs: number,
  /** End with `data: [DONE]` (chat and completions); the Responses API's stream ends with its last event. */
  doneSentinel = true,
): Response {
  const log: Logger | undefined = c.get('log');
  return streamSSE(c, async (stream: SSEStreamingApi) => {
    stream.onAbort(() => controller.abort());
    let stalled = false;
    // Only the client leaving silences the stream; `controller` also fires on a deadline or a failing choice.
    const clientGone = (): boolean => stalled || stream.aborted || c.req.raw.signal.aborted;
    const aborted = whenAborted(controller.signal);
    // One watchdog per stream rather than a timer per chunk: is the current write older than the stall limit?
    let writingSince: number | null = null;
    const watchdog =
      stallTimeoutMs <= 0
        ? undefined
        : setInterval(
            () => {
              if (writingSince === null || performance.now() - writingSince < stallTimeoutMs) return;
              stalled = true;
              log?.info(
                { stalledMs: Math.round(performance.now() - writingSince) },
                'stream reader stopped reading; dropping it',
              );
              controller.abort();
              destroyConnection(c);
            },
            Math.max(10, Math.min(1000, stallTimeoutMs / 4)),
          );
    const send: SendChunk = async (chunk, event) => {
      writingSince = performance.now();
      try {
        await Promise.race([
          stream.writeSSE({ data: JSON.stringify(chunk), ...(event !== undefined && { event }) }),
          aborted.promise,
        ]);
      } finally {
        writingSince = null;
      }
    };
    const final = async (data: string): Promise<boolean> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), FINAL_WRITE_MS);
      });
      const written = await Promise.race([stream.writeSSE({ data }).then(() => true), timeout]);
      clearTimeout(timer);
      return written;
    };
    try {
      try {
        await produce(send);
      } catch (err) {
        if (clientGone()) return;
        const { body } = toErrorResponse(err);
        if (isServerFault(err)) log?.error({ err }, 'stream failed');
        else log?.info({ error: body.error.code ?? body.error.type }, 'stream ended early');
        if (!(await final(JSON.stringify(body)))) return destroyConnection(c);
      }
      if (doneSentinel && !clientGone() && !(await final('[DONE]'))) destroyConnection(c);
    } finally {
      clearInterval(watchdog);
      aborted.dispose();
      onDone();
    }
  });
}
