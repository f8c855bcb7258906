// One AbortController per HTTP request, fired by whichever comes first: the client going away (no reason), the
// request's deadline (DeadlineExceeded) or the server giving up on draining (Unavailable). Every engine request of
// the HTTP request listens to it; dispose() drops the timer and listeners once the response is done.
import { setMaxListeners } from 'node:events';
import { Unavailable } from '../engine/errors.js';
import type { AppContext } from './app-env.js';
import { Aborted, DeadlineExceeded } from './errors.js';

export class RequestScope {
  readonly controller = new AbortController();
  private readonly cleanups: (() => void)[] = [];

  constructor(c: AppContext, deadlineMs: number, shutdown: AbortSignal) {
    // One listener per choice (up to --max-choices) plus ours; the default cap of 10 would warn.
    setMaxListeners(0, this.controller.signal);
    this.follow(c.req.raw.signal, () => undefined);
    this.follow(shutdown, () => shutdown.reason as unknown);
    if (deadlineMs > 0 && Number.isFinite(deadlineMs)) {
      const timer = setTimeout(() => {
        this.controller.abort(
          new DeadlineExceeded(
            `The request did not finish within its deadline of ${deadlineMs / 1000} s and was cancelled.`,
          ),
        );
      }, deadlineMs);
      this.cleanups.push(() => clearTimeout(timer));
    }
  }

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  private follow(signal: AbortSignal, reason: () => unknown): void {
    if (signal.aborted) {
      this.controller.abort(reason());
      return;
    }
    const onAbort = (): void => this.controller.abort(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    this.cleanups.push(() => signal.removeEventListener('abort', onAbort));
  }
}

/**
 * Why `signal` fired, as the error to report: the deadline or the shutdown as themselves; anything else (the
 * client leaving, a sibling choice failing) as Aborted.
 */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof DeadlineExceeded || reason instanceof Unavailable) return reason;
  return new Aborted('client disconnected');
}
