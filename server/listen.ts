// Serves a Hono app over HTTP/1.1 with @hono/node-server. Port 0 picks a free port. The socket-level timeouts
// bound how long a client may take to send its headers and its whole request (slow-loris clients are dropped)
// and how long an idle keep-alive connection stays open; responses (streams) are never cut by them.
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { serve, type HttpBindings } from '@hono/node-server';

export interface ConnectionTimeouts {
  /** Time to receive the request headers (Node's headersTimeout). */
  readonly headersTimeoutMs: number;
  /** Time to receive the whole request, body included (Node's requestTimeout). */
  readonly requestBodyTimeoutMs: number;
  /** Idle time before a keep-alive connection is closed. */
  readonly keepAliveTimeoutMs: number;
}

export const DEFAULT_TIMEOUTS: ConnectionTimeouts = {
  headersTimeoutMs: 20_000,
  requestBodyTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
};

/** Another process holds the address (EADDRINUSE). */
export class PortInUse extends Error {
  override readonly name = 'PortInUse';
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`${host}:${port} is in use`);
  }
}

function bindError(err: unknown, host: string, port: number): unknown {
  return (err as { code?: string }).code === 'EADDRINUSE' ? new PortInUse(host, port) : err;
}

/** Binds and releases `host:port` (0 is always free): a taken port is found before the model loads. */
export function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(bindError(err, host, port)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

export interface Listening {
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections and drops open ones (streams in flight included). */
  close(): Promise<void>;
}

/** Anything with Hono's fetch (a Hono app of any Env). */
export interface FetchApp {
  fetch(request: Request, env: HttpBindings): Response | Promise<Response>;
}

export function listen(
  app: FetchApp,
  host: string,
  port: number,
  timeouts: Partial<ConnectionTimeouts> = {},
): Promise<Listening> {
  const t = { ...DEFAULT_TIMEOUTS, ...timeouts };
  return new Promise((resolve, reject) => {
    const serverOptions = {
      headersTimeout: t.headersTimeoutMs,
      // Node requires requestTimeout ≥ headersTimeout (0 = none).
      requestTimeout: t.requestBodyTimeoutMs === 0 ? 0 : Math.max(t.requestBodyTimeoutMs, t.headersTimeoutMs),
      keepAliveTimeout: t.keepAliveTimeoutMs,
      // How often Node checks the two timeouts above (default 30 s, too coarse for short limits).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, t.headersTimeoutMs / 4)),
    };
    const server = serve(
      {
        fetch: (req, env) => app.fetch(req, env as HttpBindings),
        hostname: host,
        port,
        serverOptions,
        // A body the app never read (a 413 from Content-Length, a 401) is discarded by Node itself, for as long as it
        // takes, and the keep-alive connection stays usable. The adapter's own clean-up gives it 500 ms and then
        // closes the socket without a `Connection: close`, so a client that had already sent its next request on
        // that connection (a busy server, a slow upload) lost it ("other side closed"). Bodies the app stops
        // reading part-way (body-limit.ts) are answered with `Connection: close`, so Node closes those itself.
        autoCleanupIncoming: false,
      },
      (info: AddressInfo) => {
        server.off('error', onError);
        const urlHost = host.includes(':') ? `[${host}]` : host;
        resolve({
          url: `http://${urlHost}:${info.port}`,
          port: info.port,
          close: () =>
            new Promise<void>((done, fail) => {
              server.close((err) => (err ? fail(err) : done()));
              server.closeAllConnections();
            }),
        });
      },
    ) as Server;
    const onError = (err: Error): void => reject(bindError(err, host, port));
    server.once('error', onError);
  });
}
