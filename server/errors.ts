// The one place that turns a failure into OpenAI's error body. app.onError uses it for responses; the SSE writer
// uses it for a failure after streaming began. Anything not recognised is a 500 with a generic message: stack
// traces and internal messages go to the server log, never to the client.
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ZodError } from 'zod';
import { Aborted, InvalidRequest, NotFound, Overloaded, Unavailable } from '../engine/errors.js';

export interface ErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string | null;
  };
}

export interface ErrorResponse {
  readonly status: ContentfulStatusCode;
  readonly body: ErrorBody;
}

function body(message: string, type: string, param: string | null = null, code: string | null = null): ErrorBody {
  return { error: { message, type, param, code } };
}

/** `messages.0.content` for zod's path `['messages', 0, 'content']`; null for the body itself. */
function zodParam(path: readonly PropertyKey[]): string | null {
  return path.length === 0 ? null : path.map(String).join('.');
}

export function toErrorResponse(err: unknown): ErrorResponse {
  if (err instanceof ZodError) {
    const issue = err.issues[0];
    const param = issue === undefined ? null : zodParam(issue.path);
    const detail = issue?.message ?? 'invalid request';
    const message = param === null ? `Invalid request body: ${detail}` : `Invalid value for '${param}': ${detail}`;
    return { status: 400, body: body(message, 'invalid_request_error', param) };
  }
  // ContextLengthExceeded is an InvalidRequest with code 'context_length_exceeded'.
  if (err instanceof InvalidRequest) {
    return { status: 400, body: body(err.message, 'invalid_request_error', err.param, err.code) };
  }
  if (err instanceof NotFound) {
    return { status: 404, body: body(err.message, 'invalid_request_error', err.param, err.code) };
  }
  if (err instanceof Overloaded) {
    const message = err.message || 'The server is overloaded: too many requests are waiting. Retry later.';
    return { status: 429, body: body(message, 'rate_limit_exceeded', null, 'rate_limit_exceeded') };
  }
  if (err instanceof Unavailable) {
    const message = err.message || 'The engine is unavailable.';
    return { status: 503, body: body(message, 'service_unavailable', null, 'service_unavailable') };
  }
  if (err instanceof Aborted) {
    return { status: 503, body: body(err.message || 'The request was cancelled.', 'service_unavailable', null, 'aborted') };
  }
  console.error('latentserve: unexpected error while serving a request:', err);
  return { status: 500, body: body('The server had an error while processing your request.', 'server_error') };
}
