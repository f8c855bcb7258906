// Request ids and structured logs. Every response carries `x-request-id` (the client's own when it is a sane
// token, else a fresh UUID) and every log line about the request carries it as `reqId`. One access line per
// request once the response is done (streams included); /health and /metrics are logged at debug so probes do not
// flood the log. Prompts and generated text are never logged here (see --log-prompts in the routes).
// A client that closed its connection before any response was sent is logged with status 499 (nginx's "client
// closed request") whatever the handler answered into the void (an aborted request's 503), and counted apart in
// /metrics, so that 5xx rates in access logs stay the server's own.
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { onResponseClosed, type AppEnv } from './app-env.js';
import type { ServerMetrics } from './metrics.js';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const QUIET_PATHS = new Set(['/health', '/metrics']);
/** nginx's status for a request whose client closed the connection before the response. */
export const CLIENT_CLOSED_REQUEST = 499;

export function requestLog(logger: Logger, metrics?: Pick<ServerMetrics, 'onClientClosed'>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const offered = c.req.header('x-request-id');
    const requestId = offered !== undefined && SANE_ID.test(offered) ? offered : randomUUID();
    const log = logger.child({ reqId: requestId });
    c.set('requestId', requestId);
    c.set('log', log);
    c.header('x-request-id', requestId);
    const startMs = performance.now();
    // The adapter aborts the request's signal when the connection closes before the response finished; whether
    // any of the response had left by then tells a 499 from a stream the client left part-way (logged as sent).
    const outgoing = (c.env as AppEnv['Bindings'] | undefined)?.outgoing;
    let closedBeforeResponse = false;
    if (outgoing !== undefined) {
      c.req.raw.signal.addEventListener(
        'abort',
        () => {
          closedBeforeResponse = !outgoing.headersSent;
        },
        { once: true },
      );
    }
    try {
      await next();
    } finally {
      // Responses made outside the context (e.g. returned by a middleware) get the header here.
      try {
        if (!c.res.headers.has('x-request-id')) c.res.headers.set('x-request-id', requestId);
      } catch {
        /* immutable headers: a proxied response keeps its own */
      }
      const line = { method: c.req.method, path: c.req.path, status: c.res.status };
      onResponseClosed(c, () => {
        const status = closedBeforeResponse ? CLIENT_CLOSED_REQUEST : line.status;
        if (closedBeforeResponse) metrics?.onClientClosed();
        const entry = { ...line, status, durationMs: Math.round(performance.now() - startMs) };
        if (QUIET_PATHS.has(c.req.path) && status < 400) log.debug(entry, 'request');
        else log.info(entry, 'request');
      });
    }
  };
}
