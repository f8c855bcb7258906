// One routed-expert layer of a checkpoint's shapes (shared experts left out) as its own small graph, in several
// forms, timed side by side at 1, 16 and 64 rows (rounds interleaved in this one process):
//   sorted-int8  the step graph's code (moe.ts): pairs sorted by expert, one MatMulNBits per expert
//   sorted-f32   the same code on float32 weights: one Gemm per expert
//   moe-f32      com.microsoft.MoE (float32 experts stacked, swiglu fused; what float32 used before graph-v10)
//   qmoe-int8    com.microsoft.QMoE (8-bit experts, per-row scales)
// Weights are synthetic (the routing still varies per row); only the shapes come from the checkpoint's config.
//   node dist/bench/moe-layer-bench.js [--model DIR] [--variant sorted-int8 --variant moe-f32 …] [--rounds 7]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { loadModelConfig } from '../model/config.js';
import { GraphContext, type WeightSource } from '../model/graph/context.js';
import { moeFeedForward } from '../model/graph/moe.js';
import { DataType, GraphBuilder, MS_DOMAIN, type Value } from '../model/onnx/graph-builder.js';
import { WeightFile } from '../model/onnx/weight-file.js';
import { defaultCacheDir } from '../model/compile.js';
import { synthCacheDir } from '../synth/synth.js';
import { percentile } from '../loadtest/metrics.js';

const VARIANTS = ['sorted-int8', 'sorted-f32', 'moe-f32', 'qmoe-int8'] as const;
type Variant = (typeof VARIANTS)[number];
const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    variant: { type: 'string', multiple: true, default: [...VARIANTS] },
    rounds: { type: 'string', default: '7' },
  },
});
const variants = values.variant.map((v) => {
  if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`--variant must be one of ${VARIANTS.join(', ')}`);
  return v as Variant;
});
const config = loadModelConfig(values.model ?? synthCacheDir(defaultCacheDir(), 'mini', 0));
if (config.moe === null) throw new Error('the checkpoint has no routed experts');
const moe = { ...config.moe, nSharedExperts: 0 };
const hidden = config.hiddenSize;
const inter = moe.moeIntermediateSize;
const experts = moe.nRoutedExperts;

/** Deterministic values in ±0.025 (an LCG: cheap, and every tensor differs by its seed). */
function synthetic(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 0.05;
  }
  return a;
}
const source: WeightSource = {
  has: () => true,
  info: (name) => ({
    shape: name.endsWith('gate.weight')
      ? [experts, hidden]
      : name.endsWith('down_proj.weight')
        ? [hidden, inter]
        : [inter, hidden],
  }),
  readFloat32: (name) => {
    const [rows, cols] = source.info(name).shape as [number, number];
    let seed = 0;
    for (const c of name) seed = (Math.imul(seed, 31) + c.charCodeAt(0)) >>> 0;
    return synthetic(rows * cols, seed);
  },
};

const dir = mkdtempSync(join(tmpdir(), 'moe-layer-'));
async function session(variant: Variant): Promise<ort.InferenceSession> {
  const g = new GraphBuilder();
  const path = join(dir, `${variant}.onnx`);
  const file = new WeightFile(`${path}.data`);
  try {
    const ctx = new GraphContext(g, file, source, {
      quant: variant === 'sorted-int8' ? 'int8' : 'none',
      quantBlockSize: 64,
      kvCacheDtype: 'fp32',
    });
    const h = g.input('h', DataType.FLOAT, ['n', hidden]);
    let y: Value;
    if (variant === 'qmoe-int8' || variant === 'moe-f32') {
      // Timing only: constant expert weights of the right shapes (the kernels' cost does not depend on them).
      const logits = ctx.floatLinear(h, 'x.gate.weight');
      const count = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
      const codes = (name: string, dims: number[]) =>
        g.external(name, DataType.UINT8, dims, file.append(new Uint8Array(count(dims)).fill(130)));
      const floats = (name: string, dims: number[], value: number) =>
        g.external(name, DataType.FLOAT, dims, file.append(new Float32Array(count(dims)).fill(value)));
      const attributes = {
        k: moe.numExpertsPerTok,
        activation_type: 'swiglu',
        swiglu_fusion: 1,
        normalize_routing_weights: 0,
      };
      y =
        variant === 'moe-f32'
          ? g.op1(
              'MoE',
              [
                h,
                logits,
                floats('fc1', [experts, 2 * inter, hidden], 1e-3),
                null,
                floats('fc2', [experts, hidden, inter], 1e-3),
              ],
              { ...attributes, activation_alpha: { float: 1 }, activation_beta: { float: 0 } },
              MS_DOMAIN,
            )
          : g.op1(
              'QMoE',
              [
                h,
                logits,
                codes('fc1', [experts, 2 * inter, hidden]),
                floats('s1', [experts, 2 * inter], 1e-3),
                null,
                codes('fc2', [experts, hidden, inter]),
                floats('s2', [experts, hidden], 1e-3),
              ],
              { ...attributes, expert_weight_bits: 8 },
              MS_DOMAIN,
            );
      // ONNX Runtime 1.30's CPU MoE kernels are registered MayInplace(0, 0) but zero their output before reading
      // the input: a graph output is never reused in place, so h is exposed as one.
      g.output(h, DataType.FLOAT, ['n', hidden]);
    } else {
      y = moeFeedForward(ctx, config, moe, 'x', h);
    }
    g.output(y, DataType.FLOAT, ['n', hidden], 'y');
    writeFileSync(path, g.build('moe-layer'));
  } finally {
    file.close();
  }
  return ort.InferenceSession.create(path, { graphOptimizationLevel: 'all' });
}

const sessions: ort.InferenceSession[] = [];
for (const v of variants) sessions.push(await session(v));
const results = [];
for (const rows of [1, 16, 64]) {
  const feeds = { h: new ort.Tensor('float32', synthetic(rows * hidden, rows), [rows, hidden]) };
  for (const s of sessions) for (let i = 0; i < 3; i++) await s.run(feeds);
  const ms: number[][] = variants.map(() => []);
  for (let r = 0; r < Number(values.rounds); r++) {
    for (let turn = 0; turn < sessions.length; turn++) {
      const i = (r + turn) % sessions.length;
      const t0 = performance.now();
      for (let j = 0; j < 5; j++) await sessions[i]!.run(feeds);
      ms[i]!.push((performance.now() - t0) / 5);
    }
  }
  results.push({
    rows,
    msPerLayer: Object.fromEntries(
      variants.map((v, i) => [
        v,
        {
          median: +percentile(ms[i]!, 50).toFixed(2),
          range: [+Math.min(...ms[i]!).toFixed(2), +Math.max(...ms[i]!).toFixed(2)],
        },
      ]),
    ),
  });
}
for (const s of sessions) await s.release();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ hidden, inter, experts, topK: moe.numExpertsPerTok, results })}\n`);
