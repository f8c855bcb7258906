// Structured output and tool calls through real clients — openai-node, the Vercel AI SDK
// (@ai-sdk/openai-compatible) and LangChain JS — against a random-weight model: each must come back as a valid
// object or call, which only the grammar can make happen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { tool as langchainTool } from '@langchain/core/tools';
import { generateObject, generateText, jsonSchema, tool as aiTool } from 'ai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { randomModelServer } from './helpers/random-model-server.js';

const live = randomModelServer();

// Strings carry an ASCII pattern (see tests/structured-output.test.ts for why).
const Weather = z.object({
  city: z.string().regex(/^[A-Za-z]{1,8}$/),
  unit: z.enum(['celsius', 'fahrenheit']),
  days: z.number().int().min(1).max(7),
  rain: z.boolean(),
});

test('openai-node: chat.completions.parse with zodResponseFormat returns a parsed, valid object', async () => {
  const res = await live.server.client.chat.completions.parse({
    model: 'fixture',
    messages: [{ role: 'user', content: 'Weather?' }],
    max_tokens: 300,
    seed: 4,
    response_format: zodResponseFormat(Weather, 'weather'),
  });
  const choice = res.choices[0]!;
  assert.equal(choice.finish_reason, 'stop');
  assert.deepEqual(Weather.parse(choice.message.parsed), choice.message.parsed);
});

test('openai-node: tool_choice "required" streamed through the stream helper yields parseable calls', async () => {
  const stream = live.server.client.chat.completions.stream({
    model: 'fixture',
    messages: [{ role: 'user', content: 'Weather in Oslo?' }],
    max_tokens: 300,
    seed: 2,
    tool_choice: 'required',
    parallel_tool_calls: false,
    tools: [
      {
        type: 'function',
        function: { name: 'get_weather', parameters: z.toJSONSchema(Weather) as Record<string, unknown> },
      },
    ],
  });
  const final = await stream.finalChatCompletion();
  const calls = final.choices[0]!.message.tool_calls ?? [];
  assert.ok(calls.length >= 1);
  for (const call of calls) Weather.parse(JSON.parse((call as { function: { arguments: string } }).function.arguments));
});

test('Vercel AI SDK (openai-compatible): generateObject and a required tool call', async () => {
  const provider = createOpenAICompatible({
    name: 'latentserve',
    baseURL: `${live.server.url}/v1`,
    apiKey: 'unused',
    supportsStructuredOutputs: true,
  });
  const { object } = await generateObject({
    model: provider('fixture'),
    schema: Weather,
    prompt: 'Weather?',
    maxOutputTokens: 300,
    seed: 4,
  });
  assert.deepEqual(Weather.parse(object), object);

  const result = await generateText({
    model: provider('fixture'),
    prompt: 'Weather in Oslo?',
    maxOutputTokens: 300,
    seed: 2,
    toolChoice: 'required',
    tools: {
      get_weather: aiTool({ description: 'Weather', inputSchema: jsonSchema(z.toJSONSchema(Weather) as never) }),
    },
  });
  assert.ok(result.toolCalls.length >= 1, `finish: ${result.finishReason}`);
  for (const call of result.toolCalls) Weather.parse(call.input);
  assert.equal(result.finishReason, 'tool-calls');
});

test('LangChain JS: withStructuredOutput and bindTools', async () => {
  const chat = new ChatOpenAI({
    model: 'fixture',
    apiKey: 'unused',
    configuration: { baseURL: `${live.server.url}/v1` },
    maxTokens: 300,
    temperature: 1,
    maxRetries: 0,
  });
  for (const method of ['jsonSchema', 'functionCalling'] as const) {
    const structured = chat.withStructuredOutput(Weather, { name: 'weather', method });
    const value = await structured.invoke('Weather?');
    assert.deepEqual(Weather.parse(value), value, method);
  }
  const getWeather = langchainTool(async () => 'sunny', {
    name: 'get_weather',
    description: 'Weather',
    schema: Weather,
  });
  const reply = await chat.bindTools([getWeather], { tool_choice: 'required' }).invoke('Weather in Oslo?');
  assert.ok((reply.tool_calls ?? []).length >= 1);
  for (const call of reply.tool_calls ?? []) {
    assert.equal(call.name, 'get_weather');
    Weather.parse(call.args);
  }
});
