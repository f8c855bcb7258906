// How a checkpoint is compiled: weight precision and the latent cache's storage type.

export type WeightQuant = 'none' | 'int8' | 'int4' | 'w8a8';
export type KvCacheDtype = 'fp32' | 'fp8';

export interface CompileOptions {
  /**
   * Linear and expert weights: float32; symmetric block-wise 8/4-bit (MatMulNBits); or w8a8, per-output-channel
   * int8 weights times int8 activations quantized per row at run time (DynamicQuantizeMatMul, see W8A8 below).
   */
  readonly quant: WeightQuant;
  /** Columns per quantization block (one float32 scale each); int8 and int4 only. */
  readonly quantBlockSize: number;
  /** Latent cache rows as float32, or as E4M3 codes with one float32 scale per row. */
  readonly kvCacheDtype: KvCacheDtype;
}

/**
 * Default columns per quantization block: 128, DeepSeek's own block (its FP8 weights ship in 128 × 128 blocks, and
 * it quantizes activations per 1 × 128 tile); MatMulNBits at accuracy level 4 quantizes its input rows per block
 * of the same size. Measured on `synth --preset mini` against block 64 (December 2026, quiet machine):
 * - speed, `bench:model --quant int8 --quant-block-size 64|128 --decode-batch 16`, two alternated pairs: 512-token
 *   prefill 1.10–1.15×, batch-1 decode 1.03–1.09×, 16-sequence decode 1.04–1.05×; `bench:serve --compare` output
 *   tokens/s 1.16 / 1.12 / 1.07 / 1.08× at 1 / 4 / 16 / 32 streams (fewer per-block conversions in the integer
 *   kernel, and 1.03 instead of 1.06 B per weight);
 * - precision, `eval --quant int8`: KL vs float32 2.14e-3 instead of 1.88e-3 (block 32: 1.25e-3; 256: 2.39e-3);
 *   fixture top-1 96.8 % / 95.7 % instead of 97.8 % / 95.7 % (tests/quant-quality.test.ts);
 * - memory: MatMulNBits prepacks a float32 scale and a float32 block sum per block next to the codes, so block
 *   metadata costs 0.375 B per weight at block 32, 0.19 B at 64 and 0.09 B at 128.
 * int4 uses the same default (block 32: KL 0.146, 64: 0.177; fixture top-1 at 128 60.2 % against 61.3 % at 64).
 */
export const DEFAULT_QUANT_BLOCK_SIZE = 128;

export const FLOAT_COMPILE: CompileOptions = {
  quant: 'none',
  quantBlockSize: DEFAULT_QUANT_BLOCK_SIZE,
  kvCacheDtype: 'fp32',
};

export function weightBits(quant: WeightQuant): 4 | 8 | null {
  return quant === 'int8' || quant === 'w8a8' ? 8 : quant === 'int4' ? 4 : null;
}

/**
 * W8A8 (`--quant w8a8`): each weight row (output channel) is int8 with one float32 scale, and every linear layer
 * runs as ONNX Runtime's DynamicQuantizeMatMul, which quantizes its input to uint8 per tensor and multiplies with
 * MLAS's u8s8 integer GEMM (AMX or AVX512-VNNI where the CPU has them). The graph first divides each input row by
 * its own max |x| and multiplies the product back by it, so the per-tensor quantizer acts per row (per token).
 * Measured on `synth --preset mini` against the block-wise int8 MatMulNBits path (README, quantization): batch-16
 * decode 1.23–1.37×, 512-token prefill 1.6–1.7×, batch 1 1.05×, at KL 3.4e-3 instead of 1.9e-3.
 */
export function isW8a8(quant: WeightQuant): boolean {
  return quant === 'w8a8';
}

/** Whether quantBlockSize applies: int8 and int4 carry one scale per block (w8a8 one per row, float32 none). */
export function hasBlockScales(quant: WeightQuant): boolean {
  return weightBits(quant) !== null && !isW8a8(quant);
}
