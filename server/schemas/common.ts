// Request fields shared by /v1/chat/completions and /v1/completions, with OpenAI's (and vLLM's) ranges.
// Every optional field is nullish: many clients send `null` for "not set".
import { z } from 'zod';

export const MAX_LOGPROBS = 20;

const tokenIdKey = z.string().regex(/^\d+$/, 'logit_bias keys must be token ids');

export const samplingFields = {
  model: z.string().nullish(),
  max_tokens: z.int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  /** -1 and 0 both mean "off" (vLLM uses -1). */
  top_k: z.int().min(-1).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  n: z.int().min(1).max(16).nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(16)]).nullish(),
  seed: z.int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  repetition_penalty: z.number().gt(0).max(2).nullish(),
  logit_bias: z.record(tokenIdKey, z.number().min(-100).max(100)).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  ignore_eos: z.boolean().nullish(),
  return_tokens_as_token_ids: z.boolean().nullish(),
  prompt_logprobs: z.int().min(0).max(MAX_LOGPROBS).nullish(),
  user: z.string().nullish(),
} as const;

const samplingSchema = z.object(samplingFields);
export type SamplingFields = z.output<typeof samplingSchema>;
