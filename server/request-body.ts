// Reads a JSON request body and validates it with a zod schema. Malformed JSON is an InvalidRequest (param null);
// schema violations throw the ZodError itself, which errors.ts maps to 400 with the failing field as `param`.
// Chat, completions and Responses bodies are strict objects (an unknown field is a 400 naming it); the
// /tokenize and /detokenize bodies are plain z.object()s, which drop unknown fields.
import type { Context } from 'hono';
import type { z } from 'zod';
import { InvalidRequest } from '../engine/errors.js';

export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidRequest(`Malformed JSON in request body: ${(err as Error).message}`);
  }
}

export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  return schema.parse(await readJson(c));
}
