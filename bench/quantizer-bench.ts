// The block quantizer alone, before and after: quantizeRowsIntoReference (the element-by-element loop the
// compiler used until issue 12's quantizer change) and quantizeRowsInto, taking turns round after round on the
// same 4096×4096 float32 weight (block 64, as bench:compile), for int8 and int4. Prints GB of float32 input per
// second for each (median over rounds), the median of per-round speed-ups, and checks the outputs are identical.
//   node dist/bench/quantizer-bench.js [--rounds 5]
import { parseArgs } from 'node:util';
import { allocateBlocks, quantizeRowsInto, type BlockBits, type BlockQuantized } from '../quant/int-blocks.js';
import { quantizeRowsIntoReference } from '../quant/int-blocks-reference.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
const rows = 4096;
const cols = 4096;
const blockSize = 64;
const w = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i) * 0.02);

type Quantizer = (dst: BlockQuantized, w: Float32Array) => void;

function timeOnce(quantize: Quantizer, dst: BlockQuantized): number {
  const t0 = performance.now();
  quantize(dst, w);
  return w.byteLength / 1e9 / ((performance.now() - t0) / 1000);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const report: Record<string, unknown>[] = [];
for (const bits of [8, 4] as BlockBits[]) {
  const before = allocateBlocks(rows, cols, bits, blockSize);
  const after = allocateBlocks(rows, cols, bits, blockSize);
  quantizeRowsIntoReference(before, w); // warm-up (and the outputs compared below)
  quantizeRowsInto(after, w);
  const identical = Buffer.compare(before.data, after.data) === 0 && Buffer.compare(Buffer.from(before.scales.buffer), Buffer.from(after.scales.buffer)) === 0;
  const beforeGBs: number[] = [];
  const afterGBs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    beforeGBs.push(timeOnce(quantizeRowsIntoReference, before));
    afterGBs.push(timeOnce(quantizeRowsInto, after));
  }
  const ratios = afterGBs.map((a, i) => a / (beforeGBs[i] ?? NaN));
  report.push({ bits, identical, beforeGBs: median(beforeGBs), afterGBs: median(afterGBs), speedup: median(ratios), perRoundSpeedups: ratios.map((x) => Number(x.toFixed(2))) });
}
process.stdout.write(`${JSON.stringify({ rows, cols, blockSize, rounds, report }, null, 2)}\n`);
