import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidRequest } from '../engine/errors.js';
import { outputConstraint } from './structured-output.js';
import { DEEPSEEK_V3_TOOL_FORMAT } from './tools/deepseek-v3.js';

const tool = (name: string, parameters: object | null = { type: 'object', properties: { q: { type: 'string' } } }) => ({
  type: 'function' as const,
  function: { name, parameters: parameters as Record<string, unknown> | null },
});

function refusal(req: object, param: RegExp | string): void {
  assert.throws(
    () => outputConstraint(req, DEEPSEEK_V3_TOOL_FORMAT),
    (err: unknown) => {
      assert.ok(err instanceof InvalidRequest, String(err));
      if (typeof param === 'string') assert.equal(err.param, param);
      else assert.match(err.param ?? '', param);
      return true;
    },
  );
}

test('each constraint source becomes one grammar', () => {
  const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };
  const cases: [object, string][] = [
    [{ response_format: { type: 'text' } }, 'none'],
    [{ response_format: { type: 'json_object' } }, 'json_object'],
    [{ response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }, 'json_schema'],
    [{ structured_outputs: { json: schema } }, 'json_schema'],
    [{ structured_outputs: { json: JSON.stringify(schema) } }, 'json_schema'],
    [{ structured_outputs: { regex: '[a-z]+' } }, 'regex'],
    [{ structured_outputs: { choice: ['yes', 'no "quoted"'] } }, 'ebnf'],
    [{ structured_outputs: { grammar: 'root ::= "a"' } }, 'ebnf'],
    [{ guided_json: schema }, 'json_schema'],
    [{ guided_regex: '\\d+' }, 'regex'],
    [{ guided_choice: ['a'] }, 'ebnf'],
    [{ guided_grammar: 'root ::= "b"' }, 'ebnf'],
    [{ tools: [tool('f')], tool_choice: 'none' }, 'none'],
    [{ tools: [tool('f')] }, 'structural_tag'],
    [{ tools: [tool('f')], tool_choice: 'required' }, 'structural_tag'],
    [{ tools: [tool('f'), tool('g')], tool_choice: { type: 'function', function: { name: 'g' } } }, 'structural_tag'],
  ];
  for (const [req, kind] of cases) {
    const c = outputConstraint(req, DEEPSEEK_V3_TOOL_FORMAT);
    assert.equal(c.grammar?.kind ?? 'none', kind, JSON.stringify(req));
  }
  const choice = outputConstraint({ guided_choice: ['yes', 'no "quoted"'] }, null).grammar;
  assert.deepEqual(choice, { kind: 'ebnf', grammar: 'root ::= "yes" | "no \\"quoted\\""' });
  const named = JSON.stringify(
    outputConstraint(
      { tools: [tool('f'), tool('g')], tool_choice: { type: 'function', function: { name: 'g' } } },
      DEEPSEEK_V3_TOOL_FORMAT,
    ).grammar,
  );
  assert.ok(
    named.includes('<｜tool▁sep｜>g\\n') && !named.includes('<｜tool▁sep｜>f\\n'),
    'a named choice constrains to that tool only',
  );
  assert.equal(outputConstraint({ tools: [tool('f')] }, DEEPSEEK_V3_TOOL_FORMAT).toolFormat, DEEPSEEK_V3_TOOL_FORMAT);
  assert.equal(outputConstraint({ tools: [tool('f')], tool_choice: 'none' }, DEEPSEEK_V3_TOOL_FORMAT).toolFormat, null);
});

test('bad constraints are refused with the param that is wrong', () => {
  refusal(
    { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'strin' } } } },
    'response_format.json_schema.schema',
  );
  refusal(
    {
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'x', schema: { type: 'array', uniqueItems: true } },
      },
    },
    'response_format.json_schema.schema',
  );
  refusal({ guided_json: { type: 'object', properties: { n: { type: 'integer', multipleOf: 3 } } } }, 'guided_json');
  refusal({ guided_json: { type: 'number', minimum: 0.5 } }, 'guided_json');
  refusal({ guided_json: { allOf: [{ type: 'object' }, { required: ['a'] }] } }, 'guided_json');
  refusal({ guided_json: { type: 'string', format: 'credit-card' } }, 'guided_json');
  refusal({ structured_outputs: { json: '{not json' } }, 'structured_outputs.json');
  refusal({ guided_regex: 'a', guided_choice: ['b'] }, 'guided_choice');
  refusal({ tool_choice: 'required' }, 'tool_choice');
  refusal({ tools: [tool('f')], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice');
  refusal({ tools: [tool('f'), tool('f')] }, 'tools.1.function.name');
  refusal(
    { tools: [tool('f', { type: 'object', properties: { a: { not: { type: 'string' } } } })] },
    'tools.0.function.parameters',
  );
  refusal({ tools: [tool('f')], tool_choice: 'required', response_format: { type: 'json_object' } }, 'response_format');
  assert.throws(() => outputConstraint({ tools: [tool('f')] }, null), /no tool-call format/);
});

test('supported keywords pass the check, annotations included', () => {
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'T',
    description: 'd',
    type: 'object',
    additionalProperties: false,
    required: ['id', 'tags'],
    $defs: { tag: { type: 'string', enum: ['a', 'b'] } },
    properties: {
      id: { type: 'integer', minimum: 0, maximum: 9 },
      tags: { type: 'array', items: { $ref: '#/$defs/tag' }, minItems: 1, maxItems: 3 },
      when: { type: 'string', format: 'date' },
      either: { anyOf: [{ type: 'null' }, { type: 'string', pattern: '^[a-z]{1,4}$', maxLength: 4 }] },
      pair: { type: 'array', prefixItems: [{ type: 'boolean' }, { const: 1 }], items: false },
    },
  };
  assert.equal(
    outputConstraint({ response_format: { type: 'json_schema', json_schema: { name: 'n', schema } } }, null).grammar
      ?.kind,
    'json_schema',
  );
});
