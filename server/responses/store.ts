// Stored responses (`store`, default true, as OpenAI): the response object for GET /v1/responses/{id}, and the
// conversation it ends (input and output as chat messages) for a later request's previous_response_id. Kept in
// memory in LRU order, at most `maxEntries`; an evicted or unknown id is a 404. Nothing survives a restart.
import { LRUCache } from 'lru-cache';
import type { ChatMessageInput } from '../schemas/chat.js';
import type { OutputItem } from './output.js';

export interface StoredResponse {
  readonly response: Record<string, unknown>;
  /** The conversation through this response, without `instructions` (a continuation states its own). */
  readonly messages: readonly ChatMessageInput[];
}

export const DEFAULT_RESPONSES_STORE_SIZE = 1000;

export class ResponseStore {
  private readonly entries: LRUCache<string, StoredResponse>;

  constructor(maxEntries = DEFAULT_RESPONSES_STORE_SIZE) {
    this.entries = new LRUCache({ max: Math.max(1, maxEntries) });
  }

  get(id: string): StoredResponse | undefined {
    return this.entries.get(id);
  }

  save(
    id: string,
    response: Record<string, unknown>,
    input: readonly ChatMessageInput[],
    output: readonly OutputItem[],
  ): void {
    this.entries.set(id, { response, messages: [...input, ...outputMessages(output)] });
  }
}

/** Output items as the assistant turn a chat template would see. */
function outputMessages(output: readonly OutputItem[]): ChatMessageInput[] {
  const text = output
    .flatMap((item) => (item.type === 'message' ? item.content.map((part) => part.text) : []))
    .join('');
  const calls = output.flatMap((item) =>
    item.type === 'function_call'
      ? [{ id: item.call_id, type: 'function' as const, function: { name: item.name, arguments: item.arguments } }]
      : [],
  );
  if (calls.length === 0) return [{ role: 'assistant', content: text }];
  return [{ role: 'assistant', content: text === '' ? null : text, tool_calls: calls }];
}
