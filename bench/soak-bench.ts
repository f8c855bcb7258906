// Soak benchmark: `latentserve serve` (the synthetic demo model by default) under 32 concurrent clients for 10
// minutes — streamed and collected, chat and completions, shared prompt prefixes (prefix cache churn), n up to 2 —
// with a share of clients that disconnect at a random moment. Prints one JSON report: requests, tokens, disconnects,
// errors (must be 0), server fault log lines (must be 0), RSS and step sizes/shapes over time, RSS growth after warm-up
// (at most --max-rss-growth-pct, soak-verdict.ts says how the run defines its warm-up), cache blocks in use once the
// load stops (must be 0), and the exit code of a graceful SIGTERM (must be 0). Exits 1 when any is not met. With
// --out DIR it also writes report.json and rss.svg (RSS and step sizes over time). Not a test: run it by hand
// (`npm run bench:soak -- --minutes 2` for a shorter soak).
//   node dist/bench/soak-bench.js [--model DIR] [--minutes 10] [--concurrency 32] [--max-tokens 64]
//     [--prompt-tokens 256] [--disconnect-rate 0.2] [--sample-seconds 10] [--warmup-seconds 30]
//     [--max-rss-growth-pct 10] [--cache-memory-mb 64] [--seed 1] [--out DIR] [-- SERVE FLAGS…]
//
// Clients wait as long as the server makes them (a slow model on few cores queues requests for minutes; the
// server's own --request-timeout, 600 s, still applies); size --concurrency and the model to the machine.
//
// RSS: the worker's cache pools are zero pages until a block is first written, so RSS climbs until every block has
// been used once. The small default cache (64 MiB) fills during warm-up (and makes preemption happen), so growth
// measured after warm-up is the server's own. --warmup-seconds is only warm-up's floor; its end is the first sample
// by which the executor has run the load's largest step (latentserve_executor_largest_step) and the cache has
// touched all the blocks the load touches (latentserve_cache_blocks_touched).
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startChildServer, stopChildServer, type ChildServer } from '../loadtest/child-server.js';
import { freePort } from '../loadtest/free-port.js';
import { rssChart } from './soak-chart.js';
import { memoryVerdict, type MemorySample } from './soak-verdict.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string' },
    minutes: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '32' },
    'max-tokens': { type: 'string', default: '64' },
    'prompt-tokens': { type: 'string', default: '256' },
    'disconnect-rate': { type: 'string', default: '0.2' },
    'sample-seconds': { type: 'string', default: '10' },
    'warmup-seconds': { type: 'string', default: '30' },
    'max-rss-growth-pct': { type: 'string', default: '10' },
    out: { type: 'string' },
    'cache-memory-mb': { type: 'string', default: '64' },
    seed: { type: 'string', default: '1' },
  },
});
const durationMs = Number(values.minutes) * 60_000;
const concurrency = Number(values.concurrency);
const maxTokens = Number(values['max-tokens']);
const promptTokens = Number(values['prompt-tokens']);
const disconnectRate = Number(values['disconnect-rate']);
const sampleMs = Number(values['sample-seconds']) * 1000;
const warmupMs = Number(values['warmup-seconds']) * 1000;
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');
const KEY = 'soak-key';

let seed = Number(values.seed) >>> 0;
function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

const WORDS =
  'the a of latent cache block token stream model expert router attention query key value layer norm rope'.split(' ');
const words = (n: number): string => Array.from({ length: n }, () => pick(WORDS)).join(' ');
/** Prompt sizes in words, fitted to the model's context window by calibrate(). */
const shape = { prefixWords: 150, suffixWords: 40, plainWords: 200 };
/** Eight long shared prefixes: repeated requests hit, evict and refill the prefix cache. */
let PREFIXES: string[] = [];

/** Sizes prompts to about --prompt-tokens at most, and so that prompt + max_tokens always fits the window. */
async function calibrate(url: string): Promise<{ maxModelLen: number; tokensPerWord: number }> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };
  const models = (await (await fetch(`${url}/v1/models`, { headers })).json()) as { data: { max_model_len: number }[] };
  const maxModelLen = models.data[0]!.max_model_len;
  const sample = (await (
    await fetch(`${url}/tokenize`, { method: 'POST', headers, body: JSON.stringify({ prompt: words(400) }) })
  ).json()) as { count: number };
  const tokensPerWord = sample.count / 400;
  const budgetTokens = Math.min(promptTokens, (maxModelLen - maxTokens - 48) / 1.5);
  const budgetWords = Math.max(10, Math.floor(budgetTokens / tokensPerWord));
  shape.prefixWords = Math.floor(budgetWords * 0.6);
  shape.suffixWords = Math.floor(budgetWords * 0.3);
  shape.plainWords = Math.floor(budgetWords * 0.9);
  PREFIXES = Array.from({ length: 8 }, (_, i) => `System prompt ${i}: ${words(shape.prefixWords)}`);
  return { maxModelLen, tokensPerWord: +tokensPerWord.toFixed(2) };
}

interface Server {
  readonly url: string;
  readonly proc: ChildServer['proc'];
  readonly faults: string[];
}

async function startServer(): Promise<Server> {
  const port = await freePort();
  const args = [
    BIN,
    'serve',
    '--port',
    String(port),
    '--max-num-seqs',
    String(concurrency),
    '--max-waiting',
    String(4 * concurrency),
    '--api-key',
    KEY,
    '--cache-memory-mb',
    values['cache-memory-mb'],
    ...(values.model === undefined ? [] : ['--model', values.model]),
    ...positionals,
  ];
  const faults: string[] = [];
  const { url, proc } = await startChildServer({
    name: 'serve',
    args,
    url: `http://127.0.0.1:${port}`,
    timeoutMs: 600_000,
    onStderr: (text) => process.stderr.write(text),
    // Every log line at error level or above is a fault the verdict reports.
    onStdoutLine: (line) => {
      try {
        if ((JSON.parse(line) as { level: number }).level >= 50) faults.push(line.slice(0, 500));
      } catch {
        faults.push(`unparsable log line: ${line.slice(0, 200)}`);
      }
    },
  });
  return { url, proc, faults };
}

async function metrics(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m =
      /^(latentserve_process_resident_memory_bytes|latentserve_executor_step_shapes|latentserve_executor_step_sizes|latentserve_executor_largest_step\{term="\w+"\}|latentserve_cache_blocks_used|latentserve_cache_blocks_touched|latentserve_num_requests_running|latentserve_num_requests_waiting|nodejs_heap_size_used_bytes) (\S+)$/.exec(
        line,
      );
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** POST over node:http: unlike fetch it has no 300 s limit on waiting for the response headers. */
function post(url: string, path: string, body: string, signal: AbortSignal): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}${path}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${KEY}`,
          'content-length': Buffer.byteLength(body),
        },
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const tally = { requests: 0, completed: 0, disconnects: 0, tokens: 0, errors: 0 };
const errorSamples: string[] = [];
function recordError(what: string): void {
  tally.errors++;
  if (errorSamples.length < 20) errorSamples.push(what);
}

/** One request; returns normally whatever happens (errors are tallied). */
async function oneRequest(url: string): Promise<void> {
  const chat = random() < 0.55;
  const stream = random() < 0.7;
  const prompt =
    random() < 0.5 ? `${pick(PREFIXES)} ${words(int(1, shape.suffixWords))}` : words(int(5, shape.plainWords));
  const body = {
    ...(chat ? { messages: [{ role: 'user', content: prompt }] } : { prompt }),
    max_tokens: int(4, maxTokens),
    temperature: pick([0, 0.7, 1]),
    ...(random() < 0.1 && { n: 2 }),
    ...(random() < 0.3 && { ignore_eos: true }),
    ...(stream && { stream: true, stream_options: { include_usage: true } }),
  };
  const disconnectAfterMs = random() < disconnectRate ? int(0, 1500) : null;
  const controller = new AbortController();
  const timer = disconnectAfterMs === null ? null : setTimeout(() => controller.abort(), disconnectAfterMs);
  tally.requests++;
  try {
    const res = await post(
      url,
      chat ? '/v1/chat/completions' : '/v1/completions',
      JSON.stringify(body),
      controller.signal,
    );
    const text = res.text;
    if (res.status !== 200) return recordError(`HTTP ${res.status}: ${text.slice(0, 200)}`);
    if (stream) {
      const events = text
        .split('\n\n')
        .filter((e) => e.startsWith('data: '))
        .map((e) => e.slice(6));
      if (events.at(-1) !== '[DONE]') return recordError('stream without [DONE]');
      const parsed = events
        .slice(0, -1)
        .map((e) => JSON.parse(e) as { error?: unknown; usage?: { completion_tokens: number } | null });
      const error = parsed.find((e) => e.error !== undefined);
      if (error) return recordError(`stream error event: ${JSON.stringify(error.error)}`);
      tally.tokens += parsed.at(-1)?.usage?.completion_tokens ?? 0;
    } else {
      const json = JSON.parse(text) as {
        choices: { finish_reason: string | null }[];
        usage: { completion_tokens: number };
      };
      if (json.choices.some((c) => c.finish_reason === null)) return recordError('choice without finish_reason');
      tally.tokens += json.usage.completion_tokens;
    }
    tally.completed++;
  } catch (err) {
    if (controller.signal.aborted) tally.disconnects++;
    else recordError(`client error: ${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

async function waitIdle(url: string, timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  let m = await metrics(url);
  while (
    Date.now() < deadline &&
    ((m['latentserve_num_requests_running'] ?? 1) > 0 || (m['latentserve_num_requests_waiting'] ?? 1) > 0)
  ) {
    await new Promise((r) => setTimeout(r, 200));
    m = await metrics(url);
  }
  return m;
}

async function main(): Promise<void> {
  const server = await startServer();
  const calibration = await calibrate(server.url);
  const t0 = performance.now();
  const samples: (MemorySample & {
    shapes: number;
    heapMb: number;
    blocksUsed: number;
    running: number;
    waiting: number;
  })[] = [];
  const sample = async (): Promise<void> => {
    const m = await metrics(server.url);
    samples.push({
      atS: Math.round((performance.now() - t0) / 1000),
      rssMb: +((m['latentserve_process_resident_memory_bytes'] ?? 0) / 2 ** 20).toFixed(1),
      sizes: m['latentserve_executor_step_sizes'] ?? 0,
      largest: {
        tokens: m['latentserve_executor_largest_step{term="tokens"}'] ?? 0,
        gathered: m['latentserve_executor_largest_step{term="gathered"}'] ?? 0,
        attention: m['latentserve_executor_largest_step{term="attention"}'] ?? 0,
      },
      cacheTouched: m['latentserve_cache_blocks_touched'] ?? 0,
      shapes: m['latentserve_executor_step_shapes'] ?? 0,
      heapMb: +((m['nodejs_heap_size_used_bytes'] ?? 0) / 2 ** 20).toFixed(1),
      blocksUsed: m['latentserve_cache_blocks_used'] ?? -1,
      running: m['latentserve_num_requests_running'] ?? -1,
      waiting: m['latentserve_num_requests_waiting'] ?? -1,
    });
  };
  await sample();
  const sampler = setInterval(() => {
    void sample().catch(() => {});
  }, sampleMs);
  const stopAt = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < stopAt) await oneRequest(server.url);
    }),
  );
  clearInterval(sampler);
  const loadSeconds = (performance.now() - t0) / 1000;
  const idle = await waitIdle(server.url, 30_000);
  await sample();

  // Full load ends when the clients stop starting requests; the requests still in flight then drain in ever smaller
  // batches, whose new sizes are the idle tail's, not the load's.
  const memory = memoryVerdict(samples, {
    minWarmupS: warmupMs / 1000,
    loadEndS: durationMs / 1000,
    maxGrowthPct: Number(values['max-rss-growth-pct']),
  });
  const exitCode = await stopChildServer(server.proc, 120_000);

  const report = {
    minutes: Number(values.minutes),
    concurrency,
    maxTokens,
    promptTokens,
    disconnectRate,
    model: values.model ?? 'demo (synthetic)',
    cacheMemoryMb: Number(values['cache-memory-mb']),
    ...calibration,
    promptWords: shape,
    loadSeconds: +loadSeconds.toFixed(1),
    requests: tally.requests,
    completed: tally.completed,
    disconnects: tally.disconnects,
    outputTokens: tally.tokens,
    outputTokensPerSecond: +(tally.tokens / loadSeconds).toFixed(1),
    errors: tally.errors,
    errorSamples,
    serverFaultLogLines: server.faults.length,
    serverFaultSamples: server.faults.slice(0, 5),
    rssMb: {
      start: samples[0]!.rssMb,
      afterWarmup: memory.rssAfterWarmupMb,
      end: memory.rssEndMb,
      max: Math.max(...samples.map((s) => s.rssMb)),
    },
    memory,
    blocksInUseAtEnd: idle['latentserve_cache_blocks_used'] ?? -1,
    runningAtEnd: idle['latentserve_num_requests_running'] ?? -1,
    waitingAtEnd: idle['latentserve_num_requests_waiting'] ?? -1,
    sigtermExitCode: exitCode,
    samples,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (values.out !== undefined) {
    mkdirSync(values.out, { recursive: true });
    writeFileSync(join(values.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(
      join(values.out, 'rss.svg'),
      rssChart(samples, memory, loadSeconds, `${report.model}, ${concurrency} clients, ${report.minutes} min`),
    );
  }
  const ok =
    report.errors === 0 &&
    report.serverFaultLogLines === 0 &&
    report.blocksInUseAtEnd === 0 &&
    report.runningAtEnd === 0 &&
    exitCode === 0 &&
    memory.ok;
  process.stdout.write(
    `soak: ${ok ? 'PASS' : 'FAIL'} — ${report.requests} requests, ${report.disconnects} disconnects, ${report.errors} errors, ` +
      `${report.blocksInUseAtEnd} blocks in use at the end, ${memory.reason}` +
      `${memory.warmupEndS === null ? '' : ` (warm-up ended at ${memory.warmupEndS} s, at the load's largest step with ${memory.cacheTouched} cache blocks touched; ${memory.sizesAtWarmupEnd} of its ${memory.sizesAtEnd} step sizes seen by then)`}\n`,
  );
  process.exitCode = ok ? 0 : 1;
}

await main();
