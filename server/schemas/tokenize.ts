// POST /tokenize and POST /detokenize bodies (vLLM's extension endpoints).
import { z } from 'zod';
import { chatMessagesSchema } from './chat.js';

export const tokenizePromptSchema = z.object({
  model: z.string().nullish(),
  prompt: z.string(),
  add_special_tokens: z.boolean().nullish(),
});

export const tokenizeChatSchema = z.object({
  model: z.string().nullish(),
  messages: chatMessagesSchema,
  add_generation_prompt: z.boolean().nullish(),
});

export const detokenizeSchema = z.object({
  model: z.string().nullish(),
  tokens: z.array(z.int().min(0)),
});
