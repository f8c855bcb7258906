// Batch-1 greedy decode through the engine, timed: shared by quant-probe.ts, decode-race.ts and bench:compare.
import { generateOffline, type GenerateParams } from '../engine/offline-generate.js';
import type { LoadedModel } from '../model/load.js';
import { TimedExecutor } from './timed-executor.js';

/** Greedy, no EOS, no logprobs: every run generates exactly the tokens asked for. */
export const GREEDY: Omit<GenerateParams, 'maxTokens'> = {
  temperature: 0,
  topP: 1,
  seed: 0,
  logprobs: null,
  echo: false,
  ignoreEos: true,
  eosTokenIds: [],
  maxBatchTokens: 512,
};

/**
 * Tokens per second of decoding `decodeTokens` tokens after `prompt`, timed from the end of the prompt's step (which
 * yields the first token) to the end of the last step: generation only, as llama-bench's `tg` times it.
 */
export async function decodeRate(model: LoadedModel, prompt: readonly number[], decodeTokens: number): Promise<number> {
  const timed = new TimedExecutor(model.executor);
  await generateOffline(timed, model.tokenizer, prompt, { ...GREEDY, maxTokens: decodeTokens + 1 });
  if (timed.decodeMs.length !== decodeTokens || Number.isNaN(timed.prefillEndAt))
    throw new Error(
      `expected one prompt step and ${decodeTokens} decode steps, got ${timed.decodeMs.length} decode steps`,
    );
  return decodeTokens / ((timed.lastEndAt - timed.prefillEndAt) / 1000);
}
