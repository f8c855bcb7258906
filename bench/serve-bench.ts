// Serving benchmark: starts `latentserve serve` (the synthetic demo model by default) as a child process and
// measures, side by side in one run,
//   - output tokens/s at 1, 4 and 16 concurrent streams (batching shares each weight read),
//   - /health latency (p50/p99) while 16 streams decode (the event loop must never wait on the model),
//   - TTFT of a repeated 1,000-token prompt, cold and repeated, with prefix caching on and off.
// Prints one JSON report; asserts nothing. With --compare='FLAGS A|FLAGS B' (serve flags per variant; the = keeps
// parseArgs from reading a leading -- as an option) it instead
// measures each variant's output tokens/s at 1, 4, 16 and 32 streams, the TTFT of one cold long prompt and of a
// repeated short prompt (48 tokens, sent once, then the median of 7 timed sends), in interleaved rounds (--rounds, default 2),
// so variants are compared side by side on a noisy machine.
//   node dist/bench/serve-bench.js [--model DIR] [--max-tokens 128] [--prompt-tokens 1000] [--compare='FLAGS A|FLAGS B'] [--rounds 2]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startChildServer, stopChildServer as stopServer, type ChildServer } from '../loadtest/child-server.js';
import { freePort } from '../loadtest/free-port.js';
import { percentile } from '../loadtest/metrics.js';
import { medianOfRepeatedSends } from './compare/probes.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    'max-tokens': { type: 'string', default: '128' },
    'prompt-tokens': { type: 'string', default: '1000' },
    compare: { type: 'string' },
    rounds: { type: 'string', default: '2' },
  },
});
const maxTokens = Number(values['max-tokens']);
const promptTokens = Number(values['prompt-tokens']);
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');

async function startServer(extra: string[]): Promise<ChildServer> {
  const port = await freePort();
  const args = [
    BIN,
    'serve',
    '--port',
    String(port),
    '--max-num-seqs',
    '16',
    ...(values.model === undefined ? [] : ['--model', values.model]),
    ...extra,
  ];
  return startChildServer({
    name: 'serve',
    args,
    url: `http://127.0.0.1:${port}`,
    timeoutMs: 300_000,
    onStderr: (text) => process.stderr.write(text),
  });
}

interface StreamResult {
  ttftMs: number;
  tokens: number;
  totalMs: number;
}

/** One streamed completion over token ids: time to the first content chunk, and tokens from the usage chunk. */
async function stream(url: string, prompt: number[], tokens: number): Promise<StreamResult> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      prompt,
      max_tokens: tokens,
      temperature: 0,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let ttftMs = -1;
  let count = 0;
  let buffered = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      const data = JSON.parse(event.slice(6)) as { choices?: unknown[]; usage?: { completion_tokens: number } | null };
      if (ttftMs < 0 && (data.choices?.length ?? 0) > 0) ttftMs = performance.now() - t0;
      if (data.usage) count = data.usage.completion_tokens;
    }
  }
  return { ttftMs, tokens: count, totalMs: performance.now() - t0 };
}

/** The repeated short prompt of --compare: shorter than one 64-token block. */
const SHORT_PROMPT_TOKENS = 48;

const randomPrompt = (len: number, salt: number): number[] =>
  Array.from({ length: len }, (_, i) => 3 + ((i * 7919 + salt * 104729) % 4000));

async function throughput(url: string, concurrency: number): Promise<{ tokensPerSecond: number; wallSeconds: number }> {
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: concurrency }, (_, i) => stream(url, randomPrompt(16, 1000 + i), maxTokens)),
  );
  const wallSeconds = (performance.now() - t0) / 1000;
  return {
    tokensPerSecond: +(results.reduce((a, r) => a + r.tokens, 0) / wallSeconds).toFixed(1),
    wallSeconds: +wallSeconds.toFixed(2),
  };
}

async function healthDuringLoad(
  url: string,
): Promise<{ samples: number; p50Ms: number; p99Ms: number; maxMs: number }> {
  const latencies: number[] = [];
  let done = false;
  const load = Promise.all(
    Array.from({ length: 16 }, (_, i) => stream(url, randomPrompt(16, 2000 + i), maxTokens)),
  ).finally(() => {
    done = true;
  });
  while (!done) {
    const t0 = performance.now();
    await (await fetch(`${url}/health`)).arrayBuffer();
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
  }
  await load;
  latencies.sort((a, b) => a - b);
  return {
    samples: latencies.length,
    p50Ms: +percentile(latencies, 50).toFixed(2),
    p99Ms: +percentile(latencies, 99).toFixed(2),
    maxMs: +latencies.at(-1)!.toFixed(2),
  };
}

async function repeatedPromptTtft(url: string): Promise<{ firstMs: number; repeatMs: number }> {
  const prompt = randomPrompt(promptTokens, 7);
  const first = await stream(url, prompt, 1);
  const repeat = await stream(url, prompt, 1);
  return { firstMs: +first.ttftMs.toFixed(1), repeatMs: +repeat.ttftMs.toFixed(1) };
}

/** --compare: each variant's throughput and cold long-prompt TTFT, rounds interleaved; medians over rounds. */
async function compare(specs: string[], rounds: number): Promise<void> {
  const levels = [1, 4, 16, 32];
  const results = specs.map(() => ({
    tokensPerSecond: levels.map(() => [] as number[]),
    ttftMs: [] as number[],
    repeatShortTtftMs: [] as number[],
  }));
  for (let r = 0; r < rounds; r++) {
    for (const [v, spec] of specs.entries()) {
      const { url, proc } = await startServer([
        '--max-num-seqs',
        '32',
        ...spec.split(/\s+/).filter((f) => f.length > 0),
      ]);
      try {
        await stream(url, randomPrompt(8, 1), 4); // warm-up
        for (const [i, c] of levels.entries())
          results[v]!.tokensPerSecond[i]!.push((await throughput(url, c)).tokensPerSecond);
        results[v]!.ttftMs.push((await stream(url, randomPrompt(promptTokens, 100 + r), 1)).ttftMs);
        const short = randomPrompt(SHORT_PROMPT_TOKENS, 200 + r);
        await stream(url, short, 1);
        results[v]!.repeatShortTtftMs.push(
          await medianOfRepeatedSends(async () => (await stream(url, short, 1)).ttftMs),
        );
      } finally {
        await stopServer(proc);
      }
    }
  }
  const median = (xs: number[]): number => +[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1);
  const report = specs.map((spec, v) => ({
    serveFlags: spec,
    outputTokensPerSecond: Object.fromEntries(levels.map((c, i) => [`c${c}`, median(results[v]!.tokensPerSecond[i]!)])),
    coldTtftMs: median(results[v]!.ttftMs),
    repeatShortTtftMs: median(results[v]!.repeatShortTtftMs),
    rounds: results[v],
  }));
  process.stdout.write(`${JSON.stringify({ maxTokens, promptTokens, rounds, variants: report }, null, 2)}\n`);
}

async function main(): Promise<void> {
  if (values.compare !== undefined) return compare(values.compare.split('|'), Number(values.rounds));
  const report: Record<string, unknown> = { maxTokens, promptTokens };
  const { url, proc } = await startServer([]);
  try {
    await stream(url, randomPrompt(8, 1), 4); // warm-up
    const one = await throughput(url, 1);
    const four = await throughput(url, 4);
    const sixteen = await throughput(url, 16);
    report['outputTokensPerSecond'] = {
      c1: one,
      c4: four,
      c16: sixteen,
      ratio16to1: +(sixteen.tokensPerSecond / one.tokensPerSecond).toFixed(2),
    };
    report['healthWhile16Decode'] = await healthDuringLoad(url);
    report['ttftRepeatedPromptPrefixCaching'] = await repeatedPromptTtft(url);
  } finally {
    await stopServer(proc);
  }
  const off = await startServer(['--no-enable-prefix-caching']);
  try {
    await stream(off.url, randomPrompt(8, 1), 4);
    report['ttftRepeatedPromptNoPrefixCaching'] = await repeatedPromptTtft(off.url);
  } finally {
    await stopServer(off.proc);
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await main();
