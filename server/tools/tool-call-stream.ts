// One choice's output as OpenAI's chat API shows it when tools are in play: a ToolCallParser's events become
// stream deltas (`delta.content`, or `delta.tool_calls` with index, id, type and name first, then `arguments`
// fragments — what openai-node's stream helpers and the AI SDK assemble) and, accumulated, the final message.
// The collected response is built from the same deltas, so streamed and collected answers always agree.
import { randomUUID } from 'node:crypto';
import type { ToolCallEvent, ToolCallFormat, ToolCallParser } from './tool-call-format.js';

export interface ToolCallDelta {
  readonly index: number;
  readonly id?: string;
  readonly type?: 'function';
  readonly function: { readonly name?: string; readonly arguments: string };
}

export type ChoiceDelta = { readonly content: string } | { readonly tool_calls: readonly ToolCallDelta[] };

export interface ToolCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; arguments: string };
}

export function newToolCallId(): string {
  return `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

export class ToolCallStream {
  private readonly parser: ToolCallParser;
  private content = '';
  private readonly calls: ToolCall[] = [];

  constructor(
    format: ToolCallFormat,
    private readonly newId: () => string = newToolCallId,
  ) {
    this.parser = format.createParser();
  }

  push(text: string): ChoiceDelta[] {
    return this.apply(this.parser.push(text));
  }

  finish(): ChoiceDelta[] {
    return this.apply(this.parser.finish());
  }

  get hasCalls(): boolean {
    return this.calls.length > 0;
  }

  /** The message so far: content is null when the model only called tools. */
  message(): { content: string | null; tool_calls?: ToolCall[] } {
    if (this.calls.length === 0) return { content: this.content };
    return { content: this.content === '' ? null : this.content, tool_calls: this.calls };
  }

  private apply(events: readonly ToolCallEvent[]): ChoiceDelta[] {
    return events.map((event): ChoiceDelta => {
      switch (event.type) {
        case 'content':
          this.content += event.text;
          return { content: event.text };
        case 'call': {
          const call: ToolCall = { id: this.newId(), type: 'function', function: { name: event.name, arguments: '' } };
          this.calls[event.index] = call;
          return {
            tool_calls: [
              { index: event.index, id: call.id, type: 'function', function: { name: event.name, arguments: '' } },
            ],
          };
        }
        case 'arguments':
          this.calls[event.index]!.function.arguments += event.text;
          return { tool_calls: [{ index: event.index, function: { arguments: event.text } }] };
      }
    });
  }
}
