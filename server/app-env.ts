// The Hono environment every route and middleware shares: the Node request/response (absent under app.request()
// in tests) and the per-request values set by request-log.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { Logger } from 'pino';

export interface AppEnv {
  Bindings: { readonly incoming?: IncomingMessage; readonly outgoing?: ServerResponse };
  Variables: {
    /** The client's x-request-id when it is sane, else a fresh UUID; echoed in the response. */
    requestId: string;
    /** The server logger bound to this request's id. */
    log: Logger;
  };
}

export type AppContext = Context<AppEnv>;

/** Runs `done` once the response has been sent or the connection dropped (streams included). */
export function onResponseClosed(c: AppContext, done: () => void): void {
  const outgoing = (c.env as AppEnv['Bindings'] | undefined)?.outgoing;
  if (outgoing === undefined || outgoing.closed) done();
  else outgoing.once('close', done);
}

/** Drops the client's connection outright (a stream whose reader stopped reading cannot be ended politely). */
export function destroyConnection(c: AppContext): void {
  (c.env as AppEnv['Bindings'] | undefined)?.outgoing?.destroy();
}
