// Everything needed to run a checkpoint folder: its config, tokenizer and a started executor.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { latentRowWidth, loadModelConfig } from './config.js';
import type { ModelConfig } from './config.js';
import { compileModel, compiledState } from './compile.js';
import type { CompileProgress } from './compile-progress.js';
import type { CompileOptions } from './graph/compile-options.js';
import { FLOAT_COMPILE } from './graph/compile-options.js';
import { MemoryPlanError, checkFits, describePlan, machineBudget, mostPreciseFitting } from './memory-plan.js';
import { OnnxExecutor, type SpawnWorker } from './executor/onnx-executor.js';
import { prefetchFile } from './prefetch.js';
import type { ExecutorMemoryOptions } from './executor/memory-options.js';
import type { SessionTuning } from './executor/session-options.js';
import { cacheBytesPerToken, cacheGeometry } from './executor/types.js';
import { ModelTokenizer } from './tokenizer.js';

export interface LoadOptions {
  readonly device?: 'cpu' | 'cuda';
  readonly blockSize?: number;
  /**
   * Cache size: `numBlocks`, or as many blocks as `cacheMemoryBytes` holds at the compiled cache dtype (capped at
   * `maxCacheTokens`); default: enough for 4 full-length sequences.
   */
  readonly numBlocks?: number;
  readonly cacheMemoryBytes?: number;
  readonly maxCacheTokens?: number;
  readonly cacheDir?: string;
  /** Weight precision and cache dtype (default: float32 throughout). */
  readonly compile?: CompileOptions;
  /** `--quant auto`: ignore compile.quant and take the most precise of none/int8/int4 that fits this machine. */
  readonly autoQuant?: boolean;
  /** Load even when the memory/disk plan says the mode does not fit (`--skip-memory-check`). */
  readonly skipMemoryCheck?: boolean;
  readonly intraOpThreads?: number;
  /** ONNX Runtime memory knobs and shape buckets (default: DEFAULT_EXECUTOR_MEMORY). */
  readonly memory?: Partial<ExecutorMemoryOptions>;
  /** ONNX Runtime session options (`--session-options`). */
  readonly session?: SessionTuning;
  /** Write ONNX Runtime profiles (one JSON per executor worker, when it closes) into this folder (`--profile`). */
  readonly profileDir?: string;
  readonly onProgress?: (msg: string) => void;
  /** Compile progress (tensors, bytes), a few times a second while a compile runs. */
  readonly onCompileProgress?: (p: CompileProgress) => void;
  /** Where the one-line CUDA fallback warning goes (default: stderr). */
  readonly warn?: (line: string) => void;
  /** How the executor starts its worker thread (default: the real worker; fault tests pass one that crashes). */
  readonly spawnWorker?: SpawnWorker;
}

export interface LoadedModel {
  readonly config: ModelConfig;
  /** The compiled step graph (its weights are in `${onnxPath}.data`). */
  readonly onnxPath: string;
  readonly tokenizer: ModelTokenizer;
  readonly executor: OnnxExecutor;
}

export const DEFAULT_BLOCK_SIZE = 64;

export async function loadModel(modelDir: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const compile = planCompile(modelDir, opts);
  const compiled = compileModel(modelDir, {
    ...(opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir }),
    ...(compile === undefined ? {} : { compile }),
    ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
    ...(opts.onCompileProgress === undefined ? {} : { onCompileProgress: opts.onCompileProgress }),
  });
  const { config } = compiled;
  const tokenizer = await ModelTokenizer.load(modelDir);
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  const rowWidth = latentRowWidth(config);
  const kvCacheDtype = compiled.options.kvCacheDtype;
  const numBlocks = cacheBlocks(opts, config, kvCacheDtype);
  const prefetched = await prefetchFile(`${compiled.onnxPath}.data`);
  if (prefetched !== null) {
    const mib = prefetched.bytes / 2 ** 20;
    opts.onProgress?.(`weights read ahead: ${mib.toFixed(0)} MiB in ${(prefetched.ms / 1000).toFixed(1)} s`);
  }
  const executor = await OnnxExecutor.start({
    onnxPath: compiled.onnxPath,
    device: opts.device ?? 'cpu',
    numLayers: config.numHiddenLayers,
    rowWidth,
    kvCacheDtype,
    vocabSize: config.vocabSize,
    numBlocks,
    blockSize,
    ...(opts.intraOpThreads === undefined ? {} : { intraOpThreads: opts.intraOpThreads }),
    ...(opts.warn === undefined ? {} : { warn: opts.warn }),
    ...(opts.memory === undefined ? {} : { memory: opts.memory }),
    ...(opts.session === undefined ? {} : { session: opts.session }),
    ...(opts.profileDir === undefined ? {} : { profilePrefix: profilePrefix(opts.profileDir) }),
    ...(opts.spawnWorker === undefined ? {} : { spawn: opts.spawnWorker }),
  });
  return { config, onnxPath: compiled.onnxPath, tokenizer, executor };
}

/** ONNX Runtime appends `_DATE.json`; the pid keeps several servers writing into one folder apart. */
function profilePrefix(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return join(dir, `latentserve-${process.pid}`);
}

function cacheBlocks(opts: LoadOptions, config: ModelConfig, kvCacheDtype: CompileOptions['kvCacheDtype']): number {
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  const bytesPerToken = cacheBytesPerToken(
    cacheGeometry(1, blockSize, config.numHiddenLayers, latentRowWidth(config), kvCacheDtype),
  );
  return opts.numBlocks ?? blocksForMemory(opts, config, blockSize, bytesPerToken);
}

/**
 * The compile options to load with, after planning memory and disk: `autoQuant` picks the most precise mode that
 * fits; otherwise a mode that does not fit is refused (MemoryPlanError) unless `skipMemoryCheck`.
 */
function planCompile(modelDir: string, opts: LoadOptions): CompileOptions | undefined {
  if (opts.skipMemoryCheck === true && opts.autoQuant !== true) return opts.compile;
  const config = loadModelConfig(modelDir);
  const base = opts.compile ?? FLOAT_COMPILE;
  const state = (o: CompileOptions) => compiledState(modelDir, o, opts.cacheDir);
  const converted = state(base).converted;
  // A converted folder has one mode; --quant auto then means "as converted".
  const mode = converted ?? base;
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  const cacheBytes =
    cacheBlocks(opts, config, mode.kvCacheDtype) *
    blockSize *
    cacheBytesPerToken(cacheGeometry(1, blockSize, config.numHiddenLayers, latentRowWidth(config), mode.kvCacheDtype));
  const budget = machineBudget(state(mode).outDir);
  const needsDisk = (o: CompileOptions): boolean => !state(o).built;
  if (opts.autoQuant === true && converted === null) {
    const plan = mostPreciseFitting(config, base, cacheBytes, budget, needsDisk);
    if (plan === null) {
      if (opts.skipMemoryCheck === true) return { ...base, quant: 'int4' };
      throw new MemoryPlanError(
        `--quant auto: no mode fits (${checkFitsMessage(config, { ...base, quant: 'int4' }, cacheBytes, budget, needsDisk)})`,
      );
    }
    opts.onProgress?.(
      `--quant auto chose ${describePlan(plan)}; this machine allows ${(budget.memoryBytes / 2 ** 30).toFixed(1)} GiB (${budget.memorySource})`,
    );
    return plan.options;
  }
  if (opts.autoQuant === true) return undefined; // a converted folder, as converted
  if (opts.skipMemoryCheck !== true)
    opts.onProgress?.(`memory plan: ${describePlan(checkFits(config, mode, cacheBytes, budget, needsDisk))}`);
  return opts.compile;
}

function checkFitsMessage(...args: Parameters<typeof checkFits>): string {
  try {
    checkFits(...args);
    return 'int4 fits';
  } catch (err) {
    return (err as Error).message;
  }
}

/** Blocks that fit `cacheMemoryBytes` (at most `maxCacheTokens`), or 4 full-length sequences' worth. */
function blocksForMemory(opts: LoadOptions, config: ModelConfig, blockSize: number, bytesPerToken: number): number {
  if (opts.cacheMemoryBytes === undefined) return 4 * Math.ceil(config.maxPositionEmbeddings / blockSize);
  const byMemory = Math.floor(opts.cacheMemoryBytes / (bytesPerToken * blockSize));
  const byTokens = opts.maxCacheTokens === undefined ? Infinity : Math.ceil(opts.maxCacheTokens / blockSize);
  return Math.max(1, Math.min(byMemory, byTokens));
}
