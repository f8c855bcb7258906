// Quantization benchmark on a synthetic `mini` checkpoint (generated on first use): for float32, int8, int4
// weights and an fp8 latent cache, side by side in one run — weight RSS and whole-model RSS (defined in
// quant-probe.ts), batch-1 decode tokens/s, quality against
// float32 (teacher-forced KL and top-1 over a 64-token sample), cache bytes per token and how many 2k-token
// sequences fit in 1 GiB of cache. Prints a JSON report and a Markdown table.
//   node dist/bench/quant-bench.js [--model DIR]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultCacheDir } from '../model/compile.js';
import { synthesizeCheckpoint } from '../model/synth.js';

const { values } = parseArgs({ options: { model: { type: 'string' } } });
const here = dirname(fileURLToPath(import.meta.url));
const node = (script: string, args: string[]): string => execFileSync(process.execPath, [script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });

const modes = [
  { name: 'float32', flags: ['--quant', 'none'] },
  { name: 'int8', flags: ['--quant', 'int8'] },
  { name: 'int4', flags: ['--quant', 'int4'] },
  { name: 'float32 + fp8 cache', flags: ['--quant', 'none', '--kv-cache-dtype', 'fp8'] },
  { name: 'int8 + fp8 cache', flags: ['--quant', 'int8', '--kv-cache-dtype', 'fp8'] },
];

let model = values.model;
if (model === undefined) {
  model = join(defaultCacheDir(), 'synth', 'mini-seed0');
  if (!existsSync(join(model, 'model.safetensors'))) await synthesizeCheckpoint({ outDir: model, seed: 0, preset: 'mini', onProgress: (m) => process.stderr.write(`synth: ${m}\n`) });
}

interface Probe { modelRssMiB: number; weightRssMiB: number; decodeTokensPerSecond: number; decodeRangeTokensPerSecond: [number, number]; cacheBytesPerToken: number }
interface Quality { top1Agreement: number; meanKl: number; meanAbsDeltaLogprob: number }
const rows: { name: string; probe: Probe; quality: Quality | null }[] = [];
for (const m of modes) {
  process.stderr.write(`quant-bench: ${m.name}\n`);
  const probe = JSON.parse(node(join(here, 'quant-probe.js'), ['--model', model, ...m.flags])) as Probe;
  const quality = m.name === 'float32' ? null : JSON.parse(node(join(here, '..', 'cli.js'), ['eval', '--model', model, '--json', '--tokens', '64', ...m.flags])) as Quality;
  rows.push({ name: m.name, probe, quality });
}
const base = rows[0]!.probe;
const GiB = 2 ** 30;
const report = rows.map(({ name, probe, quality }) => ({
  mode: name,
  weightRssMiB: probe.weightRssMiB,
  weightRssVsFloat32: +(probe.weightRssMiB / base.weightRssMiB).toFixed(3),
  modelRssMiB: probe.modelRssMiB,
  rssVsFloat32: +(probe.modelRssMiB / base.modelRssMiB).toFixed(3),
  decodeTokensPerSecond: probe.decodeTokensPerSecond,
  decodeRangeTokensPerSecond: probe.decodeRangeTokensPerSecond,
  decodeVsFloat32: +(probe.decodeTokensPerSecond / base.decodeTokensPerSecond).toFixed(2),
  cacheBytesPerToken: probe.cacheBytesPerToken,
  cacheVsFloat32: +(probe.cacheBytesPerToken / base.cacheBytesPerToken).toFixed(3),
  sequencesOf2kIn1GiB: Math.floor(GiB / (2048 * probe.cacheBytesPerToken)),
  top1VsFloat32: quality === null ? 1 : +quality.top1Agreement.toFixed(4),
  meanKlVsFloat32: quality === null ? 0 : +quality.meanKl.toExponential(2),
}));
process.stdout.write(`${JSON.stringify({ model, report }, null, 2)}\n\n`);
process.stdout.write('| mode | weight RSS (MiB) | × fp32 | model RSS (MiB) | × fp32 | decode tok/s (batch 1, median of 5) | × fp32 | KL vs fp32 | top-1 vs fp32 | cache B/token | 2k-token seqs per GiB |\n|---|---|---|---|---|---|---|---|---|---|---|\n');
for (const r of report) {
  process.stdout.write(`| ${r.mode} | ${r.weightRssMiB} | ${r.weightRssVsFloat32} | ${r.modelRssMiB} | ${r.rssVsFloat32} | ${r.decodeTokensPerSecond} | ${r.decodeVsFloat32} | ${r.meanKlVsFloat32} | ${(r.top1VsFloat32 * 100).toFixed(1)} % | ${r.cacheBytesPerToken} | ${r.sequencesOf2kIn1GiB} |\n`);
}
