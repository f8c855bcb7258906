// POST /v1/completions: each prompt (text or token ids) → n engine requests → response or SSE.
import type { Hono } from 'hono';
import { InvalidRequest } from '../../engine/errors.js';
import type { ModelTokenizer } from '../../model/tokenizer.js';
import { startChoices } from '../choices.js';
import { collectCompletion, streamCompletion, type CompletionPrompt } from '../completion-response.js';
import { checkModel, checkTokenIds, choiceRequests, resolveMaxTokens, samplingOptions, stopStrings } from '../engine-request.js';
import { TokenNames } from '../logprobs.js';
import type { ServerOptions } from '../options.js';
import { parseBody } from '../request-body.js';
import { completionRequestSchema, type CompletionRequest } from '../schemas/completions.js';
import { requestAbortController, sseResponse } from '../sse.js';
import { newRequestId, unixSeconds } from '../usage.js';

function completionPrompts(tokenizer: ModelTokenizer, vocabSize: number, prompt: CompletionRequest['prompt']): CompletionPrompt[] {
  const fromText = (text: string): CompletionPrompt => ({ ids: tokenizer.encode(text, { addSpecialTokens: true }), text });
  const fromIds = (ids: readonly number[]): CompletionPrompt => {
    checkTokenIds(ids, vocabSize, 'prompt');
    return { ids, text: tokenizer.decode(ids) };
  };
  if (typeof prompt === 'string') return [fromText(prompt)];
  const first = prompt[0];
  if (typeof first === 'number') return [fromIds(prompt as number[])];
  if (typeof first === 'string') return (prompt as string[]).map(fromText);
  return (prompt as number[][]).map(fromIds);
}

export function addCompletionsRoute(app: Hono, opts: ServerOptions): void {
  app.post('/v1/completions', async (c) => {
    const req = await parseBody(c, completionRequestSchema);
    checkModel(req.model, opts.servedModelName);
    if (req.suffix) throw new InvalidRequest('suffix is not supported.', 'suffix');
    const prompts = completionPrompts(opts.tokenizer, opts.vocabSize, req.prompt);
    const maxTokens = prompts.map((p) => resolveMaxTokens(p.ids.length, req.max_tokens, opts.maxModelLen, 'prompt'));
    const logprobs = req.logprobs ?? null;
    const echo = req.echo ?? false;
    const promptTopLogprobs = req.prompt_logprobs ?? null;
    // Collected echo with logprobs scores the prompt tokens too, so ask the engine for prompt logprobs then. A
    // stream sends the echo before the engine reports them (with `finish`), so it echoes text only.
    const echoScored = echo && logprobs !== null && req.stream !== true;
    const enginePromptLogprobs = Math.max(promptTopLogprobs ?? -1, echoScored ? logprobs : -1);
    const settings = {
      sampling: samplingOptions(req, opts.vocabSize),
      stop: stopStrings(req.stop),
      ignoreEos: req.ignore_eos ?? false,
      logprobs,
      promptLogprobs: enginePromptLogprobs < 0 ? null : enginePromptLogprobs,
    };
    const n = req.n ?? 1;
    const id = newRequestId('cmpl');
    const requests = prompts.flatMap((p, i) => choiceRequests(id, p.ids, maxTokens[i]!, settings, n, i * n));

    const controller = requestAbortController(c);
    const events = await startChoices(opts.engine, requests, controller);
    const ctx = {
      id,
      created: unixSeconds(),
      model: opts.servedModelName,
      n,
      prompts,
      names: new TokenNames(opts.tokenizer, req.return_tokens_as_token_ids ?? false),
      echo,
      logprobs,
      promptTopLogprobs,
    };
    if (req.stream === true) {
      const includeUsage = req.stream_options?.include_usage ?? false;
      return sseResponse(c, controller, (send) => streamCompletion(events, ctx, includeUsage, send));
    }
    return c.json(await collectCompletion(events, ctx));
  });
}
