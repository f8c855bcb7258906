// POST /v1/chat/completions: messages → chat template → token ids → n engine requests → response or SSE.
import type { Hono } from 'hono';
import { InvalidRequest } from '../../engine/errors.js';
import type { ChatMessage, ModelTokenizer } from '../../model/tokenizer.js';
import { collectChat, streamChat, type ChatResponseContext } from '../chat-response.js';
import { startChoices } from '../choices.js';
import { checkModel, choiceRequests, resolveMaxTokens, samplingOptions, stopStrings } from '../engine-request.js';
import { TokenNames } from '../logprobs.js';
import type { ServerOptions } from '../options.js';
import { parseBody } from '../request-body.js';
import { chatRequestSchema, type ChatMessageInput } from '../schemas/chat.js';
import { requestAbortController, sseResponse } from '../sse.js';
import { newRequestId, unixSeconds } from '../usage.js';

function messageText(content: ChatMessageInput['content']): string {
  if (content === null || content === undefined) return '';
  return typeof content === 'string' ? content : content.map((part) => part.text).join('\n');
}

/** Prompt ids for `messages`; the chat template adds BOS itself. */
export function chatPromptIds(
  tokenizer: ModelTokenizer,
  messages: readonly ChatMessageInput[],
  addGenerationPrompt: boolean,
): number[] {
  const plain: ChatMessage[] = messages.map((m) => ({ role: m.role, content: messageText(m.content) }));
  let prompt: string;
  try {
    prompt = tokenizer.applyChatTemplate(plain, { addGenerationPrompt });
  } catch (err) {
    throw new InvalidRequest(`Cannot apply the chat template: ${(err as Error).message}`, 'messages');
  }
  return tokenizer.encode(prompt);
}

export function addChatRoute(app: Hono, opts: ServerOptions): void {
  app.post('/v1/chat/completions', async (c) => {
    const req = await parseBody(c, chatRequestSchema);
    checkModel(req.model, opts.servedModelName);
    if ((req.top_logprobs ?? 0) > 0 && req.logprobs !== true) {
      throw new InvalidRequest('top_logprobs requires logprobs to be true.', 'top_logprobs');
    }
    const promptIds = chatPromptIds(opts.tokenizer, req.messages, true);
    const requested = req.max_completion_tokens ?? req.max_tokens;
    const maxTokens = resolveMaxTokens(promptIds.length, requested, opts.maxModelLen, 'messages');
    const topLogprobs = req.logprobs === true ? req.top_logprobs ?? 0 : null;
    const promptTopLogprobs = req.prompt_logprobs ?? null;
    const n = req.n ?? 1;
    const id = newRequestId('chatcmpl');
    const requests = choiceRequests(id, promptIds, maxTokens, {
      sampling: samplingOptions(req, opts.vocabSize),
      stop: stopStrings(req.stop),
      ignoreEos: req.ignore_eos ?? false,
      logprobs: topLogprobs,
      promptLogprobs: promptTopLogprobs,
    }, n);

    const controller = requestAbortController(c);
    const events = await startChoices(opts.engine, requests, controller);
    const ctx: ChatResponseContext = {
      id,
      created: unixSeconds(),
      model: opts.servedModelName,
      n,
      promptTokens: promptIds.length,
      names: new TokenNames(opts.tokenizer, req.return_tokens_as_token_ids ?? false),
      topLogprobs,
      promptTopLogprobs,
    };
    if (req.stream === true) {
      const includeUsage = req.stream_options?.include_usage ?? false;
      return sseResponse(c, controller, (send) => streamChat(events, ctx, includeUsage, send));
    }
    return c.json(await collectChat(events, ctx));
  });
}
