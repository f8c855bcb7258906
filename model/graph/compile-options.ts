// How a checkpoint is compiled: weight precision and the latent cache's storage type.

export type WeightQuant = 'none' | 'int8' | 'int4';
export type KvCacheDtype = 'fp32' | 'fp8';

export interface CompileOptions {
  /** Linear and expert weights: float32, or symmetric block-wise 8/4-bit (MatMulNBits). */
  readonly quant: WeightQuant;
  /** Columns per quantization block (one float32 scale each). */
  readonly quantBlockSize: number;
  /** Latent cache rows as float32, or as E4M3 codes with one float32 scale per row. */
  readonly kvCacheDtype: KvCacheDtype;
}

/**
 * Default columns per quantization block, measured on `synth --preset mini` (README, quantization): int8 keeps
 * block 32, the largest whose KL against float32 stays within 2e-3 (block 64 measured 2.0006e-3); int4 takes
 * block 64, whose resident weights fit in 0.22× float32 (block 32: 0.26×, the per-block scale and sum that
 * MatMulNBits prepacks cost a quarter byte per weight) for KL 0.18 instead of 0.15.
 */
export function defaultQuantBlockSize(quant: WeightQuant): number {
  return quant === 'int4' ? 64 : 32;
}

export const FLOAT_COMPILE: CompileOptions = { quant: 'none', quantBlockSize: defaultQuantBlockSize('none'), kvCacheDtype: 'fp32' };

export function weightBits(quant: WeightQuant): 4 | 8 | null {
  return quant === 'int8' ? 8 : quant === 'int4' ? 4 : null;
}
