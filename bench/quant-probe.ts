// One compile mode in its own process (so RSS is its own): resident memory of the loaded model and batch-1
// decode speed. Used by quant-bench.ts; prints one JSON line.
//
// Two memory figures:
//   modelRssMiB   everything the process gained from loading the model and running a 256-token prefill: weights,
//                 ONNX Runtime's library and activation arenas, the tokenizer, the worker thread.
//   weightRssMiB  the weights as they sit in memory: anonymous memory gained while the session was created (where
//                 ONNX Runtime prepacks MatMulNBits weights and copies any initializer it does not map) plus the
//                 resident pages of the memory-mapped weight file after the prefill (float32 weights are used in
//                 place, so only touched pages count). A copy or float cache made later, at run time, would show in
//                 modelRssMiB − weightRssMiB (runtimeRssMiB), which is reported too.
//   node dist/bench/quant-probe.js --model DIR [--quant none|int8|int4|w8a8] [--kv-cache-dtype fp32|fp8] [--decode-tokens 32 (0: memory only)]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compileFlagSpecs, compileOptionsFrom } from '../cli/compile-flags.js';
import { generateOffline } from '../engine/offline-generate.js';
import { decodeRate, GREEDY } from './decode-rate.js';
import { cacheBytesPerToken } from '../model/executor/types.js';
import { loadModel } from '../model/load.js';

const { values } = parseArgs({
  options: { model: { type: 'string' }, 'decode-tokens': { type: 'string', default: '32' }, ...compileFlagSpecs },
});
if (values.model === undefined) throw new Error('--model DIR is required');
const compile = compileOptionsFrom(values);

/** Resident set size now, from /proc (RSS of this process in MiB). */
function rssMiB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m === null ? process.memoryUsage().rss / 2 ** 20 : Number(m[1]) / 1024;
}

/** Anonymous resident memory of this process in MiB. */
function anonMiB(): number {
  const m = /^Anonymous:\s+(\d+) kB/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
  if (m === null) throw new Error('/proc/self/smaps_rollup has no Anonymous line');
  return Number(m[1]) / 1024;
}

/** Resident MiB of every mapping of a file whose path ends with `suffix`. */
function mappedRssMiB(suffix: string): number {
  let kb = 0;
  let inFile = false;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header !== null) inFile = header[1]!.endsWith(suffix);
    else if (inFile && line.startsWith('Rss:')) kb += Number(/(\d+)/.exec(line)![1]);
  }
  return kb / 1024;
}

const baseline = rssMiB();
const anonBefore = anonMiB();
const model = await loadModel(values.model, { compile, numBlocks: 16, blockSize: 64 });
const loadedAnon = anonMiB() - anonBefore;
// A 256-token prefill routes to every expert, so all weights are resident (mmapped float32 weights count only
// once touched) and arenas and prepacked buffers exist before RSS is read.
const warmup = Array.from({ length: 256 }, (_, i) => 3 + ((i * 7919) % Math.min(1000, model.config.vocabSize - 3)));
await generateOffline(model.executor, model.tokenizer, warmup, { ...GREEDY, maxTokens: 2 });
const loaded = rssMiB();
const weightRss = loadedAnon + mappedRssMiB('.onnx.data');
// Decode speed: the median of five runs from different prompts (this machine is shared; one run can be off by 30 %).
// --decode-tokens 0 skips it (quant-bench measures speed separately, all modes taking turns: decode-race.ts).
const decodeTokens = Number(values['decode-tokens']);
if (!(Number.isSafeInteger(decodeTokens) && decodeTokens >= 0)) throw new Error('--decode-tokens takes a whole number');
const rates: number[] = [];
for (let run = 0; decodeTokens > 0 && run < 5; run++)
  rates.push(await decodeRate(model, [0, 5 + run, 6, 7], decodeTokens));
rates.sort((a, b) => a - b);
await model.executor.close();
process.stdout.write(
  `${JSON.stringify({
    mode: compile,
    modelRssMiB: +(loaded - baseline).toFixed(1),
    weightRssMiB: +weightRss.toFixed(1),
    runtimeRssMiB: +(loaded - baseline - weightRss).toFixed(1),
    ...(rates.length === 0
      ? {}
      : {
          decodeTokensPerSecond: +rates[2]!.toFixed(2),
          decodeRangeTokensPerSecond: [+rates[0]!.toFixed(2), +rates[4]!.toFixed(2)],
        }),
    cacheBytesPerToken: cacheBytesPerToken(model.executor.cache),
  })}\n`,
);
