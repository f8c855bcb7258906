// Batch-1 greedy decode through the engine, timed: shared by quant-probe.ts and decode-race.ts.
import { generateOffline, type GenerateParams } from '../engine/offline-generate.js';
import type { LoadedModel } from '../model/load.js';

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

/** Tokens per second of decoding `decodeTokens` tokens after `prompt` (its prefill is one of the decodeTokens + 1 steps). */
export async function decodeRate(model: LoadedModel, prompt: readonly number[], decodeTokens: number): Promise<number> {
  const t0 = performance.now();
  await generateOffline(model.executor, model.tokenizer, prompt, { ...GREEDY, maxTokens: decodeTokens + 1 });
  return decodeTokens / ((performance.now() - t0) / 1000);
}
