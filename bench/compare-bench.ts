// `npm run bench:compare`: latentserve against llama.cpp on the same checkpoint, side by side in one run. Builds
// nothing: LLAMA_SERVER / LLAMA_BENCH and the GGUFs (GGUF_Q8_0 ↔ int8 and w8a8, GGUF_F32 ↔ float32) come from
// ../shared/anchor/build-llama.sh. Each round measures, for each format, llama.cpp and latentserve one after the
// other (which goes first alternates by round):
//   decode   batch-1 decode tokens/s: `llama-bench -p 0 -n 64` vs latentserve in-process (bench/decode-rate.ts)
//   serve    output tokens/s at each stream count, the same load generator (loadtest/) against llama-server
//            `-np STREAMS` and `latentserve serve --max-num-seqs 32`: 64-token prompts, 128 output tokens
//   ttft     (int8 / Q8_0) TTFT of a cold 1,080-token prompt and of a repeated 48-token prompt (the median of
//            7 timed sends after the first; bench/compare/probes.ts)
// plus a STREAM triad per round (bench/compare/triad.ts) for the roofline. Writes one markdown report (table of
// medians, ranges and per-round ratios; bench/compare/table.ts) to stdout and --out, the raw samples to --json.
// The options: bench/compare/args.ts (COMPARE_USAGE).
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { loadModelConfig } from '../model/config.js';
import { parseSessionTuning } from '../model/executor/session-options.js';
import { DEFAULT_QUANT_BLOCK_SIZE } from '../model/graph/compile-options.js';
import { activeWeightParams, bytesPerWeight } from './active-weights.js';
import {
  COMPARE_USAGE,
  LLAMA_FORMAT,
  parseCompareArgs,
  promptsForStreams,
  type CompareConfig,
  type Quant,
} from './compare/args.js';
import { latentDecode } from './compare/latent-decode.js';
import { llamaBenchDecode } from './compare/llama-bench.js';
import { promptTtftMs, servingLevel, type LevelSample } from './compare/probes.js';
import { killAllServers, startLatentServe, startLlamaServer, stopServer, type Served } from './compare/servers.js';
import { markdownTable, median, type Better, type Roofline, type Row } from './compare/table.js';
import { measureTriad } from './compare/triad.js';

const log = (line: string): void => {
  process.stderr.write(`bench:compare: ${line}\n`);
};

let config: CompareConfig;
try {
  config = parseCompareArgs(process.argv.slice(2), process.env);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n${COMPARE_USAGE}\n`);
  process.exit(2);
}
const c = config;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllServers();
    process.exit(130);
  });
}

type Side = 'latent' | 'llama';
interface RowBuilder {
  label: string;
  unit: string;
  better: Better;
  llamaNote: string;
  latent: (number | null)[];
  llama: (number | null)[];
}
const rows = new Map<string, RowBuilder>();
const raw: Record<string, unknown>[] = [];

function record(
  key: string,
  meta: Omit<RowBuilder, 'latent' | 'llama'>,
  side: Side,
  round: number,
  value: number | null,
): void {
  const row = rows.get(key) ?? { ...meta, latent: [], llama: [] };
  rows.set(key, row);
  row[side][round] = value;
}

/** Runs one side's measurement; a failure is logged and leaves that round's sample empty. */
async function attempt<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    log(`${what} failed: ${(err as Error).message.split('\n').slice(0, 6).join(' | ')}`);
    return null;
  }
}

async function decodeRow(quant: Quant, side: Side, round: number): Promise<void> {
  const tps =
    side === 'llama'
      ? await attempt(`llama-bench ${LLAMA_FORMAT[quant]}`, () =>
          llamaBenchDecode(c.llamaBench!, c.gguf[LLAMA_FORMAT[quant]]!, c.decodeTokens, c.threads, c.llamaBenchArgs),
        )
      : await attempt(`latentserve decode ${quant}`, () =>
          latentDecode(c.model, quant, c.decodeTokens, parseSessionTuning(c.sessionOptions)),
        );
  log(`round ${round + 1} ${side} ${quant} decode: ${tps?.toFixed(1) ?? 'failed'} tok/s`);
  raw.push({ round, side, quant, row: 'decode', tokensPerSecond: tps });
  record(
    `${quant}-decode`,
    {
      label: `${quant} decode, batch 1`,
      unit: 'tok/s',
      better: 'higher',
      llamaNote: `${LLAMA_FORMAT[quant]} tg${c.decodeTokens}`,
    },
    side,
    round,
    tps,
  );
}

function recordLevel(quant: Quant, streams: number, side: Side, round: number, s: LevelSample | null): void {
  log(
    `round ${round + 1} ${side} ${quant} ${streams} streams: ${s === null ? 'failed' : `${s.outputTokensPerSecond.toFixed(1)} out tok/s, median TTFT ${s.medianTtftMs.toFixed(0)} ms, TPOT ${s.medianTpotMs.toFixed(1)} ms${s.failed > 0 ? `, ${s.failed} failed` : ''}`}`,
  );
  raw.push({ round, side, quant, row: 'serve', streams, ...s });
  const value = s === null || s.failed > 0 ? null : s.outputTokensPerSecond;
  record(
    `${quant}-serve-${streams}`,
    {
      label: `${quant} serving, ${streams} stream${streams === 1 ? '' : 's'}`,
      unit: 'out tok/s',
      better: 'higher',
      llamaNote: `${LLAMA_FORMAT[quant]} -np ${streams}`,
    },
    side,
    round,
    value,
  );
}

async function ttftRows(url: string, side: Side, round: number): Promise<void> {
  const cold = await attempt(`${side} cold TTFT`, () => promptTtftMs(url, c.coldPromptTokens, 1000 + round, false));
  const repeat = await attempt(`${side} repeated TTFT`, () =>
    promptTtftMs(url, c.shortPromptTokens, 2000 + round, true),
  );
  log(
    `round ${round + 1} ${side} TTFT: cold ${c.coldPromptTokens} tokens ${cold?.toFixed(0) ?? 'failed'} ms, repeated ${c.shortPromptTokens} tokens ${repeat?.toFixed(0) ?? 'failed'} ms`,
  );
  raw.push({ round, side, row: 'ttft', coldMs: cold, repeatMs: repeat });
  record(
    'ttft-cold',
    {
      label: `cold ${c.coldPromptTokens.toLocaleString('en-US')}-token prompt, TTFT`,
      unit: 'ms',
      better: 'lower',
      llamaNote: 'Q8_0',
    },
    side,
    round,
    cold,
  );
  record(
    'ttft-repeat',
    { label: `repeated ${c.shortPromptTokens}-token prompt, TTFT`, unit: 'ms', better: 'lower', llamaNote: 'Q8_0' },
    side,
    round,
    repeat,
  );
}

async function withServer(start: () => Promise<Served>, use: (s: Served) => Promise<void>): Promise<void> {
  const served = await attempt('starting a server', start);
  if (served === null) return;
  try {
    await use(served);
  } finally {
    await stopServer(served);
  }
}

async function serveSide(quant: Quant, side: Side, round: number): Promise<void> {
  const streams = c.rows.includes('serve') ? c.streams[quant] : [];
  const ttft = c.rows.includes('ttft') && quant === 'int8';
  const level = async (url: string, n: number): Promise<void> => {
    const sample = await attempt(`${side} ${quant} ${n} streams`, () =>
      servingLevel(url, `${side}-${quant}`, n, promptsForStreams(c, n), c.promptTokens, c.outputTokens, round),
    );
    recordLevel(quant, n, side, round, sample);
  };
  if (side === 'latent') {
    await withServer(
      () => startLatentServe(c.model, quant, c.sessionOptions === '' ? [] : ['--session-options', c.sessionOptions]),
      async (s) => {
        for (const n of streams) await level(s.url, n);
        if (ttft) await ttftRows(s.url, side, round);
      },
    );
    return;
  }
  // llama-server: one start per stream count (its -np), and one with room for the long prompt for the TTFT rows.
  for (const n of streams)
    await withServer(
      () =>
        startLlamaServer(c.llamaServer!, c.gguf[LLAMA_FORMAT[quant]]!, n, c.ctxPerSlot, c.threads, c.llamaServerArgs),
      (s) => level(s.url, n),
    );
  const ttftCtx = Math.ceil((c.coldPromptTokens + c.shortPromptTokens + 64) / 256) * 256;
  if (ttft)
    await withServer(
      () => startLlamaServer(c.llamaServer!, c.gguf[LLAMA_FORMAT[quant]]!, 1, ttftCtx, c.threads, c.llamaServerArgs),
      (s) => ttftRows(s.url, side, round),
    );
}

function machineLine(): string {
  const uptime = ((): string => {
    try {
      return execFileSync('uptime', { encoding: 'utf8' }).trim();
    } catch {
      return `load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(', ')}`;
    }
  })();
  return `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; \`uptime\`: ${uptime}`;
}

/** `version: 0.5.0-dev (build 1, commit de3ff81)` (llama.cpp prints it on stderr). */
function llamaVersion(): string {
  const bin = c.llamaServer ?? c.llamaBench;
  if (bin === null) return 'unknown';
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').find((l) => l.startsWith('version')) ?? 'unknown';
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const machineBefore = machineLine();
  const triads: number[] = [];
  for (let round = 0; round < c.rounds; round++) {
    const order: Side[] = round % 2 === 0 ? ['llama', 'latent'] : ['latent', 'llama'];
    const triad = await measureTriad();
    triads.push(triad.bytesPerSecond);
    log(
      `round ${round + 1}/${c.rounds}: STREAM triad ${(triad.bytesPerSecond / 1e9).toFixed(1)} GB/s on ${triad.threads} threads; ${order[0]} first`,
    );
    raw.push({ round, row: 'triad', bytesPerSecond: triad.bytesPerSecond, threads: triad.threads });
    for (const quant of c.quants) {
      if (c.rows.includes('decode')) for (const side of order) await decodeRow(quant, side, round);
      if (c.rows.includes('serve') || (c.rows.includes('ttft') && quant === 'int8'))
        for (const side of order) await serveSide(quant, side, round);
    }
  }
  const machineAfter = machineLine();
  const modelConfig = loadModelConfig(c.model);
  const params = activeWeightParams(modelConfig);
  // The best round's triad, as STREAM reports the best of its passes: a round whose triad another tenant slowed
  // (15 against 25 GB/s in one run here) would otherwise put decode above 100 % of the roofline.
  const triad = Math.max(...triads);
  const rooflines: Roofline[] = c.quants
    .filter((q) => rows.has(`${q}-decode`))
    .map((q) => {
      const row = rows.get(`${q}-decode`)!;
      const present = (xs: (number | null)[]): number[] => xs.filter((x): x is number => x !== null);
      return {
        label: `${q} / ${LLAMA_FORMAT[q]} bytes per token ÷ time vs triad`,
        bytesPerToken: params * bytesPerWeight(q, DEFAULT_QUANT_BLOCK_SIZE),
        llamaBytesPerToken: params * (LLAMA_FORMAT[q] === 'F32' ? 4 : 34 / 32), // Q8_0: 32 int8 codes and an f16 scale
        latentTokensPerSecond: median(present(row.latent)),
        llamaTokensPerSecond: median(present(row.llama)),
        triadBytesPerSecond: triad,
      };
    });
  const table = markdownTable([...rows.values()] as Row[], rooflines);
  const report = [
    `# bench:compare — latentserve vs llama.cpp, ${c.rounds} interleaved round${c.rounds === 1 ? '' : 's'}`,
    '',
    `- Run: ${startedAt} → ${new Date().toISOString()}; checkpoint \`${c.model}\` (${modelConfig.numHiddenLayers} layers, hidden ${modelConfig.hiddenSize}, ${(params / 1e6).toFixed(0)}M active parameters per token).`,
    `- Machine before: ${machineBefore}`,
    `- Machine after: ${machineAfter}`,
    `- llama.cpp: ${llamaVersion()}; threads ${c.threads > 0 ? `${c.threads} on both sides (llama.cpp \`-t\`, ONNX Runtime intra-op)` : "each side's default"}; llama-server \`-np STREAMS -c STREAMS×${c.ctxPerSlot} -cb ${c.llamaServerArgs.join(' ')}\`, llama-bench \`-p 0 -n ${c.decodeTokens} -r 1 ${c.llamaBenchArgs.join(' ')}\`; GGUFs ${[...new Set(c.quants.map((q) => LLAMA_FORMAT[q]))].map((f) => `${f} \`${c.gguf[f] ?? '—'}\``).join(', ')}; latentserve \`serve --max-num-seqs 32 --quant MODE\` (float32: none)${c.sessionOptions === '' ? ', ONNX Runtime defaults' : ` --session-options '${c.sessionOptions}'`}.`,
    `- Serving: ${c.promptTokens}-token prompts, ${c.outputTokens} output tokens, max(${c.minPrompts}, ${c.promptsPerStream} × streams) requests per level, the same load generator (loadtest/) for both.`,
    "- Ratios are speed ratios per round (above 1: latentserve faster): throughput latentserve ÷ llama.cpp, TTFT llama.cpp ÷ latentserve; the median ratio is the median of the rounds' ratios. Cells: median (range over rounds).",
    `- Roofline: active weights per token from the config × bytes per weight (int8 blocks of ${DEFAULT_QUANT_BLOCK_SIZE} with a float32 scale ${bytesPerWeight('int8', DEFAULT_QUANT_BLOCK_SIZE).toFixed(4)} B, Q8_0 1.0625 B; w8a8 1 B; float32 4 B), times the median decode rate, over the best STREAM triad of the rounds (JavaScript, all cores).`,
    '',
    table,
  ].join('\n');
  process.stdout.write(`${report}\n`);
  if (c.out !== null) writeFileSync(c.out, `${report}\n`);
  if (c.json !== null)
    writeFileSync(
      c.json,
      `${JSON.stringify({ config: c, startedAt, machineBefore, machineAfter, samples: raw }, null, 2)}\n`,
    );
}

await main();
