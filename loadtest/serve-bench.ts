// `bench serve` as a library: probe the target, then for each concurrency level build fresh prompts, run the
// level, count tokens and compute vLLM's metrics. Writing files is write-report.ts's job.
import { GREEDY_SAMPLING, streamRequest, type SamplingSpec, type StreamOutcome } from './client/stream-request.js';
import { ServerTokenizer, discoverModel } from './client/tokenizer.js';
import { isLoopback, normalizeBaseUrl, type Endpoint, type Target } from './client/target.js';
import { fileDataset, randomDataset, type BenchPrompt } from './dataset.js';
import { computeMetrics, type GoodputSlo, type MeasuredRequest } from './metrics.js';
import { ProgressBar, type ProgressSink } from './progress.js';
import type { BenchSettings, RunDetail, RunResult, RunWithDetail } from './results.js';
import { runLevel, type LevelRun } from './run-level.js';

export interface LoadLevel {
  /** Infinity: no cap. */
  readonly maxConcurrency: number;
  readonly numPrompts: number;
}

export interface ServeBenchConfig {
  readonly baseUrl: string;
  /** null: the first model of GET /v1/models. */
  readonly model: string | null;
  readonly endpoint: Endpoint;
  readonly apiKey: string | null;
  /** Names the runs in tables and charts; null: the model id. */
  readonly label: string | null;
  readonly levels: readonly LoadLevel[];
  /** Requests per second; Infinity sends all at once (then concurrency alone paces the run). */
  readonly requestRate: number;
  readonly burstiness: number;
  readonly inputLen: number;
  readonly outputLen: number;
  /** Absent: greedy (temperature 0). */
  readonly sampling?: SamplingSpec;
  /** 'random' or the path of a JSONL file. */
  readonly dataset: string;
  readonly seed: number;
  readonly goodput: GoodputSlo | null;
  readonly percentiles: readonly number[];
  /** Per level; null: none. */
  readonly maxDurationS: number | null;
  readonly allowRemote: boolean;
}

export interface ServeBenchIo {
  log(line: string): void;
  readonly progress: ProgressSink;
}

export interface ServeBenchOutput {
  readonly settings: BenchSettings;
  readonly runs: readonly RunWithDetail[];
  readonly notes: readonly string[];
}

export class TargetRefused extends Error {
  override readonly name = 'TargetRefused';
}

export function checkTarget(baseUrl: string, allowRemote: boolean): string {
  const base = normalizeBaseUrl(baseUrl);
  if (!allowRemote && !isLoopback(base)) {
    throw new TargetRefused(
      `${base} is not a loopback address; pass --allow-remote to load-test a server on another host`,
    );
  }
  return base;
}

interface Features {
  readonly ignoreEos: boolean;
  readonly includeUsage: boolean;
}

/** One short request per combination until the server accepts one: drops `ignore_eos`, then `stream_options`. */
async function probeFeatures(
  target: Target,
  log: (line: string) => void,
): Promise<{ features: Features; usage: boolean }> {
  const tries: Features[] = [
    { ignoreEos: true, includeUsage: true },
    { ignoreEos: false, includeUsage: true },
    { ignoreEos: true, includeUsage: false },
    { ignoreEos: false, includeUsage: false },
  ];
  let first: StreamOutcome | null = null;
  for (const features of tries) {
    const outcome = await streamRequest(target, { prompt: 'Hello', maxTokens: 4, ...features });
    if (outcome.success) {
      if (features !== tries[0])
        log(
          `bench: the server refused ${first?.error ?? 'the full request'}; continuing with ignore_eos=${features.ignoreEos}, include_usage=${features.includeUsage}`,
        );
      return { features, usage: outcome.usage !== null };
    }
    first ??= outcome;
    if (!/^HTTP 4(00|22)/.test(outcome.error)) break;
  }
  throw new Error(`the test request to ${target.baseUrl} failed: ${first?.error ?? 'unknown error'}`);
}

export async function runServeBench(config: ServeBenchConfig, io: ServeBenchIo): Promise<ServeBenchOutput> {
  const baseUrl = checkTarget(config.baseUrl, config.allowRemote);
  const partial = { baseUrl, endpoint: config.endpoint, apiKey: config.apiKey };
  const target: Target = { ...partial, model: config.model ?? (await discoverModel(partial)) };
  const tokenizer = await ServerTokenizer.probe(target);
  const notes: string[] = [];
  if (tokenizer === null)
    notes.push('The server has no /tokenize: random prompts are one word per requested token, an estimate.');
  const { features, usage } = await probeFeatures(target, io.log);
  if (!features.ignoreEos)
    notes.push('The server refused ignore_eos: requests may stop at EOS before --output-len tokens.');
  const tokenCounts = usage ? 'usage' : tokenizer !== null ? 'tokenize' : 'chunks';
  if (tokenCounts !== 'usage')
    notes.push(
      `The server sent no usage: output tokens are ${tokenCounts === 'tokenize' ? 're-tokenized text' : 'content chunks'}.`,
    );

  const settings: BenchSettings = {
    base_url: baseUrl,
    backend: config.endpoint === 'chat' ? 'openai-chat' : 'openai',
    dataset: config.dataset,
    input_len: config.inputLen,
    output_len: config.outputLen,
    seed: config.seed,
    goodput: config.goodput,
    percentiles: config.percentiles,
    ignore_eos: features.ignoreEos,
    token_counts: tokenCounts,
    max_duration_s: config.maxDurationS,
    sampling: config.sampling ?? GREEDY_SAMPLING,
  };
  const label = config.label ?? target.model;
  const counter = tokenizer === null ? null : (text: string): Promise<number> => tokenizer.promptTokens(text);
  const runs: RunWithDetail[] = [];
  for (const level of config.levels) {
    const stream = `c${level.maxConcurrency}`;
    const common = { numPrompts: level.numPrompts, outputLen: config.outputLen, seed: config.seed, counter, stream };
    const prompts =
      config.dataset === 'random'
        ? await randomDataset({ ...common, inputLen: config.inputLen })
        : await fileDataset({ ...common, path: config.dataset });
    const bar = new ProgressBar(
      io.progress,
      `${label} c=${level.maxConcurrency === Infinity ? 'inf' : level.maxConcurrency}`,
    );
    const run = await runLevel({
      target,
      prompts,
      maxConcurrency: level.maxConcurrency,
      arrival: { requestRate: config.requestRate, burstiness: config.burstiness },
      seed: config.seed,
      ignoreEos: features.ignoreEos,
      includeUsage: features.includeUsage,
      ...(config.sampling !== undefined && { sampling: config.sampling }),
      maxDurationMs: config.maxDurationS === null ? Infinity : config.maxDurationS * 1000,
      onProgress: (p) => bar.update(p),
    });
    bar.finish();
    if (run.hitDeadline)
      io.log(`bench: --max-duration ${config.maxDurationS}s ended the c=${level.maxConcurrency} run early`);
    runs.push(await summarize(run, prompts, { config, target, label, tokenizer, tokenCounts, level }));
  }
  return { settings, runs, notes };
}

interface SummaryContext {
  readonly config: ServeBenchConfig;
  readonly target: Target;
  readonly label: string;
  readonly tokenizer: ServerTokenizer | null;
  readonly tokenCounts: BenchSettings['token_counts'];
  readonly level: LoadLevel;
}

/** Rough token count for servers that cannot tell us: one per whitespace-separated word. */
function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => w !== '').length;
}

async function summarize(run: LevelRun, prompts: readonly BenchPrompt[], ctx: SummaryContext): Promise<RunWithDetail> {
  const measured: MeasuredRequest[] = [];
  const errors: string[] = [];
  let cancelled = 0;
  let notSent = 0;
  for (const [i, outcome] of run.outcomes.entries()) {
    if (outcome === null) {
      notSent++;
      continue;
    }
    if (outcome.cancelled) {
      cancelled++;
      continue;
    }
    const prompt = prompts[i]!;
    let outputTokens = 0;
    if (outcome.success) {
      if (outcome.usage !== null) outputTokens = outcome.usage.completionTokens;
      else if (ctx.tokenizer !== null) outputTokens = await ctx.tokenizer.textTokens(outcome.generatedText);
      else outputTokens = outcome.contentChunks;
    }
    measured.push({
      success: outcome.success,
      ttftMs: outcome.ttftMs,
      itlMs: outcome.itlMs,
      latencyMs: outcome.latencyMs,
      promptTokens: outcome.usage?.promptTokens ?? prompt.promptLen ?? wordCount(prompt.prompt),
      outputTokens,
    });
    errors.push(outcome.error);
  }
  const metrics = computeMetrics(measured, run.durationS, {
    percentiles: ctx.config.percentiles,
    goodput: ctx.config.goodput,
  });
  const errorCounts: Record<string, number> = {};
  for (const e of errors) if (e !== '') errorCounts[e] = (errorCounts[e] ?? 0) + 1;
  const result: RunResult = {
    label: ctx.label,
    model_id: ctx.target.model,
    endpoint: ctx.target.endpoint === 'chat' ? '/v1/chat/completions' : '/v1/completions',
    num_prompts: ctx.level.numPrompts,
    request_rate: ctx.config.requestRate === Infinity ? 'inf' : ctx.config.requestRate,
    burstiness: ctx.config.burstiness,
    max_concurrency: ctx.level.maxConcurrency === Infinity ? null : ctx.level.maxConcurrency,
    cancelled,
    not_sent: notSent,
    error_counts: errorCounts,
    ...metrics,
  };
  const detail: RunDetail = {
    input_lens: measured.map((r) => r.promptTokens),
    output_lens: measured.map((r) => r.outputTokens),
    ttfts: measured.map((r) => (r.success ? r.ttftMs / 1000 : 0)),
    itls: measured.map((r) => (r.success ? r.itlMs.map((ms) => ms / 1000) : [])),
    errors,
  };
  return { result, detail };
}
