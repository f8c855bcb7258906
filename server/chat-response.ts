// Chat completion responses from merged choice events: `chat.completion` (collected) or a stream of
// `chat.completion.chunk`s whose first delta per choice carries `role: "assistant"`.
import type { LogprobEntry } from '../engine/sampling.js';
import type { FinishReason } from '../engine/types.js';
import type { ChoiceEvent } from './choices.js';
import { chatLogprobs, promptLogprobs, type TokenNames } from './logprobs.js';
import type { SendChunk } from './sse.js';
import { UsageTally } from './usage.js';

export interface ChatResponseContext {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  readonly n: number;
  readonly promptTokens: number;
  readonly names: TokenNames;
  /** Alternatives per token when logprobs were requested; null = no logprobs. */
  readonly topLogprobs: number | null;
  /** Alternatives per prompt token when prompt_logprobs was requested; null = none. */
  readonly promptTopLogprobs: number | null;
}

type FinishEvent = Extract<ChoiceEvent['event'], { type: 'finish' }>;

function finishFields(ctx: ChatResponseContext, finish: FinishEvent): object {
  return {
    finish_reason: finish.reason satisfies FinishReason,
    stop_reason: finish.stopReason,
    ...(ctx.promptTopLogprobs !== null && {
      prompt_logprobs: promptLogprobs(finish.promptLogprobs ?? [], ctx.names, ctx.promptTopLogprobs),
    }),
  };
}

function logprobsField(ctx: ChatResponseContext, entries: readonly LogprobEntry[] | null): object | null {
  if (ctx.topLogprobs === null || entries === null) return null;
  return { content: chatLogprobs(entries, ctx.names, ctx.topLogprobs) };
}

export async function collectChat(events: AsyncIterable<ChoiceEvent>, ctx: ChatResponseContext): Promise<object> {
  const texts: string[] = Array.from({ length: ctx.n }, () => '');
  const logprobs: LogprobEntry[][] = Array.from({ length: ctx.n }, () => []);
  const finishes: (FinishEvent | undefined)[] = [];
  const usage = new UsageTally(ctx.promptTokens, ctx.n);
  for await (const { index, event } of events) {
    if (event.type === 'delta') {
      texts[index] += event.text;
      if (event.logprobs) logprobs[index]!.push(...event.logprobs);
    } else {
      finishes[index] = event;
      usage.add(index, event.usage);
    }
  }
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: texts.map((content, index) => ({
      index,
      message: { role: 'assistant', content },
      logprobs: logprobsField(ctx, logprobs[index]!),
      ...finishFields(ctx, finishes[index]!),
    })),
    usage: usage.toJSON(),
  };
}

export async function streamChat(
  events: AsyncIterable<ChoiceEvent>,
  ctx: ChatResponseContext,
  includeUsage: boolean,
  send: SendChunk,
): Promise<void> {
  const chunk = (choices: object[]): object => ({
    id: ctx.id,
    object: 'chat.completion.chunk',
    created: ctx.created,
    model: ctx.model,
    choices,
    ...(includeUsage && { usage: null }),
  });
  for (let index = 0; index < ctx.n; index++) {
    await send(chunk([{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
  }
  const usage = new UsageTally(ctx.promptTokens, ctx.n);
  for await (const { index, event } of events) {
    if (event.type === 'delta') {
      const logprobs = logprobsField(ctx, event.logprobs);
      if (event.text === '' && logprobs === null) continue;
      await send(chunk([{ index, delta: { content: event.text }, logprobs, finish_reason: null }]));
    } else {
      usage.add(index, event.usage);
      await send(chunk([{ index, delta: {}, logprobs: null, ...finishFields(ctx, event) }]));
    }
  }
  if (includeUsage) await send({ ...chunk([]), usage: usage.toJSON() });
}
