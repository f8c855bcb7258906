// POST /v1/completions request body. `prompt` is text, texts, token ids, or lists of token ids; each prompt is
// its own block of `n` choices. Strict, like chat: a field latentserve does not implement is a 400 naming it.
import { z } from 'zod';
import { MAX_LOGPROBS, samplingFields, type RequestCaps } from './common.js';
import { structuredFields } from './structured.js';

const tokenIds = z.array(z.int().min(0)).min(1);

/** The completions body, its caps read from the server's limits (built once per app). */
export const completionRequestSchema = (caps: RequestCaps) =>
  z.strictObject({
    ...samplingFields(caps),
    /** Constrained output, as vLLM's completions take it (response_format, structured_outputs, guided_*). */
    ...structuredFields,
    prompt: z.union([z.string(), z.array(z.string()).min(1), tokenIds, z.array(tokenIds).min(1)]),
    /** Legacy logprobs: how many alternatives per token (0 = only the chosen token's). */
    logprobs: z.int().min(0).max(MAX_LOGPROBS).nullish(),
    echo: z.boolean().nullish(),
    /** Candidates per prompt, of which the `n` with the highest cumulative logprob are returned (≥ n; see best-of.ts). */
    best_of: z.int().min(1).nullish(),
    /** vLLM's: leave special tokens out of the generated text (default true). */
    skip_special_tokens: z.boolean().nullish(),
    /**
     * vLLM's: whether special tokens rendered side by side are separated by spaces. Only slow (Python) tokenizers
     * ever insert those spaces; tokenizer.json decoders, like vLLM's fast detokenizer, never do, so both values give
     * the same text here (asserted in completions.test.ts).
     */
    spaces_between_special_tokens: z.boolean().nullish(),
    suffix: z.string().nullish(),
  });

export type CompletionRequest = z.output<ReturnType<typeof completionRequestSchema>>;
