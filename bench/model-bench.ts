// Model-core benchmark: prefill tokens/s, decode tokens/s at batch 1 and peak RSS on a checkpoint (default: a
// synthetic `mini` checkpoint, generated on first use). Prints numbers; asserts nothing. With several
// --executor-memory variants ('|'-separated, e.g. 'memPattern=1,shapeBuckets=0|memPattern=0,shapeBuckets=1') they run
// in interleaved rounds in this one process (a fresh executor per round), so their speeds are measured side by side.
// --decode-batch N adds decode tokens/s with N concurrent sequences (each with a --prompt-tokens prompt).
// Usage: see MODEL_BENCH_USAGE in model-bench-options.ts.
// --session-options 'JSON|JSON…' (ONNX Runtime session options, model/executor/session-options.ts) makes variants
// the same way, crossed with the memory variants; --profile DIR writes each executor's ONNX Runtime profile there.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateOffline } from '../engine/offline-generate.js';
import { defaultCacheDir } from '../model/compile.js';
import type { ModelConfig } from '../model/config.js';
import { describeExecutorMemory, parseExecutorMemory } from '../model/executor/memory-options.js';
import { describeSessionTuning, parseSessionTuning } from '../model/executor/session-options.js';
import { cacheBytesPerToken } from '../model/executor/types.js';
import { loadModel } from '../model/load.js';
import type { SynthPreset } from '../synth/synth.js';
import { synthCacheDir, synthesizeCheckpoint } from '../synth/synth.js';
import { activeWeightParams } from './active-weights.js';
import { blocksForBatch, runDecodeBatch } from './decode-batch.js';
import { GREEDY } from './decode-rate.js';
import { MODEL_BENCH_USAGE, type ModelBenchOptions, parseModelBenchArgs } from './model-bench-options.js';
import { TimedExecutor } from './timed-executor.js';

let options: ModelBenchOptions;
try {
  options = parseModelBenchArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n${MODEL_BENCH_USAGE}\n`);
  process.exit(2);
}
const { promptTokens, decodeTokens, repeats, decodeBatch } = options;

/** Weight bytes (float32) one token touches: attention, dense/shared MLPs, k routed experts, lm_head row block. */
function activeWeightBytes(c: ModelConfig): number {
  return activeWeightParams(c) * 4;
}

/** Decode tokens/s with `decodeBatch` sequences (mean step time) and the median step. */
function batchReport(stepMs: readonly number[]): Record<string, number> {
  const sorted = [...stepMs].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    decodeBatch,
    decodeTokensPerSecondBatchN: +((decodeBatch * 1000) / mean).toFixed(1),
    decodeBatchMedianStepMs: +sorted[Math.floor(sorted.length / 2)]!.toFixed(2),
  };
}

async function main(): Promise<void> {
  let modelDir = options.model;
  if (modelDir === undefined) {
    modelDir = synthCacheDir(defaultCacheDir(), options.preset, 0);
    if (!existsSync(join(modelDir, 'model.safetensors'))) {
      await synthesizeCheckpoint({
        outDir: modelDir,
        seed: 0,
        preset: options.preset as SynthPreset,
        onProgress: (m) => process.stderr.write(`synth: ${m}\n`),
      });
    }
  }
  const sessions = options.sessionOptions.split('|').map((spec) => parseSessionTuning(spec));
  const variants = options.executorMemory
    .split('|')
    .flatMap((spec) => sessions.map((session) => ({ ...parseExecutorMemory(spec), session })));
  const numBlocks = Math.max(
    Math.ceil((promptTokens + decodeTokens) / 64) + 1,
    decodeBatch > 1 ? blocksForBatch(decodeBatch, promptTokens, decodeTokens, 64) : 0,
  );
  const timings = variants.map(() => ({
    prefillMs: 0,
    prefillTokens: 0,
    decodeMs: [] as number[],
    batchDecodeMs: [] as number[],
    loadMs: 0,
  }));
  let config: ModelConfig | null = null;
  let bytesPerToken = 0;
  for (let r = 0; r < (variants.length > 1 ? repeats : 1); r++) {
    for (const [v, { session, ...memory }] of variants.entries()) {
      const t0 = performance.now();
      const profile = options.profile === undefined ? {} : { profileDir: options.profile };
      const model = await loadModel(modelDir, {
        numBlocks,
        blockSize: 64,
        memory,
        session,
        ...profile,
        ...(options.compile === undefined ? {} : { compile: options.compile }),
        onProgress: (m) => process.stderr.write(`${m}\n`),
      });
      timings[v]!.loadMs += performance.now() - t0;
      config = model.config;
      bytesPerToken = cacheBytesPerToken(model.executor.cache);
      const timed = new TimedExecutor(model.executor);
      const vocab = model.config.vocabSize;
      const prompt = Array.from({ length: promptTokens }, (_, i) => ((i * 7919 + 13) % Math.min(vocab, 1000)) + 3);
      const params = { ...GREEDY, maxBatchTokens: promptTokens };
      await generateOffline(model.executor, model.tokenizer, prompt.slice(0, 16), { ...params, maxTokens: 4 }); // warm-up
      // One variant: `repeats` generations on one executor (as before); several: one per round, rounds interleaved.
      for (let i = 0; i < (variants.length > 1 ? 1 : repeats); i++) {
        await generateOffline(timed, model.tokenizer, prompt, { ...params, maxTokens: decodeTokens + 1 });
        if (decodeBatch > 1)
          timings[v]!.batchDecodeMs.push(
            ...(await runDecodeBatch(model.executor, decodeBatch, promptTokens, decodeTokens)).decodeStepMs,
          );
      }
      await model.executor.close();
      timings[v]!.prefillMs += timed.prefillMs;
      timings[v]!.prefillTokens += timed.prefillTokens;
      timings[v]!.decodeMs.push(...timed.decodeMs);
    }
  }
  const c = config!;
  const runs = variants.map(({ session, ...memory }, v) => {
    const t = timings[v]!;
    const sorted = [...t.decodeMs].sort((a, b) => a - b);
    const meanDecodeMs = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    return {
      executorMemory: describeExecutorMemory(memory),
      sessionOptions: describeSessionTuning(session),
      loadSeconds: +(t.loadMs / 1000 / (variants.length > 1 ? repeats : 1)).toFixed(2),
      prefillTokensPerSecond: +((t.prefillTokens / t.prefillMs) * 1000).toFixed(1),
      decodeTokensPerSecondBatch1: +(1000 / meanDecodeMs).toFixed(2),
      decodeMedianStepMs: +sorted[Math.floor(sorted.length / 2)]!.toFixed(2),
      decodeSteps: sorted.length,
      ...(decodeBatch > 1 ? batchReport(t.batchDecodeMs) : {}),
    };
  });
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  const report = {
    model: modelDir,
    layers: c.numHiddenLayers,
    hidden: c.hiddenSize,
    experts:
      c.moe === null
        ? 0
        : `${c.moe.nRoutedExperts} routed top-${c.moe.numExpertsPerTok} + ${c.moe.nSharedExperts} shared`,
    activeWeightMiBPerToken: +(activeWeightBytes(c) / 2 ** 20).toFixed(1),
    cacheBytesPerToken: bytesPerToken,
    prefillPromptTokens: promptTokens,
    ...(options.compile === undefined
      ? {}
      : { quant: options.compile.quant, kvCacheDtype: options.compile.kvCacheDtype }),
    ...(runs.length === 1 ? runs[0]! : { runs }),
    peakRssMiB: +maxRssMiB.toFixed(0),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await main();
