// Step graphs of two (or more) builds raced side by side: each `--dist DIR` is a built dist folder (e.g. main's
// /work/main/dist as "before", this checkout's dist as "after"); its own loadModel compiles the checkpoint with its
// own graph code (each build's compiler version keys its own cache entry) and its own executor runs it. All
// variants live in this one process and take turns round after round (order rotated), each running the same
// batched workload: --decode-batch prompts of --prompt-tokens prefilled one per step, then --decode-tokens steps of
// one token per sequence. A slow patch on a shared machine then hits every variant of that round. Prints one JSON
// line: medians and ranges of prefill and decode tokens/s, per-round ratios against the first --dist, and each
// graph's node count by op type.
//   node dist/bench/graph-race.js --model DIR --dist /work/main/dist --dist dist [--quant int8] [--kv-cache-dtype fp32]
//     [--decode-batch 16] [--prompt-tokens 64] [--decode-tokens 32] [--rounds 5]
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { compileFlagSpecs, compileOptionsFrom } from '../cli/compile-flags.js';
import { intOption } from '../cli/options.js';
import { percentile } from '../loadtest/metrics.js';
import type { LoadedModel, LoadOptions } from '../model/load.js';
import { blocksForBatch, runDecodeBatch } from './decode-batch.js';
import { onnxOpCounts } from './onnx-op-counts.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    dist: { type: 'string', multiple: true, default: [] },
    quant: compileFlagSpecs.quant,
    'kv-cache-dtype': compileFlagSpecs['kv-cache-dtype'],
    'decode-batch': { type: 'string', default: '16' },
    'prompt-tokens': { type: 'string', default: '64' },
    'decode-tokens': { type: 'string', default: '32' },
    rounds: { type: 'string', default: '5' },
  },
});
if (values.model === undefined || values.dist.length === 0)
  throw new Error('--model DIR and at least one --dist DIR are required');
const batch = intOption('--decode-batch', values['decode-batch'], 1);
const promptTokens = intOption('--prompt-tokens', values['prompt-tokens'], 1);
const decodeTokens = intOption('--decode-tokens', values['decode-tokens'], 1);
const rounds = intOption('--rounds', values.rounds, 1);
const compile = compileOptionsFrom({
  ...(values.quant === undefined ? {} : { quant: values.quant }),
  ...(values['kv-cache-dtype'] === undefined ? {} : { 'kv-cache-dtype': values['kv-cache-dtype'] }),
});
const blockSize = 64;
const numBlocks = blocksForBatch(batch, promptTokens, decodeTokens, blockSize);

const models: LoadedModel[] = [];
for (const dist of values.dist) {
  const { loadModel } = (await import(resolve(dist, 'model/load.js'))) as {
    loadModel: (dir: string, o: LoadOptions) => Promise<LoadedModel>;
  };
  models.push(
    await loadModel(values.model, {
      compile,
      numBlocks,
      blockSize,
      onProgress: (m) => process.stderr.write(`${dist}: ${m}\n`),
    }),
  );
}
for (const model of models) await runDecodeBatch(model.executor, batch, promptTokens, Math.min(decodeTokens, 4)); // warm-up

const prefill: number[][] = models.map(() => []);
const decode: number[][] = models.map(() => []);
for (let round = 0; round < rounds; round++) {
  for (let turn = 0; turn < models.length; turn++) {
    const i = (round + turn) % models.length;
    await sleep(50); // the previous session's intra-op threads stop spinning
    const t = await runDecodeBatch(models[i]!.executor, batch, promptTokens, decodeTokens);
    prefill[i]!.push((t.prefillTokens * 1000) / t.prefillMs);
    decode[i]!.push((batch * t.decodeStepMs.length * 1000) / t.decodeStepMs.reduce((a, b) => a + b, 0));
  }
}
for (const model of models) await model.executor.close();

const median = (xs: readonly number[]): number => percentile(xs, 50);
const r1 = (x: number): number => +x.toFixed(1);
const summary = (xs: readonly number[], base: readonly number[]) => ({
  median: r1(median(xs)),
  range: [r1(Math.min(...xs)), r1(Math.max(...xs))],
  vsFirst: +median(xs.map((x, r) => x / base[r]!)).toFixed(3), // median over rounds of the same-round ratio
});
process.stdout.write(
  `${JSON.stringify({
    compile,
    batch,
    promptTokens,
    decodeTokens,
    rounds,
    variants: models.map((model, i) => {
      const ops = onnxOpCounts(model.onnxPath);
      const top = [...ops].sort((a, b) => b[1] - a[1]).slice(0, 12);
      return {
        dist: values.dist[i],
        nodes: [...ops.values()].reduce((a, b) => a + b, 0),
        topOps: Object.fromEntries(top),
        prefillTokensPerSecond: summary(prefill[i]!, prefill[0]!),
        decodeTokensPerSecond: summary(decode[i]!, decode[0]!),
      };
    }),
  })}\n`,
);
