// Everything needed to run a checkpoint folder: its config, tokenizer and a started executor.
import { latentRowWidth } from './config.js';
import type { ModelConfig } from './config.js';
import { compileModel } from './compile.js';
import type { CompileOptions } from './graph/compile-options.js';
import { OnnxExecutor } from './executor/onnx-executor.js';
import type { ExecutorMemoryOptions } from './executor/memory-options.js';
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
  readonly intraOpThreads?: number;
  /** ONNX Runtime memory knobs and shape buckets (default: DEFAULT_EXECUTOR_MEMORY). */
  readonly memory?: Partial<ExecutorMemoryOptions>;
  readonly onProgress?: (msg: string) => void;
  /** Where the one-line CUDA fallback warning goes (default: stderr). */
  readonly warn?: (line: string) => void;
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
  const compiled = compileModel(modelDir, {
    ...(opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir }),
    ...(opts.compile === undefined ? {} : { compile: opts.compile }),
    ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
  });
  const { config } = compiled;
  const tokenizer = await ModelTokenizer.load(modelDir);
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  const rowWidth = latentRowWidth(config);
  const kvCacheDtype = compiled.options.kvCacheDtype;
  const numBlocks = opts.numBlocks ?? blocksForMemory(opts, config, blockSize, cacheBytesPerToken(cacheGeometry(1, blockSize, config.numHiddenLayers, rowWidth, kvCacheDtype)));
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
  });
  return { config, onnxPath: compiled.onnxPath, tokenizer, executor };
}

/** Blocks that fit `cacheMemoryBytes` (at most `maxCacheTokens`), or 4 full-length sequences' worth. */
function blocksForMemory(opts: LoadOptions, config: ModelConfig, blockSize: number, bytesPerToken: number): number {
  if (opts.cacheMemoryBytes === undefined) return 4 * Math.ceil(config.maxPositionEmbeddings / blockSize);
  const byMemory = Math.floor(opts.cacheMemoryBytes / (bytesPerToken * blockSize));
  const byTokens = opts.maxCacheTokens === undefined ? Infinity : Math.ceil(opts.maxCacheTokens / blockSize);
  return Math.max(1, Math.min(byMemory, byTokens));
}
