// Typed failures. The server maps each to OpenAI's {"error": {message, type, param, code}} in one place.

export class InvalidRequest extends Error {
  override readonly name = 'InvalidRequest';
  constructor(message: string, readonly param: string | null = null, readonly code: string | null = null) {
    super(message);
  }
}

export class ContextLengthExceeded extends InvalidRequest {
  constructor(message: string, param: string | null = 'messages') {
    super(message, param, 'context_length_exceeded');
  }
}

export class NotFound extends Error {
  override readonly name = 'NotFound';
  constructor(message: string, readonly param: string | null = null, readonly code: string | null = null) {
    super(message);
  }
}

/** The waiting queue is full: retry later (HTTP 429). */
export class Overloaded extends Error {
  override readonly name = 'Overloaded';
}

/** The request was cancelled (client gone, timeout, shutdown). */
export class Aborted extends Error {
  override readonly name = 'Aborted';
}

/** The engine cannot serve (not ready, shutting down, executor failed): HTTP 503. */
export class Unavailable extends Error {
  override readonly name = 'Unavailable';
}
