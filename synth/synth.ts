// `latentserve synth`: writes a random but well-behaved HuggingFace DeepSeek-V2/V3 checkpoint folder from a seed
// and a preset. Same seed + preset + options ⇒ byte-identical files. Weights are generated and streamed one chunk
// at a time, so memory stays flat however large the preset is.
//
// dtype FP8 writes DeepSeek-V3's release format: each linear weight (PlannedTensor.fp8) as F8_E4M3 codes followed
// by `<name>_scale_inv` F32 [ceil(out/128), ceil(in/128)]; e_score_correction_bias F32 (as DeepSeek ships it);
// everything else BF16. The codes quantize the very draws the F32/BF16 checkpoints of the same seed hold.

import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FP8_WEIGHT_BLOCK, fp8ScaleInvShape, quantizeFp8Blocks } from '../quant/index.js';
import { Rng } from '../util/rng.js';
import { SafetensorsWriter, elementCount, type TensorDecl } from './safetensors-writer.js';
import {
  fp8QuantizationConfig,
  synthPresetConfig,
  synthPresetDtype,
  torchDtypeName,
  type SynthDtype,
  type SynthPreset,
} from './synth-presets.js';
import { buildSynthGenerationConfig, buildSynthTokenizer, buildSynthTokenizerConfig } from './synth-tokenizer.js';
import { planTensors, synthShapeFromConfig, type PlannedTensor } from './synth-tensors.js';

export { synthPresetConfig, SYNTH_DTYPES, SYNTH_PRESETS, type SynthPreset, type SynthDtype } from './synth-presets.js';

/**
 * Where the commands that generate a checkpoint on first use (serve's demo, the benchmarks) keep it. The version
 * changes whenever what synth writes changes (2: tool-call tokens and a template that renders tools), so a folder
 * written by an older latentserve is never served as if it were current.
 */
export function synthCacheDir(cacheDir: string, preset: string, seed: number): string {
  return join(cacheDir, 'synth', `${preset}-v2-seed${seed}`);
}

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
  /**
   * Defaults to FP8 if `config` has an fp8 quantization_config, else to its torch_dtype (float32 | bfloat16) if it
   * has one, else to the preset's (F32 tiny, BF16 others).
   */
  dtype?: SynthDtype;
  onProgress?: (message: string) => void;
}

// 1 Mi elements: 4 MiB of F32 per chunk, large enough that per-write overhead does not matter.
const CHUNK_ELEMENTS = 1 << 20;
const GENERATOR_NAME = 'latentserve synth';
/** DeepSeek-V3's name for a block-quantized weight's scales: `<weight name>_scale_inv`. */
const SCALE_INV_SUFFIX = '_scale_inv';

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
  const metadata = {
    format: 'pt',
    generator: GENERATOR_NAME,
    seed: String(opts.seed),
    ...(opts.preset ? { preset: opts.preset } : {}),
  };
  // Written under a temporary name so an interrupted run never leaves a plausible-looking model.safetensors.
  const finalPath = join(opts.outDir, 'model.safetensors');
  const partialPath = `${finalPath}.partial`;
  const writer = await SafetensorsWriter.create(
    partialPath,
    storedTensors(plan, dtype),
    dtype === 'FP8' ? 'BF16' : dtype,
    metadata,
  );
  try {
    const chunk = new Float32Array(CHUNK_ELEMENTS);
    let currentLayer: number | null = null;
    for (const tensor of plan) {
      if (tensor.layer !== null && tensor.layer !== currentLayer) {
        currentLayer = tensor.layer;
        progress(`layer ${tensor.layer + 1}/${shape.numHiddenLayers}`);
      }
      if (dtype === 'FP8' && tensor.fp8) await writeFp8Weight(writer, tensor, opts.seed, chunk);
      else await writer.writeTensor(tensor.name, tensorChunks(tensor, opts.seed, chunk));
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
  const quantization = opts.config?.['quantization_config'];
  const requestsFp8 =
    typeof quantization === 'object' &&
    quantization !== null &&
    (quantization as Record<string, unknown>)['quant_method'] === 'fp8';
  const dtype =
    opts.dtype ??
    (requestsFp8 ? 'FP8' : undefined) ??
    (requested === 'bfloat16' ? 'BF16' : requested === 'float32' ? 'F32' : undefined) ??
    (preset !== undefined ? synthPresetDtype(preset) : 'F32');
  // torch_dtype and quantization_config describe the stored weights, so they must follow the dtype actually written.
  merged['torch_dtype'] = torchDtypeName(dtype);
  if (dtype === 'FP8') merged['quantization_config'] = fp8QuantizationConfig(FP8_WEIGHT_BLOCK);
  else delete merged['quantization_config'];
  return { config: merged, dtype };
}

/** The file's tensors in order; for FP8 each linear weight is followed by its scale_inv. */
function storedTensors(plan: readonly PlannedTensor[], dtype: SynthDtype): TensorDecl[] {
  if (dtype !== 'FP8') return plan.map(({ name, shape }) => ({ name, shape }));
  return plan.flatMap(({ name, shape, fp8 }): TensorDecl[] => {
    if (!fp8) return [{ name, shape, dtype: name.endsWith('.e_score_correction_bias') ? 'F32' : 'BF16' }];
    const [rows = 0, cols = 0] = shape;
    return [
      { name, shape, dtype: 'F8_E4M3' },
      { name: `${name}${SCALE_INV_SUFFIX}`, shape: fp8ScaleInvShape(rows, cols, FP8_WEIGHT_BLOCK), dtype: 'F32' },
    ];
  });
}

/**
 * Streams an FP8 weight [rows, cols] in bands of whole 128-row blocks (so no block straddles two bands), then its
 * scale_inv, whose rows the bands produced in order.
 */
async function writeFp8Weight(
  writer: SafetensorsWriter,
  tensor: PlannedTensor,
  seed: number,
  chunk: Float32Array,
): Promise<void> {
  const cols = tensor.shape[1] ?? 1;
  const bandRows = FP8_WEIGHT_BLOCK * Math.max(1, Math.floor(chunk.length / (FP8_WEIGHT_BLOCK * cols)));
  const band = bandRows * cols <= chunk.length ? chunk.subarray(0, bandRows * cols) : new Float32Array(bandRows * cols);
  const scaleInvRows: Float32Array[] = [];
  function* codes(): Generator<Uint8Array> {
    for (const piece of tensorChunks(tensor, seed, band)) {
      const { codes: pieceCodes, scaleInv } = quantizeFp8Blocks(piece, piece.length / cols, cols, FP8_WEIGHT_BLOCK);
      scaleInvRows.push(scaleInv);
      yield pieceCodes;
    }
  }
  await writer.writeTensorBytes(tensor.name, codes());
  await writer.writeTensor(`${tensor.name}${SCALE_INV_SUFFIX}`, scaleInvRows);
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
