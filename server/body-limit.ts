// Request body size limit (413). A declared Content-Length over the limit is refused from the header alone,
// without touching the body, so Node discards the unread body and the keep-alive connection survives for the
// client's next request. A chunked body is counted as it streams (hono's bodyLimit); refusing one mid-way leaves
// bytes unread on the connection, so that response also closes it, as does a declared body so large (over
// DISCARD_MAX_BYTES) that reading it only to discard it would be a waste.
import type { MiddlewareHandler } from 'hono';
import { bodyLimit as streamingBodyLimit } from 'hono/body-limit';
import type { AppEnv } from './app-env.js';
import { PayloadTooLarge } from './errors.js';

const DISCARD_MAX_BYTES = 64 * 2 ** 20;

export function bodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = (): PayloadTooLarge => new PayloadTooLarge(`The request body is larger than ${maxBytes} bytes.`);
  const streaming = streamingBodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      c.header('Connection', 'close');
      throw tooLarge();
    },
  });
  return async (c, next) => {
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      const bytes = Number(declared);
      if (bytes > DISCARD_MAX_BYTES) c.header('Connection', 'close');
      if (bytes > maxBytes) throw tooLarge();
      return next();
    }
    return streaming(c, next);
  };
}
