// The part of /v1/chat/completions and /v1/completions after the request has become EngineRequests: the stream
// slot, the request's AbortController (client, deadline, shutdown), starting the choices, then either the SSE
// stream or the collected body. Slot and scope are released exactly once, when the response is done.
import type { EngineRequest } from '../engine/types.js';
import type { AppContext } from './app-env.js';
import { startChoices, type ChoiceEvent } from './choices.js';
import type { RouteOptions } from './options.js';
import { RequestScope } from './request-scope.js';
import { sseResponse, type SendChunk } from './sse.js';

export interface GenerationOutput {
  readonly stream: boolean;
  /** End the stream with `data: [DONE]` (default true; the Responses API does not). */
  readonly doneSentinel?: boolean;
  collect(events: AsyncIterable<ChoiceEvent>): Promise<object>;
  produce(events: AsyncIterable<ChoiceEvent>, send: SendChunk): Promise<void>;
}

export async function respondWithGeneration(
  c: AppContext,
  opts: RouteOptions,
  requests: readonly EngineRequest[],
  out: GenerationOutput,
): Promise<Response> {
  const releaseSlot = out.stream ? opts.streamSlots.acquire() : () => {};
  const scope = new RequestScope(c, opts.limits.requestTimeoutMs, opts.lifecycle.shutdownSignal);
  const done = (): void => {
    scope.dispose();
    releaseSlot();
  };
  let handedOff = false;
  try {
    const events = await startChoices(opts.engine, requests, scope.controller);
    if (out.stream) {
      handedOff = true;
      return sseResponse(
        c,
        scope.controller,
        (send) => out.produce(events, send),
        done,
        opts.limits.streamStallTimeoutMs,
        out.doneSentinel ?? true,
      );
    }
    return c.json(await out.collect(events));
  } finally {
    if (!handedOff) done();
  }
}

/** Logs the prompt at info when --log-prompts is on; never otherwise. */
export function logPrompt(c: AppContext, opts: RouteOptions, prompt: unknown): void {
  if (opts.logPrompts) c.var.log.info({ prompt }, 'prompt');
}
