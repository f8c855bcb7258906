// Compiles a HuggingFace checkpoint folder into latentserve's step graph (model.onnx + external weights) once,
// in a cache folder keyed by the checkpoint's files and this compiler's version, and reuses it afterwards.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ModelConfig } from './config.js';
import { loadModelConfig } from './config.js';
import { checkCheckpointShapes, expectedTensors, extraLayers } from './checkpoint-shapes.js';
import type { CompileProgress } from './compile-progress.js';
import { ProgressSource, tensorBytes } from './compile-progress.js';
import { withCompileLock } from './compile-lock.js';
import type { CompileOptions } from './graph/compile-options.js';
import { FLOAT_COMPILE, hasBlockScales } from './graph/compile-options.js';
import { buildDeepseekGraph } from './graph/deepseek.js';
import { Fp8DequantizingSource, fp8BlockSize } from './fp8-source.js';
import { SafetensorsCheckpoint } from './safetensors.js';
import { BlockQuantizePool, parseQuantThreads } from '../quant/block-quantize-pool.js';

/** Bump whenever the emitted graph or weight layout changes, so stale compiled models are not reused. */
const COMPILER_VERSION = 'graph-v11';

export interface CompiledModel {
  readonly config: ModelConfig;
  readonly onnxPath: string;
  readonly options: CompileOptions;
}

export function defaultCacheDir(): string {
  return process.env['LATENTSERVE_CACHE_DIR'] ?? join(homedir(), '.cache', 'latentserve');
}

export interface CompileModelOptions {
  readonly cacheDir?: string;
  readonly compile?: CompileOptions;
  readonly onProgress?: (msg: string) => void;
  /** Tensors and checkpoint bytes read so far, a few times a second while compiling (progress bars). */
  readonly onCompileProgress?: (p: CompileProgress) => void;
  /**
   * Threads quantizing int8/int4 weights (default $LATENTSERVE_QUANT_THREADS, else 1). Not the core count by
   * default: on this 2-core shared machine a 2-thread pool made the int8 compile slower (notes/issue-12-quant.md).
   */
  readonly quantThreads?: number;
}

/** Marker of a converted, ready-to-serve folder (`latentserve convert`). */
const ARTIFACT_FILE = 'latentserve.json';
const TOKENIZER_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];

interface ArtifactManifest {
  readonly format: 'latentserve-compiled';
  readonly compiler: string;
  readonly options: CompileOptions;
  readonly source: string;
}

/**
 * The compiled step graph for a checkpoint folder: built once into the cache folder, or taken as is from a
 * folder `latentserve convert` wrote (then `compile` must match what it was converted with, if given).
 */
export function compileModel(modelDir: string, opts: CompileModelOptions = {}): CompiledModel {
  const dir = resolve(modelDir);
  const config = loadModelConfig(dir);
  const artifact = readArtifact(dir);
  if (artifact !== null) {
    if (opts.compile !== undefined && JSON.stringify(opts.compile) !== JSON.stringify(artifact.options)) {
      throw new Error(
        `${dir} was converted with ${describe(artifact.options)}; it cannot be served with ${describe(opts.compile)} (convert the original checkpoint again)`,
      );
    }
    return { config, onnxPath: join(dir, 'model.onnx'), options: artifact.options };
  }
  const options = opts.compile ?? FLOAT_COMPILE;
  const outDir = join(opts.cacheDir ?? defaultCacheDir(), 'compiled', checkpointKey(dir, options));
  const onnxPath = join(outDir, 'model.onnx');
  mkdirSync(dirname(outDir), { recursive: true });
  withCompileLock(
    outDir,
    () => existsSync(onnxPath),
    () => buildAtomically(dir, config, options, outDir, opts),
    {
      onWait: (pid) => opts.onProgress?.(`process ${pid} is compiling ${dir} into ${outDir}; waiting to reuse it`),
    },
  );
  return { config, onnxPath, options };
}

/**
 * Where compileModel would find or put the compiled graph for `options`, without compiling: a converted folder
 * (its own options), or the cache folder and whether it is built yet.
 */
export function compiledState(
  modelDir: string,
  options: CompileOptions,
  cacheDir?: string,
): { readonly converted: CompileOptions | null; readonly outDir: string; readonly built: boolean } {
  const dir = resolve(modelDir);
  const artifact = readArtifact(dir);
  if (artifact !== null) return { converted: artifact.options, outDir: dir, built: true };
  const outDir = join(cacheDir ?? defaultCacheDir(), 'compiled', checkpointKey(dir, options));
  return { converted: null, outDir, built: existsSync(join(outDir, 'model.onnx')) };
}

/** Writes a ready-to-serve folder: step graph, external weights, config and tokenizer files, and a manifest. */
export function convertModel(
  modelDir: string,
  outDir: string,
  options: CompileOptions,
  progress: Pick<CompileModelOptions, 'onProgress' | 'onCompileProgress' | 'quantThreads'> = {},
): CompiledModel {
  const dir = resolve(modelDir);
  const out = resolve(outDir);
  if (readArtifact(dir) !== null)
    throw new Error(`${dir} is already a converted folder; convert the original checkpoint`);
  if (existsSync(out)) throw new Error(`${out} already exists`);
  const config = loadModelConfig(dir);
  mkdirSync(dirname(out), { recursive: true });
  withCompileLock(
    out,
    () => false,
    () =>
      buildAtomically(dir, config, options, out, progress, (tmp) => {
        for (const f of TOKENIZER_FILES) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(tmp, f));
        const manifest: ArtifactManifest = {
          format: 'latentserve-compiled',
          compiler: COMPILER_VERSION,
          options,
          source: dir,
        };
        writeFileSync(join(tmp, ARTIFACT_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      }),
  );
  return { config, onnxPath: join(out, 'model.onnx'), options };
}

function buildAtomically(
  dir: string,
  config: ModelConfig,
  options: CompileOptions,
  outDir: string,
  progress: Pick<CompileModelOptions, 'onProgress' | 'onCompileProgress' | 'quantThreads'>,
  finish?: (tmp: string) => void,
): void {
  const { onProgress, onCompileProgress } = progress;
  const tmpDir = `${outDir}.tmp-${process.pid}`;
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });
  let checkpoint: SafetensorsCheckpoint | null = null;
  const quantThreads = progress.quantThreads ?? parseQuantThreads(process.env['LATENTSERVE_QUANT_THREADS']) ?? 1;
  const pool = options.quant === 'none' || quantThreads < 2 ? null : new BlockQuantizePool({ threads: quantThreads });
  try {
    // Opened inside the try: a checkpoint that fails to open must not leave tmpDir behind either.
    checkpoint = SafetensorsCheckpoint.open(dir);
    checkCheckpointShapes(config, checkpoint, dir);
    const mtp = extraLayers(config, checkpoint);
    if (mtp.layers.length > 0) {
      onProgress?.(
        `skipping the multi-token-prediction module (num_nextn_predict_layers): ${mtp.tensorCount} tensors of layer ${mtp.layers.join(', ')} are not used until speculative decoding does`,
      );
    }
    const names = expectedTensors(config).map((t) => t.name);
    const ckpt = checkpoint;
    const bytesTotal = names.reduce((sum, name) => sum + tensorBytes(ckpt, name), 0);
    onProgress?.(
      `compiling ${dir} (${describe(options)}, ${names.length} tensors, ${(bytesTotal / 1e9).toFixed(2)} GB) into ${outDir}`,
    );
    const source = new ProgressSource(
      new Fp8DequantizingSource(checkpoint, fp8BlockSize(config.quantizationConfig)),
      checkpoint,
      names.length,
      bytesTotal,
      (p) => onCompileProgress?.(p),
    );
    buildDeepseekGraph(config, source, join(tmpDir, 'model.onnx'), options, onProgress, pool?.quantizeBlocks);
    finish?.(tmpDir);
    const done = source.progress();
    onProgress?.(
      `compiled ${done.tensorsDone} tensors, ${(done.bytesDone / 1e9).toFixed(2)} GB of checkpoint in ${(done.elapsedMs / 1000).toFixed(1)} s (${(done.bytesDone / 1e6 / Math.max(done.elapsedMs, 1)).toFixed(3)} GB/s)`,
    );
  } catch (err) {
    rmSync(tmpDir, { recursive: true, force: true });
    throw err;
  } finally {
    pool?.close();
    checkpoint?.close();
  }
  try {
    renameSync(tmpDir, outDir);
  } catch (err) {
    // Another process finished the same compilation first: use theirs.
    rmSync(tmpDir, { recursive: true, force: true });
    if (!existsSync(join(outDir, 'model.onnx'))) throw err;
  }
}

function readArtifact(dir: string): ArtifactManifest | null {
  const path = join(dir, ARTIFACT_FILE);
  if (!existsSync(path)) return null;
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as ArtifactManifest;
  if (manifest.format !== 'latentserve-compiled') throw new Error(`${path}: not a latentserve manifest`);
  if (manifest.compiler !== COMPILER_VERSION) {
    throw new Error(
      `${dir} was converted by compiler ${manifest.compiler}; this latentserve needs ${COMPILER_VERSION} (convert again)`,
    );
  }
  return manifest;
}

function describe(o: CompileOptions): string {
  return `weights ${o.quant}${hasBlockScales(o.quant) ? `/block ${o.quantBlockSize}` : ''}, cache ${o.kvCacheDtype}`;
}

/** Hash of what the compiled graph depends on: config, weight files (name, size, mtime) and compiler version. */
function checkpointKey(dir: string, options: CompileOptions): string {
  const h = createHash('sha256')
    .update(COMPILER_VERSION)
    .update(JSON.stringify(options))
    .update(readFileSync(join(dir, 'config.json')));
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors') || f.endsWith('.index.json'))
    .sort()) {
    const st = statSync(join(dir, name));
    h.update(`${name}:${st.size}:${st.mtimeMs}`);
  }
  return h.digest('hex').slice(0, 24);
}
