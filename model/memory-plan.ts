// Memory and disk, planned before they are spent: what a compile mode will put on disk and keep resident, against
// what this machine has. Loading a model that cannot fit used to end in the kernel's OOM killer minutes into a
// compile; now it is refused up front with the numbers and the mode that would fit.
//
// Bytes per weight, resident (README, quantization, measured on synth --preset mini):
//   float32            4
//   int8 at block b    1   + 12 / b   (codes, plus per block: the shipped float32 scale kept mapped, and the
//   int4 at block b    0.5 + 12 / b    float32 scale and block sum MatMulNBits prepacks beside the codes)
// On disk a quantized weight is its codes plus one float32 scale per block. Embeddings, router gates, norms,
// e_score_correction_bias and kv_b_proj (the absorbed W_UK / W_UV) stay float32 in every mode.
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname } from 'node:path';
import { expectedTensors } from './checkpoint-shapes.js';
import type { ModelConfig } from './config.js';
import type { CompileOptions, WeightQuant } from './graph/compile-options.js';
import { hasBlockScales, weightBits } from './graph/compile-options.js';

/** ONNX Runtime's library, arenas, activations, the tokenizer and the worker thread: measured ≈70 MiB on mini. */
export const RUNTIME_MARGIN_BYTES = 1 * 2 ** 30;

export interface ModePlan {
  readonly options: CompileOptions;
  /** model.onnx.data as the compiler writes it. */
  readonly diskBytes: number;
  /** Weights resident after load (prepacking included). */
  readonly weightBytes: number;
  readonly cacheBytes: number;
  readonly runtimeBytes: number;
  /** weightBytes + cacheBytes + runtimeBytes. */
  readonly memoryBytes: number;
}

export interface MachineBudget {
  readonly memoryBytes: number;
  /** "os.totalmem()" or the cgroup file that set a lower limit. */
  readonly memorySource: string;
  /** Free space where the compiled model would be written; null when unknown. */
  readonly freeDiskBytes: number | null;
}

/** Weights that stay float32 whatever --quant says: embedding, norms, router gates and biases, kv_b_proj. */
function alwaysFloat(name: string): boolean {
  return (
    name === 'model.embed_tokens.weight' ||
    name.endsWith('norm.weight') ||
    name.includes('.mlp.gate.') ||
    name.endsWith('kv_b_proj.weight')
  );
}

/** Parameter counts of the step graph's weights: those --quant applies to, and those that stay float32. */
export function countWeights(config: ModelConfig): { readonly quantizable: number; readonly float: number } {
  let quantizable = 0;
  let float = 0;
  for (const t of expectedTensors(config)) {
    const n = t.dims.reduce((a, d) => a * d.size, 1);
    if (alwaysFloat(t.name)) float += n;
    else quantizable += n;
  }
  return { quantizable, float };
}

export function planMode(config: ModelConfig, options: CompileOptions, cacheBytes: number): ModePlan {
  const { quantizable, float } = countWeights(config);
  const bits = weightBits(options.quant);
  const codeBytes = bits === null ? 4 : bits / 8;
  // Block scales (and MatMulNBits' prepacked block sums) per weight; w8a8's one scale per row is negligible.
  const blockMeta = hasBlockScales(options.quant);
  const metaResident = blockMeta ? 12 / options.quantBlockSize : 0;
  const metaDisk = blockMeta ? 4 / options.quantBlockSize : 0;
  const weightBytes = Math.ceil(float * 4 + quantizable * (codeBytes + metaResident));
  const diskBytes = Math.ceil(float * 4 + quantizable * (codeBytes + metaDisk));
  return {
    options,
    diskBytes,
    weightBytes,
    cacheBytes,
    runtimeBytes: RUNTIME_MARGIN_BYTES,
    memoryBytes: weightBytes + cacheBytes + RUNTIME_MARGIN_BYTES,
  };
}

/** os.totalmem(), lowered by a cgroup v2 `memory.max` or v1 `memory.limit_in_bytes` when one is set. */
export function machineBudget(outDir: string | null): MachineBudget {
  let memoryBytes = totalmem();
  let memorySource = 'os.totalmem()';
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    if (!existsSync(file)) continue;
    const limit = Number(readFileSync(file, 'utf8').trim());
    if (Number.isFinite(limit) && limit > 0 && limit < memoryBytes) {
      memoryBytes = limit;
      memorySource = file;
    }
  }
  return { memoryBytes, memorySource, freeDiskBytes: outDir === null ? null : freeDisk(outDir) };
}

function freeDisk(path: string): number | null {
  let dir = path;
  while (!existsSync(dir)) {
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Thrown when a mode does not fit; the message gives the numbers and a mode that would. */
export class MemoryPlanError extends Error {
  override readonly name = 'MemoryPlanError';
}

const QUANT_ORDER: readonly WeightQuant[] = ['none', 'int8', 'int4'];
const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** Why `plan` does not fit `budget` (null when it fits). `needsDisk`: the model still has to be compiled. */
export function shortfall(plan: ModePlan, budget: MachineBudget, needsDisk: boolean): string | null {
  const problems: string[] = [];
  if (plan.memoryBytes > budget.memoryBytes) {
    problems.push(
      `needs ${gib(plan.memoryBytes)} of memory (weights ${gib(plan.weightBytes)} + latent cache ${gib(plan.cacheBytes)} + runtime ${gib(plan.runtimeBytes)}) but ${budget.memorySource} allows ${gib(budget.memoryBytes)}`,
    );
  }
  if (needsDisk && budget.freeDiskBytes !== null && plan.diskBytes > budget.freeDiskBytes) {
    problems.push(
      `needs ${gib(plan.diskBytes)} of disk for the compiled model but ${gib(budget.freeDiskBytes)} is free`,
    );
  }
  return problems.length === 0 ? null : problems.join('; ');
}

/**
 * The most precise --quant (none, then int8, then int4) whose plan fits, or null. `needsDisk(options)`: that mode
 * is not compiled yet.
 */
export function mostPreciseFitting(
  config: ModelConfig,
  base: CompileOptions,
  cacheBytes: number,
  budget: MachineBudget,
  needsDisk: (o: CompileOptions) => boolean,
): ModePlan | null {
  for (const quant of QUANT_ORDER) {
    const plan = planMode(config, { ...base, quant }, cacheBytes);
    if (shortfall(plan, budget, needsDisk(plan.options)) === null) return plan;
  }
  return null;
}

/** Throws MemoryPlanError when `options` does not fit, naming a --quant that would (or saying none does). */
export function checkFits(
  config: ModelConfig,
  options: CompileOptions,
  cacheBytes: number,
  budget: MachineBudget,
  needsDisk: (o: CompileOptions) => boolean,
): ModePlan {
  const plan = planMode(config, options, cacheBytes);
  const why = shortfall(plan, budget, needsDisk(options));
  if (why === null) return plan;
  const fitting = mostPreciseFitting(config, options, cacheBytes, budget, needsDisk);
  const advice =
    fitting === null
      ? 'no --quant mode fits; use a machine with more memory, or a smaller --cache-memory-mb / --num-cache-blocks'
      : `--quant ${fitting.options.quant} would fit (${gib(fitting.memoryBytes)} of memory, ${gib(fitting.diskBytes)} on disk)`;
  throw new MemoryPlanError(`--quant ${options.quant} ${why}. ${advice}; --skip-memory-check loads anyway`);
}

/** One line for logs: "int8: 19.6 GiB of memory (weights …), 18.9 GiB on disk". */
export function describePlan(plan: ModePlan): string {
  return `--quant ${plan.options.quant}: ${gib(plan.memoryBytes)} of memory (weights ${gib(plan.weightBytes)}, latent cache ${gib(plan.cacheBytes)}, runtime ${gib(plan.runtimeBytes)}), ${gib(plan.diskBytes)} on disk`;
}
