// Starts the real app on a random port over the fixture tokenizer and a FakeEngine, with an OpenAI client.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { ModelTokenizer } from '../model/tokenizer.js';
import { createApp } from './app.js';
import { FakeEngine } from './fake-engine.test-helper.js';
import { listen } from './listen.js';
import { ServerMetrics } from './metrics.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURE_DIR = join(repoRoot, 'tests/fixtures/deepseek-v3-tiny-b');
export const MODEL = 'tiny-b';
export const MAX_MODEL_LEN = 256;

export interface TestServer {
  readonly url: string;
  readonly client: OpenAI;
  readonly engine: FakeEngine;
  readonly tokenizer: ModelTokenizer;
  close(): Promise<void>;
  /** POST a raw body; returns status and parsed JSON (an SSE body as its list of data payloads). */
  post(path: string, body: string | object): Promise<{ status: number; json: any }>;
}

export async function startTestServer(): Promise<TestServer> {
  const tokenizer = await ModelTokenizer.load(FIXTURE_DIR);
  const metrics: ServerMetrics = new ServerMetrics(() => engine.stats());
  const engine = new FakeEngine(tokenizer, metrics);
  const app = createApp({ engine, tokenizer, servedModelName: MODEL, vocabSize: tokenizer.vocabSize, maxModelLen: MAX_MODEL_LEN, metrics });
  const server = await listen(app, '127.0.0.1', 0);
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const post = async (path: string, body: string | object) => {
    const res = await fetch(server.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    const isSse = res.headers.get('content-type')?.startsWith('text/event-stream') ?? false;
    return { status: res.status, json: isSse ? sseData(text) : JSON.parse(text) };
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
