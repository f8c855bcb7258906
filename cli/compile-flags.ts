// The flags that choose how a checkpoint is compiled, shared by serve, complete, convert and eval.
import type { CompileOptions } from '../model/graph/compile-options.js';
import { DEFAULT_QUANT_BLOCK_SIZE } from '../model/graph/compile-options.js';
import { UsageError, intOption } from './options.js';

export const COMPILE_FLAGS_USAGE = `[--quant none|int8|int4|w8a8|auto] [--quant-block-size N (default ${DEFAULT_QUANT_BLOCK_SIZE})] [--kv-cache-dtype fp32|fp8]
    [--skip-memory-check]`;

/** parseArgs option specs for the compile flags (no defaults: absent flags mean "as the model folder is"). */
export const compileFlagSpecs = {
  quant: { type: 'string' },
  'quant-block-size': { type: 'string' },
  'kv-cache-dtype': { type: 'string' },
  'skip-memory-check': { type: 'boolean' },
} as const;

type CompileFlagValues = {
  quant?: string;
  'quant-block-size'?: string;
  'kv-cache-dtype'?: string;
  'skip-memory-check'?: boolean;
};

/** The requested compile options, or undefined when no compile flag was given (a converted folder keeps its own). */
export function requestedCompileOptions(values: CompileFlagValues): CompileOptions | undefined {
  const given =
    values.quant !== undefined || values['quant-block-size'] !== undefined || values['kv-cache-dtype'] !== undefined;
  return given ? compileOptionsFrom({ ...values, ...(values.quant === 'auto' ? { quant: 'none' } : {}) }) : undefined;
}

/** loadModel's planning options: `--quant auto` and `--skip-memory-check`. */
export function loadPlanFlags(values: CompileFlagValues): { autoQuant: boolean; skipMemoryCheck: boolean } {
  return { autoQuant: values.quant === 'auto', skipMemoryCheck: values['skip-memory-check'] === true };
}

/** Compile options from flags, defaults filled in (float32 weights and cache; block size DEFAULT_QUANT_BLOCK_SIZE). */
export function compileOptionsFrom(values: CompileFlagValues): CompileOptions {
  const quant = values.quant ?? 'none';
  if (quant === 'auto')
    throw new UsageError('--quant auto chooses a mode when loading (serve, complete); name the mode here');
  if (quant !== 'none' && quant !== 'int8' && quant !== 'int4' && quant !== 'w8a8')
    throw new UsageError(`--quant must be none, int8, int4 or w8a8, got "${quant}"`);
  const kv = values['kv-cache-dtype'] ?? 'fp32';
  if (kv !== 'fp32' && kv !== 'fp8') throw new UsageError(`--kv-cache-dtype must be fp32 or fp8, got "${kv}"`);
  const block = intOption('--quant-block-size', values['quant-block-size'] ?? String(DEFAULT_QUANT_BLOCK_SIZE), 16);
  if ((block & (block - 1)) !== 0 || block > 256)
    throw new UsageError('--quant-block-size must be a power of two from 16 to 256');
  return { quant, quantBlockSize: block, kvCacheDtype: kv };
}
