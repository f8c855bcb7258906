// Locating the copied reference fixtures and decoding their reference.json.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: tests run compiled, from dist/tests/helpers/. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const FIXTURES = ['deepseek-v2-tiny', 'deepseek-v3-tiny-b'] as const;

export function fixtureDir(name: string): string {
  return join(REPO_ROOT, 'tests', 'fixtures', name);
}

export interface ReferencePrompt {
  readonly name: string;
  readonly text: string;
  readonly prompt_ids: number[];
  readonly continuation_ids: number[];
  readonly fed_ids: number[];
  readonly n_rows: number;
  readonly logits_b64: string;
  readonly top5_ids: number[][];
}

export interface Reference {
  readonly vocab_size: number;
  readonly reference: { readonly softmax_scale: number; readonly rope_freqs: number[]; readonly yarn_active: boolean };
  readonly prompts: ReferencePrompt[];
}

export function loadReference(name: string): Reference {
  return JSON.parse(readFileSync(join(fixtureDir(name), 'reference.json'), 'utf8')) as Reference;
}

/** Row i of the reference logits: after feeding fed_ids[i] at position i. */
export function referenceRows(prompt: ReferencePrompt, vocabSize: number): Float32Array[] {
  const bytes = Buffer.from(prompt.logits_b64, 'base64');
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return Array.from({ length: prompt.n_rows }, (_, i) => all.subarray(i * vocabSize, (i + 1) * vocabSize));
}

/** A fresh folder for compiled models, so tests never depend on ~/.cache. */
export function tempCacheDir(): string {
  return mkdtempSync(join(tmpdir(), 'latentserve-test-'));
}

/** The reference's top-5 tokens at a row, as log-softmax values (float64). */
export function referenceTop5(row: Float32Array): { id: number; logprob: number }[] {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const logZ = max + Math.log(sum);
  return Array.from(row.keys())
    .sort((a, b) => row[b]! - row[a]!)
    .slice(0, 5)
    .map((id) => ({ id, logprob: row[id]! - logZ }));
}
