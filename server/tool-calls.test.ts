// Tool calling through the HTTP layer with DeepSeek-V3's real tokenizer and chat template, over the fake engine
// scripted to "generate" exact token streams: what the server parses out of them, streamed and collected.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEEPSEEK_V3_TOKENIZER_DIR, startTestServer, type TestServer } from './harness.test-helper.js';

let s: TestServer;
before(async () => {
  s = await startTestServer({ tokenizerDir: DEEPSEEK_V3_TOKENIZER_DIR, grammars: { compile: async () => {} } });
});
after(async () => {
  await s.close();
});

const tools = [
  {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      description: 'Current weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
  {
    type: 'function' as const,
    function: {
      name: 'add',
      parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } } },
    },
  },
];
const call = (name: string, args: string): string =>
  `<｜tool▁call▁begin｜>function<｜tool▁sep｜>${name}\n\`\`\`json\n${args}\n\`\`\`<｜tool▁call▁end｜>`;

const SCRIPTS: Record<string, { text: string; content: string | null; calls: { name: string; arguments: string }[] }> =
  {
    'one call': {
      text: `<｜tool▁calls▁begin｜>${call('get_weather', '{"city": "Paris"}')}<｜tool▁calls▁end｜>`,
      content: null,
      calls: [{ name: 'get_weather', arguments: '{"city": "Paris"}' }],
    },
    'parallel calls': {
      text: `<｜tool▁calls▁begin｜>${call('get_weather', '{"city": "Oslo"}')}\n${call('add', '{"a": 1, "b": 2}')}<｜tool▁calls▁end｜>`,
      content: null,
      calls: [
        { name: 'get_weather', arguments: '{"city": "Oslo"}' },
        { name: 'add', arguments: '{"a": 1, "b": 2}' },
      ],
    },
    'text, then a call': {
      text: `I will look it up.<｜tool▁calls▁begin｜>${call('get_weather', '{"city": "Rome"}')}<｜tool▁calls▁end｜>`,
      content: 'I will look it up.',
      calls: [{ name: 'get_weather', arguments: '{"city": "Rome"}' }],
    },
    'no call': { text: 'It is sunny.', content: 'It is sunny.', calls: [] },
  };

for (const [name, script] of Object.entries(SCRIPTS)) {
  test(`tool calls (${name}): collected and streamed through openai-node give the same message`, async () => {
    s.engine.script = s.tokenizer.encode(script.text);
    try {
      const res = await s.client.chat.completions.create({
        model: 'tiny-b',
        messages: [{ role: 'user', content: 'weather?' }],
        tools,
        max_tokens: 200,
      });
      const message = res.choices[0]!.message;
      assert.equal(message.content, script.content);
      assert.deepEqual(
        (message.tool_calls ?? []).map((c) => (c as { function: object }).function),
        script.calls,
      );
      assert.equal(res.choices[0]!.finish_reason, script.calls.length > 0 ? 'tool_calls' : 'stop');
      for (const c of message.tool_calls ?? []) assert.match(c.id, /^call_[0-9a-f]{24}$/);

      const stream = s.client.chat.completions.stream({
        model: 'tiny-b',
        messages: [{ role: 'user', content: 'weather?' }],
        tools,
        max_tokens: 200,
      });
      const deltas: unknown[] = [];
      stream.on('chunk', (chunk) => {
        for (const c of chunk.choices) if (c.delta.tool_calls) deltas.push(...c.delta.tool_calls);
      });
      const final = await stream.finalChatCompletion();
      const streamed = final.choices[0]!;
      assert.equal(streamed.message.content ?? null, script.content);
      assert.deepEqual(
        (streamed.message.tool_calls ?? []).map((c) => (c as { function: object }).function),
        script.calls,
      );
      assert.equal(streamed.finish_reason, res.choices[0]!.finish_reason);
      // Each call's first delta carries index, id, type and name; later ones only argument fragments.
      const firsts = deltas.filter((d) => (d as { id?: string }).id !== undefined) as {
        index: number;
        type: string;
        function: { name: string };
      }[];
      assert.deepEqual(
        firsts.map((d) => [d.index, d.type, d.function.name]),
        script.calls.map((c, i) => [i, 'function', c.name]),
      );
    } finally {
      s.engine.script = null;
    }
  });
}

test('tool and developer messages, and assistant tool_calls, reach the chat template as transformers passes them', async () => {
  const messages = [
    { role: 'developer' as const, content: 'Use tools.' },
    { role: 'user' as const, content: 'Weather in Paris?' },
    {
      role: 'assistant' as const,
      content: null,
      tool_calls: [
        { id: 'call_1', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
      ],
    },
    { role: 'tool' as const, tool_call_id: 'call_1', content: '21 C' },
  ];
  await s.client.chat.completions.create({ model: 'tiny-b', messages, tools, max_tokens: 3 });
  const expected = s.tokenizer.encode(
    s.tokenizer.applyChatTemplate(
      [
        { role: 'system', content: 'Use tools.' },
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: messages[2]!.tool_calls },
        { role: 'tool', content: '21 C', tool_call_id: 'call_1' },
      ],
      { addGenerationPrompt: true, tools },
    ),
  );
  assert.deepEqual(s.engine.requests.at(-1)!.promptIds, expected);
  const text = s.tokenizer.decode(expected);
  assert.ok(
    text.includes(
      '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris"}\n```<｜tool▁call▁end｜>',
    ),
    text,
  );
  assert.ok(text.includes('<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>21 C<｜tool▁output▁end｜>'), text);
  assert.ok(text.startsWith('<｜begin▁of▁sentence｜>Use tools.'), text);
});

test('fields latentserve does not implement are a 400 naming them; fields without effect are accepted', async () => {
  for (const [field, value] of [
    ['unknown_vendor_field', 1],
    ['functions', [{ name: 'f' }]],
    ['audio', { voice: 'x' }],
    ['prediction', { type: 'content', content: 'x' }],
    ['web_search_options', {}],
  ] as const) {
    const res = await s.post('/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], [field]: value });
    assert.equal(res.status, 400, field);
    assert.equal(res.json.error.param, field);
    assert.equal(res.json.error.code, 'unsupported_parameter');
  }
  const ok = await s.post('/v1/chat/completions', {
    messages: [{ role: 'user', content: 'x' }],
    max_tokens: 2,
    user: 'u',
    store: false,
    metadata: { k: 'v' },
    modalities: ['text'],
  });
  assert.equal(ok.status, 200);
  const image = await s.post('/v1/chat/completions', {
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
  });
  assert.equal(image.status, 400);
});

test('tool requests that cannot be honoured are a 400 with the param', async () => {
  const cases: [object, string][] = [
    [{ tool_choice: 'required' }, 'tool_choice'],
    [{ tools, tool_choice: { type: 'function', function: { name: 'missing' } } }, 'tool_choice'],
    [{ tools: [{ type: 'function', function: { name: 'bad name!' } }] }, 'tools.0.function.name'],
    [
      {
        tools: [
          {
            type: 'function',
            function: {
              name: 'f',
              parameters: { type: 'object', properties: { x: { type: 'number', multipleOf: 2 } } },
            },
          },
        ],
      },
      'tools.0.function.parameters',
    ],
    [{ response_format: { type: 'xml' } }, 'response_format.type'],
    [
      {
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'nope' } } } },
        },
      },
      'response_format.json_schema.schema',
    ],
  ];
  for (const [extra, param] of cases) {
    const res = await s.post('/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], ...extra });
    assert.equal(res.status, 400, JSON.stringify(extra));
    assert.equal(res.json.error.param, param, JSON.stringify(res.json));
  }
});

test('a max_completion_tokens the window cannot hold is a 400 naming max_completion_tokens', async () => {
  const res = await s.post('/v1/chat/completions', {
    messages: [{ role: 'user', content: 'x' }],
    max_completion_tokens: 100_000,
  });
  assert.equal(res.status, 400);
  assert.equal(res.json.error.param, 'max_completion_tokens');
  assert.equal(res.json.error.code, 'context_length_exceeded');
});

test('openai-node sees the 400 for a field latentserve does not implement, with the field named', async () => {
  await assert.rejects(
    s.client.chat.completions.create({
      model: 'tiny-b',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 2,
      ...({ reasoning_effort: 'high' } as object),
    }),
    (err: unknown) => {
      const e = err as { status?: number; param?: string; code?: string };
      assert.equal(e.status, 400);
      assert.equal(e.param, 'reasoning_effort');
      assert.equal(e.code, 'unsupported_parameter');
      return true;
    },
  );
});
