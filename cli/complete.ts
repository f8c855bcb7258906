// `latentserve complete`: offline generation, the CLI twin of /v1/completions.
import { parseArgs } from 'node:util';
import type { LogprobEntry } from '../sampling/index.js';
import { generateOffline } from '../engine/offline-generate.js';
import { loadModel } from '../model/load.js';
import { COMPILE_FLAGS_USAGE, compileFlagSpecs, loadPlanFlags, requestedCompileOptions } from './compile-flags.js';
import { UsageError, intOption, numberOption } from './options.js';
import { ProgressBar } from './progress.js';

export const COMPLETE_USAGE = `latentserve complete --model DIR (--prompt TEXT | --prompt-ids 0,865,437) [--max-tokens N]
    [--temperature T] [--top-p P] [--seed S] [--logprobs K] [--echo] [--ignore-eos] [--json]
    [--device cpu|cuda] [--max-num-batched-tokens N] ${COMPILE_FLAGS_USAGE}`;

/** The --json output shape. */
export interface CompleteJson {
  readonly tokens: number[];
  readonly text: string;
  readonly finish_reason: 'stop' | 'length';
  readonly logprobs: LogprobEntry[];
  readonly prompt_logprobs: (LogprobEntry | null)[];
}

const COMPLETE_CACHE_BYTES = 2 ** 30;

export async function runComplete(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      prompt: { type: 'string' },
      'prompt-ids': { type: 'string' },
      'max-tokens': { type: 'string', default: '16' },
      temperature: { type: 'string', default: '0' },
      'top-p': { type: 'string', default: '1' },
      seed: { type: 'string' },
      logprobs: { type: 'string' },
      echo: { type: 'boolean', default: false },
      'ignore-eos': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      device: { type: 'string', default: 'cpu' },
      'max-num-batched-tokens': { type: 'string', default: '2048' },
      ...compileFlagSpecs,
    },
  });
  if (values.model === undefined) throw new UsageError('--model DIR is required');
  if ((values.prompt === undefined) === (values['prompt-ids'] === undefined))
    throw new UsageError('give exactly one of --prompt and --prompt-ids');
  if (values.device !== 'cpu' && values.device !== 'cuda') throw new UsageError('--device must be cpu or cuda');
  const maxTokens = intOption('--max-tokens', values['max-tokens'], 1);
  const temperature = numberOption('--temperature', values.temperature, 0);
  const topP = numberOption('--top-p', values['top-p'], 0, 1);
  if (topP === 0) throw new UsageError('--top-p must be greater than 0');
  const seed = values.seed === undefined ? null : intOption('--seed', values.seed, 0);
  const logprobs = values.logprobs === undefined ? null : intOption('--logprobs', values.logprobs, 0);
  const maxBatchTokens = intOption('--max-num-batched-tokens', values['max-num-batched-tokens'], 1);

  const compile = requestedCompileOptions(values);
  const bar = new ProgressBar('compile');
  // One sequence at a time: a 1 GiB cache (as serve's default) rather than loadModel's four full-length sequences,
  // which for DeepSeek-V2-Lite's 163,840-token window would be 41 GB.
  const model = await loadModel(values.model, {
    device: values.device,
    cacheMemoryBytes: COMPLETE_CACHE_BYTES,
    ...loadPlanFlags(values),
    ...(compile === undefined ? {} : { compile }),
    onProgress: (m) => bar.update(m),
    onCompileProgress: (p) => bar.compile(p),
  });
  bar.finish();
  try {
    const promptIds =
      values['prompt-ids'] !== undefined
        ? parseIds(values['prompt-ids'], model.config.vocabSize)
        : model.tokenizer.encode(values.prompt!, { addSpecialTokens: true });
    if (promptIds.length + maxTokens > model.config.maxPositionEmbeddings) {
      throw new UsageError(
        `prompt (${promptIds.length} tokens) + --max-tokens ${maxTokens} exceeds the context window of ${model.config.maxPositionEmbeddings}`,
      );
    }
    const result = await generateOffline(model.executor, model.tokenizer, promptIds, {
      maxTokens,
      temperature,
      topP,
      seed,
      logprobs,
      echo: values.echo,
      ignoreEos: values['ignore-eos'],
      eosTokenIds: model.config.eosTokenIds.length > 0 ? model.config.eosTokenIds : model.tokenizer.eosTokenIds,
      maxBatchTokens,
    });
    const text = model.tokenizer.decode(values.echo ? [...promptIds, ...result.tokens] : result.tokens);
    if (values.json) {
      const out: CompleteJson = {
        tokens: result.tokens,
        text,
        finish_reason: result.finishReason,
        logprobs: result.logprobs,
        prompt_logprobs: result.promptLogprobs,
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } else {
      process.stdout.write(`${text}\n`);
    }
  } finally {
    await model.executor.close();
  }
}

function parseIds(text: string, vocabSize: number): number[] {
  const ids = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (ids.length === 0) throw new UsageError('--prompt-ids is empty');
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
      throw new UsageError(`--prompt-ids: ${id} is not a token id in [0, ${vocabSize})`);
  }
  return ids;
}
