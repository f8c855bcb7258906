// `latentserve bench serve | http`: load-tests any OpenAI-compatible server over HTTP (loadtest/) and writes
// results.json, report.md and SVG charts; `http` measures the server's own overhead with autocannon.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { discoverModel } from '../loadtest/client/tokenizer.js';
import type { Endpoint } from '../loadtest/client/target.js';
import { runHttpBench } from '../loadtest/http-bench.js';
import { parseConcurrencyList, parseGoodput, parsePercentiles, parseRequestRate } from '../loadtest/options.js';
import { httpTable } from '../loadtest/report-md.js';
import { textSummary } from '../loadtest/report-text.js';
import { TargetRefused, checkTarget, runServeBench } from '../loadtest/serve-bench.js';
import { writeReport } from '../loadtest/write-report.js';
import { UsageError, intOption, numberOption } from './options.js';

export const BENCH_USAGE = `latentserve bench serve --base-url URL [--model NAME] [--endpoint chat|completions] [--concurrency 1,4,16]
    [--request-rate inf|R] [--burstiness B] [--num-prompts N] [--input-len L] [--output-len L]
    [--temperature T (default 0: greedy)] [--top-p P] [--top-k K] [--min-p P] [--dataset random|FILE.jsonl]
    [--seed S] [--goodput ttft:MS,tpot:MS,e2el:MS] [--percentiles 90,99] [--max-duration S] [--api-key K] [--label NAME]
    [--save-detailed] [--allow-remote] [--out DIR]
  latentserve bench http --base-url URL [--connections C] [--duration S] [--model NAME] [--endpoint chat|completions]
    [--api-key K] [--allow-remote] [--out DIR]`;

/** Runs a loadtest/ parser, turning its RangeError into a usage error. */
function parse<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function endpointOption(text: string): Endpoint {
  if (text !== 'chat' && text !== 'completions')
    throw new UsageError(`--endpoint must be chat or completions, got "${text}"`);
  return text;
}

function baseUrlOption(text: string | undefined, allowRemote: boolean): string {
  if (text === undefined) throw new UsageError('--base-url URL is required');
  try {
    return checkTarget(text, allowRemote);
  } catch (err) {
    if (err instanceof TargetRefused || err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

export async function runBench(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'serve') return benchServe(rest);
  if (sub === 'http') return benchHttp(rest);
  throw new UsageError(
    sub === undefined ? 'bench needs a subcommand: serve or http' : `unknown bench subcommand "${sub}"`,
  );
}

async function benchServe(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'base-url': { type: 'string' },
      model: { type: 'string' },
      endpoint: { type: 'string', default: 'completions' },
      concurrency: { type: 'string', default: '1,4,16' },
      'request-rate': { type: 'string', default: 'inf' },
      burstiness: { type: 'string', default: '1' },
      'num-prompts': { type: 'string', default: '64' },
      'input-len': { type: 'string', default: '256' },
      'output-len': { type: 'string', default: '128' },
      temperature: { type: 'string', default: '0' },
      'top-p': { type: 'string' },
      'top-k': { type: 'string' },
      'min-p': { type: 'string' },
      dataset: { type: 'string', default: 'random' },
      seed: { type: 'string', default: '0' },
      goodput: { type: 'string' },
      percentiles: { type: 'string', default: '90,99' },
      'max-duration': { type: 'string', default: '300' },
      'api-key': { type: 'string' },
      label: { type: 'string' },
      'save-detailed': { type: 'boolean', default: false },
      'allow-remote': { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-results' },
    },
  });
  const baseUrl = baseUrlOption(values['base-url'], values['allow-remote']);
  const numPrompts = intOption('--num-prompts', values['num-prompts'], 1);
  const percentiles = parse(() => parsePercentiles(values.percentiles));
  const output = await runServeBench(
    {
      baseUrl,
      model: values.model ?? null,
      endpoint: endpointOption(values.endpoint),
      apiKey: values['api-key'] ?? process.env['OPENAI_API_KEY'] ?? null,
      label: values.label ?? null,
      levels: parse(() => parseConcurrencyList(values.concurrency)).map((maxConcurrency) => ({
        maxConcurrency,
        numPrompts,
      })),
      requestRate: parse(() => parseRequestRate(values['request-rate'])),
      burstiness: numberOption('--burstiness', values.burstiness, Number.MIN_VALUE),
      inputLen: intOption('--input-len', values['input-len'], 1),
      outputLen: intOption('--output-len', values['output-len'], 1),
      sampling: {
        temperature: numberOption('--temperature', values.temperature, 0, 2),
        topP: values['top-p'] === undefined ? null : numberOption('--top-p', values['top-p'], Number.MIN_VALUE, 1),
        topK: values['top-k'] === undefined ? null : intOption('--top-k', values['top-k'], -1),
        minP: values['min-p'] === undefined ? null : numberOption('--min-p', values['min-p'], 0, 1),
      },
      dataset: values.dataset,
      seed: intOption('--seed', values.seed, 0),
      goodput: values.goodput === undefined ? null : parse(() => parseGoodput(values.goodput!)),
      percentiles,
      maxDurationS:
        values['max-duration'] === 'none'
          ? null
          : numberOption('--max-duration', values['max-duration'], Number.MIN_VALUE),
      allowRemote: values['allow-remote'],
    },
    { log, progress: process.stderr },
  );
  for (const run of output.runs) process.stdout.write(`${textSummary(run.result, percentiles)}\n`);
  const written = writeReport(
    values.out,
    {
      tool: 'latentserve bench serve',
      date: new Date().toISOString(),
      settings: output.settings,
      runs: output.runs.map((r) => r.result),
      http: [],
      notes: output.notes,
    },
    output.runs,
    values['save-detailed'],
  );
  for (const note of output.notes) log(`bench: ${note}`);
  log(`bench: wrote ${written.files.join(', ')}`);
}

async function benchHttp(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'base-url': { type: 'string' },
      connections: { type: 'string', default: '16' },
      duration: { type: 'string', default: '10' },
      model: { type: 'string' },
      endpoint: { type: 'string', default: 'completions' },
      'api-key': { type: 'string' },
      'allow-remote': { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const baseUrl = baseUrlOption(values['base-url'], values['allow-remote']);
  const partial = {
    baseUrl,
    endpoint: endpointOption(values.endpoint),
    apiKey: values['api-key'] ?? process.env['OPENAI_API_KEY'] ?? null,
  };
  const connections = intOption('--connections', values.connections, 1);
  const durationS = numberOption('--duration', values.duration, 1);
  const target = { ...partial, model: values.model ?? (await discoverModel(partial)) };
  log(`bench: autocannon, ${connections} connections × ${durationS}s per request kind against ${baseUrl}`);
  const results = await runHttpBench({ target, label: target.model, connections, durationS });
  process.stdout.write(`${httpTable(results)}\n`);
  if (values.out !== undefined) {
    const file = join(values.out, 'http-results.json');
    mkdirSync(values.out, { recursive: true });
    writeFileSync(
      file,
      `${JSON.stringify({ tool: 'latentserve bench http', date: new Date().toISOString(), base_url: baseUrl, http: results }, null, 2)}\n`,
    );
    log(`bench: wrote ${file}`);
  }
}
