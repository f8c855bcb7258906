// POST /v1/chat/completions request body (the subset of OpenAI's schema latentserve serves, plus vLLM's extras).
import { z } from 'zod';
import { MAX_LOGPROBS, samplingFields } from './common.js';

const textPart = z.object({ type: z.literal('text'), text: z.string() });

export const chatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  /** A string or text parts; an assistant turn may carry null content. */
  content: z.union([z.string(), z.array(textPart)]).nullish(),
  name: z.string().nullish(),
});

export const chatMessagesSchema = z.array(chatMessageSchema).min(1);

export const chatRequestSchema = z.object({
  ...samplingFields,
  messages: chatMessagesSchema,
  max_completion_tokens: z.int().min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.int().min(0).max(MAX_LOGPROBS).nullish(),
});

export type ChatMessageInput = z.output<typeof chatMessageSchema>;
export type ChatRequest = z.output<typeof chatRequestSchema>;
