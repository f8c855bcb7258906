// POST /v1/completions request body. `prompt` is text, texts, token ids, or lists of token ids; each prompt is
// its own block of `n` choices.
import { z } from 'zod';
import { MAX_LOGPROBS, samplingFields } from './common.js';

const tokenIds = z.array(z.int().min(0)).min(1);

export const completionRequestSchema = z.object({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string()).min(1), tokenIds, z.array(tokenIds).min(1)]),
  /** Legacy logprobs: how many alternatives per token (0 = only the chosen token's). */
  logprobs: z.int().min(0).max(MAX_LOGPROBS).nullish(),
  echo: z.boolean().nullish(),
  /** Candidates per prompt, of which the `n` with the highest cumulative logprob are returned (≥ n; see best-of.ts). */
  best_of: z.int().min(1).nullish(),
  suffix: z.string().nullish(),
});

export type CompletionRequest = z.output<typeof completionRequestSchema>;
