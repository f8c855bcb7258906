// POST /v1/completions: each prompt (text or token ids) → n engine requests → response or SSE.
import type { Hono } from 'hono';
import { InvalidRequest } from '../../engine/errors.js';
import type { AppEnv } from '../app-env.js';
import { candidatesPerPrompt } from '../best-of.js';
import { collectCompletion, streamCompletion, type CompletionPrompt } from '../completion-response.js';
import { checkTokenIds, resolveMaxTokens } from '../../engine/prompt-checks.js';
import { checkModel, choiceRequests, samplingOptions, outputSettings } from '../engine-request.js';
import { logPrompt, respondWithGeneration } from '../generate.js';
import { checkChoiceCount, checkPromptTokens, limitMaxTokens } from '../limits.js';
import { TokenNames } from '../logprobs.js';
import type { RouteOptions } from '../options.js';
import { parseBody } from '../request-body.js';
import { completionRequestSchema, type CompletionRequest } from '../schemas/completions.js';
import { compileGrammar, structuredGrammar } from '../structured-output.js';
import { newRequestId, unixSeconds } from '../usage.js';

/** The prompt as a list of prompts, each text or token ids. */
function promptList(prompt: CompletionRequest['prompt']): (string | readonly number[])[] {
  if (typeof prompt === 'string') return [prompt];
  const first = prompt[0];
  if (typeof first === 'number') return [prompt as number[]];
  return prompt as string[] | number[][];
}

/** Tokenizes (or checks and decodes) each prompt, refusing oversized ones before the tokenizer sees them. */
async function completionPrompts(
  opts: RouteOptions,
  prompts: readonly (string | readonly number[])[],
): Promise<CompletionPrompt[]> {
  const { tokenizer, encoder, limits } = opts;
  for (const p of prompts) {
    if (typeof p === 'string') opts.promptGuard.check([p], 'prompt');
    else {
      checkPromptTokens(p.length, limits, 'prompt');
      checkTokenIds(p, opts.vocabSize, 'prompt');
    }
  }
  return Promise.all(
    prompts.map(async (p) => {
      if (typeof p !== 'string') return { ids: p, text: tokenizer.decode(p) };
      const ids = await encoder.encode(p, { addSpecialTokens: true });
      checkPromptTokens(ids.length, limits, 'prompt');
      return { ids, text: p };
    }),
  );
}

export function addCompletionsRoute(app: Hono<AppEnv>, opts: RouteOptions): void {
  const schema = completionRequestSchema(opts.limits);
  app.post('/v1/completions', async (c) => {
    const req = await parseBody(c, schema);
    checkModel(req.model, opts.servedModelName);
    if (req.suffix) throw new InvalidRequest('suffix is not supported.', 'suffix');
    const list = promptList(req.prompt);
    checkChoiceCount(req.n ?? 1, opts.limits, list.length);
    const candidates = candidatesPerPrompt(req, opts.limits, list.length);
    const structured = structuredGrammar(req);
    logPrompt(c, opts, req.prompt);
    if (structured !== null) await compileGrammar(opts, structured.grammar, structured.param);
    const prompts = await completionPrompts(opts, list);
    const maxTokens = prompts.map((p) => {
      const requested = limitMaxTokens(req.max_tokens, p.ids.length, opts.limits, opts.maxModelLen);
      return resolveMaxTokens(p.ids.length, requested, opts.maxModelLen, 'prompt');
    });
    const logprobs = req.logprobs ?? null;
    const echo = req.echo ?? false;
    const promptTopLogprobs = req.prompt_logprobs ?? null;
    // Collected echo with logprobs scores the prompt tokens too, so ask the engine for prompt logprobs then. A
    // stream sends the echo before the engine reports them (with `finish`), so it echoes text only.
    const echoScored = echo && logprobs !== null && req.stream !== true;
    const enginePromptLogprobs = Math.max(promptTopLogprobs ?? -1, echoScored ? logprobs : -1);
    const settings = {
      sampling: samplingOptions(req, opts.vocabSize),
      ...outputSettings(req, opts.vocabSize, Math.min(...maxTokens), 'max_tokens'),
      // best_of ranks candidates by the sampled tokens' logprobs, so it needs them even when the client does not.
      logprobs: candidates > (req.n ?? 1) ? (logprobs ?? 0) : logprobs,
      promptLogprobs: enginePromptLogprobs < 0 ? null : enginePromptLogprobs,
      skipSpecialTokens: req.skip_special_tokens ?? true,
      grammar: structured?.grammar ?? null,
    };
    const n = req.n ?? 1;
    const id = newRequestId('cmpl');
    const requests = prompts.flatMap((p, i) =>
      choiceRequests(id, p.ids, maxTokens[i]!, settings, candidates, i * candidates),
    );

    const ctx = {
      id,
      created: unixSeconds(),
      model: opts.servedModelName,
      n: candidates,
      returned: n,
      prompts,
      names: new TokenNames(opts.tokenizer, req.return_tokens_as_token_ids ?? false),
      echo,
      logprobs,
      promptTopLogprobs,
    };
    const includeUsage = req.stream_options?.include_usage ?? false;
    return respondWithGeneration(c, opts, requests, {
      stream: req.stream === true,
      collect: (events) => collectCompletion(events, ctx),
      produce: (events, send) => streamCompletion(events, ctx, includeUsage, send),
    });
  });
}
