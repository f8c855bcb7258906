// Request ids and structured logs. Every response carries `x-request-id` (the client's own when it is a sane
// token, else a fresh UUID) and every log line about the request carries it as `reqId`. One access line per
// request once the response is done (streams included); /health and /metrics are logged at debug so probes do not
// flood the log. Prompts and generated text are never logged here (see --log-prompts in the routes).
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { onResponseClosed, type AppEnv } from './app-env.js';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const QUIET_PATHS = new Set(['/health', '/metrics']);

export function requestLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const offered = c.req.header('x-request-id');
    const requestId = offered !== undefined && SANE_ID.test(offered) ? offered : randomUUID();
    const log = logger.child({ reqId: requestId });
    c.set('requestId', requestId);
    c.set('log', log);
    c.header('x-request-id', requestId);
    const startMs = performance.now();
    try {
      await next();
    } finally {
      // Responses made outside the context (e.g. returned by a middleware) get the header here.
      try {
        if (!c.res.headers.has('x-request-id')) c.res.headers.set('x-request-id', requestId);
      } catch { /* immutable headers: a proxied response keeps its own */ }
      const status = c.res.status;
      const line = { method: c.req.method, path: c.req.path, status };
      onResponseClosed(c, () => {
        const entry = { ...line, durationMs: Math.round(performance.now() - startMs) };
        if (QUIET_PATHS.has(c.req.path) && status < 400) log.debug(entry, 'request');
        else log.info(entry, 'request');
      });
    }
  };
}
