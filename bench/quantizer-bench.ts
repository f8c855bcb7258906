// The block quantizer alone, before and after: quantizeRowsIntoReference (the element-by-element loop the
// compiler used until issue 12's quantizer change), quantizeBlocks (the new loop, one thread) and a
// BlockQuantizePool (the new loop on --threads threads, default os.availableParallelism(), copy of the input into
// shared memory included), each allocating its output as the compiler's call does, taking turns round after round on the same 4096×4096 float32 weight (block 64, as
// bench:compile), for int8 and int4. Prints GB of float32 input per second for each (median over rounds), the
// medians of per-round speed-ups over the old loop, and whether all outputs are identical.
//   node dist/bench/quantizer-bench.js [--rounds 5] [--threads N]
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { BlockQuantizePool } from '../quant/block-quantize-pool.js';
import {
  allocateBlocks,
  quantizeBlocks,
  type BlockBits,
  type BlockQuantized,
  type BlockQuantizer,
} from '../quant/int-blocks.js';
import { quantizeRowsIntoReference } from '../quant/int-blocks-reference.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, threads: { type: 'string' } } });
const rounds = Number(values.rounds);
const threads = values.threads === undefined ? availableParallelism() : Number(values.threads);
const pool = new BlockQuantizePool({ threads });
const rows = 4096;
const cols = 4096;
const blockSize = 64;
const w = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i) * 0.02);

// Each contender allocates its output, as the compiler's quantizeBlocks call does (fresh pages cost here too).
const contenders: Record<string, BlockQuantizer> = {
  oldLoop: (x, r, c, bits, bs) => {
    const out = allocateBlocks(r, c, bits, bs);
    quantizeRowsIntoReference(out, x);
    return out;
  },
  newLoop: quantizeBlocks,
  pool: pool.quantizeBlocks,
};

function timeOnce(quantize: BlockQuantizer, bits: BlockBits): { gbPerSecond: number; out: BlockQuantized } {
  const t0 = performance.now();
  const out = quantize(w, rows, cols, bits, blockSize);
  return { gbPerSecond: w.byteLength / 1e9 / ((performance.now() - t0) / 1000), out };
}

const sameBytes = (a: BlockQuantized, b: BlockQuantized): boolean =>
  Buffer.compare(a.data, b.data) === 0 &&
  Buffer.compare(
    new Uint8Array(a.scales.buffer, 0, a.scales.byteLength),
    new Uint8Array(b.scales.buffer, 0, b.scales.byteLength),
  ) === 0;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const report: Record<string, unknown>[] = [];
for (const bits of [8, 4] as BlockBits[]) {
  const expected = timeOnce(contenders['oldLoop'] as BlockQuantizer, bits).out;
  let identical = true;
  const gbs: Record<string, number[]> = { oldLoop: [], newLoop: [], pool: [] };
  for (let r = -1; r < rounds; r++) {
    // round -1 warms up (JIT, pool workers, staging pages) and is not counted
    for (const [name, quantize] of Object.entries(contenders)) {
      const { gbPerSecond, out } = timeOnce(quantize, bits);
      identical &&= sameBytes(expected, out);
      if (r >= 0) gbs[name]?.push(gbPerSecond);
    }
  }
  const old = gbs['oldLoop'] ?? [];
  const speedups = (xs: number[]): number[] => xs.map((x, i) => Number((x / (old[i] ?? NaN)).toFixed(2)));
  report.push({
    bits,
    identical,
    oldLoopGBs: median(old),
    newLoopGBs: median(gbs['newLoop'] ?? []),
    poolGBs: median(gbs['pool'] ?? []),
    newLoopSpeedup: median(speedups(gbs['newLoop'] ?? [])),
    poolSpeedup: median(speedups(gbs['pool'] ?? [])),
    perRound: { newLoop: speedups(gbs['newLoop'] ?? []), pool: speedups(gbs['pool'] ?? []) },
  });
}
pool.close();
process.stdout.write(`${JSON.stringify({ rows, cols, blockSize, rounds, threads, report }, null, 2)}\n`);
