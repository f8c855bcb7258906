// Constrained decoding end to end on a random-weight model: with random weights the model has no idea what JSON
// is, so every valid output is the grammar's doing. Every request that finishes (`stop`) must parse and validate
// against its schema, whatever the sampling settings; `required` tool calls must parse into valid arguments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { randomModelServer } from './helpers/random-model-server.js';

const live = randomModelServer();

const ajv = new Ajv2020({ strict: false });
addFormats.default(ajv, ['uuid', 'ipv6']);

// Free-form strings are given an ASCII pattern: with random weights, byte-level tokens can end a string on a
// partial UTF-8 sequence that xgrammar's byte-level string rule lets through (the decoder then shows U+FFFD), a
// quirk a trained model does not reach for; the README says so.
const SCHEMAS: Record<string, object> = {
  flat: {
    type: 'object',
    properties: {
      name: { type: 'string', pattern: '^[a-z ]{0,6}$' },
      age: { type: 'integer', minimum: 0, maximum: 120 },
    },
    required: ['name', 'age'],
    additionalProperties: false,
  },
  nested: {
    type: 'object',
    required: ['user'],
    properties: {
      user: {
        type: 'object',
        required: ['id', 'tags'],
        properties: {
          id: { type: 'integer' },
          tags: { type: 'array', items: { type: 'string', pattern: '^[a-z]{1,3}$' }, maxItems: 2 },
        },
      },
    },
  },
  enum: {
    type: 'object',
    properties: { color: { enum: ['red', 'green', 'blue'] }, ok: { type: 'boolean' } },
    required: ['color', 'ok'],
  },
  numbers: {
    type: 'object',
    properties: { x: { type: 'number' }, n: { type: 'integer', exclusiveMinimum: -3, exclusiveMaximum: 3 } },
    required: ['x', 'n'],
  },
  pattern: {
    type: 'object',
    properties: { code: { type: 'string', pattern: '^[A-Z]{2}-[0-9]{2,3}$' } },
    required: ['code'],
  },
  anyOf: {
    type: 'object',
    properties: { v: { anyOf: [{ type: 'null' }, { type: 'integer' }, { type: 'string', pattern: '^[a-z]{0,2}$' }] } },
    required: ['v'],
  },
  array: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 9 }, minItems: 1, maxItems: 4 },
  refs: {
    $defs: { p: { type: 'object', properties: { k: { type: 'boolean' } }, required: ['k'] } },
    type: 'object',
    properties: { a: { $ref: '#/$defs/p' }, b: { $ref: '#/$defs/p' } },
    required: ['a', 'b'],
  },
  formats: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] },
};

const sampling = fc.record({
  temperature: fc.constantFrom(0, 0.7, 1, 1.5),
  top_p: fc.constantFrom(1, 0.9, 0.5),
  top_k: fc.constantFrom(-1, 5, 50),
  presence_penalty: fc.constantFrom(0, 1),
  repetition_penalty: fc.constantFrom(1, 1.2),
  seed: fc.integer({ min: 0, max: 1000 }),
  n: fc.constantFrom(1, 2),
});

test('json_schema: every finished output parses and validates, across schemas × sampling settings', {
  timeout: 300_000,
}, async () => {
  let finished = 0;
  let total = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...Object.keys(SCHEMAS)), sampling, async (name, params) => {
      const schema = SCHEMAS[name]!;
      const res = await live.server.client.chat.completions.create({
        model: 'fixture',
        messages: [{ role: 'user', content: `give me ${name}` }],
        max_tokens: 160,
        response_format: { type: 'json_schema', json_schema: { name, schema, strict: true } },
        ...params,
      } as never);
      const validate = ajv.compile(schema);
      for (const choice of res.choices) {
        total++;
        if (choice.finish_reason !== 'stop') continue;
        finished++;
        const value: unknown = JSON.parse(choice.message.content!);
        assert.ok(
          validate(value),
          `${name} ${JSON.stringify(params)}: ${choice.message.content} — ${ajv.errorsText(validate.errors)}`,
        );
      }
    }),
    { numRuns: 24, seed: 42 },
  );
  // The property must not hold vacuously: most outputs end by finishing their grammar.
  assert.ok(finished >= total / 2, `only ${finished} of ${total} outputs finished`);
});

test('json_object, regex, choice and EBNF grammar: outputs match, streamed as well as collected', async () => {
  const ask = (extra: object, stream = false) =>
    live.server.client.chat.completions.create({
      model: 'fixture',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 120,
      seed: 3,
      temperature: 1,
      ...extra,
      stream,
    } as never) as unknown as Promise<{ choices: { message: { content: string }; finish_reason: string }[] }>;
  const text = async (extra: object): Promise<string> => {
    const res = await ask(extra);
    assert.equal(res.choices[0]!.finish_reason, 'stop');
    return res.choices[0]!.message.content;
  };
  const obj: unknown = JSON.parse(await text({ response_format: { type: 'json_object' }, max_tokens: 250 }));
  assert.ok(typeof obj === 'object' && obj !== null && !Array.isArray(obj));
  assert.match(await text({ structured_outputs: { regex: '[a-c]{3}-[0-9]{2}' } }), /^[a-c]{3}-[0-9]{2}$/);
  assert.ok(['yes', 'no', 'maybe later'].includes(await text({ guided_choice: ['yes', 'no', 'maybe later'] })));
  assert.match(await text({ guided_grammar: 'root ::= ("ab" | "cd")+ "!"', max_tokens: 200 }), /^(ab|cd)+!$/);

  const streamed = await live.server.client.chat.completions.create({
    model: 'fixture',
    messages: [{ role: 'user', content: 'x' }],
    max_tokens: 120,
    seed: 3,
    temperature: 1,
    stream: true,
    ...({ structured_outputs: { regex: '[a-c]{3}-[0-9]{2}' } } as object),
  });
  let content = '';
  for await (const chunk of streamed) content += chunk.choices[0]?.delta.content ?? '';
  assert.equal(content, await text({ structured_outputs: { regex: '[a-c]{3}-[0-9]{2}' } }));
});

test('logprobs of a constrained request are those of the masked distribution', async () => {
  const res = await live.server.client.chat.completions.create({
    model: 'fixture',
    messages: [{ role: 'user', content: 'x' }],
    max_tokens: 10,
    temperature: 0,
    logprobs: true,
    top_logprobs: 5,
    ...({ guided_choice: ['yes', 'no'] } as object),
  });
  const entries = res.choices[0]!.logprobs!.content!;
  assert.ok(entries.length > 0);
  // The first token must start "yes" or "no": every alternative offered has finite logprob only if allowed.
  for (const alt of entries[0]!.top_logprobs) {
    if (alt.logprob > -1000)
      assert.ok(
        'yes'.startsWith(alt.token) || 'no'.startsWith(alt.token) || alt.token === '',
        `alternative ${JSON.stringify(alt.token)}`,
      );
  }
  const mass = entries[0]!.top_logprobs.reduce((sum, alt) => sum + Math.exp(alt.logprob), 0);
  assert.ok(mass > 0.999, `the allowed tokens carry all the probability (${mass})`);
});

test('tool_choice required: every call parses into arguments valid against its tool, streamed or not', {
  timeout: 120_000,
}, async () => {
  const tools = [
    {
      type: 'function' as const,
      function: {
        name: 'get_weather',
        parameters: {
          type: 'object',
          properties: {
            city: { type: 'string', pattern: '^[A-Za-z]{1,8}$' },
            days: { type: 'integer', minimum: 1, maximum: 7 },
          },
          required: ['city', 'days'],
        },
      },
    },
    {
      type: 'function' as const,
      function: {
        name: 'add',
        parameters: {
          type: 'object',
          properties: { a: { type: 'integer' }, b: { type: 'integer' } },
          required: ['a', 'b'],
        },
      },
    },
  ];
  const validators = new Map(tools.map((t) => [t.function.name, ajv.compile(t.function.parameters)]));
  let calls = 0;
  for (let seed = 0; seed < 6; seed++) {
    const parallel = seed % 2 === 0;
    const res = await live.server.client.chat.completions.create({
      model: 'fixture',
      messages: [{ role: 'user', content: 'go' }],
      max_tokens: 150,
      seed,
      temperature: 1,
      tools,
      tool_choice: 'required',
      parallel_tool_calls: parallel,
    });
    const choice = res.choices[0]!;
    if (choice.finish_reason === 'length') continue;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    const made = choice.message.tool_calls ?? [];
    assert.ok(made.length >= 1 && (parallel || made.length === 1));
    for (const call of made) {
      assert.equal(call.type, 'function');
      assert.match(call.id, /^call_/);
      const fn = (call as { function: { name: string; arguments: string } }).function;
      const validate = validators.get(fn.name);
      assert.ok(validate !== undefined, `unknown tool ${fn.name}`);
      assert.ok(validate(JSON.parse(fn.arguments)), `${fn.name}(${fn.arguments})`);
      calls++;
    }
    // The same request streamed assembles into the same calls.
    const stream = live.server.client.chat.completions.stream({
      model: 'fixture',
      messages: [{ role: 'user', content: 'go' }],
      max_tokens: 150,
      seed,
      temperature: 1,
      tools,
      tool_choice: 'required',
      parallel_tool_calls: parallel,
    });
    const final = await stream.finalChatCompletion();
    const strip = (cs: typeof made) => cs.map((c) => (c as { function: object }).function);
    assert.deepEqual(strip(final.choices[0]!.message.tool_calls ?? []), strip(made));
    assert.equal(final.choices[0]!.finish_reason, 'tool_calls');
  }
  assert.ok(calls >= 3, `only ${calls} calls finished`);
  const named = await live.server.client.chat.completions.create({
    model: 'fixture',
    messages: [{ role: 'user', content: 'go' }],
    max_tokens: 150,
    seed: 1,
    tools,
    tool_choice: { type: 'function', function: { name: 'add' } },
  });
  for (const call of named.choices[0]!.message.tool_calls ?? [])
    assert.equal((call as { function: { name: string } }).function.name, 'add');
});

test('a grammar that does not compile is a 400; the server keeps serving', async () => {
  const post = (body: object) =>
    fetch(`${live.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }], max_tokens: 4, ...body }),
    });
  const bad = await post({ guided_grammar: 'root ::= "a" |' });
  assert.equal(bad.status, 400);
  const body = (await bad.json()) as { error: { param: string; code: string; message: string } };
  assert.equal(body.error.param, 'guided_grammar');
  assert.equal(body.error.code, 'invalid_grammar');
  assert.match(body.error.message, /EBNF|Expect/);
  const ok = await post({ guided_choice: ['fine'] });
  assert.equal(ok.status, 200);
  assert.equal(
    ((await ok.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content,
    'fine',
  );
});

test('/v1/completions takes the same constraints (guided_json, structured_outputs)', async () => {
  const schema = SCHEMAS['enum']!;
  const res = await live.server.client.completions.create({
    model: 'fixture',
    prompt: 'Color:',
    max_tokens: 120,
    seed: 5,
    temperature: 1,
    ...({ guided_json: schema } as object),
  });
  const choice = res.choices[0]!;
  assert.equal(choice.finish_reason, 'stop');
  assert.ok(ajv.compile(schema)(JSON.parse(choice.text)), choice.text);
  const regex = await live.server.client.completions.create({
    model: 'fixture',
    prompt: 'Code:',
    max_tokens: 40,
    ...({ structured_outputs: { regex: '[0-9]{4}' } } as object),
  });
  assert.match(regex.choices[0]!.text, /^[0-9]{4}$/);
});
