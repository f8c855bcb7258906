// bench:sampling — main-thread time per decode step with sampling on the HTTP thread (before: the step's
// [rows, vocab] logits come back and are walked in JavaScript here) and in the executor worker (after: the step
// carries row specs, the worker samples, ids come back). Both in one run, in alternating rounds, through real
// worker_threads messages; the "model" is a fixed logits block in the worker (bench/sampling-bench-worker.ts), so
// only sampling and its transport differ. Main-thread time is the event loop's active time
// (performance.eventLoopUtilization) per step. Prints numbers; asserts nothing.
//   node dist/bench/sampling-bench.js [--streams 32] [--vocab 129280] [--steps 20] [--rounds 5]
//     [--logprobs-rows 4] [--penalty-rows 8]
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { GrammarMasks } from '../engine/grammar-masks.js';
import { Request } from '../engine/request.js';
import type { ScheduledRequest } from '../engine/scheduler.js';
import type { RowPlan } from '../engine/step-inputs.js';
import { Draws, StepSampler, type SamplingState } from '../engine/step-sampler.js';
import { Rng } from '../util/rng.js';
import { PenaltyTracker, applyLogitsProcessors } from '../sampling/logits-processors.js';
import { logprobEntry } from '../sampling/logprobs.js';
import { SamplingScratch, sampleToken } from '../sampling/sample-token.js';
import type { RowResult } from '../sampling/step-spec.js';
import { DEFAULT_SAMPLING, type SamplingOptions } from '../sampling/types.js';
import type { BenchStep, BenchWorkerInit } from './sampling-bench-worker.js';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '32' },
    vocab: { type: 'string', default: '129280' },
    steps: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '5' },
    'logprobs-rows': { type: 'string', default: '4' },
    'penalty-rows': { type: 'string', default: '8' },
  },
});
const streams = Number(values.streams);
const vocab = Number(values.vocab);
const steps = Number(values.steps);
const rounds = Number(values.rounds);
const logprobRows = Number(values['logprobs-rows']);
const penaltyRows = Number(values['penalty-rows']);

/** 32 chat-like streams: nucleus sampling; some with penalties (and logit_bias), some asking for logprobs. */
function options(i: number): SamplingOptions {
  const base = { ...DEFAULT_SAMPLING, temperature: 0.7, topP: 0.95, seed: i };
  return i < penaltyRows
    ? { ...base, repetitionPenalty: 1.1, frequencyPenalty: 0.2, logitBias: new Map([[100 + i, 2]]) }
    : base;
}

function states(): Map<string, SamplingState> {
  const out = new Map<string, SamplingState>();
  for (let i = 0; i < streams; i++) {
    const promptIds = Array.from({ length: 512 }, (_, t) => (t * 7919 + i) % vocab);
    const request = new Request(
      {
        id: `s${i}`,
        promptIds,
        maxTokens: 1 << 20,
        sampling: options(i),
        stop: [],
        stopTokenIds: [],
        ignoreEos: true,
        logprobs: i >= streams - logprobRows ? 5 : null,
        promptLogprobs: null,
      },
      [],
      0,
    );
    out.set(request.id, {
      request,
      draws: new Draws(new Rng(i)),
      penalties: new PenaltyTracker(promptIds),
      matcher: null,
    });
  }
  return out;
}

function plans(live: ReadonlyMap<string, SamplingState>): RowPlan[] {
  return [...live.values()].map((s, row) => ({
    scheduled: {
      request: s.request,
      start: s.request.numTokens - 1,
      numNewTokens: 1,
      samples: true,
    } satisfies ScheduledRequest,
    promptRows: [],
    sampleRow: row,
  }));
}

/** The loop engine/step-sampler.ts ran on the HTTP thread before: check, copy, penalize, sample, score each row. */
class MainThreadSampler {
  private readonly processed = new Float32Array(vocab);
  private readonly scratch = new Float32Array(vocab);
  private readonly samplingScratch = new SamplingScratch();
  private readonly rngs = new Map<string, Rng>();

  sample(logits: Float32Array, live: ReadonlyMap<string, SamplingState>): number {
    let row = 0;
    let sum = 0;
    for (const [id, s] of live) {
      const raw = logits.subarray(row * vocab, (row + 1) * vocab);
      row++;
      let finite = false;
      for (const v of raw) {
        if (v !== v || v === Infinity) throw new Error('non-finite');
        if (v !== -Infinity) finite = true;
      }
      if (!finite) throw new Error('no finite logit');
      this.processed.set(raw);
      applyLogitsProcessors(this.processed, s.request.sampling, s.penalties);
      let rng = this.rngs.get(id);
      if (rng === undefined) this.rngs.set(id, (rng = new Rng(Number(id.slice(1)) + 1000)));
      const token = sampleToken(this.processed, s.request.sampling, rng, this.samplingScratch);
      s.penalties.add(token);
      if (s.request.logprobs !== null) logprobEntry(raw, token, s.request.logprobs, this.scratch);
      sum += token;
    }
    return sum;
  }
}

function request<T>(worker: Worker, msg: BenchStep): Promise<T> {
  return new Promise((resolve) => {
    worker.once('message', resolve);
    worker.postMessage(msg);
  });
}

async function runMode(mode: 'before' | 'after', worker: Worker): Promise<{ mainMs: number; wallMs: number }> {
  const live = states();
  const before = new MainThreadSampler();
  const after = new StepSampler(new GrammarMasks(null));
  const stepPlans = plans(live);
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    if (mode === 'before') {
      const { logits } = await request<{ logits: Float32Array }>(worker, { kind: 'logits' });
      before.sample(logits, live);
    } else {
      const rows = after.plan(stepPlans, live, []);
      const { results } = await request<{ results: RowResult[] }>(worker, { kind: 'sample', rows: rows.specs });
      const out = after.collect(rows, results, live);
      if (out.sampled.size !== streams) throw new Error(`sampled ${out.sampled.size} of ${streams}`);
    }
  }
  const wallMs = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0);
  return { mainMs: elu.active / steps, wallMs: wallMs / steps };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]): string =>
  `median ${median(xs).toFixed(2)} (range ${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;

async function main(): Promise<void> {
  const worker = new Worker(new URL('./sampling-bench-worker.js', import.meta.url), {
    workerData: { rows: streams, vocab } satisfies BenchWorkerInit,
  });
  await runMode('before', worker); // warm-up: JIT, buffers
  await runMode('after', worker);
  const results = {
    before: { main: [] as number[], wall: [] as number[] },
    after: { main: [] as number[], wall: [] as number[] },
  };
  console.log(
    `bench:sampling: ${streams} streams, vocab ${vocab}, ${steps} steps a round, ${rounds} rounds (order alternates); ${penaltyRows} rows with penalties + logit_bias, ${logprobRows} with logprobs 5`,
  );
  for (let r = 0; r < rounds; r++) {
    const order: ('before' | 'after')[] = r % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
    for (const mode of order) {
      const { mainMs, wallMs } = await runMode(mode, worker);
      results[mode].main.push(mainMs);
      results[mode].wall.push(wallMs);
      console.log(
        `  round ${r + 1} ${mode.padEnd(6)} main thread ${mainMs.toFixed(2)} ms/step, wall ${wallMs.toFixed(2)} ms/step`,
      );
    }
  }
  console.log(
    `before (logits walked on the main thread): main thread ms/step ${fmt(results.before.main)}; wall ms/step ${fmt(results.before.wall)}`,
  );
  console.log(
    `after  (sampled in the worker):            main thread ms/step ${fmt(results.after.main)}; wall ms/step ${fmt(results.after.wall)}`,
  );
  const ratios = results.before.main.map((b, i) => b / results.after.main[i]!);
  console.log(
    `main-thread time before ÷ after, per round: ${ratios.map((x) => x.toFixed(1)).join(', ')} (median ${median(ratios).toFixed(1)}×)`,
  );
  await worker.terminate();
}

await main();
