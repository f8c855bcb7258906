// Decode speed with and without a JSON-schema constraint, side by side in one process: free text and
// json_schema take turns round after round at each stream count, on the same model and engine, so a slow patch
// on this shared machine hits both. Reports output tok/s (median of rounds), the per-round ratio constrained ÷
// free, and what the grammar worker spent per step filling masks (it overlaps the model step; the engine waits
// only for what is left when the logits arrive).
//   npm run bench:structured [-- --model DIR] [--preset mini] [--streams 1,16] [--rounds 5] [--tokens 48]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { LatentEngine } from '../engine/engine.js';
import { DEFAULT_SAMPLING, type EngineRequest } from '../engine/types.js';
import { GrammarService } from '../grammar/grammar-service.js';
import type { GrammarSpec } from '../grammar/spec.js';
import { percentile } from '../loadtest/metrics.js';
import { defaultCacheDir } from '../model/compile.js';
import { loadModel } from '../model/load.js';
import { synthCacheDir, synthesizeCheckpoint, type SynthPreset } from '../synth/synth.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    preset: { type: 'string', default: 'mini' },
    streams: { type: 'string', default: '1,16' },
    rounds: { type: 'string', default: '5' },
    tokens: { type: 'string', default: '48' },
  },
});
const streamCounts = values.streams.split(',').map(Number);
const rounds = Number(values.rounds);
const maxTokens = Number(values.tokens);

let modelDir = values.model;
if (modelDir === undefined) {
  modelDir = synthCacheDir(defaultCacheDir(), values.preset, 0);
  if (!existsSync(join(modelDir, 'model.safetensors'))) {
    await synthesizeCheckpoint({
      outDir: modelDir,
      seed: 0,
      preset: values.preset as SynthPreset,
      onProgress: (m) => process.stderr.write(`synth: ${m}\n`),
    });
  }
}
const model = await loadModel(modelDir, { numBlocks: 256, blockSize: 64 });
const vocab = model.tokenizer.grammarVocab();
const grammars = new GrammarService({
  encodedVocab: vocab.tokens,
  vocabType: vocab.vocabType,
  vocabSize: model.config.vocabSize,
  stopTokenIds: model.tokenizer.eosTokenIds,
  cacheSize: 8,
  compileTimeoutMs: 60_000,
});
await grammars.start();
const engine = new LatentEngine(
  model.executor,
  model.tokenizer,
  {
    maxNumSeqs: 64,
    maxNumBatchedTokens: 512,
    maxWaiting: 256,
    maxModelLen: 4096,
    enablePrefixCaching: false,
  },
  {},
  undefined,
  grammars,
);

// A schema no output can complete within the token budget (64 items need well over 48 tokens), so free and
// constrained requests decode exactly the same number of tokens and their rates compare step for step.
const schema: GrammarSpec = {
  kind: 'json_schema',
  schema: {
    type: 'array',
    items: { type: 'object', properties: { id: { type: 'integer' }, ok: { type: 'boolean' } }, required: ['id', 'ok'] },
    minItems: 64,
  },
};
await grammars.compile(schema);

let nextId = 0;
/** Output tokens per second of `streams` concurrent requests, each decoding up to maxTokens. */
async function run(streams: number, grammar: GrammarSpec | null): Promise<{ rate: number; tokens: number }> {
  const t0 = performance.now();
  const counts = await Promise.all(
    Array.from({ length: streams }, async (_, i) => {
      const request: EngineRequest = {
        id: `bench-${nextId++}`,
        promptIds: [0, 5 + i, 6, 7],
        maxTokens,
        sampling: { ...DEFAULT_SAMPLING, seed: i },
        stop: [],
        stopTokenIds: [],
        ignoreEos: true,
        logprobs: null,
        promptLogprobs: null,
        grammar,
      };
      let tokens = 0;
      for await (const event of engine.submit(request)) if (event.type === 'delta') tokens += event.tokenIds.length;
      return tokens;
    }),
  );
  const tokens = counts.reduce((a, b) => a + b, 0);
  if (tokens !== streams * maxTokens)
    throw new Error(`expected ${streams * maxTokens} tokens, got ${tokens}: a request ended early`);
  return { rate: tokens / ((performance.now() - t0) / 1000), tokens };
}

const median = (xs: readonly number[]): number => percentile(xs, 50);
const r2 = (x: number): number => +x.toFixed(3);
const results = [];
for (const streams of streamCounts) {
  await run(streams, null);
  await run(streams, schema); // warm-up: arenas, shapes, matcher creation paths
  const free: number[] = [];
  const constrained: number[] = [];
  let constrainedTokens = 0;
  const before = { ...grammars.stats };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [null, schema] : [schema, null];
    for (const grammar of order) {
      await sleep(50);
      const { rate, tokens } = await run(streams, grammar);
      if (grammar === null) free.push(rate);
      else {
        constrained.push(rate);
        constrainedTokens += tokens;
      }
    }
  }
  const steps = grammars.stats.steps - before.steps;
  results.push({
    streams,
    freeTokensPerSecond: r2(median(free)),
    jsonSchemaTokensPerSecond: r2(median(constrained)),
    ratio: r2(median(constrained.map((c, i) => c / free[i]!))),
    maskMsPerStep: r2((grammars.stats.stepMs - before.stepMs) / Math.max(1, steps)),
    maskMsPerToken: r2((grammars.stats.stepMs - before.stepMs) / Math.max(1, constrainedTokens)),
  });
}
await engine.shutdown();
await grammars.shutdown();
await model.executor.close();
process.stdout.write(
  `${JSON.stringify({ model: modelDir, vocabSize: model.config.vocabSize, rounds, maxTokens, results })}\n`,
);
