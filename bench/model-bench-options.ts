// model-bench's command line, parsed in one place: one spec table, one typed result. A new flag is one spec entry
// plus one field (and its check) below.
import { parseArgs } from 'node:util';
import { compileFlagSpecs, compileOptionsFrom } from '../cli/compile-flags.js';
import { intOption } from '../cli/options.js';
import type { CompileOptions } from '../model/graph/compile-options.js';

export const MODEL_BENCH_USAGE = `node dist/bench/model-bench.js [--model DIR | --preset mini] [--prompt-tokens 512] [--decode-tokens 64]
    [--repeats 3] [--executor-memory SPEC|SPEC…] [--quant none|int8|int4|w8a8] [--quant-block-size N] [--kv-cache-dtype fp32|fp8] [--decode-batch N]
    [--session-options JSON|JSON…] [--profile DIR]`;

const specs = {
  model: { type: 'string' },
  preset: { type: 'string', default: 'mini' },
  'prompt-tokens': { type: 'string', default: '512' },
  'decode-tokens': { type: 'string', default: '64' },
  repeats: { type: 'string', default: '3' },
  'executor-memory': { type: 'string', default: '' },
  'decode-batch': { type: 'string', default: '1' },
  'session-options': { type: 'string', default: '' },
  profile: { type: 'string' },
  quant: compileFlagSpecs.quant,
  'quant-block-size': compileFlagSpecs['quant-block-size'],
  'kv-cache-dtype': compileFlagSpecs['kv-cache-dtype'],
} as const;

export interface ModelBenchOptions {
  readonly model: string | undefined;
  readonly preset: string;
  readonly promptTokens: number;
  readonly decodeTokens: number;
  readonly repeats: number;
  /** '|'-separated executor-memory variants ('' = defaults). */
  readonly executorMemory: string;
  /** Concurrent sequences of the batched decode measurement; 1 = batch-1 decode only. */
  readonly decodeBatch: number;
  /** '|'-separated ONNX Runtime session-option variants as JSON ('' = defaults), crossed with executorMemory. */
  readonly sessionOptions: string;
  /** Where each executor writes its ONNX Runtime profile (undefined: no profiling). */
  readonly profile: string | undefined;
  /** Undefined: the model folder's own compile options (a converted folder keeps its mode). */
  readonly compile: CompileOptions | undefined;
}

export function parseModelBenchArgs(args: readonly string[]): ModelBenchOptions {
  const { values } = parseArgs({ args: [...args], options: specs, strict: true });
  const compileGiven =
    values.quant !== undefined || values['quant-block-size'] !== undefined || values['kv-cache-dtype'] !== undefined;
  return {
    model: values.model,
    preset: values.preset,
    promptTokens: intOption('--prompt-tokens', values['prompt-tokens'], 1),
    decodeTokens: intOption('--decode-tokens', values['decode-tokens'], 1),
    repeats: intOption('--repeats', values.repeats, 1),
    executorMemory: values['executor-memory'],
    decodeBatch: intOption('--decode-batch', values['decode-batch'], 1),
    sessionOptions: values['session-options'],
    profile: values.profile,
    compile: compileGiven
      ? compileOptionsFrom({
          ...(values.quant === undefined ? {} : { quant: values.quant }),
          ...(values['quant-block-size'] === undefined ? {} : { 'quant-block-size': values['quant-block-size'] }),
          ...(values['kv-cache-dtype'] === undefined ? {} : { 'kv-cache-dtype': values['kv-cache-dtype'] }),
        })
      : undefined,
  };
}
