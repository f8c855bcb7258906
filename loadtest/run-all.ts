// `npm run bench`: the numbers the README quotes. Starts `latentserve serve` on the synthetic `mini` checkpoint
// (generated on first use) as a child process, once per weight format (float32, then int8 when `serve --quant
// int8` exists), sweeps concurrency with `bench serve`'s library, measures HTTP overhead with autocannon, and
// writes one report for all of it.
//   node dist/loadtest/run-all.js [--out loadtest/sample-report] [--model DIR] [--concurrency 1,4,16,32]
//       [--input-len 128] [--output-len 64] [--quant float32,int8] [--http-duration 5]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, homedir, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runHttpBench } from './http-bench.js';
import { DEFAULT_PERCENTILES } from './metrics.js';
import { parseConcurrencyList } from './options.js';
import type { BenchSettings, HttpBenchResult, RunWithDetail } from './results.js';
import { runServeBench } from './serve-bench.js';
import { writeReport } from './write-report.js';
import { ChildExited, startChildServer, stopChildServer, type ChildServer } from './child-server.js';
import { freePort } from './free-port.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Each variant is served with these extra `serve` flags. */
const VARIANTS: Record<string, readonly string[]> = { float32: [], int8: ['--quant', 'int8'] };

function miniModel(explicit: string | undefined): string {
  if (explicit !== undefined) return explicit;
  const dir = join(
    process.env['LATENTSERVE_CACHE_DIR'] ?? join(homedir(), '.cache', 'latentserve'),
    'synth',
    'mini-v2-seed0',
  );
  if (!existsSync(join(dir, 'model.safetensors'))) {
    log(`bench: generating the synthetic mini checkpoint into ${dir} (first run only)`);
    const r = spawnSync(process.execPath, [CLI, 'synth', '--preset', 'mini', '--seed', '0', '--out', dir], {
      stdio: 'inherit',
    });
    if (r.status !== 0) throw new Error(`latentserve synth exited with ${r.status}`);
  }
  return dir;
}

/** The usage error serve printed, if any: its first line names the flag it refused. */
function usageErrorLine(output: string): string | null {
  return output.split('\n').find((l) => l.startsWith('latentserve serve: ')) ?? null;
}

/** Starts serve and waits for /health; 'unsupported' when serve refuses the variant's flag with a usage error. */
async function startServer(
  modelDir: string,
  name: string,
  flags: readonly string[],
): Promise<ChildServer | 'unsupported'> {
  const port = await freePort();
  const args = [
    CLI,
    'serve',
    '--model',
    modelDir,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--served-model-name',
    name,
    '--max-num-seqs',
    '32',
    ...flags,
  ];
  try {
    return await startChildServer({
      name: `serve ${name}`,
      args,
      url: `http://127.0.0.1:${port}`,
      timeoutMs: 600_000,
      // Logs (stdout) are only kept for a failure message; stderr (progress, errors) is shown as it comes.
      onStderr: (text) => process.stderr.write(text.replace(/^(?=.)/gm, '  | ')),
    });
  } catch (err) {
    if (!(err instanceof ChildExited) || err.code !== 2) throw err;
    const refused = usageErrorLine(err.output);
    if (refused !== null && flags.some((f) => refused.includes(f.replace(/^--/, '')))) return 'unsupported';
    throw err;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: join(ROOT, 'loadtest', 'sample-report') },
      model: { type: 'string' },
      concurrency: { type: 'string', default: '1,4,16,32' },
      'input-len': { type: 'string', default: '128' },
      'output-len': { type: 'string', default: '64' },
      quant: { type: 'string', default: 'float32,int8' },
      'http-duration': { type: 'string', default: '5' },
      'http-connections': { type: 'string', default: '16' },
    },
  });
  const levels = parseConcurrencyList(values.concurrency).map((c) => ({
    maxConcurrency: c,
    numPrompts: Math.max(8, 2 * c),
  }));
  const modelDir = miniModel(values.model);
  const notes: string[] = [
    `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; server and load generator on the same machine.`,
    `Server: \`latentserve serve --max-num-seqs 32\` (other flags at their defaults) on ${values.model ?? 'the synthetic checkpoint of `latentserve synth --preset mini --seed 0`'}; ${levels.map((l) => `${l.numPrompts} prompts at c=${l.maxConcurrency}`).join(', ')}.`,
  ];
  const loadStart = loadavg()[0]!;
  const runs: RunWithDetail[] = [];
  const http: HttpBenchResult[] = [];
  let settings: BenchSettings | null = null;
  for (const variant of values.quant
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const flags = VARIANTS[variant];
    if (flags === undefined)
      throw new Error(`--quant: unknown variant "${variant}" (known: ${Object.keys(VARIANTS).join(', ')})`);
    log(`bench: starting latentserve (${variant})`);
    const served = await startServer(modelDir, `mini-${variant}`, flags);
    if (served === 'unsupported') {
      const note = `${variant}: skipped — this build of \`latentserve serve\` has no ${flags.join(' ')} (usage error).`;
      log(`bench: ${note}`);
      notes.push(note);
      continue;
    }
    try {
      const out = await runServeBench(
        {
          baseUrl: served.url,
          model: null,
          endpoint: 'completions',
          apiKey: null,
          label: variant,
          levels,
          requestRate: Infinity,
          burstiness: 1,
          inputLen: Number(values['input-len']),
          outputLen: Number(values['output-len']),
          dataset: 'random',
          seed: 0,
          goodput: null,
          percentiles: DEFAULT_PERCENTILES,
          maxDurationS: 300,
          allowRemote: false,
        },
        { log, progress: process.stderr },
      );
      settings ??= out.settings;
      runs.push(...out.runs);
      for (const n of out.notes) if (!notes.includes(n)) notes.push(n);
      log(`bench: autocannon against ${variant}`);
      const target = { baseUrl: served.url, model: `mini-${variant}`, endpoint: 'completions' as const, apiKey: null };
      http.push(
        ...(await runHttpBench({
          target,
          label: variant,
          connections: Number(values['http-connections']),
          durationS: Number(values['http-duration']),
        })),
      );
    } finally {
      await stopChildServer(served.proc);
    }
  }
  if (settings === null) throw new Error('no variant could be served');
  // Other work on the machine shows in the numbers; the load average lets a reader judge how much.
  notes.push(
    `1-minute load average: ${loadStart.toFixed(2)} before the run, ${loadavg()[0]!.toFixed(2)} at its end, on ${cpus().length} cores (above ${cpus().length}, other work competed for the CPU).`,
  );
  const written = writeReport(
    values.out,
    {
      tool: 'npm run bench (latentserve bench serve + bench http)',
      date: new Date().toISOString(),
      settings,
      runs: runs.map((r) => r.result),
      http,
      notes,
    },
    runs,
    false,
  );
  log(`bench: wrote ${written.files.join(', ')}`);
}

await main();
