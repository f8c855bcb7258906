// A scripted OpenAI-style server on 127.0.0.1 for the client's tests: each request is answered by a handler that
// writes SSE events with chosen delays, and the server counts requests in flight.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedRequest {
  readonly path: string;
  readonly body: Record<string, unknown>;
}

export type Handler = (req: ScriptedRequest, res: ServerResponse) => Promise<void>;

export interface ScriptedServer {
  readonly url: string;
  readonly requests: ScriptedRequest[];
  /** Most requests in flight at once. */
  readonly maxInFlight: () => number;
  close(): Promise<void>;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startScriptedServer(handler: Handler): Promise<ScriptedServer> {
  const requests: ScriptedRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (b: Buffer) => {
      raw += b.toString();
    });
    req.on('end', () => {
      const scripted = { path: req.url ?? '', body: raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>) };
      requests.push(scripted);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      handler(scripted, res)
        .catch(() => {
          /* the client went away */
        })
        .finally(() => {
          inFlight--;
          if (!res.writableEnded) res.end();
        });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Writes `data: …` events after the given delays (ms since the previous event). */
export async function writeSse(res: ServerResponse, events: readonly (readonly [number, unknown])[]): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const [delayMs, data] of events) {
    if (delayMs > 0) await sleep(delayMs);
    if (res.destroyed) return;
    res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }
  res.end();
}

export const textChunk = (text: string): unknown => ({
  object: 'text_completion',
  choices: [{ index: 0, text, finish_reason: null }],
});
export const chatChunk = (delta: Record<string, unknown>): unknown => ({
  object: 'chat.completion.chunk',
  choices: [{ index: 0, delta, finish_reason: null }],
});
export const usageChunk = (prompt: number, completion: number): unknown => ({
  choices: [],
  usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
});
