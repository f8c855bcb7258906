// `latentserve serve`: the OpenAI-compatible server. Without --model it serves the synthetic `demo` checkpoint,
// generated on first run into the cache folder.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LatentEngine } from '../engine/engine.js';
import { defaultCacheDir } from '../model/compile.js';
import { latentRowWidth, loadModelConfig } from '../model/config.js';
import { loadModel } from '../model/load.js';
import { synthesizeCheckpoint } from '../model/synth.js';
import { createApp } from '../server/app.js';
import { listen } from '../server/listen.js';
import { ServerMetrics } from '../server/metrics.js';
import { UsageError, intOption, numberOption } from './options.js';

export const SERVE_USAGE = `latentserve serve [--model DIR] [--host H] [--port P] [--served-model-name NAME] [--block-size 64]
    [--num-cache-blocks N | --cache-memory-mb M] [--max-num-seqs N] [--max-num-batched-tokens N]
    [--max-waiting N] [--no-enable-prefix-caching] [--device cpu|cuda]`;

const DEMO_SEED = 0;

export async function runServe(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      host: { type: 'string', default: process.env['HOST'] ?? '127.0.0.1' },
      port: { type: 'string', default: process.env['PORT'] ?? '8000' },
      'served-model-name': { type: 'string' },
      'block-size': { type: 'string', default: '64' },
      'num-cache-blocks': { type: 'string' },
      'cache-memory-mb': { type: 'string' },
      'max-num-seqs': { type: 'string', default: '32' },
      'max-num-batched-tokens': { type: 'string', default: '512' },
      'max-waiting': { type: 'string', default: '256' },
      'no-enable-prefix-caching': { type: 'boolean', default: false },
      device: { type: 'string', default: 'cpu' },
    },
  });
  if (values.device !== 'cpu' && values.device !== 'cuda') throw new UsageError('--device must be cpu or cuda');
  if (values['num-cache-blocks'] !== undefined && values['cache-memory-mb'] !== undefined) {
    throw new UsageError('give at most one of --num-cache-blocks and --cache-memory-mb');
  }
  const port = intOption('--port', values.port, 0);
  const blockSize = intOption('--block-size', values['block-size'], 1);
  const maxNumSeqs = intOption('--max-num-seqs', values['max-num-seqs'], 1);
  const maxNumBatchedTokens = intOption('--max-num-batched-tokens', values['max-num-batched-tokens'], 1);
  const maxWaiting = intOption('--max-waiting', values['max-waiting'], 0);
  const log = (line: string): void => { process.stderr.write(`${line}\n`); };

  const modelDir = values.model ?? (await demoModel(log));
  const config = loadModelConfig(modelDir);
  const bytesPerToken = config.numHiddenLayers * latentRowWidth(config) * 4;
  const numBlocks = values['num-cache-blocks'] !== undefined
    ? intOption('--num-cache-blocks', values['num-cache-blocks'], 1)
    : Math.max(1, Math.floor((numberOption('--cache-memory-mb', values['cache-memory-mb'] ?? String(defaultCacheMb(config.maxPositionEmbeddings, maxNumSeqs, bytesPerToken)), 1) * 2 ** 20) / (bytesPerToken * blockSize)));

  const model = await loadModel(modelDir, { device: values.device, blockSize, numBlocks, onProgress: log });
  const servedModelName = values['served-model-name'] ?? (values.model === undefined ? 'latentserve-demo' : modelDir.replace(/\/+$/, '').split('/').pop()!);
  let engine: LatentEngine | null = null;
  const metrics = new ServerMetrics(() => engine!.stats());
  engine = new LatentEngine(model.executor, model.tokenizer, {
    maxNumSeqs, maxNumBatchedTokens, maxWaiting, maxModelLen: config.maxPositionEmbeddings, enablePrefixCaching: !values['no-enable-prefix-caching'],
  }, metrics);
  const app = createApp({ engine, tokenizer: model.tokenizer, servedModelName, vocabSize: config.vocabSize, maxModelLen: engine.maxModelLen, metrics });
  const server = await listen(app, values.host, port);
  const cacheTokens = numBlocks * blockSize;
  log(`latentserve: serving ${servedModelName} (${modelDir}) on ${server.url} [${model.executor.device}]`);
  log(`latentserve: latent cache ${cacheTokens} tokens in ${numBlocks} blocks of ${blockSize}, ${bytesPerToken} bytes per token (${((cacheTokens * bytesPerToken) / 2 ** 20).toFixed(1)} MiB)`);

  const stop = async (): Promise<void> => {
    log('latentserve: shutting down');
    await server.close();
    await engine!.shutdown();
    await model.executor.close();
  };
  await new Promise<void>((resolve) => {
    const onSignal = (): void => { void stop().then(resolve); };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

/** Enough for maxNumSeqs full-length sequences, capped at 1 GiB. */
function defaultCacheMb(maxLen: number, maxNumSeqs: number, bytesPerToken: number): number {
  return Math.min(1024, Math.ceil((maxLen * maxNumSeqs * bytesPerToken) / 2 ** 20));
}

async function demoModel(log: (line: string) => void): Promise<string> {
  const dir = join(defaultCacheDir(), 'synth', `demo-seed${DEMO_SEED}`);
  if (!existsSync(join(dir, 'model.safetensors'))) {
    log(`latentserve: generating the synthetic demo model into ${dir} (first run only)`);
    await synthesizeCheckpoint({ outDir: dir, seed: DEMO_SEED, preset: 'demo', onProgress: (m) => log(`synth: ${m}`) });
  }
  return dir;
}
