// How a checkpoint is compiled: weight precision and the latent cache's storage type.

export type WeightQuant = 'none' | 'int8' | 'int4';
export type KvCacheDtype = 'fp32' | 'fp8';

export interface CompileOptions {
  /** Linear and expert weights: float32, or symmetric block-wise 8/4-bit (MatMulNBits / QMoE). */
  readonly quant: WeightQuant;
  /** Columns per quantization block (one float32 scale each). */
  readonly quantBlockSize: number;
  /** Latent cache rows as float32, or as E4M3 codes with one float32 scale per row. */
  readonly kvCacheDtype: KvCacheDtype;
}

/** Block 32: measured best quality at a memory cost of one scale per 32 weights (see README's quantization table). */
export const DEFAULT_QUANT_BLOCK_SIZE = 32;

export const FLOAT_COMPILE: CompileOptions = { quant: 'none', quantBlockSize: DEFAULT_QUANT_BLOCK_SIZE, kvCacheDtype: 'fp32' };

export function weightBits(quant: WeightQuant): 4 | 8 | null {
  return quant === 'int8' ? 8 : quant === 'int4' ? 4 : null;
}
