// POST /v1/responses and GET /v1/responses/{id}: OpenAI's Responses API over the chat path (server/responses/
// convert.ts turns the request into a chat request; prepareChat does the rest), answered as a `response` object or
// its event stream (server/responses/output.ts).
import type { Hono } from 'hono';
import { InvalidRequest } from '../../engine/errors.js';
import type { AppEnv } from '../app-env.js';
import { respondWithGeneration } from '../generate.js';
import type { RouteOptions } from '../options.js';
import { readJson } from '../request-body.js';
import { chatRequestOf, checkUnsupported, inputMessages } from '../responses/convert.js';
import { ResponseWriter, type ResponseShell } from '../responses/output.js';
import { ResponseStore } from '../responses/store.js';
import type { ChatMessageInput } from '../schemas/chat.js';
import { responsesRequestSchema } from '../schemas/responses.js';
import { toolCallFormatFor } from '../tools/formats.js';
import { unixSeconds } from '../usage.js';
import { prepareChat } from './chat.js';
import { NotFound } from '../errors.js';

/** Chat's parameter names in an error, as the Responses API calls them. */
const PARAMS: readonly [RegExp, string][] = [
  [/^response_format(\.json_schema)?/, 'text.format'],
  [/^max_completion_tokens$/, 'max_output_tokens'],
  [/^max_tokens$/, 'max_output_tokens'],
  [/^messages/, 'input'],
  [/^tools\.(\d+)\.function\./, 'tools.$1.'],
];

function responsesParam(param: string | null): string | null {
  if (param === null) return null;
  for (const [pattern, name] of PARAMS) if (pattern.test(param)) return param.replace(pattern, name);
  return param;
}

export function addResponsesRoutes(app: Hono<AppEnv>, opts: RouteOptions): void {
  const toolFormat = toolCallFormatFor(opts.tokenizer);
  const store = new ResponseStore(opts.responsesStoreSize);

  app.post('/v1/responses', async (c) => {
    const body = await readJson(c);
    checkUnsupported(body);
    const req = responsesRequestSchema.parse(body);
    let history: readonly ChatMessageInput[] = [];
    if (req.previous_response_id != null) {
      const previous = store.get(req.previous_response_id);
      if (previous === undefined) {
        throw new NotFound(
          `Response '${req.previous_response_id}' is not stored (unknown, stored with store: false, or evicted).`,
          'previous_response_id',
        );
      }
      history = previous.messages;
    }
    const chat = chatRequestOf(req, history);
    const prepared = await prepareChat(c, opts, chat, toolFormat, 'resp').catch((err: unknown) => {
      if (err instanceof InvalidRequest) throw new InvalidRequest(err.message, responsesParam(err.param), err.code);
      throw err;
    });
    const id = prepared.id.replace(/^resp-/, 'resp_');
    const shell: ResponseShell = {
      promptTokens: prepared.promptIds.length,
      base: {
        id,
        object: 'response',
        created_at: unixSeconds(),
        model: opts.servedModelName,
        error: null,
        instructions: req.instructions ?? null,
        max_output_tokens: req.max_output_tokens ?? null,
        temperature: req.temperature ?? 1,
        top_p: req.top_p ?? 1,
        tools: req.tools ?? [],
        tool_choice: req.tool_choice ?? 'auto',
        parallel_tool_calls: req.parallel_tool_calls ?? true,
        text: { format: req.text?.format ?? { type: 'text' } },
        previous_response_id: req.previous_response_id ?? null,
        store: req.store ?? true,
        truncation: 'disabled',
        reasoning: null,
        metadata: req.metadata ?? {},
        user: req.user ?? null,
      },
    };
    const save = (writer: ResponseWriter, response: Record<string, unknown>): void => {
      if (req.store !== false) store.save(id, response, [...history, ...inputMessages(req.input)], writer.output);
    };
    const format = prepared.constraint.toolFormat;
    return respondWithGeneration(c, opts, prepared.requests, {
      stream: req.stream === true,
      doneSentinel: false,
      collect: async (events) => {
        const writer = new ResponseWriter(shell, format);
        const response = await writer.consume(events);
        save(writer, response);
        return response;
      },
      produce: async (events, send) => {
        const writer = new ResponseWriter(shell, format, (event) => send(event, event.type));
        await writer.start();
        save(writer, await writer.consume(events));
      },
    });
  });

  app.get('/v1/responses/:id', (c) => {
    const stored = store.get(c.req.param('id'));
    if (stored === undefined)
      throw new NotFound(
        `Response '${c.req.param('id')}' is not stored (unknown, stored with store: false, or evicted).`,
        'response_id',
      );
    return c.json(stored.response);
  });
}
