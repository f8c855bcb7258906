// `latentserve eval`: quality of a compile mode (quantized weights, fp8 cache) against float32 on the same
// inputs, teacher-forced, plus what the mode costs: weight bytes, cache bytes per token, peak RSS.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { QualityMetrics } from '../engine/eval-quality.js';
import { compareLogits, teacherForcedLogits } from '../engine/eval-quality.js';
import { generateOffline } from '../engine/offline-generate.js';
import { cacheBytesPerToken } from '../model/executor/types.js';
import type { LoadedModel } from '../model/load.js';
import { loadModel } from '../model/load.js';
import { FLOAT_COMPILE } from '../model/graph/compile-options.js';
import { COMPILE_FLAGS_USAGE, compileFlagSpecs, compileOptionsFrom } from './compile-flags.js';
import { UsageError, intOption } from './options.js';

export const EVAL_USAGE = `latentserve eval --model DIR ${COMPILE_FLAGS_USAGE} [--text FILE] [--tokens 64] [--json]`;

export async function runEval(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      text: { type: 'string' },
      tokens: { type: 'string', default: '64' },
      json: { type: 'boolean', default: false },
      ...compileFlagSpecs,
    },
  });
  if (values.model === undefined) throw new UsageError('--model DIR is required');
  const options = compileOptionsFrom(values);
  const numTokens = intOption('--tokens', values.tokens, 2);
  const log = (m: string): void => {
    process.stderr.write(`${m}\n`);
  };
  const numBlocks = (len: number): number => Math.ceil(len / 64) + 1;

  const reference = await loadModel(values.model, { onProgress: log, numBlocks: 64 });
  let candidate: LoadedModel | null = null;
  try {
    const sequences = await evalSequences(reference, values.model, values.text, numTokens);
    const longest = Math.max(...sequences.map((s) => s.length));
    candidate = await loadModel(values.model, { compile: options, onProgress: log, numBlocks: numBlocks(longest) });
    const refRows: Float32Array[] = [];
    const candRows: Float32Array[] = [];
    const next: (number | null)[] = [];
    for (const seq of sequences) {
      refRows.push(...(await teacherForcedLogits(reference.executor, seq)));
      // An fp8 cache only matters when rows are read back: decode the candidate one token per step.
      candRows.push(...(await teacherForcedLogits(candidate.executor, seq, options.kvCacheDtype === 'fp8' ? 1 : 512)));
      next.push(...seq.slice(1), null);
    }
    const metrics = compareLogits(refRows, candRows, next);
    const report = {
      model: values.model,
      mode: options,
      sequences: sequences.length,
      ...metrics,
      weightBytes: { float32: weightBytes(reference), candidate: weightBytes(candidate) },
      cacheBytesPerToken: {
        float32: cacheBytesPerToken(reference.executor.cache),
        candidate: cacheBytesPerToken(candidate.executor.cache),
      },
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatReport(report, metrics));
  } finally {
    await reference.executor.close();
    await candidate?.executor.close();
  }
}

/** The fixture's reference sequences, the tokenized --text, or a sample of the float32 model from BOS. */
async function evalSequences(
  model: LoadedModel,
  dir: string,
  textFile: string | undefined,
  numTokens: number,
): Promise<number[][]> {
  if (textFile !== undefined) {
    const ids = model.tokenizer.encode(readFileSync(textFile, 'utf8'), { addSpecialTokens: true });
    if (ids.length < 2) throw new UsageError(`--text ${textFile}: fewer than 2 tokens`);
    return [ids.slice(0, Math.min(ids.length, model.executor.cache.numBlocks * model.executor.cache.blockSize))];
  }
  const referenceFile = join(dir, 'reference.json');
  if (existsSync(referenceFile)) {
    const ref = JSON.parse(readFileSync(referenceFile, 'utf8')) as { prompts: { fed_ids: number[] }[] };
    return ref.prompts.map((p) => p.fed_ids);
  }
  const bos = model.config.bosTokenId ?? 0;
  const sample = await generateOffline(model.executor, model.tokenizer, [bos], {
    maxTokens: numTokens - 1,
    temperature: 1,
    topP: 1,
    seed: 0,
    logprobs: null,
    echo: false,
    ignoreEos: true,
    eosTokenIds: [],
    maxBatchTokens: 512,
  });
  return [[bos, ...sample.tokens]];
}

function weightBytes(model: LoadedModel): number {
  const data = `${model.onnxPath}.data`;
  return existsSync(data) ? statSync(data).size : 0;
}

function formatReport(
  r: {
    model: string;
    mode: unknown;
    cacheBytesPerToken: { float32: number; candidate: number };
    weightBytes: { float32: number; candidate: number };
    peakRssMiB: number;
  },
  m: QualityMetrics,
): string {
  const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
  return [
    `model            ${r.model}`,
    `mode             ${JSON.stringify(r.mode)}  (reference: ${JSON.stringify(FLOAT_COMPILE)})`,
    `rows             ${m.rows}`,
    `top-1 agreement  ${(m.top1Agreement * 100).toFixed(2)} %`,
    `|Δ logprob|      mean ${m.meanAbsDeltaLogprob.toExponential(3)}, max ${m.maxAbsDeltaLogprob.toExponential(3)}`,
    `KL(fp32 ‖ mode)  mean ${m.meanKl.toExponential(3)} nats`,
    `perplexity       float32 ${m.referencePerplexity.toFixed(3)}, mode ${m.candidatePerplexity.toFixed(3)}`,
    `weights          float32 ${mib(r.weightBytes.float32)}, mode ${mib(r.weightBytes.candidate)}`,
    `cache per token  float32 ${r.cacheBytesPerToken.float32} B, mode ${r.cacheBytesPerToken.candidate} B`,
    `peak RSS         ${r.peakRssMiB} MiB (both models loaded)`,
    '',
  ].join('\n');
}
