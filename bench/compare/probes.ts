// What both servers are asked over HTTP, through the same load generator (loadtest/): a serving level (random
// prompts of exactly `promptTokens` tokens as each server counts them, `outputTokens` each, `streams` in flight),
// and the time to first token of one prompt — cold, or repeated (sent once, then timed REPEATED_SENDS more times:
// one send's TTFT varies by half between sends on this machine, so the median of several is reported).
import { streamRequest } from '../../loadtest/client/stream-request.js';
import { discoverModel } from '../../loadtest/client/tokenizer.js';
import type { Target } from '../../loadtest/client/target.js';
import { randomDataset } from '../../loadtest/dataset.js';
import { DEFAULT_PERCENTILES, percentile } from '../../loadtest/metrics.js';
import { ServerTokenizer } from '../../loadtest/client/tokenizer.js';
import { runServeBench } from '../../loadtest/serve-bench.js';

export interface LevelSample {
  readonly outputTokensPerSecond: number;
  readonly medianTtftMs: number;
  readonly medianTpotMs: number;
  readonly failed: number;
}

const quiet = {
  log: (line: string): void => {
    process.stderr.write(`${line}\n`);
  },
  progress: { isTTY: false, write: (): boolean => true },
};

export async function servingLevel(
  url: string,
  label: string,
  streams: number,
  numPrompts: number,
  promptTokens: number,
  outputTokens: number,
  seed: number,
): Promise<LevelSample> {
  const out = await runServeBench(
    {
      baseUrl: url,
      model: null,
      endpoint: 'completions',
      apiKey: null,
      label,
      levels: [{ maxConcurrency: streams, numPrompts }],
      requestRate: Infinity,
      burstiness: 1,
      inputLen: promptTokens,
      outputLen: outputTokens,
      dataset: 'random',
      seed,
      goodput: null,
      percentiles: DEFAULT_PERCENTILES,
      maxDurationS: 600,
      allowRemote: false,
    },
    quiet,
  );
  const r = out.runs[0]!.result;
  if (out.notes.length > 0) quiet.log(`bench:compare: ${label}: ${out.notes.join(' ')}`);
  return {
    outputTokensPerSecond: r.output_throughput,
    medianTtftMs: r.median_ttft_ms,
    medianTpotMs: r.median_tpot_ms,
    failed: r.failed,
  };
}

/** Timed sends of the repeated prompt, after the one that fills the cache; their median is the sample. */
export const REPEATED_SENDS = 7;

/** The median TTFT (ms) of REPEATED_SENDS sends of a prompt the caller has already sent once (filling the cache). */
export async function medianOfRepeatedSends(sendTtftMs: () => Promise<number>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < REPEATED_SENDS; i++) samples.push(await sendTtftMs());
  return percentile(samples, 50);
}

/**
 * TTFT (ms) of a random prompt of exactly `promptTokens` tokens, asking for one token. `repeat`: the prompt is sent
 * once untimed, then REPEATED_SENDS times, and the median of those is returned.
 */
export async function promptTtftMs(url: string, promptTokens: number, seed: number, repeat: boolean): Promise<number> {
  const partial = { baseUrl: url, endpoint: 'completions' as const, apiKey: null };
  const target: Target = { ...partial, model: await discoverModel(partial) };
  const tokenizer = await ServerTokenizer.probe(target);
  if (tokenizer === null) throw new Error(`${url} has no /tokenize`);
  const [prompt] = await randomDataset({
    numPrompts: 1,
    inputLen: promptTokens,
    outputLen: 1,
    seed,
    counter: (t) => tokenizer.promptTokens(t),
    stream: `ttft-${promptTokens}`,
  });
  const spec = { prompt: prompt!.prompt, maxTokens: 1, ignoreEos: true, includeUsage: false };
  const timed = async (): Promise<number> => {
    const outcome = await streamRequest(target, spec);
    if (!outcome.success) throw new Error(`TTFT request to ${url} failed: ${outcome.error}`);
    return outcome.ttftMs;
  };
  const first = await timed();
  return repeat ? medianOfRepeatedSends(timed) : first;
}
