// The prompts of a run. `random`: unique prompts of random English words cut to exactly the requested token
// length as the server counts it (binary search over the text's length with the server's /tokenize; without it,
// one word per token as an estimate). A JSONL file: one `{"prompt": "...", "output_len"?: N}` per line, drawn in a
// seeded order (cycling when the file is shorter than the run).
import { readFileSync } from 'node:fs';
import { Rng } from '../util/rng.js';

export interface BenchPrompt {
  readonly prompt: string;
  /** Prompt tokens as the server counts them, or null when the server cannot tell us. */
  readonly promptLen: number | null;
  readonly outputLen: number;
}

/** Counts the tokens the server prefills for a prompt; null when the server has no tokenizer endpoint. */
export type PromptCounter = ((prompt: string) => Promise<number>) | null;

const WORDS = (
  'time year people way day man thing woman life child world school state family student group country problem hand part ' +
  'place case week company system program question work government number night point home water room mother area money ' +
  'story fact month lot right study book eye job word business issue side kind head house service friend father power hour ' +
  'game line end member law car city community name president team minute idea kid body information back parent face ' +
  'others level office door health person art war history party result change morning reason research girl guy moment air ' +
  'teacher force education foot boy age policy process music market sense nation plan college interest death experience ' +
  'effect use class control care field development role effort rate heart drug show leader light voice wife police mind ' +
  'price report decision son view relationship town road arm difference value building action model season society tax ' +
  'director position player record paper space ground form event official matter center couple site project activity star ' +
  'table need court oil situation cost industry figure street image phone data picture practice piece land product doctor ' +
  'wall patient worker news test movie north love support technology step baby computer type attention film tree source'
).split(' ');

function randomWords(rng: Rng, count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(WORDS[rng.int(WORDS.length)]!);
  return out.join(' ');
}

/** Largest prefix of `text` the counter puts at ≤ target tokens (token counts grow with the prefix). */
async function cutToTokens(
  text: string,
  target: number,
  count: (s: string) => Promise<number>,
): Promise<{ prompt: string; promptLen: number }> {
  let lo = 0;
  let loLen = await count('');
  if (loLen >= target) return { prompt: '', promptLen: loLen };
  let hi = text.length;
  const full = await count(text);
  if (full <= target) return { prompt: text, promptLen: full };
  // Invariant: count(text[0..lo]) ≤ target < count(text[0..hi]).
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    const len = await count(text.slice(0, mid));
    if (len <= target) {
      lo = mid;
      loLen = len;
    } else {
      hi = mid;
    }
  }
  return { prompt: text.slice(0, lo), promptLen: loLen };
}

export interface RandomDatasetOptions {
  readonly numPrompts: number;
  readonly inputLen: number;
  readonly outputLen: number;
  readonly seed: number;
  readonly counter: PromptCounter;
  /** Separates the prompts of different runs under one seed (so no run hits another's prefix cache). */
  readonly stream?: string;
  /** Prompts measured at once (each is a few sequential /tokenize calls). */
  readonly parallel?: number;
}

export async function randomDataset(opts: RandomDatasetOptions): Promise<BenchPrompt[]> {
  const rng = new Rng(opts.seed, `random-dataset/${opts.stream ?? ''}`);
  const { counter } = opts;
  // Every word is at least one token for word-splitting tokenizers, so twice the words leave room to cut.
  const texts = Array.from({ length: opts.numPrompts }, () =>
    randomWords(rng, counter === null ? opts.inputLen : 2 * opts.inputLen),
  );
  if (counter === null) return texts.map((prompt) => ({ prompt, promptLen: null, outputLen: opts.outputLen }));
  const out = new Array<BenchPrompt>(texts.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < texts.length; i = next++) {
      out[i] = { ...(await cutToTokens(texts[i]!, opts.inputLen, counter)), outputLen: opts.outputLen };
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.parallel ?? 8, texts.length) }, worker));
  return out;
}

export interface FileDatasetOptions {
  readonly path: string;
  readonly numPrompts: number;
  readonly outputLen: number;
  readonly seed: number;
  readonly counter: PromptCounter;
  readonly stream?: string;
}

interface DatasetLine {
  prompt?: unknown;
  output_len?: unknown;
}

export function parseJsonlDataset(text: string, source: string): { prompt: string; outputLen: number | null }[] {
  const rows: { prompt: string; outputLen: number | null }[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: DatasetLine;
    try {
      parsed = JSON.parse(line) as DatasetLine;
    } catch (err) {
      throw new Error(`${source}:${i + 1}: ${(err as Error).message}`);
    }
    if (typeof parsed.prompt !== 'string') throw new Error(`${source}:${i + 1}: each line needs a string "prompt"`);
    const out = parsed.output_len;
    if (out !== undefined && !(typeof out === 'number' && Number.isInteger(out) && out > 0)) {
      throw new Error(`${source}:${i + 1}: "output_len" must be a positive integer`);
    }
    rows.push({ prompt: parsed.prompt, outputLen: out ?? null });
  });
  if (rows.length === 0) throw new Error(`${source}: no prompts`);
  return rows;
}

export async function fileDataset(opts: FileDatasetOptions): Promise<BenchPrompt[]> {
  const rows = parseJsonlDataset(readFileSync(opts.path, 'utf8'), opts.path);
  const rng = new Rng(opts.seed, `file-dataset/${opts.stream ?? ''}`);
  const order = rows.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const out: BenchPrompt[] = [];
  for (let i = 0; i < opts.numPrompts; i++) {
    const row = rows[order[i % order.length]!]!;
    out.push({
      prompt: row.prompt,
      promptLen: opts.counter === null ? null : await opts.counter(row.prompt),
      outputLen: row.outputLen ?? opts.outputLen,
    });
  }
  return out;
}
