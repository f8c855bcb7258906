import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEEPSEEK_V3_TOOL_FORMAT } from './deepseek-v3.js';
import type { ToolCallEvent } from './tool-call-format.js';

const call = (name: string, args: string): string =>
  `<｜tool▁call▁begin｜>function<｜tool▁sep｜>${name}\n\`\`\`json\n${args}\n\`\`\`<｜tool▁call▁end｜>`;
const block = (...calls: string[]): string => `<｜tool▁calls▁begin｜>${calls.join('\n')}<｜tool▁calls▁end｜>`;

interface Parsed {
  content: string;
  calls: { name: string; arguments: string }[];
}

function assemble(events: readonly ToolCallEvent[]): Parsed {
  const out: Parsed = { content: '', calls: [] };
  for (const e of events) {
    if (e.type === 'content') out.content += e.text;
    else if (e.type === 'call') out.calls[e.index] = { name: e.name, arguments: '' };
    else out.calls[e.index]!.arguments += e.text;
  }
  return out;
}

/** Feeds `text` in the given pieces and returns every event. */
function parse(pieces: readonly string[]): ToolCallEvent[] {
  const parser = DEEPSEEK_V3_TOOL_FORMAT.createParser();
  return [...pieces.flatMap((p) => parser.push(p)), ...parser.finish()];
}

const CASES: Record<string, { text: string; expected: Parsed }> = {
  'one call': {
    text: block(call('get_weather', '{"city": "Paris"}')),
    expected: { content: '', calls: [{ name: 'get_weather', arguments: '{"city": "Paris"}' }] },
  },
  'parallel calls': {
    text: block(call('a', '{"x": 1}'), call('b_2', '{\n  "y": [1, 2]\n}')),
    expected: {
      content: '',
      calls: [
        { name: 'a', arguments: '{"x": 1}' },
        { name: 'b_2', arguments: '{\n  "y": [1, 2]\n}' },
      ],
    },
  },
  'text then a call': {
    text: `Let me check. ${block(call('lookup', '{"q": "<｜tool"}'))}`,
    expected: { content: 'Let me check. ', calls: [{ name: 'lookup', arguments: '{"q": "<｜tool"}' }] },
  },
  'plain text with a lone "<"': {
    text: 'a < b and <｜ is not a marker',
    expected: { content: 'a < b and <｜ is not a marker', calls: [] },
  },
  'a call cut off inside its arguments (max_tokens)': {
    text: `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n\`\`\`json\n{"a": `,
    expected: { content: '', calls: [{ name: 'f', arguments: '{"a": ' }] },
  },
  'a call cut off inside its closing fence (max_tokens)': {
    text: `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n\`\`\`json\n{"a": 1}\n\`\`\`<｜tool▁call▁en`,
    expected: { content: '', calls: [{ name: 'f', arguments: '{"a": 1}' }] },
  },
  'a malformed call: header never completes': {
    text: '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f no fence',
    expected: { content: '<｜tool▁call▁begin｜>function<｜tool▁sep｜>f no fence', calls: [] },
  },
  'a call without the block marker (auto grammar triggers on the call marker)': {
    text: `ok ${call('f', '{}')}`,
    expected: { content: 'ok ', calls: [{ name: 'f', arguments: '{}' }] },
  },
};

for (const [name, { text, expected }] of Object.entries(CASES)) {
  test(`deepseek-v3 parser: ${name}, whole and split at every boundary`, () => {
    assert.deepEqual(assemble(parse([text])), expected);
    const chars = [...text];
    for (let cut = 1; cut < chars.length; cut++) {
      const pieces = [chars.slice(0, cut).join(''), chars.slice(cut).join('')];
      assert.deepEqual(assemble(parse(pieces)), expected, `split at ${cut}`);
    }
    assert.deepEqual(assemble(parse(chars)), expected, 'one character at a time');
  });
}

test('deepseek-v3 parser: a call is announced before its arguments, and no marker text leaks into content', () => {
  const events = parse([...block(call('f', '{"k": 1}'))]);
  const firstCall = events.findIndex((e) => e.type === 'call');
  const firstArgs = events.findIndex((e) => e.type === 'arguments');
  assert.ok(firstCall >= 0 && firstCall < firstArgs);
  assert.equal(events.filter((e) => e.type === 'content').length, 0);
});

test('deepseek-v3 grammars: required wraps the calls in the block markers; auto triggers on the call marker', () => {
  const tools = [{ name: 'f', parameters: { type: 'object', properties: { a: { type: 'integer' } } } }];
  const required = JSON.stringify(DEEPSEEK_V3_TOOL_FORMAT.requiredGrammar(tools, false));
  assert.match(required, /"begin":"<｜tool▁calls▁begin｜>"/);
  assert.match(required, /"stop_after_first":true/);
  assert.match(required, /function<｜tool▁sep｜>f\\n```json\\n/);
  const auto = DEEPSEEK_V3_TOOL_FORMAT.autoGrammar(tools, true);
  assert.equal(auto.kind, 'structural_tag');
  assert.match(JSON.stringify(auto), /"triggers":\["<｜tool▁call▁begin｜>"\]/);
});
