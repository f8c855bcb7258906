// Batch-1 decode speed of several compile modes, measured side by side: every mode is loaded into this one
// process and the modes take turns, round after round, each decoding the same prompt while the others sit idle.
// A slow patch on this shared machine then hits every mode of that round instead of whichever mode happened to be
// running, so the per-round ratios against the first mode are steadier than rates taken minutes apart.
// The order rotates each round (no mode always runs first, after the same neighbour), and each turn waits a moment
// first so the previous session's intra-op threads have stopped spinning. Prints one JSON line.
//   node dist/bench/decode-race.js --model DIR --mode none --mode int8 [--mode int8,fp8 …] [--rounds 7] [--decode-tokens 32]
// A mode is QUANT[,KV_CACHE_DTYPE]; the first is the baseline.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { compileOptionsFrom } from '../cli/compile-flags.js';
import { percentile } from '../loadtest/metrics.js';
import { loadModel, type LoadedModel } from '../model/load.js';
import { decodeRate } from './decode-rate.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    mode: { type: 'string', multiple: true, default: ['none', 'int8'] },
    rounds: { type: 'string', default: '7' },
    'decode-tokens': { type: 'string', default: '32' },
  },
});
if (values.model === undefined) throw new Error('--model DIR is required');
const rounds = Number(values.rounds);
const decodeTokens = Number(values['decode-tokens']);
if (!(Number.isSafeInteger(rounds) && rounds > 0 && Number.isSafeInteger(decodeTokens) && decodeTokens > 0))
  throw new Error('--rounds and --decode-tokens take positive integers');

const modes = values.mode.map((m) => {
  const [quant = 'none', kvCacheDtype = 'fp32'] = m.split(',');
  return compileOptionsFrom({ quant, 'kv-cache-dtype': kvCacheDtype });
});
const models: LoadedModel[] = [];
for (const compile of modes) models.push(await loadModel(values.model, { compile, numBlocks: 4, blockSize: 64 }));

const prompt = [0, 5, 6, 7];
for (const model of models) await decodeRate(model, prompt, decodeTokens); // warm-up: arenas, prepacked weights, first-run costs
const rates: number[][] = modes.map(() => []);
for (let round = 0; round < rounds; round++) {
  for (let turn = 0; turn < modes.length; turn++) {
    const i = (round + turn) % modes.length;
    await sleep(50);
    rates[i]!.push(await decodeRate(models[i]!, prompt, decodeTokens));
  }
}
for (const model of models) await model.executor.close();

const median = (xs: readonly number[]): number => percentile(xs, 50);
const round2 = (x: number): number => +x.toFixed(2);
process.stdout.write(
  `${JSON.stringify({
    rounds,
    decodeTokens,
    modes: modes.map((mode, i) => ({
      mode,
      decodeTokensPerSecond: round2(median(rates[i]!)),
      decodeRangeTokensPerSecond: [round2(Math.min(...rates[i]!)), round2(Math.max(...rates[i]!))],
      // Median over rounds of this mode's rate divided by the baseline's rate in the same round.
      vsBaseline: round2(median(rates[i]!.map((r, round) => r / rates[0]![round]!))),
    })),
  })}\n`,
);
