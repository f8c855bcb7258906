// Graceful shutdown, server side. Serving → draining (startDrain): new requests get 503 with Retry-After and
// `Connection: close`, /health answers 503 so load balancers stop sending, and requests already in flight, streams
// included, run to their end. The composition root waits for idle() up to --drain-timeout, then abortAll() ends
// whatever still runs with a final "shutting down" error (an SSE event for streams) before closing connections.
import { setMaxListeners } from 'node:events';
import type { MiddlewareHandler } from 'hono';
import { Unavailable } from '../engine/errors.js';
import { onResponseClosed, type AppEnv } from './app-env.js';

/** Paths that keep answering while draining: /health reports the drain itself, /metrics stays scrapeable. */
const ALWAYS_OPEN = new Set(['/health', '/metrics']);

export class ServerLifecycle {
  private drainingSince: number | null = null;
  private inFlight = 0;
  private readonly idleWaiters = new Set<() => void>();
  private readonly shutdown = new AbortController();

  constructor() {
    setMaxListeners(0, this.shutdown.signal); // one listener per request in flight
  }

  get isDraining(): boolean {
    return this.drainingSince !== null;
  }

  /** Requests whose responses have not finished (streams count until their last byte). */
  get numInFlight(): number {
    return this.inFlight;
  }

  /** Fires (reason: Unavailable) when abortAll() gives up on the requests still running. */
  get shutdownSignal(): AbortSignal {
    return this.shutdown.signal;
  }

  startDrain(): void {
    this.drainingSince ??= Date.now();
  }

  /** Resolves true once nothing is in flight, or false after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(onIdle);
        resolve(value);
      };
      const onIdle = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.idleWaiters.add(onIdle);
    });
  }

  abortAll(): void {
    this.shutdown.abort(new Unavailable('The server is shutting down; retry the request.'));
  }

  /** Counts requests in flight and refuses new ones while draining. Goes before auth and the routes. */
  middleware(): MiddlewareHandler<AppEnv> {
    return async (c, next) => {
      if (this.isDraining && !ALWAYS_OPEN.has(c.req.path)) {
        c.header('Connection', 'close');
        throw new Unavailable('The server is shutting down; retry the request on another replica.');
      }
      this.inFlight++;
      let counted = true;
      const release = (): void => {
        if (!counted) return;
        counted = false;
        this.inFlight--;
        if (this.inFlight === 0) for (const wake of [...this.idleWaiters]) wake();
      };
      try {
        await next();
      } finally {
        if (this.isDraining) c.header('Connection', 'close');
        onResponseClosed(c, release);
      }
    };
  }
}
