// POST /tokenize and POST /detokenize (vLLM's extension endpoints), for clients that count or inspect tokens.
import type { Hono } from 'hono';
import { InvalidRequest } from '../../engine/errors.js';
import type { AppEnv } from '../app-env.js';
import { checkTokenIds } from '../../engine/prompt-checks.js';
import { checkModel } from '../engine-request.js';
import type { RouteOptions } from '../options.js';
import { parseBody, readJson } from '../request-body.js';
import { detokenizeSchema, tokenizeChatSchema, tokenizePromptSchema } from '../schemas/tokenize.js';
import { chatPromptIds, messageTexts } from './chat.js';

// Text is refused before tokenizing when it cannot fit the prompt limit (limits.ts: PromptSizeGuard), and token
// lists longer than the context window are refused before decoding: both would otherwise be unbounded work on
// the HTTP thread.
export function addTokenizeRoutes(app: Hono<AppEnv>, opts: RouteOptions): void {
  app.post('/tokenize', async (c) => {
    // Choose the schema by shape: a zod union would report errors against the wrong branch.
    const body = await readJson(c);
    let tokens: number[];
    if (typeof body === 'object' && body !== null && 'messages' in body) {
      const req = tokenizeChatSchema.parse(body);
      checkModel(req.model, opts.servedModelName);
      opts.promptGuard.check(messageTexts(req.messages), 'messages');
      tokens = await chatPromptIds(opts.tokenizer, opts.encoder, req.messages, req.add_generation_prompt ?? true);
    } else {
      const req = tokenizePromptSchema.parse(body);
      checkModel(req.model, opts.servedModelName);
      opts.promptGuard.check([req.prompt], 'prompt');
      tokens = await opts.encoder.encode(req.prompt, { addSpecialTokens: req.add_special_tokens ?? true });
    }
    return c.json({ tokens, count: tokens.length, max_model_len: opts.maxModelLen });
  });

  app.post('/detokenize', async (c) => {
    const req = await parseBody(c, detokenizeSchema);
    checkModel(req.model, opts.servedModelName);
    if (req.tokens.length > opts.maxModelLen) {
      throw new InvalidRequest(
        `At most ${opts.maxModelLen} tokens (the context window), got ${req.tokens.length}.`,
        'tokens',
      );
    }
    checkTokenIds(req.tokens, opts.vocabSize, 'tokens');
    return c.json({ prompt: opts.tokenizer.decode(req.tokens) });
  });
}
