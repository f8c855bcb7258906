// RSS probe: resident memory after N executor steps, for each ONNX Runtime memory variant (memory-options.ts) and
// with or without shape buckets. Every variant runs in its own process (RSS never shrinks, so variants cannot share
// one) on the same seeded stream of serving-like steps: a random batch of 1–32 sequences, mostly decodes with
// 1–320 cached tokens, and in 40 % of steps one prefill chunk of up to 300 tokens — each step a new combination of
// (num_tokens, batch, query_len, max_blocks, num_logits), as under load. Prints RSS at each sample point, the
// distinct shapes ONNX Runtime saw (and dimension sizes), and the mean step time, per variant. Asserts nothing.
//   node dist/bench/rss-probe.js [--model DIR | --preset demo] [--steps 1500] [--sample-every 100] [--seed 1]
//     [--variants 'memPattern=1,cpuArena=1,shapeBuckets=0|memPattern=0,...']   (a variant may end with
//     ' paddedSlots=N' to cap batch × prefill chunk as the scheduler does, and/or ' env:NAME=VALUE' to set an
//     environment variable for its process, e.g. env:MALLOC_ARENA_MAX=2)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultCacheDir } from '../model/compile.js';
import { parseExecutorMemory } from '../model/executor/memory-options.js';
import type { BlockId, ForwardInputs, SequenceSlice } from '../model/executor/types.js';
import { loadModel } from '../model/load.js';
import { Rng } from '../util/rng.js';
import type { SynthPreset } from '../synth/synth.js';
import { synthesizeCheckpoint } from '../synth/synth.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    preset: { type: 'string', default: 'demo' },
    steps: { type: 'string', default: '1500' },
    'sample-every': { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    'num-blocks': { type: 'string', default: '303' }, // demo's 64 MiB cache (the soak's)
    'max-batch': { type: 'string', default: '32' },
    variants: {
      type: 'string',
      default: [
        'memPattern=1,cpuArena=1,shapeBuckets=0',
        'memPattern=0,cpuArena=1,shapeBuckets=0',
        'memPattern=1,cpuArena=0,shapeBuckets=0',
        'memPattern=0,cpuArena=0,shapeBuckets=0',
        'memPattern=1,cpuArena=1,shapeBuckets=1',
        'memPattern=0,cpuArena=1,shapeBuckets=1',
        'memPattern=0,cpuArena=0,shapeBuckets=1',
      ].join('|'),
    },
    child: { type: 'string' },
  },
});
const steps = Number(values.steps);
const sampleEvery = Number(values['sample-every']);
const numBlocks = Number(values['num-blocks']);
const maxBatch = Number(values['max-batch']);
const BLOCK_SIZE = 64;

interface Sample {
  readonly step: number;
  readonly rssMiB: number;
  readonly shapes: number;
  readonly sizes: number;
}
interface ChildReport {
  readonly variant: string;
  readonly samples: Sample[];
  readonly meanStepMs: number;
}

/** A serving-like step: B sequences, mostly decodes, sometimes one prefill chunk; every sequence samples. */
function randomStep(rng: Rng, paddedSlots: number): ForwardInputs {
  const int = (lo: number, hi: number): number => lo + Math.floor(rng.nextUnit() * (hi - lo + 1));
  const batch = int(1, maxBatch);
  // The scheduler's cap on batch × longest chunk (engine/scheduler.ts), when the variant sets one.
  const prefill = Math.min(
    rng.nextUnit() < 0.4 ? int(2, Math.min(300, 512 - batch + 1)) : 0,
    Math.floor(paddedSlots / batch),
  );
  const seqs: SequenceSlice[] = [];
  const tokenIds: number[] = [];
  const positions: number[] = [];
  const slots: number[] = [];
  const logits: number[] = [];
  for (let b = 0; b < batch; b++) {
    const queryLen = b === 0 && prefill > 0 ? prefill : 1;
    const contextLen = b === 0 && prefill > 0 ? int(0, 200) : int(1, 320);
    const blockTable = Array.from(
      { length: Math.ceil((contextLen + queryLen) / BLOCK_SIZE) },
      () => int(0, numBlocks - 1) as BlockId,
    );
    for (let t = 0; t < queryLen; t++) {
      const pos = contextLen + t;
      tokenIds.push(int(3, 999));
      positions.push(pos);
      slots.push(blockTable[Math.floor(pos / BLOCK_SIZE)]! * BLOCK_SIZE + (pos % BLOCK_SIZE));
    }
    logits.push(tokenIds.length - 1);
    seqs.push({ queryLen, contextLen, blockTable });
  }
  return {
    tokenIds: Int32Array.from(tokenIds),
    positions: Int32Array.from(positions),
    seqs,
    slotMapping: Int32Array.from(slots),
    logitsIndices: Int32Array.from(logits),
  };
}

async function modelDir(): Promise<string> {
  if (values.model !== undefined) return values.model;
  const dir = join(defaultCacheDir(), 'synth', `${values.preset}-seed0`);
  if (!existsSync(join(dir, 'model.safetensors'))) {
    await synthesizeCheckpoint({
      outDir: dir,
      seed: 0,
      preset: values.preset as SynthPreset,
      onProgress: (m) => process.stderr.write(`synth: ${m}\n`),
    });
  }
  return dir;
}

async function runChild(variant: string): Promise<void> {
  const parts = variant.split(' ');
  const memory = parseExecutorMemory(parts[0]!);
  const cap = /^paddedSlots=(\d+)$/.exec(parts.find((p) => p.startsWith('paddedSlots=')) ?? '');
  const paddedSlots = cap === null ? Infinity : Number(cap[1]);
  const model = await loadModel(await modelDir(), { numBlocks, blockSize: BLOCK_SIZE, memory });
  const rng = new Rng(Number(values.seed), 'rss-probe');
  const rssMiB = (): number => +(process.memoryUsage.rss() / 2 ** 20).toFixed(1);
  const samples: Sample[] = [{ step: 0, rssMiB: rssMiB(), shapes: 0, sizes: 0 }];
  let stepMs = 0;
  for (let i = 1; i <= steps; i++) {
    const inputs = randomStep(rng, paddedSlots);
    const t0 = performance.now();
    await model.executor.step(inputs);
    stepMs += performance.now() - t0;
    if (i % sampleEvery === 0)
      samples.push({
        step: i,
        rssMiB: rssMiB(),
        shapes: model.executor.numShapesSeen,
        sizes: model.executor.numSizesSeen,
      });
  }
  await model.executor.close();
  const report: ChildReport = { variant, samples, meanStepMs: +(stepMs / steps).toFixed(2) };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function runVariant(variant: string): Promise<ChildReport> {
  const envSpec = variant
    .split(' ')
    .find((p) => p.startsWith('env:'))
    ?.slice(4);
  const env = { ...process.env };
  if (envSpec !== undefined) {
    const [name, value] = envSpec.split('=');
    env[name!] = value ?? '';
  }
  const args = [
    fileURLToPath(import.meta.url),
    '--child',
    variant,
    '--steps',
    String(steps),
    '--sample-every',
    String(sampleEvery),
    '--seed',
    values.seed,
    '--num-blocks',
    String(numBlocks),
    '--max-batch',
    String(maxBatch),
    ...(values.model === undefined ? ['--preset', values.preset] : ['--model', values.model]),
  ];
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.once('exit', (code) => {
      if (code !== 0) reject(new Error(`variant ${variant} exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildReport);
    });
  });
}

async function main(): Promise<void> {
  if (values.child !== undefined) return runChild(values.child);
  await modelDir(); // synthesize once, before the variants race for it
  const reports: ChildReport[] = [];
  for (const variant of values.variants.split('|')) {
    const r = await runVariant(variant);
    reports.push(r);
    const quarter = r.samples[Math.max(1, Math.round(r.samples.length / 4))]!;
    const last = r.samples.at(-1)!;
    process.stdout.write(
      `${variant.padEnd(60)} RSS ${r.samples.map((s) => s.rssMiB.toFixed(0)).join(' ')} MiB | ` +
        `step ${quarter.step}→${last.step}: +${(last.rssMiB - quarter.rssMiB).toFixed(0)} MiB | shapes ${last.shapes}, sizes ${last.sizes} | ${r.meanStepMs} ms/step\n`,
    );
  }
  process.stdout.write(`${JSON.stringify({ steps, sampleEvery, seed: Number(values.seed), numBlocks, reports })}\n`);
}

await main();
