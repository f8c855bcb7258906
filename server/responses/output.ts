// A Responses API answer built from one choice's events: output items (an assistant `message` with `output_text`,
// then `function_call` items) and, when streaming, the event sequence openai-node's responses.stream() and the AI
// SDK consume — response.created, response.in_progress, response.output_item.added, response.content_part.added,
// response.output_text.delta … .done, response.function_call_arguments.delta … .done, response.output_item.done,
// response.completed. The collected response is the same writer run without a listener, so both always agree.
import { randomUUID } from 'node:crypto';
import type { ChoiceEvent } from '../choices.js';
import type { ToolCallFormat } from '../tools/tool-call-format.js';
import { type ChoiceDelta, ToolCallStream } from '../tools/tool-call-stream.js';

export type ResponseEvent = { readonly type: string } & Record<string, unknown>;

type MessageItem = {
  type: 'message';
  id: string;
  status: string;
  role: 'assistant';
  content: { type: 'output_text'; text: string; annotations: never[] }[];
};
type FunctionCallItem = {
  type: 'function_call';
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: string;
};
export type OutputItem = MessageItem | FunctionCallItem;

const itemId = (prefix: string): string => `${prefix}_${randomUUID().replaceAll('-', '')}`;

export interface ResponseShell {
  /** The response's fixed fields (id, created_at, model, the request's settings echoed back). */
  readonly base: Record<string, unknown>;
  readonly promptTokens: number;
}

export class ResponseWriter {
  readonly output: OutputItem[] = [];
  private readonly parser: ToolCallStream | null;
  private open: OutputItem | null = null;
  private sequence = 0;
  private outputTokens = 0;
  private cachedTokens = 0;
  private finishReason: string | null = null;

  constructor(
    private readonly shell: ResponseShell,
    format: ToolCallFormat | null,
    private readonly emit: (event: ResponseEvent) => Promise<void> = async () => {},
  ) {
    this.parser = format === null ? null : new ToolCallStream(format);
  }

  async start(): Promise<void> {
    await this.event('response.created', { response: this.response('in_progress') });
    await this.event('response.in_progress', { response: this.response('in_progress') });
  }

  /** Consumes one choice's events (n is always 1 here) and ends with response.completed. */
  async consume(events: AsyncIterable<ChoiceEvent>): Promise<Record<string, unknown>> {
    for await (const { event } of events) {
      if (event.type === 'delta') {
        for (const delta of this.parser?.push(event.text) ?? [{ content: event.text }]) await this.apply(delta);
      } else {
        for (const delta of this.parser?.finish() ?? []) await this.apply(delta);
        this.outputTokens = event.usage.completionTokens;
        this.cachedTokens = event.usage.cachedTokens;
        this.finishReason = event.reason;
      }
    }
    await this.closeOpen();
    const status = this.finishReason === 'length' ? 'incomplete' : 'completed';
    const response = this.response(status);
    await this.event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
    return response;
  }

  private async apply(delta: ChoiceDelta): Promise<void> {
    if ('content' in delta) {
      if (delta.content === '') return;
      let item = this.open;
      if (item?.type !== 'message') {
        await this.closeOpen();
        item = { type: 'message', id: itemId('msg'), status: 'in_progress', role: 'assistant', content: [] };
        await this.add(item);
        const part = { type: 'output_text' as const, text: '', annotations: [] as never[] };
        item.content.push(part);
        await this.event('response.content_part.added', {
          item_id: item.id,
          output_index: this.output.length - 1,
          content_index: 0,
          part: { ...part },
        });
      }
      item.content[0]!.text += delta.content;
      await this.event('response.output_text.delta', {
        item_id: item.id,
        output_index: this.output.length - 1,
        content_index: 0,
        delta: delta.content,
        logprobs: [],
      });
      return;
    }
    for (const call of delta.tool_calls) {
      if (call.id !== undefined) {
        await this.closeOpen();
        await this.add({
          type: 'function_call',
          id: itemId('fc'),
          call_id: call.id,
          name: call.function.name ?? '',
          arguments: '',
          status: 'in_progress',
        });
      } else if (this.open?.type === 'function_call' && call.function.arguments !== '') {
        this.open.arguments += call.function.arguments;
        await this.event('response.function_call_arguments.delta', {
          item_id: this.open.id,
          output_index: this.output.length - 1,
          delta: call.function.arguments,
        });
      }
    }
  }

  private async add(item: OutputItem): Promise<void> {
    this.output.push(item);
    this.open = item;
    await this.event('response.output_item.added', {
      output_index: this.output.length - 1,
      item: structuredClone(item),
    });
  }

  private async closeOpen(): Promise<void> {
    const item = this.open;
    if (item === null) return;
    this.open = null;
    const outputIndex = this.output.indexOf(item);
    item.status = 'completed';
    if (item.type === 'message') {
      const part = item.content[0]!;
      await this.event('response.output_text.done', {
        item_id: item.id,
        output_index: outputIndex,
        content_index: 0,
        text: part.text,
        logprobs: [],
      });
      await this.event('response.content_part.done', {
        item_id: item.id,
        output_index: outputIndex,
        content_index: 0,
        part: { ...part },
      });
    } else {
      await this.event('response.function_call_arguments.done', {
        item_id: item.id,
        output_index: outputIndex,
        arguments: item.arguments,
        name: item.name,
      });
    }
    await this.event('response.output_item.done', { output_index: outputIndex, item: structuredClone(item) });
  }

  private response(status: string): Record<string, unknown> {
    return {
      ...this.shell.base,
      status,
      incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
      output: structuredClone(this.output),
      usage:
        status === 'in_progress'
          ? null
          : {
              input_tokens: this.shell.promptTokens,
              input_tokens_details: { cached_tokens: this.cachedTokens },
              output_tokens: this.outputTokens,
              output_tokens_details: { reasoning_tokens: 0 },
              total_tokens: this.shell.promptTokens + this.outputTokens,
            },
    };
  }

  private async event(type: string, fields: Record<string, unknown>): Promise<void> {
    await this.emit({ type, sequence_number: this.sequence++, ...fields });
  }
}
