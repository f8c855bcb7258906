// CORS for browser clients, with vLLM's flags (--allowed-origins, --allowed-methods, --allowed-headers) and the
// behaviour of the Starlette middleware vLLM uses, except that a preflight is answered 204 (no body).
//
// Runs before auth: a preflight (`OPTIONS` with `Access-Control-Request-Method`) never carries credentials, so it
// is answered here and never reaches the key check. Every other response to an allowed origin — errors, 401s and
// SSE streams included — gets `Access-Control-Allow-Origin`, so a browser can read the error body too.
// Off unless at least one origin is given; `*` allows every origin (and then no cookies are involved: latentserve
// never sets `Access-Control-Allow-Credentials`).
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.js';

export interface CorsOptions {
  /** Exact origins (`https://app.example`) or `*`. Empty = CORS off. */
  readonly allowedOrigins: readonly string[];
  /** Methods a preflight may ask for, or `*` for any. */
  readonly allowedMethods: readonly string[];
  /** Request headers a preflight may ask for (case-insensitive), or `*` for any. */
  readonly allowedHeaders: readonly string[];
}

export const DEFAULT_CORS: CorsOptions = { allowedOrigins: [], allowedMethods: ['*'], allowedHeaders: ['*'] };

/** Starlette's list for `allow_methods=["*"]`. */
const ALL_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'];
/** Seconds a browser may cache a preflight answer (Starlette's default). */
const PREFLIGHT_MAX_AGE_S = 600;
/** Response headers a page may read besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = ['x-request-id', 'retry-after'];

/**
 * A flag's values: repeatable, each a comma-separated list or a JSON list as vLLM takes it
 * (`--allowed-origins '["https://a.example"]'`). Blanks are dropped.
 */
export function parseCorsList(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    const text = value.trim();
    let items: unknown = null;
    if (text.startsWith('[')) {
      try {
        items = JSON.parse(text);
      } catch {
        throw new Error(`not a JSON list of strings: ${text}`);
      }
      if (!Array.isArray(items) || !items.every((i) => typeof i === 'string'))
        throw new Error(`not a JSON list of strings: ${text}`);
    }
    const list = Array.isArray(items) ? (items as string[]) : text.split(',');
    out.push(...list.map((i) => i.trim()).filter((i) => i.length > 0));
  }
  return [...new Set(out)];
}

export function cors(options: CorsOptions): MiddlewareHandler<AppEnv> {
  const anyOrigin = options.allowedOrigins.includes('*');
  const origins = new Set(options.allowedOrigins);
  const anyMethod = options.allowedMethods.includes('*');
  const methods = anyMethod ? ALL_METHODS : options.allowedMethods.map((m) => m.toUpperCase());
  const anyHeader = options.allowedHeaders.includes('*');
  const headers = new Set(options.allowedHeaders.map((h) => h.toLowerCase()));

  /** The value of Access-Control-Allow-Origin for this request's Origin, or null when it is not allowed. */
  const allowOrigin = (origin: string | undefined): string | null => {
    if (origin === undefined) return null;
    if (anyOrigin) return '*';
    return origins.has(origin) ? origin : null;
  };

  return async (c, next) => {
    const origin = c.req.header('origin');
    const allowed = allowOrigin(origin);
    const requestedMethod = c.req.header('access-control-request-method');
    if (c.req.method === 'OPTIONS' && origin !== undefined && requestedMethod !== undefined) {
      const requestedHeaders = (c.req.header('access-control-request-headers') ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h.length > 0);
      const ok =
        allowed !== null &&
        methods.includes(requestedMethod.toUpperCase()) &&
        (anyHeader || requestedHeaders.every((h) => headers.has(h)));
      // A refused preflight gets no CORS headers: the browser then refuses the real request itself.
      if (!ok) return c.body(null, 204, { Vary: 'Origin' });
      return c.body(null, 204, {
        'Access-Control-Allow-Origin': allowed,
        'Access-Control-Allow-Methods': methods.join(', '),
        'Access-Control-Allow-Headers': anyHeader ? requestedHeaders.join(', ') : [...headers].join(', '),
        'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_S),
        Vary: 'Origin',
      });
    }
    await next();
    if (allowed === null) return;
    // After next(): responses built by any handler or middleware (errors, 401, streams) all get the headers.
    try {
      c.res.headers.set('Access-Control-Allow-Origin', allowed);
      c.res.headers.set('Access-Control-Expose-Headers', EXPOSED_HEADERS.join(', '));
      if (allowed !== '*') c.res.headers.append('Vary', 'Origin');
    } catch {
      /* immutable headers: nothing else to do */
    }
  };
}
