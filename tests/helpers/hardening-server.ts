// A real latentserve server on a fixture model (127.0.0.1, random port) built the way `serve` builds it (limits,
// auth, JSON logs, drain state), with a hook to wrap the executor for fault injection. Used by the hardening
// and fuzz suites.
import { rmSync } from 'node:fs';
import { pino } from 'pino';
import type { EngineConfig } from '../../engine/engine.js';
import { LatentEngine } from '../../engine/engine.js';
import type { OnnxExecutor, SpawnWorker } from '../../model/executor/onnx-executor.js';
import type { Executor } from '../../model/executor/types.js';
import type { LoadedModel } from '../../model/load.js';
import { loadModel } from '../../model/load.js';
import { TokenizerThread } from '../../model/tokenizer-thread.js';
import { createApp } from '../../server/app.js';
import { ServerLifecycle } from '../../server/lifecycle.js';
import { listen, type ConnectionTimeouts } from '../../server/listen.js';
import { ServerMetrics } from '../../server/metrics.js';
import type { ServerOptions } from '../../server/options.js';
import { fixtureDir, tempCacheDir } from './fixtures.js';

export const MODEL_NAME = 'fixture';

export interface HardenedServerOptions {
  readonly fixture?: string;
  readonly engine?: Partial<EngineConfig>;
  readonly blockSize?: number;
  readonly numBlocks?: number;
  readonly server?: Partial<Pick<ServerOptions, 'limits' | 'apiKeys' | 'protectMetrics' | 'logPrompts'>>;
  readonly timeouts?: Partial<ConnectionTimeouts>;
  /** Wraps the model's executor (the OnnxExecutor) before the engine sees it. */
  readonly wrap?: (inner: Executor) => Executor;
  /** How the executor starts its worker thread (tests/helpers/worker-faults.ts for crashes). */
  readonly spawnWorker?: SpawnWorker;
}

export interface HardenedServer {
  readonly url: string;
  readonly engine: LatentEngine;
  /** The real worker-thread executor under any wrapper. */
  readonly executor: OnnxExecutor;
  readonly model: LoadedModel;
  readonly lifecycle: ServerLifecycle;
  /** Encodes long prompts off the HTTP thread, as `serve` does. */
  readonly encoder: TokenizerThread;
  /** Every log line, parsed. */
  readonly logs: Record<string, unknown>[];
  /** POSTs JSON; returns the status and the body text. */
  post(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; text: string; headers: Headers }>;
  close(): Promise<void>;
}

export async function startHardenedServer(opts: HardenedServerOptions = {}): Promise<HardenedServer> {
  const cacheDir = tempCacheDir();
  const model = await loadModel(fixtureDir(opts.fixture ?? 'deepseek-v3-tiny-b'), {
    cacheDir,
    blockSize: opts.blockSize ?? 16,
    numBlocks: opts.numBlocks ?? 128,
    warn: () => {},
    ...(opts.spawnWorker === undefined ? {} : { spawnWorker: opts.spawnWorker }),
  });
  const executor = opts.wrap?.(model.executor) ?? model.executor;
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  let engine: LatentEngine | null = null;
  const metrics = new ServerMetrics(() => engine!.stats());
  engine = new LatentEngine(
    executor,
    model.tokenizer,
    {
      maxNumSeqs: 32,
      maxNumBatchedTokens: 256,
      maxWaiting: 64,
      maxModelLen: model.config.maxPositionEmbeddings,
      enablePrefixCaching: true,
      ...opts.engine,
    },
    metrics,
    logger,
  );
  const lifecycle = new ServerLifecycle();
  const encoder = new TokenizerThread(model.tokenizer);
  const app = createApp({
    engine,
    tokenizer: model.tokenizer,
    encoder,
    servedModelName: MODEL_NAME,
    vocabSize: model.config.vocabSize,
    maxModelLen: engine.maxModelLen,
    metrics,
    logger,
    lifecycle,
    ...opts.server,
  });
  const server = await listen(app, '127.0.0.1', 0, opts.timeouts);
  const live = engine;
  const auth = opts.server?.apiKeys?.[0];
  return {
    url: server.url,
    engine: live,
    executor: model.executor as OnnxExecutor,
    model,
    lifecycle,
    encoder,
    logs,
    async post(path, body, headers = {}) {
      const res = await fetch(server.url + path, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(auth === undefined ? {} : { authorization: `Bearer ${auth}` }),
          ...headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.status, text: await res.text(), headers: res.headers };
    },
    async close() {
      await server.close();
      await live.shutdown();
      await encoder.close();
      await model.executor.close();
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}

/** The `data:` payloads of an SSE body ("[DONE]" as a string). */
export function sseEvents(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((b) => b.startsWith('data: '))
    .map((b) => b.slice(6))
    .map((d) => (d === '[DONE]' ? d : (JSON.parse(d) as unknown)));
}

/** Polls until `condition` holds, or throws after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
