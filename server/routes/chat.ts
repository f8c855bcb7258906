// POST /v1/chat/completions: messages → chat template → token ids → n engine requests → response or SSE.
import type { Hono } from 'hono';
import { InvalidRequest } from '../../engine/errors.js';
import type { PromptEncoder } from '../../model/tokenizer-thread.js';
import type { ChatMessage, ModelTokenizer } from '../../model/tokenizer.js';
import type { AppEnv } from '../app-env.js';
import { collectChat, streamChat, type ChatResponseContext } from '../chat-response.js';
import { checkModel, choiceRequests, resolveMaxTokens, samplingOptions, stopStrings } from '../engine-request.js';
import { logPrompt, respondWithGeneration } from '../generate.js';
import { checkPromptTokens, checkSamplingLimits, limitMaxTokens } from '../limits.js';
import { TokenNames } from '../logprobs.js';
import type { RouteOptions } from '../options.js';
import { parseBody } from '../request-body.js';
import { chatRequestSchema, type ChatMessageInput } from '../schemas/chat.js';
import { newRequestId, unixSeconds } from '../usage.js';

function messageText(content: ChatMessageInput['content']): string {
  if (content === null || content === undefined) return '';
  return typeof content === 'string' ? content : content.map((part) => part.text).join('\n');
}

/** Prompt ids for `messages`; the chat template adds BOS itself. */
export async function chatPromptIds(
  tokenizer: ModelTokenizer,
  encoder: PromptEncoder,
  messages: readonly ChatMessageInput[],
  addGenerationPrompt: boolean,
): Promise<number[]> {
  const plain: ChatMessage[] = messages.map((m) => ({ role: m.role, content: messageText(m.content) }));
  let prompt: string;
  try {
    prompt = tokenizer.applyChatTemplate(plain, { addGenerationPrompt });
  } catch (err) {
    throw new InvalidRequest(`Cannot apply the chat template: ${(err as Error).message}`, 'messages');
  }
  return encoder.encode(prompt);
}

/** The messages' text, for the size check that runs before the template and the tokenizer. */
export function messageTexts(messages: readonly ChatMessageInput[]): string[] {
  return messages.map((m) => messageText(m.content));
}

export function addChatRoute(app: Hono<AppEnv>, opts: RouteOptions): void {
  app.post('/v1/chat/completions', async (c) => {
    const req = await parseBody(c, chatRequestSchema);
    checkModel(req.model, opts.servedModelName);
    if ((req.top_logprobs ?? 0) > 0 && req.logprobs !== true) {
      throw new InvalidRequest('top_logprobs requires logprobs to be true.', 'top_logprobs');
    }
    checkSamplingLimits(req, opts.limits);
    opts.promptGuard.check(messageTexts(req.messages), 'messages');
    logPrompt(c, opts, req.messages);
    const promptIds = await chatPromptIds(opts.tokenizer, opts.encoder, req.messages, true);
    checkPromptTokens(promptIds.length, opts.limits, 'messages');
    const param = req.max_completion_tokens === null || req.max_completion_tokens === undefined ? 'max_tokens' : 'max_completion_tokens';
    const requested = limitMaxTokens(req.max_completion_tokens ?? req.max_tokens, promptIds.length, opts.limits, opts.maxModelLen, param);
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
    const includeUsage = req.stream_options?.include_usage ?? false;
    return respondWithGeneration(c, opts, requests, {
      stream: req.stream === true,
      collect: (events) => collectChat(events, ctx),
      produce: (events, send) => streamChat(events, ctx, includeUsage, send),
    });
  });
}
