// Compiles a HuggingFace checkpoint folder into latentserve's step graph (model.onnx + external weights) once,
// in a cache folder keyed by the checkpoint's files and this compiler's version, and reuses it afterwards.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ModelConfig } from './config.js';
import { loadModelConfig } from './config.js';
import { buildDeepseekGraph } from './graph/deepseek.js';
import { SafetensorsCheckpoint } from './safetensors.js';

/** Bump whenever the emitted graph or weight layout changes, so stale compiled models are not reused. */
const COMPILER_VERSION = 'graph-v3';

export interface CompiledModel {
  readonly config: ModelConfig;
  readonly onnxPath: string;
}

export function defaultCacheDir(): string {
  return process.env['LATENTSERVE_CACHE_DIR'] ?? join(homedir(), '.cache', 'latentserve');
}

export function compileModel(modelDir: string, opts: { cacheDir?: string; onProgress?: (msg: string) => void } = {}): CompiledModel {
  const dir = resolve(modelDir);
  const config = loadModelConfig(dir);
  const outDir = join(opts.cacheDir ?? defaultCacheDir(), 'compiled', checkpointKey(dir));
  const onnxPath = join(outDir, 'model.onnx');
  if (existsSync(onnxPath)) return { config, onnxPath };

  const tmpDir = `${outDir}.tmp-${process.pid}`;
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });
  const checkpoint = SafetensorsCheckpoint.open(dir);
  try {
    opts.onProgress?.(`compiling ${dir} into ${outDir}`);
    buildDeepseekGraph(config, checkpoint, join(tmpDir, 'model.onnx'), opts.onProgress);
  } catch (err) {
    rmSync(tmpDir, { recursive: true, force: true });
    throw err;
  } finally {
    checkpoint.close();
  }
  try {
    renameSync(tmpDir, outDir);
  } catch (err) {
    // Another process finished the same compilation first: use theirs.
    rmSync(tmpDir, { recursive: true, force: true });
    if (!existsSync(onnxPath)) throw err;
  }
  return { config, onnxPath };
}

/** Hash of what the compiled graph depends on: config, weight files (name, size, mtime) and compiler version. */
function checkpointKey(dir: string): string {
  const h = createHash('sha256').update(COMPILER_VERSION).update(readFileSync(join(dir, 'config.json')));
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.safetensors') || f.endsWith('.index.json')).sort()) {
    const st = statSync(join(dir, name));
    h.update(`${name}:${st.size}:${st.mtimeMs}`);
  }
  return h.digest('hex').slice(0, 24);
}
