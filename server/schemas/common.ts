// Request fields shared by /v1/chat/completions and /v1/completions, with OpenAI's (and vLLM's) ranges.
// Every optional field is nullish: many clients send `null` for "not set".
import { z } from 'zod';

export const MAX_LOGPROBS = 20;

const tokenIdKey = z.string().regex(/^\d+$/, 'logit_bias keys must be token ids');

/**
 * The caps a request body is held to. They are the server's limits (server/limits.ts: `serve`'s --max-n,
 * --max-stop-strings, --max-stop-length, --max-logit-bias), read when the routes build their schemas, so a flag
 * is never refused by a number written here.
 */
export interface RequestCaps {
  readonly maxN: number;
  readonly maxStopStrings: number;
  /** Characters (Unicode code points, not UTF-16 units) per stop string. */
  readonly maxStopLength: number;
  readonly maxLogitBias: number;
}

/** Characters as a user counts them: 😀 is one (two UTF-16 units). */
function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

export function samplingFields(caps: RequestCaps) {
  return {
    model: z.string().nullish(),
    max_tokens: z.int().min(1).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().gt(0).max(1).nullish(),
    /** -1 and 0 both mean "off" (vLLM uses -1). */
    top_k: z.int().min(-1).nullish(),
    min_p: z.number().min(0).max(1).nullish(),
    n: z
      .int()
      .min(1)
      .max(caps.maxN, { error: (issue) => `n must be at most ${caps.maxN}, got ${String(issue.input)}.` })
      .nullish(),
    stop: z
      .union([z.string().min(1), z.array(z.string().min(1))])
      .nullish()
      .superRefine((stop, ctx) => {
        const list = stop === null || stop === undefined ? [] : typeof stop === 'string' ? [stop] : stop;
        if (list.length > caps.maxStopStrings)
          ctx.addIssue({ code: 'custom', message: `At most ${caps.maxStopStrings} stop strings, got ${list.length}.` });
        for (const s of list) {
          const chars = codePoints(s);
          if (chars > caps.maxStopLength)
            ctx.addIssue({
              code: 'custom',
              message: `Stop strings are at most ${caps.maxStopLength} characters, got ${chars}.`,
            });
        }
      }),
    seed: z.int().nullish(),
    presence_penalty: z.number().min(-2).max(2).nullish(),
    frequency_penalty: z.number().min(-2).max(2).nullish(),
    repetition_penalty: z.number().gt(0).max(2).nullish(),
    logit_bias: z
      .record(tokenIdKey, z.number().min(-100).max(100))
      .nullish()
      .superRefine((bias, ctx) => {
        const entries = bias ? Object.keys(bias).length : 0;
        if (entries > caps.maxLogitBias)
          ctx.addIssue({
            code: 'custom',
            message: `logit_bias has at most ${caps.maxLogitBias} entries, got ${entries}.`,
          });
      }),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
    ignore_eos: z.boolean().nullish(),
    /** vLLM's: EOS and stop_token_ids cannot be sampled, and stop strings do not match, before this many tokens. */
    min_tokens: z.int().min(0).nullish(),
    /** vLLM's: the stop string that ended the output stays in its text. */
    include_stop_str_in_output: z.boolean().nullish(),
    /** vLLM's: only these token ids can be sampled. */
    allowed_token_ids: z.array(z.int().min(0)).min(1, 'allowed_token_ids must not be empty.').nullish(),
    /** vLLM's: token ids that end the output like EOS (the id is kept out of the text, its `stop_reason` set). */
    stop_token_ids: z
      .array(z.int().min(0))
      .max(caps.maxStopStrings, {
        error: (issue) =>
          `At most ${caps.maxStopStrings} stop_token_ids, got ${(issue.input as unknown[]).length} (the stop strings' cap).`,
      })
      .nullish(),
    return_tokens_as_token_ids: z.boolean().nullish(),
    prompt_logprobs: z.int().min(0).max(MAX_LOGPROBS).nullish(),
    user: z.string().nullish(),
  } as const;
}

export type SamplingFields = z.output<z.ZodObject<ReturnType<typeof samplingFields>>>;
