// DeepSeek-V3's FP8 checkpoints: a weight stored as F8_E4M3 codes with `<name>_scale_inv` (one float32 per
// 128×128 block) reads as the float32 it stands for; the compiler then keeps it float or re-encodes it to 8/4-bit
// blocks (CPU has no fast FP8 path).
import { dequantizeFp8Blocks } from '../quant/fp8-blocks.js';
import type { WeightSource } from './graph/context.js';
import type { SafetensorsCheckpoint } from './safetensors.js';

export class Fp8DequantizingSource implements WeightSource {
  /** `block`: quantization_config.weight_block_size (DeepSeek-V3 ships 128×128). */
  constructor(
    private readonly checkpoint: SafetensorsCheckpoint,
    private readonly block = 128,
  ) {}

  has(name: string): boolean {
    return this.checkpoint.has(name);
  }

  info(name: string): { readonly shape: readonly number[] } {
    return this.checkpoint.info(name);
  }

  readFloat32(name: string): Float32Array {
    const info = this.checkpoint.info(name);
    if (info.dtype !== 'F8_E4M3') return this.checkpoint.readFloat32(name);
    const scaleName = `${name}_scale_inv`;
    if (!this.checkpoint.has(scaleName)) throw new Error(`${name} is F8_E4M3 but the checkpoint has no ${scaleName}`);
    if (info.shape.length !== 2)
      throw new Error(`${name}: F8_E4M3 weights must be 2-D, got [${info.shape.join(', ')}]`);
    const [rows, cols] = info.shape as [number, number];
    return dequantizeFp8Blocks(
      this.checkpoint.readRaw(name),
      rows,
      cols,
      this.checkpoint.readFloat32(scaleName),
      this.block,
    );
  }
}

/** The FP8 block edge from a config's quantization_config (square blocks only). */
export function fp8BlockSize(quantizationConfig: Readonly<Record<string, unknown>> | null): number {
  const size = quantizationConfig?.['weight_block_size'];
  if (size === undefined) return 128;
  if (!Array.isArray(size) || size.length !== 2 || size[0] !== size[1] || !Number.isInteger(size[0])) {
    throw new Error(`quantization_config.weight_block_size must be [n, n], got ${JSON.stringify(size)}`);
  }
  return size[0] as number;
}
