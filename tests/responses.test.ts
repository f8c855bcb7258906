// OpenAI's Responses API end to end, with the clients that call it: openai-node's responses.create / stream, the
// Vercel AI SDK's default OpenAI provider (which speaks /v1/responses) and LangChain's useResponsesApi — on a
// random-weight model with the grammar worker, so structured output and tool calls are the grammar's doing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { generateObject, generateText } from 'ai';
import { z } from 'zod';
import { randomModelServer } from './helpers/random-model-server.js';

const live = randomModelServer();

const Answer = z.object({ verdict: z.enum(['yes', 'no']), score: z.number().int().min(0).max(9) });
const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  strict: true,
  description: 'Weather now',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string', pattern: '^[A-Za-z]{1,8}$' } },
    required: ['city'],
    additionalProperties: false,
  },
};

test('responses.create: text, usage, stored and retrievable; instructions and input reach the template', async () => {
  const res = await live.server.client.responses.create({
    model: 'fixture',
    instructions: 'Be brief.',
    input: 'Hello',
    max_output_tokens: 8,
    temperature: 0,
  });
  assert.match(res.id, /^resp_/);
  assert.equal(res.object, 'response');
  assert.equal(res.status, 'incomplete');
  assert.deepEqual(res.incomplete_details, { reason: 'max_output_tokens' });
  assert.equal(res.output.length, 1);
  assert.equal(res.output[0]!.type, 'message');
  assert.equal(typeof res.output_text, 'string');
  assert.equal(res.usage!.output_tokens, 8);
  const expected = live.server.model.tokenizer.encode(
    live.server.model.tokenizer.applyChatTemplate(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello' },
      ],
      { addGenerationPrompt: true },
    ),
  );
  assert.equal(res.usage!.input_tokens, expected.length);
  const fetched = await live.server.client.responses.retrieve(res.id);
  assert.deepEqual(fetched.output, res.output);
  const unstored = await live.server.client.responses.create({
    model: 'fixture',
    input: 'Hi',
    max_output_tokens: 2,
    store: false,
  });
  await assert.rejects(live.server.client.responses.retrieve(unstored.id), /404/);
});

test('text.format json_schema: output_text parses and validates; streamed events assemble the same response', async () => {
  const request = {
    model: 'fixture',
    input: 'Judge it',
    max_output_tokens: 200,
    temperature: 1,
    top_p: 0.95,
    text: {
      format: {
        type: 'json_schema' as const,
        name: 'answer',
        strict: true,
        schema: z.toJSONSchema(Answer) as Record<string, unknown>,
      },
    },
  };
  const res = await live.server.client.responses.create(request);
  assert.equal(res.status, 'completed');
  Answer.parse(JSON.parse(res.output_text));

  const stream = live.server.client.responses.stream(request);
  const types: string[] = [];
  let deltas = '';
  stream.on('event', (e) => {
    types.push(e.type);
    if (e.type === 'response.output_text.delta') deltas += e.delta;
  });
  const final = await stream.finalResponse();
  assert.equal(types[0], 'response.created');
  assert.equal(types.at(-1), 'response.completed');
  for (const t of [
    'response.output_item.added',
    'response.content_part.added',
    'response.output_text.done',
    'response.output_item.done',
  ])
    assert.ok(types.includes(t), t);
  assert.equal(deltas, final.output_text);
  Answer.parse(JSON.parse(final.output_text));
});

test('function tools: a required call parses; function_call_output continues the conversation via previous_response_id', async () => {
  const res = await live.server.client.responses.create({
    model: 'fixture',
    input: 'Weather in Oslo?',
    tools: [weatherTool],
    tool_choice: 'required',
    parallel_tool_calls: false,
    max_output_tokens: 200,
    temperature: 1,
  });
  const calls = res.output.filter((item) => item.type === 'function_call');
  assert.equal(calls.length, 1);
  const call = calls[0] as { call_id: string; name: string; arguments: string };
  assert.equal(call.name, 'get_weather');
  assert.match(JSON.parse(call.arguments).city, /^[A-Za-z]{1,8}$/);

  const next = await live.server.client.responses.create({
    model: 'fixture',
    previous_response_id: res.id,
    max_output_tokens: 4,
    tools: [weatherTool],
    input: [{ type: 'function_call_output', call_id: call.call_id, output: '21 C' }],
  });
  assert.equal(next.previous_response_id, res.id);
  // The continuation's prompt holds the first turn, the call and its output (tools are sent again, as with OpenAI).
  assert.ok(
    next.usage!.input_tokens > res.usage!.input_tokens,
    `${next.usage!.input_tokens} vs ${res.usage!.input_tokens}`,
  );
  const without = await live.server.client.responses.create({
    model: 'fixture',
    max_output_tokens: 4,
    tools: [weatherTool],
    input: [{ role: 'user', content: 'Weather in Oslo?' }],
  });
  assert.ok(
    next.usage!.input_tokens > without.usage!.input_tokens + 10,
    'the stored call and its output are in the prompt',
  );

  const streamed = live.server.client.responses.stream({
    model: 'fixture',
    input: 'Weather?',
    tools: [weatherTool],
    tool_choice: 'required',
    parallel_tool_calls: false,
    max_output_tokens: 200,
    temperature: 1,
  });
  let args = '';
  streamed.on('response.function_call_arguments.delta', (e) => {
    args += e.delta;
  });
  const final = await streamed.finalResponse();
  const item = final.output.find((o) => o.type === 'function_call') as { arguments: string } | undefined;
  assert.ok(item !== undefined);
  assert.equal(args, item.arguments);
  JSON.parse(item.arguments);
});

test('what the Responses API has and latentserve does not serve is a 400 naming it; an unknown previous id a 404', async () => {
  const post = async (body: object) => {
    const res = await fetch(`${live.server.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fixture', ...body }),
    });
    return { status: res.status, body: (await res.json()) as { error: { param: string | null } } };
  };
  const cases: [object, number, string][] = [
    [{ input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] }, 400, 'input.0.content.0'],
    [{ input: [{ type: 'file_search_call', id: 'x' }] }, 400, 'input.0'],
    [{ input: 'x', tools: [{ type: 'web_search' }] }, 400, 'tools.0'],
    [{ input: 'x', background: true }, 400, 'background'],
    [{ input: 'x', reasoning: { effort: 'high' } }, 400, 'reasoning'],
    [
      {
        input: 'x',
        text: {
          format: {
            type: 'json_schema',
            name: 'n',
            schema: { type: 'object', properties: { a: { type: 'integer', multipleOf: 2 } } },
          },
        },
      },
      400,
      'text.format.schema',
    ],
    [{ input: 'x', max_output_tokens: 100_000 }, 400, 'max_output_tokens'],
    [{ input: 'x', previous_response_id: 'resp_missing' }, 404, 'previous_response_id'],
  ];
  for (const [body, status, param] of cases) {
    const res = await post(body);
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(res.body.error.param, param, JSON.stringify(res.body));
  }
});

test('the AI SDK default OpenAI provider (Responses API): generateText and generateObject', async () => {
  const openai = createOpenAI({ baseURL: `${live.server.url}/v1`, apiKey: 'unused' });
  const text = await generateText({ model: openai('fixture'), prompt: 'Hello', maxOutputTokens: 6 });
  assert.equal(typeof text.text, 'string');
  assert.equal(text.usage.outputTokens, 6);
  const { object } = await generateObject({
    model: openai('fixture'),
    schema: Answer,
    prompt: 'Judge',
    maxOutputTokens: 200,
  });
  assert.deepEqual(Answer.parse(object), object);
});

test('LangChain with useResponsesApi: invoke and withStructuredOutput', async () => {
  const chat = new ChatOpenAI({
    model: 'fixture',
    apiKey: 'unused',
    configuration: { baseURL: `${live.server.url}/v1` },
    useResponsesApi: true,
    maxTokens: 200,
    maxRetries: 0,
  });
  const reply = await chat.invoke('Hello');
  assert.equal(typeof reply.content === 'string' || Array.isArray(reply.content), true);
  const value = await chat.withStructuredOutput(Answer, { name: 'answer' }).invoke('Judge');
  assert.deepEqual(Answer.parse(value), value);
});
