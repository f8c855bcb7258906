// Quantization benchmark on a synthetic `mini` checkpoint (generated on first use): for float32, int8, int4, w8a8
// weights and an fp8 latent cache, side by side in one run — weight RSS and whole-model RSS (defined in
// quant-probe.ts, each mode in its own process so RSS is its own), batch-1 decode tokens/s (decode-race.ts: all
// modes loaded in one process, taking turns round after round; the ratio to float32 is the median of per-round
// ratios), quality against float32 (teacher-forced KL and top-1 over a 64-token sample), cache bytes per token and
// how many 2k-token sequences fit in 1 GiB of cache. Prints a JSON report and a Markdown table.
//   node dist/bench/quant-bench.js [--model DIR] [--rounds 7]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultCacheDir } from '../model/compile.js';
import { synthCacheDir, synthesizeCheckpoint } from '../synth/synth.js';

const { values } = parseArgs({ options: { model: { type: 'string' }, rounds: { type: 'string', default: '7' } } });
const here = dirname(fileURLToPath(import.meta.url));
const node = (script: string, args: string[]): string =>
  execFileSync(process.execPath, [script, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });

const modes = [
  { name: 'float32', quant: 'none', kv: 'fp32' },
  { name: 'int8', quant: 'int8', kv: 'fp32' },
  { name: 'int4', quant: 'int4', kv: 'fp32' },
  { name: 'w8a8', quant: 'w8a8', kv: 'fp32' },
  { name: 'float32 + fp8 cache', quant: 'none', kv: 'fp8' },
  { name: 'int8 + fp8 cache', quant: 'int8', kv: 'fp8' },
] as const;

let model = values.model;
if (model === undefined) {
  model = synthCacheDir(defaultCacheDir(), 'mini', 0);
  if (!existsSync(join(model, 'model.safetensors')))
    await synthesizeCheckpoint({
      outDir: model,
      seed: 0,
      preset: 'mini',
      onProgress: (m) => process.stderr.write(`synth: ${m}\n`),
    });
}

interface Probe {
  modelRssMiB: number;
  weightRssMiB: number;
  cacheBytesPerToken: number;
}
interface Quality {
  top1Agreement: number;
  meanKl: number;
  meanAbsDeltaLogprob: number;
}
interface Race {
  modes: { decodeTokensPerSecond: number; decodeRangeTokensPerSecond: [number, number]; vsBaseline: number }[];
}
const rows: { name: string; probe: Probe; quality: Quality | null }[] = [];
for (const m of modes) {
  process.stderr.write(`quant-bench: ${m.name}\n`);
  const flags = ['--quant', m.quant, '--kv-cache-dtype', m.kv];
  const probe = JSON.parse(
    node(join(here, 'quant-probe.js'), ['--model', model, '--decode-tokens', '0', ...flags]),
  ) as Probe;
  const quality =
    m.name === 'float32'
      ? null
      : (JSON.parse(
          node(join(here, '..', 'cli.js'), ['eval', '--model', model, '--json', '--tokens', '64', ...flags]),
        ) as Quality);
  rows.push({ name: m.name, probe, quality });
}
process.stderr.write(`quant-bench: decode speed, ${values.rounds} rounds of every mode in turn\n`);
const race = JSON.parse(
  node(join(here, 'decode-race.js'), [
    '--model',
    model,
    '--rounds',
    values.rounds,
    ...modes.flatMap((m) => ['--mode', `${m.quant},${m.kv}`]),
  ]),
) as Race;
const base = rows[0]!.probe;
const GiB = 2 ** 30;
const report = rows.map(({ name, probe, quality }, i) => ({
  mode: name,
  weightRssMiB: probe.weightRssMiB,
  weightRssVsFloat32: +(probe.weightRssMiB / base.weightRssMiB).toFixed(3),
  modelRssMiB: probe.modelRssMiB,
  rssVsFloat32: +(probe.modelRssMiB / base.modelRssMiB).toFixed(3),
  decodeTokensPerSecond: race.modes[i]!.decodeTokensPerSecond,
  decodeRangeTokensPerSecond: race.modes[i]!.decodeRangeTokensPerSecond,
  decodeVsFloat32: race.modes[i]!.vsBaseline,
  cacheBytesPerToken: probe.cacheBytesPerToken,
  cacheVsFloat32: +(probe.cacheBytesPerToken / base.cacheBytesPerToken).toFixed(3),
  sequencesOf2kIn1GiB: Math.floor(GiB / (2048 * probe.cacheBytesPerToken)),
  top1VsFloat32: quality === null ? 1 : +quality.top1Agreement.toFixed(4),
  meanKlVsFloat32: quality === null ? 0 : +quality.meanKl.toExponential(2),
}));
process.stdout.write(`${JSON.stringify({ model, report }, null, 2)}\n\n`);
process.stdout.write(
  '| mode | weight RSS (MiB) | × fp32 | model RSS (MiB) | × fp32 | decode tok/s (batch 1, median of rounds) | × fp32 (median of per-round ratios) | KL vs fp32 | top-1 vs fp32 | cache B/token | 2k-token seqs per GiB |\n|---|---|---|---|---|---|---|---|---|---|---|\n',
);
for (const r of report) {
  process.stdout.write(
    `| ${r.mode} | ${r.weightRssMiB} | ${r.weightRssVsFloat32} | ${r.modelRssMiB} | ${r.rssVsFloat32} | ${r.decodeTokensPerSecond} | ${r.decodeVsFloat32} | ${r.meanKlVsFloat32} | ${(r.top1VsFloat32 * 100).toFixed(1)} % | ${r.cacheBytesPerToken} | ${r.sequencesOf2kIn1GiB} |\n`,
  );
}
