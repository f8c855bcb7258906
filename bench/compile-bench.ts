// Compile throughput: GB of checkpoint compiled per second for float32 and int8 (and int8 from an FP8 checkpoint,
// DeepSeek-V3's release format), on synthetic `mini` checkpoints (generated on first use), next to this disk's
// sequential write speed and the int8 quantizer's own rate, and what that means for DeepSeek-V2-Lite (31.4 GB of
// BF16) and DeepSeek-V3 (≈688 GB of FP8) on this machine. Each compile runs into a fresh folder; the checkpoint
// is read once beforehand, so its pages are warm for every mode alike (reading from a cold disk is its own limit).
//   node dist/bench/compile-bench.js [--preset mini|demo]
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  fsyncSync,
  writeSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compileModel, defaultCacheDir } from '../model/compile.js';
import type { CompileProgress } from '../model/compile-progress.js';
import { formatSeconds } from '../model/compile-progress.js';
import { FLOAT_COMPILE } from '../model/graph/compile-options.js';
import { synthesizeCheckpoint, type SynthPreset } from '../synth/synth.js';
import { BlockQuantizePool } from '../quant/block-quantize-pool.js';
import { quantizeBlocks, type BlockQuantizer } from '../quant/int-blocks.js';

const { values } = parseArgs({ options: { preset: { type: 'string', default: 'mini' } } });
const preset = values.preset as SynthPreset;
const V2_LITE_BYTES = 31.4e9;
const V3_BYTES = 688e9;

async function checkpoint(dtype: 'BF16' | 'FP8'): Promise<string> {
  const dir = join(defaultCacheDir(), 'synth', `${preset}-seed0${dtype === 'FP8' ? '-fp8' : ''}`);
  if (!existsSync(join(dir, 'model.safetensors'))) {
    await synthesizeCheckpoint({
      outDir: dir,
      seed: 0,
      preset,
      dtype,
      onProgress: (m) => process.stderr.write(`synth: ${m}\n`),
    });
  }
  readFileSync(join(dir, 'model.safetensors')); // warm the page cache
  return dir;
}

interface Row {
  mode: string;
  checkpointGB: number;
  seconds: number;
  gbPerSecond: number;
  writtenGB: number;
}

function compileOnce(mode: string, dir: string, quant: 'none' | 'int8', quantThreads?: number): Row {
  const cacheDir = mkdtempSync(join(tmpdir(), 'compile-bench-'));
  try {
    let last: CompileProgress | null = null;
    const t0 = performance.now();
    const compiled = compileModel(dir, {
      cacheDir,
      compile: { ...FLOAT_COMPILE, quant },
      quantThreads,
      onCompileProgress: (p) => {
        last = p;
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    const bytes = (last as CompileProgress | null)?.bytesTotal ?? 0;
    return {
      mode,
      checkpointGB: bytes / 1e9,
      seconds,
      gbPerSecond: bytes / 1e9 / seconds,
      writtenGB: statSync(`${compiled.onnxPath}.data`).size / 1e9,
    };
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

/** Sequential write of `bytes` in 64 MiB writes, fsynced: what the disk takes. */
function diskWriteGBs(bytes: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'compile-bench-disk-'));
  try {
    const chunk = new Uint8Array(64 << 20).fill(7);
    const fd = openSync(join(dir, 'w.bin'), 'w');
    const t0 = performance.now();
    for (let done = 0; done < bytes; done += chunk.length) writeSync(fd, chunk);
    fsyncSync(fd);
    closeSync(fd);
    return bytes / 1e9 / ((performance.now() - t0) / 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The int8 quantizer alone on a 4096×4096 float32 weight: GB of float32 input per second (see also bench:quantizer). */
function quantizerGBs(quantize: BlockQuantizer): number {
  const w = Float32Array.from({ length: 4096 * 4096 }, (_, i) => Math.sin(i) * 0.02);
  quantize(w, 4096, 4096, 8, 64);
  const t0 = performance.now();
  for (let i = 0; i < 3; i++) quantize(w, 4096, 4096, 8, 64);
  return (3 * w.byteLength) / 1e9 / ((performance.now() - t0) / 1000);
}

const bf16 = await checkpoint('BF16');
const fp8 = await checkpoint('FP8');
const rows = [
  compileOnce('float32 from BF16', bf16, 'none'),
  compileOnce('int8 from BF16', bf16, 'int8'),
  compileOnce(`int8 from BF16, ${availableParallelism()} quantizer threads`, bf16, 'int8', availableParallelism()),
  compileOnce('float32 from FP8', fp8, 'none'),
  compileOnce('int8 from FP8', fp8, 'int8'),
  compileOnce(`int8 from FP8, ${availableParallelism()} quantizer threads`, fp8, 'int8', availableParallelism()),
];
const disk = diskWriteGBs(Math.max(...rows.map((r) => r.writtenGB)) * 1e9);
const quantizer = quantizerGBs(quantizeBlocks);
const pool = new BlockQuantizePool();
const pooled = quantizerGBs(pool.quantizeBlocks);
pool.close();
const report = {
  preset,
  diskWriteGBs: disk,
  int8QuantizerGBs: quantizer,
  int8QuantizerPoolGBs: pooled,
  quantThreads: pool.threads,
  rows,
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n`);
process.stdout.write(
  `| mode (${preset}) | checkpoint GB | seconds | GB/s of checkpoint | GB written | V2-Lite (31.4 GB BF16) | V3 (≈688 GB FP8) |\n|---|---|---|---|---|---|---|\n`,
);
for (const r of rows) {
  const fromFp8 = r.mode.includes('FP8');
  const v2 = fromFp8 ? '—' : formatSeconds(V2_LITE_BYTES / (r.gbPerSecond * 1e9));
  const v3 = fromFp8 ? formatSeconds(V3_BYTES / (r.gbPerSecond * 1e9)) : '—';
  process.stdout.write(
    `| ${r.mode} | ${r.checkpointGB.toFixed(3)} | ${r.seconds.toFixed(1)} | ${r.gbPerSecond.toFixed(3)} | ${r.writtenGB.toFixed(3)} | ${v2} | ${v3} |\n`,
  );
}
process.stdout.write(
  `\nsequential disk write (fsynced): ${disk.toFixed(2)} GB/s; int8 quantizer alone: ${quantizer.toFixed(2)} GB/s of float32 input on 1 thread, ${pooled.toFixed(2)} GB/s on ${pool.threads}\n`,
);
