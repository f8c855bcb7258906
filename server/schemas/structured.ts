// Request fields that constrain the output: OpenAI's response_format, vLLM's structured_outputs and its older
// guided_* spellings. server/structured-output.ts turns them into one GrammarSpec.
import { z } from 'zod';

const jsonSchemaValue = z.union([z.record(z.string(), z.unknown()), z.boolean()]);

export const responseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'json_schema.name must be 1-64 letters, digits, _ or -'),
      description: z.string().nullish(),
      schema: jsonSchemaValue.nullish(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

export const structuredOutputsSchema = z.strictObject({
  json: z.union([jsonSchemaValue, z.string()]).nullish(),
  regex: z.string().nullish(),
  choice: z.array(z.string()).min(1).nullish(),
  grammar: z.string().nullish(),
  json_object: z.boolean().nullish(),
  structural_tag: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish(),
});

export const structuredFields = {
  response_format: responseFormatSchema.nullish(),
  structured_outputs: structuredOutputsSchema.nullish(),
  guided_json: z.union([jsonSchemaValue, z.string()]).nullish(),
  guided_regex: z.string().nullish(),
  guided_choice: z.array(z.string()).min(1).nullish(),
  guided_grammar: z.string().nullish(),
  /** vLLM's backend selector: only xgrammar is here. */
  guided_decoding_backend: z.enum(['xgrammar', 'auto']).nullish(),
} as const;

const structuredSchema = z.object(structuredFields);
export type StructuredFields = z.output<typeof structuredSchema>;
