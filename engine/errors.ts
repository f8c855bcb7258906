// Typed failures the engine throws (and the server, for the same reasons). The server maps each to OpenAI's
// {"error": {message, type, param, code}} in one place (server/errors.ts), which also defines the errors only the
// server throws.

export class InvalidRequest extends Error {
  override readonly name = 'InvalidRequest';
  constructor(
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export class ContextLengthExceeded extends InvalidRequest {
  constructor(message: string, param: string | null = 'messages') {
    super(message, param, 'context_length_exceeded');
  }
}

/** The waiting queue is full: retry later (HTTP 429). */
export class Overloaded extends Error {
  override readonly name = 'Overloaded';
}

/** The engine cannot serve (not ready, shutting down, executor failed): HTTP 503. */
export class Unavailable extends Error {
  override readonly name = 'Unavailable';
}
