// POST /v1/responses request body: OpenAI's Responses API as latentserve serves it (text and function tools; no
// hosted tools, files, images, reasoning or background mode). Strict like chat: an unknown field is a 400.
import { z } from 'zod';

const inputText = z.object({ type: z.literal('input_text'), text: z.string() });
const outputText = z.object({
  type: z.literal('output_text'),
  text: z.string(),
  annotations: z.array(z.unknown()).nullish(),
});

export const messageItemSchema = z.object({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(z.union([inputText, outputText]))]),
  id: z.string().nullish(),
  status: z.string().nullish(),
});

export const functionCallItemSchema = z.object({
  type: z.literal('function_call'),
  call_id: z.string(),
  name: z.string(),
  arguments: z.string(),
  id: z.string().nullish(),
  status: z.string().nullish(),
});

export const functionCallOutputItemSchema = z.object({
  type: z.literal('function_call_output'),
  call_id: z.string(),
  output: z.string(),
  id: z.string().nullish(),
  status: z.string().nullish(),
});

export const inputItemSchema = z.union([messageItemSchema, functionCallItemSchema, functionCallOutputItemSchema]);

const functionTool = z.object({
  type: z.literal('function'),
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'function names are 1-64 letters, digits, _ or -'),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const textFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'name must be 1-64 letters, digits, _ or -'),
    schema: z.union([z.record(z.string(), z.unknown()), z.boolean()]),
    description: z.string().nullish(),
    strict: z.boolean().nullish(),
  }),
]);

export const responsesRequestSchema = z.strictObject({
  model: z.string().nullish(),
  input: z.union([z.string(), z.array(inputItemSchema)]),
  instructions: z.string().nullish(),
  max_output_tokens: z.int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  stream: z.boolean().nullish(),
  text: z.strictObject({ format: textFormat.nullish() }).nullish(),
  tools: z.array(functionTool).nullish(),
  tool_choice: z
    .union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), name: z.string() })])
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().nullish(),
  /** Only "disabled" (a prompt over the window is an error, never silently cut). */
  truncation: z.literal('disabled').nullish(),
  /** Reasoning models only: null or absent. */
  reasoning: z.null().nullish(),
  background: z.literal(false).nullish(),
  include: z.array(z.never()).nullish(),
  // No effect on the output: accepted and ignored.
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().nullish(),
  service_tier: z.string().nullish(),
  prompt_cache_key: z.string().nullish(),
  safety_identifier: z.string().nullish(),
});

export type ResponsesRequest = z.output<typeof responsesRequestSchema>;
export type InputItem = z.output<typeof inputItemSchema>;
