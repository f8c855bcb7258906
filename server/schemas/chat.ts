// POST /v1/chat/completions request body: OpenAI's schema as latentserve serves it, plus vLLM's extras. The body
// is a strict object: a field we do not implement is a 400 naming it, never silently dropped. Fields with no
// effect on the output (user, store, metadata, …) are accepted and ignored, as OpenAI's own documentation allows.
import { z } from 'zod';
import { MAX_LOGPROBS, samplingFields, type RequestCaps } from './common.js';
import { structuredFields } from './structured.js';

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const content = z.union([z.string(), z.array(textPart)]);

export const toolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

/** A message as the chat template sees it: transformers' apply_chat_template gets exactly these fields. */
export const chatMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content, name: z.string().nullish() }),
  /** OpenAI's newer name for system instructions; rendered as a system message. */
  z.object({ role: z.literal('developer'), content, name: z.string().nullish() }),
  z.object({ role: z.literal('user'), content, name: z.string().nullish() }),
  z.object({
    role: z.literal('assistant'),
    /** null when the turn only calls tools. */
    content: content.nullish(),
    tool_calls: z.array(toolCallSchema).nullish(),
    name: z.string().nullish(),
    refusal: z.string().nullish(),
  }),
  z.object({ role: z.literal('tool'), content, tool_call_id: z.string() }),
]);

export const chatMessagesSchema = z.array(chatMessageSchema).min(1);

export const functionToolSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'function names are 1-64 letters, digits, _ or -'),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  }),
});

export const toolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
]);

/** The chat body, its caps read from the server's limits (built once per app). */
export const chatRequestSchema = (caps: RequestCaps) =>
  z.strictObject({
    ...samplingFields(caps),
    ...structuredFields,
    messages: chatMessagesSchema,
    max_completion_tokens: z.int().min(1).nullish(),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.int().min(0).max(MAX_LOGPROBS).nullish(),
    tools: z.array(functionToolSchema).nullish(),
    tool_choice: toolChoiceSchema.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    /** vLLM's: false renders BOS/EOS and other special tokens in the text. */
    skip_special_tokens: z.boolean().nullish(),
    /** vLLM's; tokenizer.json decoders never space special tokens apart, so both values give the same text. */
    spaces_between_special_tokens: z.boolean().nullish(),
    /** Only text output exists here; ["text"] is accepted, anything else is a 400. */
    modalities: z.array(z.literal('text')).nullish(),
    // No effect on the output: accepted and ignored.
    store: z.boolean().nullish(),
    metadata: z.record(z.string(), z.string()).nullish(),
    service_tier: z.string().nullish(),
    prompt_cache_key: z.string().nullish(),
    safety_identifier: z.string().nullish(),
  });

export type ChatMessageInput = z.output<typeof chatMessageSchema>;
export type ChatRequest = z.output<ReturnType<typeof chatRequestSchema>>;
export type FunctionToolInput = z.output<typeof functionToolSchema>;
