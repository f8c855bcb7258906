// `latentserve synth`: writes a random HuggingFace-format DeepSeek checkpoint folder.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { SynthDtype, SynthPreset } from '../synth/synth.js';
import { SYNTH_DTYPES, SYNTH_PRESETS, synthesizeCheckpoint } from '../synth/synth.js';
import { UsageError, intOption } from './options.js';

export const SYNTH_USAGE = `latentserve synth --out DIR [--preset tiny|demo|mini] [--config FILE] [--seed S] [--dtype F32|BF16|FP8]`;

export async function runSynth(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      preset: { type: 'string' },
      config: { type: 'string' },
      seed: { type: 'string', default: '0' },
      dtype: { type: 'string' },
    },
  });
  if (values.out === undefined) throw new UsageError('--out DIR is required');
  if (values.preset !== undefined && !SYNTH_PRESETS.includes(values.preset as SynthPreset)) {
    throw new UsageError(`--preset must be one of ${SYNTH_PRESETS.join(', ')}`);
  }
  const dtype = values.dtype?.toUpperCase();
  if (dtype !== undefined && !SYNTH_DTYPES.includes(dtype as SynthDtype)) {
    throw new UsageError(`--dtype must be one of ${SYNTH_DTYPES.join(', ')} (any case)`);
  }
  let config: Record<string, unknown> | undefined;
  if (values.config !== undefined) {
    try {
      config = JSON.parse(readFileSync(values.config, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`--config ${values.config}: ${(err as Error).message}`);
    }
  }
  await synthesizeCheckpoint({
    outDir: values.out,
    seed: intOption('--seed', values.seed, 0),
    ...(values.preset === undefined && config !== undefined
      ? {}
      : { preset: (values.preset ?? 'tiny') as SynthPreset }),
    ...(config === undefined ? {} : { config }),
    ...(dtype === undefined ? {} : { dtype: dtype as SynthDtype }),
    onProgress: (m) => process.stderr.write(`synth: ${m}\n`),
  });
  process.stderr.write(`synth: wrote ${values.out}\n`);
}
