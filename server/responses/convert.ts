// The Responses API in terms of chat: `instructions` + `input` items (+ a stored conversation named by
// previous_response_id) become chat messages, function tools become chat tools, `text.format` becomes
// response_format. One request then runs through the same path as /v1/chat/completions (server/routes/chat.ts).
import { InvalidRequest } from '../../engine/errors.js';
import type { ChatMessageInput, ChatRequest } from '../schemas/chat.js';
import type { InputItem, ResponsesRequest } from '../schemas/responses.js';

const ITEM_TYPES = new Set(['message', 'function_call', 'function_call_output']);
const PART_TYPES = new Set(['input_text', 'output_text']);

/**
 * Refuses, by name, what the Responses API has and latentserve does not serve — hosted tools (web_search,
 * file_search, …), images and files, reasoning items — before the schema's generic "invalid input".
 */
export function checkUnsupported(body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  const { input, tools, tool_choice: toolChoice } = body as { input?: unknown; tools?: unknown; tool_choice?: unknown };
  if (Array.isArray(input)) {
    input.forEach((item: unknown, i) => {
      const type = (item as { type?: unknown })?.type;
      if (typeof type === 'string' && !ITEM_TYPES.has(type))
        throw new InvalidRequest(
          `Input items of type '${type}' are not supported.`,
          `input.${i}`,
          'unsupported_parameter',
        );
      const content = (item as { content?: unknown })?.content;
      if (Array.isArray(content)) {
        content.forEach((part: unknown, j) => {
          const partType = (part as { type?: unknown })?.type;
          if (typeof partType === 'string' && !PART_TYPES.has(partType)) {
            throw new InvalidRequest(
              `Content parts of type '${partType}' are not supported (text only).`,
              `input.${i}.content.${j}`,
              'unsupported_parameter',
            );
          }
        });
      }
    });
  }
  if (Array.isArray(tools)) {
    tools.forEach((tool: unknown, i) => {
      const type = (tool as { type?: unknown })?.type;
      if (type !== 'function')
        throw new InvalidRequest(
          `Tools of type '${String(type)}' are not supported (function tools only).`,
          `tools.${i}`,
          'unsupported_parameter',
        );
    });
  }
  const choiceType = (toolChoice as { type?: unknown } | null)?.type;
  if (typeof toolChoice === 'object' && toolChoice !== null && choiceType !== 'function') {
    throw new InvalidRequest(
      `tool_choice of type '${String(choiceType)}' is not supported.`,
      'tool_choice',
      'unsupported_parameter',
    );
  }
}

function itemText(content: string | readonly { text: string }[]): string {
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
}

/** Input items as chat messages: consecutive function_call items become one assistant turn with tool_calls. */
export function inputMessages(input: string | readonly InputItem[]): ChatMessageInput[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  const messages: ChatMessageInput[] = [];
  for (const item of input) {
    if (item.type === 'function_call') {
      const call = {
        id: item.call_id,
        type: 'function' as const,
        function: { name: item.name, arguments: item.arguments },
      };
      const last = messages.at(-1);
      if (last?.role === 'assistant' && last.tool_calls) last.tool_calls.push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', content: item.output, tool_call_id: item.call_id });
    } else {
      messages.push({ role: item.role, content: itemText(item.content) } as ChatMessageInput);
    }
  }
  return messages;
}

/** The chat request this Responses request is; `history` is the stored conversation it continues, if any. */
export function chatRequestOf(req: ResponsesRequest, history: readonly ChatMessageInput[]): ChatRequest {
  const messages: ChatMessageInput[] = [
    ...(req.instructions != null ? [{ role: 'system' as const, content: req.instructions }] : []),
    ...history,
    ...inputMessages(req.input),
  ];
  if (messages.length === 0) throw new InvalidRequest('input must not be empty.', 'input');
  const format = req.text?.format;
  const choice = req.tool_choice;
  return {
    model: req.model,
    messages,
    max_completion_tokens: req.max_output_tokens,
    temperature: req.temperature,
    top_p: req.top_p,
    tools: req.tools?.map((t) => ({
      type: 'function' as const,
      function: { name: t.name, description: t.description, parameters: t.parameters, strict: t.strict },
    })),
    tool_choice:
      choice == null || typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } },
    parallel_tool_calls: req.parallel_tool_calls,
    response_format:
      format == null
        ? null
        : format.type === 'json_schema'
          ? {
              type: 'json_schema',
              json_schema: {
                name: format.name,
                schema: format.schema as Record<string, unknown>,
                description: format.description,
                strict: format.strict,
              },
            }
          : { type: format.type },
  };
}
