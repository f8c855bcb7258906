// `npm run bench:compare` options: which rows, how many rounds, the llama.cpp binaries and GGUFs (flags or the
// environment that shared/anchor/build-llama.sh prints). Pure; errors are RangeErrors naming the flag.
import { parseArgs } from 'node:util';
import { parseConcurrencyList } from '../../loadtest/options.js';
import { describeSessionTuning, parseSessionTuning } from '../../model/executor/session-options.js';
import type { WeightQuant } from '../../model/graph/compile-options.js';

export const ROWS = ['decode', 'serve', 'ttft'] as const;
export type RowGroup = (typeof ROWS)[number];
export const QUANTS = ['int8', 'w8a8', 'float32'] as const;
export type Quant = (typeof QUANTS)[number];
/** llama.cpp's weight format each latentserve format is compared against. */
export type LlamaFormat = 'Q8_0' | 'F32';
export const LLAMA_FORMAT: Readonly<Record<Quant, LlamaFormat>> = { int8: 'Q8_0', w8a8: 'Q8_0', float32: 'F32' };

/** The compile mode (`--quant`) latentserve runs a format in. */
export function weightQuantOf(quant: Quant): WeightQuant {
  return quant === 'float32' ? 'none' : quant;
}

export interface CompareConfig {
  /** The checkpoint folder latentserve serves; the GGUFs must be converted from it. */
  readonly model: string;
  readonly llamaServer: string | null;
  readonly llamaBench: string | null;
  /** GGUF per llama.cpp format (LLAMA_FORMAT says which latentserve format runs against which). */
  readonly gguf: Readonly<Record<LlamaFormat, string | null>>;
  readonly rounds: number;
  readonly rows: readonly RowGroup[];
  readonly quants: readonly Quant[];
  /** Serving stream counts per format (llama-server gets `-np` equal to each); w8a8 takes int8's. */
  readonly streams: Readonly<Record<Quant, readonly number[]>>;
  /** Threads on both sides: llama.cpp's `-t` and ONNX Runtime's intraOpNumThreads; 0: each one's default. */
  readonly threads: number;
  /** latentserve's ONNX Runtime session options (serve --session-options), with `threads` folded in. */
  readonly sessionOptions: string;
  readonly decodeTokens: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
  /** Requests per serving level: max(minPrompts, promptsPerStream × streams). */
  readonly promptsPerStream: number;
  readonly minPrompts: number;
  readonly coldPromptTokens: number;
  readonly shortPromptTokens: number;
  /** llama-server context per slot; `-c` is split across `-np` slots, so it gets slots × this. */
  readonly ctxPerSlot: number;
  /** Extra llama-server / llama-bench arguments (whitespace-separated). */
  readonly llamaServerArgs: readonly string[];
  readonly llamaBenchArgs: readonly string[];
  readonly out: string | null;
  readonly json: string | null;
}

/**
 * llama-server repacks weights for the CPU by default; with this build (de3ff81) on this machine's CPU (AMX
 * advertised) repacking a Q8_0 DeepSeek-V2 either aborts (GGML_ASSERT cur_backend_id != -1) or dies with SIGILL.
 */
export const DEFAULT_LLAMA_SERVER_ARGS = '--no-repack';

export const COMPARE_USAGE = `npm run bench:compare -- --model DIR [--rounds 3] [--rows decode,serve,ttft] [--quants int8,w8a8,float32]
    [--streams 1,4,16,32] [--float32-streams 16] [--threads N] [--session-options JSON] [--decode-tokens 64] [--prompt-tokens 64]
    [--output-tokens 128] [--prompts-per-stream 2] [--min-prompts 8] [--cold-prompt-tokens 1080]
    [--short-prompt-tokens 48] [--ctx-per-slot 512] [--out FILE.md] [--json FILE.json]
    [--llama-server-args '${DEFAULT_LLAMA_SERVER_ARGS}'] [--llama-bench-args '']
    [--llama-server BIN] [--llama-bench BIN] [--gguf-q8-0 FILE] [--gguf-f32 FILE]
  environment: LLAMA_SERVER, LLAMA_BENCH, GGUF_Q8_0, GGUF_F32 (as shared/anchor/build-llama.sh prints them)`;

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`${flag} must be an integer ≥ 1, got "${text}"`);
  return n;
}

function subset<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new RangeError(`${flag} needs at least one of ${allowed.join(', ')}`);
  for (const s of items)
    if (!(allowed as readonly string[]).includes(s))
      throw new RangeError(`${flag}: unknown "${s}" (known: ${allowed.join(', ')})`);
  return [...new Set(items)] as T[];
}

/** `1,4,16` → [1, 4, 16]; `none` → no serving rows for that format. */
function streamList(flag: string, text: string): number[] {
  if (text.trim() === 'none') return [];
  const list = parseConcurrencyList(text);
  if (list.some((c) => c === Infinity))
    throw new RangeError(`${flag}: stream counts must be finite (llama-server needs -np N)`);
  return list;
}

/** The session options JSON with intraOpNumThreads = threads added, unless it names its own or threads is 0. */
export function withThreads(json: string, threads: number): string {
  const tuning = parseSessionTuning(json); // refuses bad JSON here, before any server starts
  if (threads === 0 || tuning.intraOpNumThreads !== undefined)
    return json.trim() === '' ? '' : describeSessionTuning(tuning);
  return describeSessionTuning({ ...tuning, intraOpNumThreads: threads });
}

const words = (text: string): string[] => text.split(/\s+/).filter((w) => w !== '');

export function parseCompareArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CompareConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      model: { type: 'string' },
      rounds: { type: 'string', default: '3' },
      rows: { type: 'string', default: ROWS.join(',') },
      quants: { type: 'string', default: QUANTS.join(',') },
      streams: { type: 'string', default: '1,4,16,32' },
      'float32-streams': { type: 'string', default: '16' },
      threads: { type: 'string' },
      'session-options': { type: 'string', default: '' },
      'decode-tokens': { type: 'string', default: '64' },
      'prompt-tokens': { type: 'string', default: '64' },
      'output-tokens': { type: 'string', default: '128' },
      'prompts-per-stream': { type: 'string', default: '2' },
      'min-prompts': { type: 'string', default: '8' },
      'cold-prompt-tokens': { type: 'string', default: '1080' },
      'short-prompt-tokens': { type: 'string', default: '48' },
      'ctx-per-slot': { type: 'string', default: '512' },
      out: { type: 'string' },
      json: { type: 'string' },
      'llama-server-args': { type: 'string', default: DEFAULT_LLAMA_SERVER_ARGS },
      'llama-bench-args': { type: 'string', default: '' },
      'llama-server': { type: 'string' },
      'llama-bench': { type: 'string' },
      'gguf-q8-0': { type: 'string' },
      'gguf-f32': { type: 'string' },
    },
  });
  if (values.model === undefined)
    throw new RangeError('--model DIR is required (the checkpoint the GGUFs were converted from)');
  const rows = subset('--rows', values.rows, ROWS);
  const quants = subset('--quants', values.quants, QUANTS);
  const pick = (flag: string | undefined, name: string): string | null =>
    flag ?? (env[name] === undefined || env[name] === '' ? null : env[name]!);
  const config: CompareConfig = {
    model: values.model,
    llamaServer: pick(values['llama-server'], 'LLAMA_SERVER'),
    llamaBench: pick(values['llama-bench'], 'LLAMA_BENCH'),
    gguf: { Q8_0: pick(values['gguf-q8-0'], 'GGUF_Q8_0'), F32: pick(values['gguf-f32'], 'GGUF_F32') },
    rounds: positiveInt('--rounds', values.rounds),
    rows,
    quants,
    streams: {
      int8: streamList('--streams', values.streams),
      w8a8: streamList('--streams', values.streams),
      float32: streamList('--float32-streams', values['float32-streams']),
    },
    threads: values.threads === undefined ? 0 : positiveInt('--threads', values.threads),
    sessionOptions: withThreads(
      values['session-options'],
      values.threads === undefined ? 0 : positiveInt('--threads', values.threads),
    ),
    decodeTokens: positiveInt('--decode-tokens', values['decode-tokens']),
    promptTokens: positiveInt('--prompt-tokens', values['prompt-tokens']),
    outputTokens: positiveInt('--output-tokens', values['output-tokens']),
    promptsPerStream: positiveInt('--prompts-per-stream', values['prompts-per-stream']),
    minPrompts: positiveInt('--min-prompts', values['min-prompts']),
    coldPromptTokens: positiveInt('--cold-prompt-tokens', values['cold-prompt-tokens']),
    shortPromptTokens: positiveInt('--short-prompt-tokens', values['short-prompt-tokens']),
    ctxPerSlot: positiveInt('--ctx-per-slot', values['ctx-per-slot']),
    llamaServerArgs: words(values['llama-server-args']),
    llamaBenchArgs: words(values['llama-bench-args']),
    out: values.out ?? null,
    json: values.json ?? null,
  };
  checkAnchor(config);
  return config;
}

/** Every row asked for needs its llama.cpp side: refuse up front rather than after an hour of latentserve runs. */
function checkAnchor(c: CompareConfig): void {
  const missing: string[] = [];
  if (c.rows.includes('decode') && c.llamaBench === null) missing.push('LLAMA_BENCH (--llama-bench)');
  const needsServer =
    c.rows.includes('ttft') || (c.rows.includes('serve') && c.quants.some((q) => c.streams[q].length > 0));
  if (needsServer && c.llamaServer === null) missing.push('LLAMA_SERVER (--llama-server)');
  const quantsUsed = new Set<Quant>(c.rows.includes('ttft') ? ['int8'] : []);
  if (c.rows.includes('decode') || c.rows.includes('serve')) for (const q of c.quants) quantsUsed.add(q);
  const formatsUsed = new Set([...quantsUsed].map((q) => LLAMA_FORMAT[q]));
  if (formatsUsed.has('Q8_0') && c.gguf.Q8_0 === null) missing.push('GGUF_Q8_0 (--gguf-q8-0)');
  if (formatsUsed.has('F32') && c.gguf.F32 === null) missing.push('GGUF_F32 (--gguf-f32)');
  if (missing.length > 0)
    throw new RangeError(`the rows asked for need ${missing.join(', ')}; shared/anchor/build-llama.sh prints them`);
}

/** Requests sent at one serving level. */
export function promptsForStreams(c: Pick<CompareConfig, 'promptsPerStream' | 'minPrompts'>, streams: number): number {
  return Math.max(c.minPrompts, c.promptsPerStream * streams);
}
