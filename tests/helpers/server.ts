// A real latentserve server on 127.0.0.1 (random port) over a fixture checkpoint, for end-to-end tests.
import { rmSync } from 'node:fs';
import OpenAI from 'openai';
import type { EngineConfig } from '../../engine/engine.js';
import { LatentEngine } from '../../engine/engine.js';
import { GrammarService } from '../../grammar/grammar-service.js';
import { ForwardingExecutor } from '../../model/executor/forwarding-executor.js';
import type { ForwardInputs, RunnerOutput } from '../../model/executor/types.js';
import type { LoadedModel } from '../../model/load.js';
import { loadModel } from '../../model/load.js';
import { createApp } from '../../server/app.js';
import { listen } from '../../server/listen.js';
import { ServerMetrics } from '../../server/metrics.js';
import { fixtureDir, tempCacheDir } from './fixtures.js';

export const MODEL_NAME = 'fixture';

/** Passes steps through, remembering each step's inputs (to see what was computed). */
class RecordingExecutor extends ForwardingExecutor {
  readonly steps: ForwardInputs[] = [];
  override step(inputs: ForwardInputs): Promise<RunnerOutput> {
    this.steps.push(inputs);
    return this.inner.step(inputs);
  }
}

export interface ModelServer {
  readonly url: string;
  readonly client: OpenAI;
  readonly engine: LatentEngine;
  readonly executor: RecordingExecutor;
  readonly model: LoadedModel;
  readonly grammars: GrammarService | null;
  /** One metric's value from /metrics (summing label sets), or null when absent. */
  metric(name: string): Promise<number | null>;
  close(): Promise<void>;
}

export interface ModelServerOptions extends Partial<EngineConfig> {
  readonly blockSize?: number;
  readonly numBlocks?: number;
  /** Serve structured output and tool calls through a real grammar worker. */
  readonly grammar?: boolean;
  /** Serve this checkpoint folder instead of tests/fixtures/<fixture>. */
  readonly modelDir?: string;
}

/** `fixture`: a folder name under tests/fixtures/, or an absolute path to a checkpoint. */
export async function startModelServer(fixture: string, opts: ModelServerOptions = {}): Promise<ModelServer> {
  const cacheDir = tempCacheDir();
  const dir = opts.modelDir ?? (fixture.startsWith('/') ? fixture : fixtureDir(fixture));
  const model = await loadModel(dir, { cacheDir, blockSize: opts.blockSize ?? 16, numBlocks: opts.numBlocks ?? 128 });
  let grammars: GrammarService | null = null;
  if (opts.grammar === true) {
    const vocab = model.tokenizer.grammarVocab();
    grammars = new GrammarService({
      encodedVocab: vocab.tokens,
      vocabType: vocab.vocabType,
      vocabSize: model.config.vocabSize,
      stopTokenIds: model.tokenizer.eosTokenIds,
      cacheSize: 32,
      compileTimeoutMs: 30_000,
    });
    await grammars.start();
  }
  const executor = new RecordingExecutor(model.executor);
  let engine: LatentEngine | null = null;
  const metrics = new ServerMetrics(() => engine!.stats());
  engine = new LatentEngine(
    executor,
    model.tokenizer,
    {
      maxNumSeqs: opts.maxNumSeqs ?? 32,
      maxNumBatchedTokens: opts.maxNumBatchedTokens ?? 256,
      maxWaiting: opts.maxWaiting ?? 64,
      maxModelLen: opts.maxModelLen ?? model.config.maxPositionEmbeddings,
      enablePrefixCaching: opts.enablePrefixCaching ?? true,
    },
    metrics,
    undefined,
    grammars,
  );
  const app = createApp({
    engine,
    tokenizer: model.tokenizer,
    servedModelName: MODEL_NAME,
    vocabSize: model.config.vocabSize,
    maxModelLen: engine.maxModelLen,
    metrics,
    ...(grammars !== null && { grammars }),
  });
  const server = await listen(app, '127.0.0.1', 0);
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const live = engine;
  return {
    url: server.url,
    client,
    engine: live,
    executor,
    model,
    grammars,
    async metric(name) {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const values = text
        .split('\n')
        .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
        .map((l) => Number(l.split(' ').at(-1)));
      return values.length === 0 ? null : values.reduce((a, b) => a + b, 0);
    },
    async close() {
      await server.close();
      await live.shutdown();
      await grammars?.shutdown();
      await model.executor.close();
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}
