// Chat completion responses from merged choice events: `chat.completion` (collected) or a stream of
// `chat.completion.chunk`s whose first delta per choice carries `role: "assistant"`.
import type { LogprobEntry } from '../sampling/index.js';
import type { FinishReason } from '../engine/types.js';
import type { ChoiceEvent } from './choices.js';
import { chatLogprobs, promptLogprobs, type TokenNames } from './logprobs.js';
import type { SendChunk } from './sse.js';
import type { ToolCallFormat } from './tools/tool-call-format.js';
import { type ChoiceDelta, ToolCallStream } from './tools/tool-call-stream.js';
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
  /** Tool calls are parsed out of the text with this format; null = the text is the content. */
  readonly toolFormat: ToolCallFormat | null;
}

/** Per choice: text → deltas, through the tool-call parser when tools are in play. */
class ChoiceOutput {
  private readonly tools: ToolCallStream | null;
  private content = '';

  constructor(format: ToolCallFormat | null) {
    this.tools = format === null ? null : new ToolCallStream(format);
  }

  push(text: string): ChoiceDelta[] {
    if (this.tools !== null) return this.tools.push(text);
    this.content += text;
    return text === '' ? [] : [{ content: text }];
  }

  finish(): ChoiceDelta[] {
    return this.tools?.finish() ?? [];
  }

  /** A turn that called tools and then stopped reports `tool_calls`, as OpenAI does. */
  finishReason(reason: FinishReason): string {
    return reason === 'stop' && this.tools?.hasCalls === true ? 'tool_calls' : reason;
  }

  message(): object {
    return { role: 'assistant', ...(this.tools?.message() ?? { content: this.content }) };
  }
}

type FinishEvent = Extract<ChoiceEvent['event'], { type: 'finish' }>;

function finishFields(ctx: ChatResponseContext, finish: FinishEvent, output: ChoiceOutput): object {
  return {
    finish_reason: output.finishReason(finish.reason),
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
  const outputs = Array.from({ length: ctx.n }, () => new ChoiceOutput(ctx.toolFormat));
  const logprobs: LogprobEntry[][] = Array.from({ length: ctx.n }, () => []);
  const finishes: (FinishEvent | undefined)[] = [];
  const usage = new UsageTally(ctx.promptTokens, ctx.n);
  for await (const { index, event } of events) {
    if (event.type === 'delta') {
      outputs[index]!.push(event.text);
      if (event.logprobs) logprobs[index]!.push(...event.logprobs);
    } else {
      outputs[index]!.finish();
      finishes[index] = event;
      usage.add(index, event.usage);
    }
  }
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: outputs.map((output, index) => ({
      index,
      message: output.message(),
      logprobs: logprobsField(ctx, logprobs[index]!),
      ...finishFields(ctx, finishes[index]!, output),
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
  const outputs = Array.from({ length: ctx.n }, () => new ChoiceOutput(ctx.toolFormat));
  for await (const { index, event } of events) {
    const output = outputs[index]!;
    if (event.type === 'delta') {
      // Logprobs ride on the first delta of the token's text, or alone when the text is held back.
      let logprobs = logprobsField(ctx, event.logprobs);
      const deltas = output.push(event.text);
      if (deltas.length === 0 && logprobs !== null) deltas.push({ content: '' });
      for (const delta of deltas) {
        await send(chunk([{ index, delta, logprobs, finish_reason: null }]));
        logprobs = null;
      }
    } else {
      for (const delta of output.finish()) await send(chunk([{ index, delta, logprobs: null, finish_reason: null }]));
      usage.add(index, event.usage);
      await send(chunk([{ index, delta: {}, logprobs: null, ...finishFields(ctx, event, output) }]));
    }
  }
  if (includeUsage) await send({ ...chunk([]), usage: usage.toJSON() });
}
