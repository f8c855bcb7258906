// The one place that turns a failure into OpenAI's error body. app.onError uses it for responses; the SSE writer
// uses it for a failure after streaming began. Anything not recognised is a 500 with a generic message: stack
// traces and internal messages go to the server log (the caller logs every 5xx), never to the client.
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ZodError } from 'zod';
import { InvalidRequest, Overloaded, Unavailable } from '../engine/errors.js';
import { ExecutorCrashed, ExecutorError } from '../model/executor/errors.js';

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
  /** Extra response headers: `Retry-After` on 429 and 503, `WWW-Authenticate` on 401. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Seconds a client should wait before retrying a 429 or a 503. */
export const RETRY_AFTER_S = 1;

/** No such model, route or stored response (HTTP 404). */
export class NotFound extends Error {
  override readonly name = 'NotFound';
  constructor(
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** The request was cancelled (client gone, a sibling choice failed, shutdown): HTTP 503, or a final SSE event. */
export class Aborted extends Error {
  override readonly name = 'Aborted';
}

/** No valid API key (HTTP 401). `code` is null when no key was given at all, as OpenAI's API does. */
export class Unauthorized extends Error {
  override readonly name = 'Unauthorized';
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/** The request body is larger than --max-body-bytes (HTTP 413). */
export class PayloadTooLarge extends Error {
  override readonly name = 'PayloadTooLarge';
}

/** The path exists but does not take this method (HTTP 405, with `Allow`). */
export class MethodNotAllowed extends Error {
  override readonly name = 'MethodNotAllowed';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly allow: readonly string[],
  ) {
    super(`Method ${method} is not allowed for ${path}; it takes ${allow.join(', ')}.`);
  }
}

/** The request ran past its deadline (--request-timeout) and was cancelled (HTTP 408, or a final SSE event). */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
}

function body(message: string, type: string, param: string | null = null, code: string | null = null): ErrorBody {
  return { error: { message, type, param, code } };
}

/** `messages.0.content` for zod's path `['messages', 0, 'content']`; null for the body itself. */
function zodParam(path: readonly PropertyKey[]): string | null {
  return path.length === 0 ? null : path.map(String).join('.');
}

const NONE = {};
const RETRY = { 'Retry-After': String(RETRY_AFTER_S) };

/** What clients are told about an executor failure, by code; the executor's own message is for the log only. */
const EXECUTOR_MESSAGES: Readonly<Record<string, string>> = {
  executor_error: 'The model failed while computing this request, which was aborted; other requests are unaffected.',
  non_finite_logits: 'The model produced non-finite logits (NaN or Inf) for this request, which was aborted.',
  executor_crashed: 'The model worker crashed while computing this request; it has been restarted. Retry the request.',
  executor_unavailable: 'The model worker crashed and could not be restarted yet. Retry later.',
  engine_error: 'The engine had an internal error and aborted this request. Retry the request.',
};

/** Failures worth an error log line with the stack: the server's or the model's fault, not a refusal or a drain. */
export function isServerFault(err: unknown): boolean {
  return toErrorResponse(err).status === 500 || err instanceof ExecutorError;
}

export function toErrorResponse(err: unknown): ErrorResponse {
  if (err instanceof ZodError) {
    const issue = err.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      // A field latentserve does not implement: named, never silently dropped.
      const param = zodParam([...issue.path, issue.keys[0]!]);
      const message = `Unsupported request argument: '${param}'. latentserve does not implement it; remove it from the request.`;
      return {
        status: 400,
        body: body(message, 'invalid_request_error', param, 'unsupported_parameter'),
        headers: NONE,
      };
    }
    const param = issue === undefined ? null : zodParam(issue.path);
    const detail = issue?.message ?? 'invalid request';
    const message = param === null ? `Invalid request body: ${detail}` : `Invalid value for '${param}': ${detail}`;
    return { status: 400, body: body(message, 'invalid_request_error', param), headers: NONE };
  }
  // ContextLengthExceeded is an InvalidRequest with code 'context_length_exceeded'.
  if (err instanceof InvalidRequest) {
    return { status: 400, body: body(err.message, 'invalid_request_error', err.param, err.code), headers: NONE };
  }
  if (err instanceof Unauthorized) {
    return {
      status: 401,
      body: body(err.message, 'invalid_request_error', null, err.code),
      headers: { 'WWW-Authenticate': 'Bearer' },
    };
  }
  if (err instanceof NotFound) {
    return { status: 404, body: body(err.message, 'invalid_request_error', err.param, err.code), headers: NONE };
  }
  if (err instanceof MethodNotAllowed) {
    return {
      status: 405,
      body: body(err.message, 'invalid_request_error', null, 'method_not_allowed'),
      headers: { Allow: err.allow.join(', ') },
    };
  }
  if (err instanceof DeadlineExceeded) {
    return { status: 408, body: body(err.message, 'timeout_error', null, 'request_timeout'), headers: NONE };
  }
  if (err instanceof PayloadTooLarge) {
    return { status: 413, body: body(err.message, 'invalid_request_error', null, 'request_too_large'), headers: NONE };
  }
  if (err instanceof Overloaded) {
    const message = err.message || 'The server is overloaded: too many requests are waiting. Retry later.';
    return { status: 429, body: body(message, 'rate_limit_exceeded', null, 'rate_limit_exceeded'), headers: RETRY };
  }
  if (err instanceof Unavailable) {
    const message = err.message || 'The engine is unavailable.';
    return { status: 503, body: body(message, 'service_unavailable', null, 'service_unavailable'), headers: RETRY };
  }
  if (err instanceof Aborted) {
    return {
      status: 503,
      body: body(err.message || 'The request was cancelled.', 'service_unavailable', null, 'aborted'),
      headers: RETRY,
    };
  }
  if (err instanceof ExecutorError) {
    const message = EXECUTOR_MESSAGES[err.code] ?? EXECUTOR_MESSAGES['executor_error']!;
    const transient = err instanceof ExecutorCrashed || err.code === 'executor_unavailable';
    return transient
      ? { status: 503, body: body(message, 'service_unavailable', null, err.code), headers: RETRY }
      : { status: 500, body: body(message, 'server_error', null, err.code), headers: NONE };
  }
  return {
    status: 500,
    body: body('The server had an error while processing your request.', 'server_error'),
    headers: NONE,
  };
}
