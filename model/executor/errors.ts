// How an Executor says a step failed. The message is for the server log (it may name files or kernels); clients
// see a fixed text chosen by `code` (server/errors.ts).

/** A model step failed: ONNX Runtime threw, or the step produced unusable output (NaN / Inf logits). */
export class ExecutorError extends Error {
  override readonly name: string = 'ExecutorError';
  constructor(
    message: string,
    readonly code = 'executor_error',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The executor's worker died. The latent cache pools lived in it, so every cached row is gone: the engine must
 * forget all block contents (prefix cache included) and recompute whatever it keeps. `inStep` says whether the
 * step that reports it was running when the worker died (its requests are failed) or was never sent to the dead
 * worker (nothing of it ran; the crash happened while idle and the requests can simply be recomputed).
 */
export class ExecutorCrashed extends ExecutorError {
  override readonly name = 'ExecutorCrashed';
  constructor(
    message: string,
    readonly inStep: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, 'executor_crashed', options);
  }
}
