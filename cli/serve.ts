// `latentserve serve`: the OpenAI-compatible server. Without --model it serves the synthetic `demo` checkpoint,
// generated on first run into the cache folder. Logs are JSON lines (pino) on stdout.
//
// Shutdown: the first SIGTERM or SIGINT starts a drain (new requests 503, /health 503, running requests and
// streams continue); after --drain-timeout whatever still runs is ended with a final error event; then the
// listener, the engine and the executor close and the process exits 0. A second signal skips the wait.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { LatentEngine } from '../engine/engine.js';
import { GrammarService } from '../grammar/grammar-service.js';
import { stepShapeCaps } from '../engine/scheduler.js';
import { defaultCacheDir } from '../model/compile.js';
import { loadModelConfig, type ModelConfig } from '../model/config.js';
import {
  describeExecutorMemory,
  parseExecutorMemory,
  type ExecutorMemoryOptions,
} from '../model/executor/memory-options.js';
import { describeSessionTuning, parseSessionTuning, type SessionTuning } from '../model/executor/session-options.js';
import { reserveStepMemory } from '../model/executor/reserve.js';
import { stepWorkingSetBound } from '../model/executor/step-memory.js';
import { cacheBytesPerToken } from '../model/executor/types.js';
import { loadModel } from '../model/load.js';
import { synthCacheDir, synthesizeCheckpoint } from '../synth/synth.js';
import { TokenizerThread } from '../model/tokenizer-thread.js';
import { createApp } from '../server/app.js';
import { parseApiKeys } from '../server/auth.js';
import { DEFAULT_CORS, parseCorsList, type CorsOptions } from '../server/cors.js';
import { ServerLifecycle } from '../server/lifecycle.js';
import { DEFAULT_LIMITS, type ServerLimits } from '../server/limits.js';
import { DEFAULT_TIMEOUTS, PortInUse, checkPortFree, listen, type Listening } from '../server/listen.js';
import { ServerMetrics } from '../server/metrics.js';
import { ProgressBar } from './progress.js';
import { COMPILE_FLAGS_USAGE, compileFlagSpecs, loadPlanFlags, requestedCompileOptions } from './compile-flags.js';
import { UsageError, intOption, numberOption } from './options.js';

export const SERVE_USAGE = `latentserve serve [--model DIR] [--host H] [--port P] [--served-model-name NAME] [--block-size 16]
    [--num-cache-blocks N | --cache-memory-mb M] [--max-num-seqs N] [--max-num-batched-tokens N]
    [--max-waiting N] [--max-padded-query-slots N] [--max-attention-block N] [--executor-memory memPattern=0,cpuArena=1,shapeBuckets=1]
    [--session-options JSON] [--profile DIR]
    [--no-enable-prefix-caching] [--reserve-step-memory] [--device cpu|cuda] ${COMPILE_FLAGS_USAGE}
    [--api-key KEY]... [--protect-metrics] [--max-model-len N] [--max-prompt-tokens N] [--max-completion-tokens N]
    [--max-body-bytes N] [--max-n N] [--max-choices N] [--max-stop-strings N] [--max-stop-length N]
    [--max-logit-bias N] [--max-concurrent-streams N] [--request-timeout S] [--stream-stall-timeout S] [--headers-timeout S]
    [--body-timeout S] [--keep-alive-timeout S] [--drain-timeout S] [--log-level L] [--log-prompts]
    [--grammar-compile-timeout S] [--grammar-cache-size N] [--responses-store-size N]
    [--allowed-origins ORIGINS] [--allowed-methods METHODS] [--allowed-headers HEADERS]`;

const DEMO_SEED = 0;
const DEFAULT_CACHE_BYTES = 2 ** 30;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** After the drain timeout, how long the ended streams get to write their last event. */
const ABORT_GRACE_MS = 3000;

const seconds = (flag: string, text: string): number => numberOption(flag, text, 0) * 1000;

export async function runServe(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      host: { type: 'string', default: process.env['HOST'] ?? '127.0.0.1' },
      port: { type: 'string', default: process.env['PORT'] ?? '8000' },
      'served-model-name': { type: 'string' },
      'block-size': { type: 'string', default: '16' },
      'num-cache-blocks': { type: 'string' },
      'cache-memory-mb': { type: 'string' },
      'max-num-seqs': { type: 'string', default: '32' },
      'max-num-batched-tokens': { type: 'string', default: '512' },
      'max-waiting': { type: 'string', default: '256' },
      'max-padded-query-slots': { type: 'string' },
      'max-attention-block': { type: 'string' },
      'executor-memory': { type: 'string', default: '' },
      'session-options': { type: 'string', default: '' },
      profile: { type: 'string' },
      'no-enable-prefix-caching': { type: 'boolean', default: false },
      'reserve-step-memory': { type: 'boolean', default: false },
      device: { type: 'string', default: 'cpu' },
      'api-key': { type: 'string', multiple: true, default: [] },
      'protect-metrics': { type: 'boolean', default: false },
      'max-model-len': { type: 'string' },
      'max-prompt-tokens': { type: 'string' },
      'max-completion-tokens': { type: 'string' },
      'max-body-bytes': { type: 'string', default: String(DEFAULT_LIMITS.maxBodyBytes) },
      'max-n': { type: 'string', default: String(DEFAULT_LIMITS.maxN) },
      'max-choices': { type: 'string', default: String(DEFAULT_LIMITS.maxChoices) },
      'max-stop-strings': { type: 'string', default: String(DEFAULT_LIMITS.maxStopStrings) },
      'max-stop-length': { type: 'string', default: String(DEFAULT_LIMITS.maxStopLength) },
      'max-logit-bias': { type: 'string', default: String(DEFAULT_LIMITS.maxLogitBias) },
      'max-concurrent-streams': { type: 'string', default: String(DEFAULT_LIMITS.maxConcurrentStreams) },
      'request-timeout': { type: 'string', default: String(DEFAULT_LIMITS.requestTimeoutMs / 1000) },
      'stream-stall-timeout': { type: 'string', default: String(DEFAULT_LIMITS.streamStallTimeoutMs / 1000) },
      'headers-timeout': { type: 'string', default: String(DEFAULT_TIMEOUTS.headersTimeoutMs / 1000) },
      'body-timeout': { type: 'string', default: String(DEFAULT_TIMEOUTS.requestBodyTimeoutMs / 1000) },
      'keep-alive-timeout': { type: 'string', default: String(DEFAULT_TIMEOUTS.keepAliveTimeoutMs / 1000) },
      'drain-timeout': { type: 'string', default: '30' },
      'log-level': { type: 'string', default: process.env['LOG_LEVEL'] ?? 'info' },
      'log-prompts': { type: 'boolean', default: false },
      'grammar-compile-timeout': { type: 'string', default: '10' },
      'grammar-cache-size': { type: 'string', default: '128' },
      'responses-store-size': { type: 'string', default: '1000' },
      'allowed-origins': { type: 'string', multiple: true, default: [] },
      'allowed-methods': { type: 'string', multiple: true, default: [] },
      'allowed-headers': { type: 'string', multiple: true, default: [] },
      ...compileFlagSpecs,
    },
  });
  if (values.device !== 'cpu' && values.device !== 'cuda') throw new UsageError('--device must be cpu or cuda');
  if (values['num-cache-blocks'] !== undefined && values['cache-memory-mb'] !== undefined) {
    throw new UsageError('give at most one of --num-cache-blocks and --cache-memory-mb');
  }
  if (!LOG_LEVELS.includes(values['log-level']))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const port = intOption('--port', values.port, 0);
  const blockSize = intOption('--block-size', values['block-size'], 1);
  const maxNumSeqs = intOption('--max-num-seqs', values['max-num-seqs'], 1);
  const maxNumBatchedTokens = intOption('--max-num-batched-tokens', values['max-num-batched-tokens'], 1);
  const maxWaiting = intOption('--max-waiting', values['max-waiting'], 0);
  const caps = stepShapeCaps({
    maxNumSeqs,
    maxNumBatchedTokens,
    ...(values['max-padded-query-slots'] === undefined
      ? {}
      : { maxPaddedQuerySlots: intOption('--max-padded-query-slots', values['max-padded-query-slots'], 1) }),
    ...(values['max-attention-block'] === undefined
      ? {}
      : { maxAttentionBlock: intOption('--max-attention-block', values['max-attention-block'], 1) }),
  });
  const memory = executorMemoryOption(values['executor-memory']);
  const session = sessionOptionsOption(values['session-options']);
  const profileDir = values.profile ?? process.env['LATENTSERVE_PROFILE'] ?? '';
  const profile = profileDir === '' ? {} : { profileDir };
  const optionalInt = (flag: string, text: string | undefined): number =>
    text === undefined ? Infinity : intOption(flag, text, 1);
  const limits: ServerLimits = {
    maxBodyBytes: intOption('--max-body-bytes', values['max-body-bytes'], 1),
    maxPromptTokens: optionalInt('--max-prompt-tokens', values['max-prompt-tokens']),
    maxCompletionTokens: optionalInt('--max-completion-tokens', values['max-completion-tokens']),
    maxN: intOption('--max-n', values['max-n'], 1),
    maxChoices: intOption('--max-choices', values['max-choices'], 1),
    maxStopStrings: intOption('--max-stop-strings', values['max-stop-strings'], 0),
    maxStopLength: intOption('--max-stop-length', values['max-stop-length'], 1),
    maxLogitBias: intOption('--max-logit-bias', values['max-logit-bias'], 0),
    maxConcurrentStreams: intOption('--max-concurrent-streams', values['max-concurrent-streams'], 0),
    requestTimeoutMs: seconds('--request-timeout', values['request-timeout']),
    streamStallTimeoutMs: seconds('--stream-stall-timeout', values['stream-stall-timeout']),
  };
  if (limits.maxN > 16) throw new UsageError('--max-n must be at most 16');
  const timeouts = {
    headersTimeoutMs: seconds('--headers-timeout', values['headers-timeout']),
    requestBodyTimeoutMs: seconds('--body-timeout', values['body-timeout']),
    keepAliveTimeoutMs: seconds('--keep-alive-timeout', values['keep-alive-timeout']),
  };
  const drainTimeoutMs = seconds('--drain-timeout', values['drain-timeout']);
  const grammarCompileTimeoutMs = seconds('--grammar-compile-timeout', values['grammar-compile-timeout']);
  const grammarCacheSize = intOption('--grammar-cache-size', values['grammar-cache-size'], 1);
  const responsesStoreSize = intOption('--responses-store-size', values['responses-store-size'], 1);
  const maxModelLenFlag = optionalInt('--max-model-len', values['max-model-len']);
  const apiKeys = parseApiKeys(values['api-key'], process.env['LATENTSERVE_API_KEY']);
  const cors = corsOptions(values['allowed-origins'], values['allowed-methods'], values['allowed-headers']);
  // Fail in one line before loading (compiling) the model when the port is taken; listen() checks again below.
  await portOrExit(() => checkPortFree(values.host, port), port);

  const logger = pino({ level: values['log-level'], base: { service: 'latentserve' } });
  const log = (line: string): void => logger.info(line);

  const compile = requestedCompileOptions(values);
  const modelDir = values.model ?? (await demoModel(log));
  const config = loadModelConfig(modelDir);
  const cacheMb = values['cache-memory-mb'];
  // Without a size, the cache holds max-num-seqs full-length sequences, up to 1 GiB (sized at the compiled dtype).
  const cacheSize =
    values['num-cache-blocks'] !== undefined
      ? { numBlocks: intOption('--num-cache-blocks', values['num-cache-blocks'], 1) }
      : cacheMb !== undefined
        ? { cacheMemoryBytes: numberOption('--cache-memory-mb', cacheMb, 1) * 2 ** 20 }
        : { cacheMemoryBytes: DEFAULT_CACHE_BYTES, maxCacheTokens: config.maxPositionEmbeddings * maxNumSeqs };

  // The server logs through pino, so compile progress is plain log lines (every 10 % or 30 s), never a bar.
  const compileLog = new ProgressBar('compile', { isTTY: false, write: (text: string) => log(text.trimEnd()) });
  const model = await loadModel(modelDir, {
    device: values.device,
    blockSize,
    ...cacheSize,
    memory,
    session,
    ...profile,
    ...loadPlanFlags(values),
    onProgress: log,
    onCompileProgress: (p) => compileLog.compile(p),
    warn: (line) => logger.warn(line),
    ...(compile === undefined ? {} : { compile }),
  });
  const servedModelName =
    values['served-model-name'] ??
    (values.model === undefined ? 'latentserve-demo' : modelDir.replace(/\/+$/, '').split('/').pop()!);
  // Structured output: xgrammar in its own worker, its tokenizer info built once, now, while nothing waits on it.
  const vocab = model.tokenizer.grammarVocab();
  const grammars = new GrammarService({
    encodedVocab: vocab.tokens,
    vocabType: vocab.vocabType,
    vocabSize: config.vocabSize,
    stopTokenIds: model.tokenizer.eosTokenIds,
    cacheSize: grammarCacheSize,
    compileTimeoutMs: grammarCompileTimeoutMs,
    warn: (line) => logger.warn(line),
  });
  await grammars.start();
  const maxModelLen = Math.min(maxModelLenFlag, config.maxPositionEmbeddings);
  // Asked for, the largest steps the scheduler can form run before the first request, so the arena's high-water
  // mark is set now (off by default: README "Memory under load" has what it costs and what it does not buy).
  const reserved = !values['reserve-step-memory']
    ? null
    : await reserveStepMemory(model.executor, {
        maxNumSeqs,
        maxNumBatchedTokens,
        ...caps,
        maxModelLen,
        numBlocks: model.executor.cache.numBlocks,
        blockSize,
      });
  if (reserved !== null)
    log(
      `latentserve: step working set reserved (${Object.entries(reserved)
        .map(([k, ms]) => `${k} step ${ms} ms`)
        .join(', ')})`,
    );
  let engine: LatentEngine | null = null;
  const metrics = new ServerMetrics(
    () => engine!.stats(),
    () => model.executor,
  );
  engine = new LatentEngine(
    model.executor,
    model.tokenizer,
    {
      maxNumSeqs,
      maxNumBatchedTokens,
      maxWaiting,
      ...caps,
      maxModelLen,
      enablePrefixCaching: !values['no-enable-prefix-caching'],
    },
    metrics,
    logger.child({ component: 'engine' }),
    grammars,
  );
  const lifecycle = new ServerLifecycle();
  const encoder = new TokenizerThread(model.tokenizer);
  const app = createApp({
    engine,
    tokenizer: model.tokenizer,
    encoder,
    servedModelName,
    vocabSize: config.vocabSize,
    maxModelLen: engine.maxModelLen,
    metrics,
    limits,
    apiKeys,
    protectMetrics: values['protect-metrics'],
    logger,
    logPrompts: values['log-prompts'],
    lifecycle,
    grammars,
    cors,
    responsesStoreSize,
  });
  const closeAll = async (): Promise<void> => {
    await engine!.shutdown();
    await encoder.close();
    await grammars.shutdown();
    await model.executor.close();
  };
  let server: Listening;
  try {
    server = await portOrExit(() => listen(app, values.host, port, timeouts), port);
  } catch (err) {
    await closeAll();
    throw err;
  }
  const { numBlocks } = model.executor.cache;
  const cacheTokens = numBlocks * blockSize;
  const servedBytesPerToken = cacheBytesPerToken(model.executor.cache);
  logger.info(
    {
      url: server.url,
      model: servedModelName,
      modelDir,
      device: model.executor.device,
      maxModelLen: engine.maxModelLen,
      auth: apiKeys.length > 0 ? `${apiKeys.length} key(s)` : 'off',
    },
    `latentserve: serving ${servedModelName} (${modelDir}) on ${server.url} [${model.executor.device}]`,
  );
  logger.info(
    { cacheTokens, numBlocks, blockSize, bytesPerToken: servedBytesPerToken },
    `latentserve: latent cache ${cacheTokens} tokens in ${numBlocks} blocks of ${blockSize}, ${servedBytesPerToken} bytes per token (${((cacheTokens * servedBytesPerToken) / 2 ** 20).toFixed(1)} MiB)`,
  );
  const cacheBytes = cacheTokens * servedBytesPerToken;
  const stepBytes = stepWorkingSetBound(
    {
      maxNumSeqs,
      maxNumBatchedTokens,
      maxAttentionBlock: caps.maxAttentionBlock,
      maxModelLen: engine.maxModelLen,
      blockSize,
      shapeBuckets: memory.shapeBuckets,
    },
    stepModelDims(config),
  );
  const residentBytes = process.memoryUsage.rss();
  const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
  // Reserved, the step working set is in resident memory already; otherwise it is the bound it may grow to.
  const growBytes = cacheBytes + (reserved === null ? stepBytes : 0);
  logger.info(
    {
      residentBytes,
      cacheBytes,
      stepWorkingSetBytes: stepBytes,
      stepMemoryReserved: reserved !== null,
      expectedSteadyBytes: residentBytes + growBytes,
      executorMemory: describeExecutorMemory(memory),
      sessionOptions: describeSessionTuning(session),
      ...caps,
    },
    `latentserve: expected steady-state memory ${reserved === null ? 'at most ' : ''}≈ ${mib(residentBytes + growBytes)} MiB: ${mib(residentBytes)} MiB resident now ` +
      `(${reserved === null ? 'weights and runtime' : 'weights, runtime and the reserved step working set'}) + ${mib(cacheBytes)} MiB latent cache as it fills` +
      `${reserved === null ? ` + ≤ ${mib(stepBytes)} MiB step working set` : ''} (${describeExecutorMemory(memory)}; attention block ≤ ${caps.maxAttentionBlock} per head)`,
  );
  if (apiKeys.length === 0 && !isLoopback(values.host))
    logger.warn(`no API key set (--api-key or LATENTSERVE_API_KEY) while listening on ${values.host}`);

  await drainOnSignal(
    logger,
    lifecycle,
    drainTimeoutMs,
    async () => {
      await server.close();
      await closeAll();
    },
    server,
  );
}

/** Runs `bind`; a taken port becomes the one line the user needs (and exit 1), not EADDRINUSE's stack. */
async function portOrExit<T>(bind: () => Promise<T>, port: number): Promise<T> {
  try {
    return await bind();
  } catch (err) {
    if (err instanceof PortInUse) throw new Error(`port ${port} is in use; pass --port`);
    throw err;
  }
}

function corsOptions(origins: readonly string[], methods: readonly string[], headers: readonly string[]): CorsOptions {
  const list = (flag: string, values: readonly string[], fallback: readonly string[]): string[] => {
    try {
      const parsed = parseCorsList(values);
      return parsed.length > 0 ? parsed : [...fallback];
    } catch (err) {
      throw new UsageError(`${flag}: ${(err as Error).message}`);
    }
  };
  return {
    allowedOrigins: list('--allowed-origins', origins, DEFAULT_CORS.allowedOrigins),
    allowedMethods: list('--allowed-methods', methods, DEFAULT_CORS.allowedMethods),
    allowedHeaders: list('--allowed-headers', headers, DEFAULT_CORS.allowedHeaders),
  };
}

/** Waits for SIGTERM/SIGINT, drains, stops. Resolves once everything is closed. */
function drainOnSignal(
  logger: Logger,
  lifecycle: ServerLifecycle,
  drainTimeoutMs: number,
  close: () => Promise<void>,
  server: Listening,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let skipWait: () => void = () => {};
    const skipped = new Promise<false>((r) => {
      skipWait = () => r(false);
    });
    const onSignal = (signal: NodeJS.Signals): void => {
      if (lifecycle.isDraining) {
        logger.warn({ signal }, 'second signal: ending the remaining requests now');
        skipWait();
        return;
      }
      lifecycle.startDrain();
      logger.info(
        { signal, inFlight: lifecycle.numInFlight, drainTimeoutS: drainTimeoutMs / 1000, url: server.url },
        'draining: refusing new requests, letting running ones finish',
      );
      void (async () => {
        const drained = await Promise.race([lifecycle.idle(drainTimeoutMs), skipped]);
        if (!drained) {
          logger.warn({ inFlight: lifecycle.numInFlight }, 'drain timeout: ending the remaining requests');
          lifecycle.abortAll();
          await lifecycle.idle(ABORT_GRACE_MS);
        }
        await close();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        logger.info({ drained }, 'latentserve: stopped');
      })().then(resolve, reject);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}

function executorMemoryOption(text: string): ExecutorMemoryOptions {
  try {
    return parseExecutorMemory(text);
  } catch (err) {
    throw new UsageError(`--executor-memory: ${(err as Error).message}`);
  }
}

function sessionOptionsOption(text: string): SessionTuning {
  try {
    return parseSessionTuning(text);
  } catch (err) {
    throw new UsageError(`--session-options: ${(err as Error).message}`);
  }
}

/** The widths that size a step's intermediates (model/executor/step-memory.ts). */
function stepModelDims(config: ModelConfig): { numAttentionHeads: number; rowWidth: number; widestActivation: number } {
  const moe =
    config.moe === null
      ? 0
      : 2 * config.moe.moeIntermediateSize * (config.moe.numExpertsPerTok + config.moe.nSharedExperts);
  return {
    numAttentionHeads: config.numAttentionHeads,
    rowWidth: config.kvLoraRank + config.qkRopeHeadDim,
    widestActivation: Math.max(2 * config.intermediateSize, config.vocabSize, moe),
  };
}

async function demoModel(log: (line: string) => void): Promise<string> {
  const dir = synthCacheDir(defaultCacheDir(), 'demo', DEMO_SEED);
  if (!existsSync(join(dir, 'model.safetensors'))) {
    log(`latentserve: generating the synthetic demo model into ${dir} (first run only)`);
    await synthesizeCheckpoint({ outDir: dir, seed: DEMO_SEED, preset: 'demo', onProgress: (m) => log(`synth: ${m}`) });
  }
  return dir;
}
