// POST /tokenize and POST /detokenize (vLLM's extension endpoints), for clients that count or inspect tokens.
import type { Hono } from 'hono';
import { checkModel, checkTokenIds } from '../engine-request.js';
import type { ServerOptions } from '../options.js';
import { parseBody, readJson } from '../request-body.js';
import { detokenizeSchema, tokenizeChatSchema, tokenizePromptSchema } from '../schemas/tokenize.js';
import { chatPromptIds } from './chat.js';

export function addTokenizeRoutes(app: Hono, opts: ServerOptions): void {
  app.post('/tokenize', async (c) => {
    // Choose the schema by shape: a zod union would report errors against the wrong branch.
    const body = await readJson(c);
    let tokens: number[];
    if (typeof body === 'object' && body !== null && 'messages' in body) {
      const req = tokenizeChatSchema.parse(body);
      checkModel(req.model, opts.servedModelName);
      tokens = chatPromptIds(opts.tokenizer, req.messages, req.add_generation_prompt ?? true);
    } else {
      const req = tokenizePromptSchema.parse(body);
      checkModel(req.model, opts.servedModelName);
      tokens = opts.tokenizer.encode(req.prompt, { addSpecialTokens: req.add_special_tokens ?? true });
    }
    return c.json({ tokens, count: tokens.length, max_model_len: opts.maxModelLen });
  });

  app.post('/detokenize', async (c) => {
    const req = await parseBody(c, detokenizeSchema);
    checkModel(req.model, opts.servedModelName);
    checkTokenIds(req.tokens, opts.tokenizer.vocabSize, 'tokens');
    return c.json({ prompt: opts.tokenizer.decode(req.tokens) });
  });
}
