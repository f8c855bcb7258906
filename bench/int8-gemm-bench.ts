// The int8 linear layer in both of the step graph's forms, timed side by side at several row counts: --quant int8
// (block-wise codes in MatMulNBits) against --quant w8a8 (per-channel codes in DynamicQuantizeMatMul, inputs scaled
// to unit rows), each a chain of --layers square layers built by GraphContext.linearOf, the code the step graph
// uses. With enough layers (--layers 600 at hidden 1024 is 600 MiB) the weights do not fit in the last-level
// cache, as a model's do not. Rounds alternate the two forms in this one process; prints µs per layer (median of
// rounds) and the ratio. Weights are random; nothing is asserted.
//   node dist/bench/int8-gemm-bench.js [--hidden 1024] [--layers 48] [--rows 1,2,4,16,64] [--rounds 5]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { percentile } from '../loadtest/metrics.js';
import { DEFAULT_QUANT_BLOCK_SIZE, type WeightQuant } from '../model/graph/compile-options.js';
import { GraphContext, type WeightSource } from '../model/graph/context.js';
import { DataType, GraphBuilder } from '../model/onnx/graph-builder.js';
import { WeightFile } from '../model/onnx/weight-file.js';
import { Rng } from '../util/rng.js';

const { values } = parseArgs({
  options: {
    hidden: { type: 'string', default: '1024' },
    layers: { type: 'string', default: '48' },
    rows: { type: 'string', default: '1,2,4,16,64' },
    rounds: { type: 'string', default: '5' },
  },
});
const hidden = Number(values.hidden);
const layers = Number(values.layers);
const rowCounts = values.rows.split(',').map(Number);
const rounds = Number(values.rounds);
const FORMS: readonly WeightQuant[] = ['int8', 'w8a8'];

const noSource: WeightSource = {
  has: () => false,
  readFloat32: (name) => {
    throw new Error(`no checkpoint tensor ${name}`);
  },
  info: (name) => {
    throw new Error(`no checkpoint tensor ${name}`);
  },
};

async function chain(dir: string, quant: WeightQuant): Promise<ort.InferenceSession> {
  const g = new GraphBuilder();
  const path = join(dir, `${quant}.onnx`);
  const file = new WeightFile(`${path}.data`);
  const ctx = new GraphContext(g, file, noSource, {
    quant,
    quantBlockSize: DEFAULT_QUANT_BLOCK_SIZE,
    kvCacheDtype: 'fp32',
  });
  const rng = new Rng(7, 'int8-gemm-bench');
  const w = new Float32Array(hidden * hidden);
  let x = g.input('x', DataType.FLOAT, ['m', hidden]);
  for (let l = 0; l < layers; l++) {
    rng.fillNormal(w, 0, 1 / Math.sqrt(hidden));
    x = ctx.linearOf(x, `layer${l}`, w, hidden, hidden);
  }
  g.output(x, DataType.FLOAT, ['m', hidden], 'y');
  writeFileSync(path, g.build('int8-gemm-bench'));
  file.close();
  return ort.InferenceSession.create(path, { graphOptimizationLevel: 'all' });
}

async function perLayerUs(session: ort.InferenceSession, rows: number): Promise<number> {
  const x = new Float32Array(rows * hidden);
  new Rng(rows, 'int8-gemm-bench-x').fillNormal(x, 0, 1);
  const feeds = { x: new ort.Tensor('float32', x, [rows, hidden]) };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const runs = 10;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await session.run(feeds);
  return ((performance.now() - t0) / runs / layers) * 1000;
}

const dir = mkdtempSync(join(tmpdir(), 'int8-gemm-bench-'));
try {
  const sessions = new Map<WeightQuant, ort.InferenceSession>();
  for (const q of FORMS) sessions.set(q, await chain(dir, q));
  process.stdout.write(
    `hidden ${hidden}, ${layers} chained layers (${((layers * hidden * hidden) / 2 ** 20).toFixed(0)} MiB of int8 codes), ${rounds} rounds\n`,
  );
  process.stdout.write(
    '| rows | int8 (MatMulNBits) µs/layer | w8a8 (DynamicQuantizeMatMul) µs/layer | int8 ÷ w8a8 |\n|---|---|---|---|\n',
  );
  for (const rows of rowCounts) {
    const samples = new Map<WeightQuant, number[]>(FORMS.map((q) => [q, []]));
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? FORMS : [...FORMS].reverse();
      for (const q of order) samples.get(q)!.push(await perLayerUs(sessions.get(q)!, rows));
    }
    const [a, b] = FORMS.map((q) => percentile(samples.get(q)!, 50)) as [number, number];
    process.stdout.write(`| ${rows} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)} |\n`);
  }
  for (const s of sessions.values()) await s.release();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
