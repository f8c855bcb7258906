// `latentserve synth`: writes a random but well-behaved HuggingFace DeepSeek-V2/V3 checkpoint folder from a seed
// and a preset. Same seed + preset + options ⇒ byte-identical files. Weights are generated and streamed one chunk
// at a time, so memory stays flat however large the preset is.

import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from './rng.js';
import { SafetensorsWriter, elementCount } from './safetensors-writer.js';
import { synthPresetConfig, synthPresetDtype, torchDtypeName, type SynthDtype, type SynthPreset } from './synth-presets.js';
import { buildSynthGenerationConfig, buildSynthTokenizer, buildSynthTokenizerConfig } from './synth-tokenizer.js';
import { planTensors, synthShapeFromConfig, type PlannedTensor } from './synth-tensors.js';

export { synthPresetConfig, SYNTH_PRESETS, type SynthPreset, type SynthDtype } from './synth-presets.js';

export interface SynthOptions {
  outDir: string;
  seed: number;
  /** Defaults to 'tiny' unless `config` is given alone. */
  preset?: SynthPreset;
  /**
   * config.json fields (for `--config FILE`). With a preset they override the preset's fields; without one they
   * are the whole config.json.
   */
  config?: Record<string, unknown>;
  /** Defaults to `config`'s torch_dtype (float32 | bfloat16) if it has one, else the preset's (F32 tiny, BF16 others). */
  dtype?: SynthDtype;
  onProgress?: (message: string) => void;
}

// 1 Mi elements: 4 MiB of F32 per chunk, large enough that per-write overhead does not matter.
const CHUNK_ELEMENTS = 1 << 20;
const GENERATOR_NAME = 'latentserve synth';

export async function synthesizeCheckpoint(opts: SynthOptions): Promise<void> {
  if (!Number.isSafeInteger(opts.seed)) throw new RangeError(`synth seed must be a safe integer, got ${opts.seed}`);
  const progress = opts.onProgress ?? ((): void => {});
  const { config, dtype } = resolveConfig(opts);
  const shape = synthShapeFromConfig(config);
  const bosTokenId = typeof config['bos_token_id'] === 'number' ? config['bos_token_id'] : 0;
  const eosTokenId = typeof config['eos_token_id'] === 'number' ? config['eos_token_id'] : 1;
  const maxPositions = typeof config['max_position_embeddings'] === 'number' ? config['max_position_embeddings'] : 4096;

  await mkdir(opts.outDir, { recursive: true });
  progress(`tokenizer: training byte-level BPE for ${shape.vocabSize} ids`);
  const tokenizer = buildSynthTokenizer(shape.vocabSize);
  await writeJson(join(opts.outDir, 'config.json'), config);
  await writeJson(join(opts.outDir, 'generation_config.json'), buildSynthGenerationConfig(bosTokenId, eosTokenId));
  await writeJson(join(opts.outDir, 'tokenizer.json'), tokenizer.tokenizerJson);
  await writeJson(join(opts.outDir, 'tokenizer_config.json'), buildSynthTokenizerConfig(maxPositions));

  const plan = planTensors(shape, tokenizer.numTokens);
  const numParams = plan.reduce((sum, tensor) => sum + elementCount(tensor.shape), 0);
  progress(`weights: ${plan.length} tensors, ${(numParams / 1e6).toFixed(1)}M parameters, ${dtype}`);
  const metadata = { format: 'pt', generator: GENERATOR_NAME, seed: String(opts.seed), ...(opts.preset ? { preset: opts.preset } : {}) };
  // Written under a temporary name so an interrupted run never leaves a plausible-looking model.safetensors.
  const finalPath = join(opts.outDir, 'model.safetensors');
  const partialPath = `${finalPath}.partial`;
  const writer = await SafetensorsWriter.create(partialPath, plan, dtype, metadata);
  try {
    const chunk = new Float32Array(CHUNK_ELEMENTS);
    let currentLayer: number | null = null;
    for (const tensor of plan) {
      if (tensor.layer !== null && tensor.layer !== currentLayer) {
        currentLayer = tensor.layer;
        progress(`layer ${tensor.layer + 1}/${shape.numHiddenLayers}`);
      }
      await writer.writeTensor(tensor.name, tensorChunks(tensor, opts.seed, chunk));
    }
    await writer.close();
  } catch (error) {
    await writer.close().catch(() => {});
    await rm(partialPath, { force: true });
    throw error;
  }
  await rename(partialPath, finalPath);
  progress(`done: ${opts.outDir}`);
}

function resolveConfig(opts: SynthOptions): { config: Record<string, unknown>; dtype: SynthDtype } {
  const preset = opts.preset ?? (opts.config === undefined ? 'tiny' : undefined);
  const base = preset === undefined ? {} : synthPresetConfig(preset);
  const merged: Record<string, unknown> = { ...base, ...(opts.config ?? {}) };
  const requested = opts.config?.['torch_dtype'];
  const dtype = opts.dtype
    ?? (requested === 'bfloat16' ? 'BF16' : requested === 'float32' ? 'F32' : undefined)
    ?? (preset !== undefined ? synthPresetDtype(preset) : 'F32');
  // torch_dtype describes the stored weights, so it must follow the dtype actually written.
  merged['torch_dtype'] = torchDtypeName(dtype);
  return { config: merged, dtype };
}

/** Yields `tensor`'s values in `chunk`-sized pieces, refilling the same buffer each time. */
function* tensorChunks(tensor: PlannedTensor, seed: number, chunk: Float32Array): Generator<Float32Array> {
  const rng = new Rng(seed, tensor.name);
  const total = elementCount(tensor.shape);
  for (let start = 0; start < total; start += chunk.length) {
    const piece = chunk.subarray(0, Math.min(chunk.length, total - start));
    const init = tensor.init;
    if (init.kind === 'normal') {
      rng.fillNormal(piece, init.mean, init.std);
    } else {
      rng.fillNormal(piece, 0, init.std);
      const quietFrom = Math.max(0, init.fromRow * init.rowLength - start);
      for (let i = quietFrom; i < piece.length; i++) piece[i] = (piece[i] ?? 0) * init.scale;
    }
    yield piece;
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`, 'utf8');
}
