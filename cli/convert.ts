// `latentserve convert`: compiles a checkpoint once into a ready-to-serve folder (graph, external weights,
// tokenizer), so a quantized model restarts without quantizing again: `serve --model OUT`.
import { parseArgs } from 'node:util';
import { convertModel } from '../model/compile.js';
import { COMPILE_FLAGS_USAGE, compileFlagSpecs, compileOptionsFrom } from './compile-flags.js';
import { UsageError } from './options.js';
import { ProgressBar } from './progress.js';

export const CONVERT_USAGE = `latentserve convert --model DIR --out DIR2 ${COMPILE_FLAGS_USAGE}`;

export async function runConvert(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { model: { type: 'string' }, out: { type: 'string' }, ...compileFlagSpecs },
  });
  if (values.model === undefined || values.out === undefined)
    throw new UsageError('--model DIR and --out DIR2 are required');
  const options = compileOptionsFrom(values);
  const bar = new ProgressBar('convert');
  const t0 = performance.now();
  convertModel(values.model, values.out, options, {
    onProgress: (m) => bar.update(m),
    onCompileProgress: (p) => bar.compile(p),
  });
  bar.finish();
  process.stderr.write(
    `convert: wrote ${values.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s; serve it with: latentserve serve --model ${values.out}\n`,
  );
}
