// POST /v1/chat/completions: messages (+ tools) → chat template → token ids → n engine requests, each constrained
// by the request's grammar if it has one → response or SSE, with tool calls parsed out of the text.
import type { Hono } from 'hono';
import { InvalidRequest } from '../../engine/errors.js';
import type { PromptEncoder } from '../../model/tokenizer-thread.js';
import type { ChatMessage, ModelTokenizer } from '../../model/tokenizer.js';
import type { EngineRequest } from '../../engine/types.js';
import type { AppContext, AppEnv } from '../app-env.js';
import { collectChat, streamChat, type ChatResponseContext } from '../chat-response.js';
import { resolveMaxTokens } from '../../engine/prompt-checks.js';
import { checkModel, choiceRequests, samplingOptions, outputSettings } from '../engine-request.js';
import { logPrompt, respondWithGeneration } from '../generate.js';
import { checkChoiceCount, checkPromptTokens, limitMaxTokens } from '../limits.js';
import { TokenNames } from '../logprobs.js';
import type { RouteOptions } from '../options.js';
import { parseBody } from '../request-body.js';
import { chatRequestSchema, type ChatMessageInput, type ChatRequest, type FunctionToolInput } from '../schemas/chat.js';
import { compileGrammar, outputConstraint, type OutputConstraint } from '../structured-output.js';
import { toolCallFormatFor } from '../tools/formats.js';
import type { ToolCallFormat } from '../tools/tool-call-format.js';
import { newRequestId, unixSeconds } from '../usage.js';

function messageText(content: string | readonly { text: string }[] | null | undefined): string | null {
  if (content === null || content === undefined) return null;
  return typeof content === 'string' ? content : content.map((part) => part.text).join('\n');
}

/** The message as transformers hands it to the template; `developer` is OpenAI's newer name for `system`. */
function templateMessage(m: ChatMessageInput): ChatMessage {
  const content = messageText(m.content);
  switch (m.role) {
    case 'developer':
      return { role: 'system', content: content ?? '' };
    case 'assistant':
      return {
        role: 'assistant',
        // A turn that only calls tools keeps content null: DeepSeek's template tests `content is none`.
        content: content ?? (m.tool_calls && m.tool_calls.length > 0 ? null : ''),
        ...(m.tool_calls && m.tool_calls.length > 0 && { tool_calls: m.tool_calls }),
      };
    case 'tool':
      return { role: 'tool', content: content ?? '', tool_call_id: m.tool_call_id };
    default:
      return { role: m.role, content: content ?? '', ...(m.name != null && { name: m.name }) };
  }
}

/** Prompt ids for `messages` (and `tools`, rendered by the template); the chat template adds BOS itself. */
export async function chatPromptIds(
  tokenizer: ModelTokenizer,
  encoder: PromptEncoder,
  messages: readonly ChatMessageInput[],
  addGenerationPrompt: boolean,
  tools: readonly FunctionToolInput[] | null = null,
): Promise<number[]> {
  let prompt: string;
  try {
    prompt = tokenizer.applyChatTemplate(messages.map(templateMessage), { addGenerationPrompt, tools });
  } catch (err) {
    throw new InvalidRequest(`Cannot apply the chat template: ${(err as Error).message}`, 'messages');
  }
  return encoder.encode(prompt);
}

/** The messages' text, for the size check that runs before the template and the tokenizer. */
export function messageTexts(messages: readonly ChatMessageInput[]): string[] {
  return messages.flatMap((m) => [
    messageText(m.content) ?? '',
    ...(m.role === 'assistant' ? (m.tool_calls ?? []).map((c) => c.function.arguments) : []),
  ]);
}

/** A chat request made ready for the engine: its prompt, constraint and one EngineRequest per choice. */
export interface PreparedChat {
  readonly id: string;
  readonly promptIds: readonly number[];
  readonly requests: readonly EngineRequest[];
  readonly constraint: OutputConstraint;
  readonly n: number;
  readonly topLogprobs: number | null;
  readonly promptTopLogprobs: number | null;
}

/**
 * Everything between a validated chat body and the engine, shared by /v1/chat/completions and /v1/responses:
 * limits, the output constraint (compiled before any token is spent), the template, the token budget.
 */
export async function prepareChat(
  c: AppContext,
  opts: RouteOptions,
  req: ChatRequest,
  toolFormat: ToolCallFormat | null,
  idPrefix: string,
): Promise<PreparedChat> {
  checkModel(req.model, opts.servedModelName);
  if ((req.top_logprobs ?? 0) > 0 && req.logprobs !== true) {
    throw new InvalidRequest('top_logprobs requires logprobs to be true.', 'top_logprobs');
  }
  checkChoiceCount(req.n ?? 1, opts.limits);
  const constraint = outputConstraint(req, toolFormat);
  opts.promptGuard.check(messageTexts(req.messages), 'messages');
  logPrompt(c, opts, req.messages);
  if (constraint.grammar !== null) await compileGrammar(opts, constraint.grammar, constraint.param);
  const promptIds = await chatPromptIds(opts.tokenizer, opts.encoder, req.messages, true, req.tools ?? null);
  checkPromptTokens(promptIds.length, opts.limits, 'messages');
  const param =
    req.max_completion_tokens === null || req.max_completion_tokens === undefined
      ? 'max_tokens'
      : 'max_completion_tokens';
  const requested = limitMaxTokens(
    req.max_completion_tokens ?? req.max_tokens,
    promptIds.length,
    opts.limits,
    opts.maxModelLen,
    param,
  );
  const maxTokens = resolveMaxTokens(promptIds.length, requested, opts.maxModelLen, 'messages', param);
  const topLogprobs = req.logprobs === true ? (req.top_logprobs ?? 0) : null;
  const promptTopLogprobs = req.prompt_logprobs ?? null;
  const n = req.n ?? 1;
  const id = newRequestId(idPrefix);
  const requests = choiceRequests(
    id,
    promptIds,
    maxTokens,
    {
      sampling: samplingOptions(req, opts.vocabSize),
      ...outputSettings(req, opts.vocabSize, maxTokens, param),
      logprobs: topLogprobs,
      promptLogprobs: promptTopLogprobs,
      grammar: constraint.grammar,
      skipSpecialTokens: req.skip_special_tokens ?? true,
    },
    n,
  );
  return { id, promptIds, requests, constraint, n, topLogprobs, promptTopLogprobs };
}

export function addChatRoute(app: Hono<AppEnv>, opts: RouteOptions): void {
  const toolFormat = toolCallFormatFor(opts.tokenizer);
  const schema = chatRequestSchema(opts.limits);
  app.post('/v1/chat/completions', async (c) => {
    const req = await parseBody(c, schema);
    const { id, promptIds, requests, constraint, n, topLogprobs, promptTopLogprobs } = await prepareChat(
      c,
      opts,
      req,
      toolFormat,
      'chatcmpl',
    );
    const ctx: ChatResponseContext = {
      id,
      created: unixSeconds(),
      model: opts.servedModelName,
      n,
      promptTokens: promptIds.length,
      names: new TokenNames(opts.tokenizer, req.return_tokens_as_token_ids ?? false),
      topLogprobs,
      promptTopLogprobs,
      toolFormat: constraint.toolFormat,
    };
    const includeUsage = req.stream_options?.include_usage ?? false;
    return respondWithGeneration(c, opts, requests, {
      stream: req.stream === true,
      collect: (events) => collectChat(events, ctx),
      produce: (events, send) => streamChat(events, ctx, includeUsage, send),
    });
  });
}
