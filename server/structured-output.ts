// From a chat request's constraint fields to what the engine and the response writer need: one GrammarSpec (or
// none), and whether and how to parse tool calls out of the text. Sources, one at a time:
//   response_format (json_object | json_schema), structured_outputs {json | regex | choice | grammar | json_object |
//   structural_tag}, guided_json / guided_regex / guided_choice / guided_grammar, and tools with tool_choice.
// Everything is checked here, before any token is spent: a bad schema, an unknown tool, two constraints at once.
import { InvalidRequest } from '../engine/errors.js';
import { GrammarCompileError } from '../grammar/grammar-service.js';
import type { GrammarSpec, Json } from '../grammar/spec.js';
import type { RouteOptions } from './options.js';
import { checkJsonSchema } from './json-schema-check.js';
import type { FunctionToolInput } from './schemas/chat.js';
import type { StructuredFields } from './schemas/structured.js';
import type { FunctionTool, ToolCallFormat } from './tools/tool-call-format.js';

export interface ToolFields {
  readonly tools?: readonly FunctionToolInput[] | null;
  readonly tool_choice?: 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } } | null;
  readonly parallel_tool_calls?: boolean | null;
}

export interface OutputConstraint {
  readonly grammar: GrammarSpec | null;
  /** Where the grammar came from, for a compile error's `param`. */
  readonly param: string | null;
  /** Parse tool calls out of the output with this format; null = plain content. */
  readonly toolFormat: ToolCallFormat | null;
}

const NONE: OutputConstraint = { grammar: null, param: null, toolFormat: null };

/** JSON given as a value or as JSON text (vLLM accepts both for guided_json / structured_outputs.json). */
function jsonValue(value: unknown, param: string): Json {
  if (typeof value !== 'string') return value as Json;
  try {
    return JSON.parse(value) as Json;
  } catch (err) {
    throw new InvalidRequest(`${param} is not valid JSON: ${(err as Error).message}`, param);
  }
}

function schemaGrammar(schema: Json, param: string): GrammarSpec {
  checkJsonSchema(schema, param);
  return { kind: 'json_schema', schema };
}

/** choice → a grammar whose only sentences are the choices (JSON string escapes are valid in xgrammar's EBNF). */
function choiceGrammar(choices: readonly string[]): GrammarSpec {
  return { kind: 'ebnf', grammar: `root ::= ${choices.map((c) => JSON.stringify(c)).join(' | ')}` };
}

/** The structured-output constraints of a request (not tools); throws when more than one is given. */
export function structuredGrammar(req: StructuredFields): { grammar: GrammarSpec; param: string } | null {
  const found: { grammar: GrammarSpec; param: string }[] = [];
  const rf = req.response_format;
  if (rf?.type === 'json_object') found.push({ grammar: { kind: 'json_object' }, param: 'response_format' });
  if (rf?.type === 'json_schema') {
    const param = 'response_format.json_schema.schema';
    const schema = rf.json_schema.schema;
    found.push({
      grammar: schema === null || schema === undefined ? { kind: 'json_object' } : schemaGrammar(schema as Json, param),
      param,
    });
  }
  const so = req.structured_outputs;
  if (so) {
    const fields: [string, GrammarSpec | null][] = [
      [
        'json',
        so.json == null
          ? null
          : schemaGrammar(jsonValue(so.json, 'structured_outputs.json'), 'structured_outputs.json'),
      ],
      ['regex', so.regex == null ? null : { kind: 'regex', pattern: so.regex }],
      ['choice', so.choice == null ? null : choiceGrammar(so.choice)],
      ['grammar', so.grammar == null ? null : { kind: 'ebnf', grammar: so.grammar }],
      ['json_object', so.json_object === true ? { kind: 'json_object' } : null],
      [
        'structural_tag',
        so.structural_tag == null
          ? null
          : { kind: 'structural_tag', tag: jsonValue(so.structural_tag, 'structured_outputs.structural_tag') },
      ],
    ];
    for (const [name, grammar] of fields)
      if (grammar !== null) found.push({ grammar, param: `structured_outputs.${name}` });
  }
  if (req.guided_json != null)
    found.push({
      grammar: schemaGrammar(jsonValue(req.guided_json, 'guided_json'), 'guided_json'),
      param: 'guided_json',
    });
  if (req.guided_regex != null)
    found.push({ grammar: { kind: 'regex', pattern: req.guided_regex }, param: 'guided_regex' });
  if (req.guided_choice != null) found.push({ grammar: choiceGrammar(req.guided_choice), param: 'guided_choice' });
  if (req.guided_grammar != null)
    found.push({ grammar: { kind: 'ebnf', grammar: req.guided_grammar }, param: 'guided_grammar' });
  if (found.length > 1) {
    throw new InvalidRequest(
      `Only one output constraint may be given; got ${found.map((f) => f.param).join(' and ')}.`,
      found[1]!.param,
    );
  }
  return found[0] ?? null;
}

/**
 * tools + tool_choice: `none` (or no tools) → no parsing; `auto` → parse, and hold any call the model opens to its
 * tool's schema; `required` / a named function → the output must be calls (to that function).
 */
function toolConstraint(req: ToolFields, format: ToolCallFormat | null): OutputConstraint {
  const tools = req.tools ?? [];
  const choice = req.tool_choice ?? (tools.length > 0 ? 'auto' : 'none');
  if (tools.length === 0) {
    if (choice !== 'none')
      throw new InvalidRequest('tool_choice is only allowed when tools are specified.', 'tool_choice');
    return NONE;
  }
  const names = new Set<string>();
  const functions: FunctionTool[] = tools.map((tool, i) => {
    const { name, parameters } = tool.function;
    if (names.has(name)) throw new InvalidRequest(`Duplicate tool name '${name}'.`, `tools.${i}.function.name`);
    names.add(name);
    if (parameters != null) checkJsonSchema(parameters as Json, `tools.${i}.function.parameters`);
    return { name, parameters: (parameters ?? null) as Json | null };
  });
  if (choice === 'none') return NONE;
  if (format === null)
    throw new InvalidRequest(
      "This model's tokenizer has no tool-call format latentserve knows (DeepSeek-V3's).",
      'tools',
    );
  const parallel = req.parallel_tool_calls ?? true;
  if (choice === 'auto')
    return { grammar: format.autoGrammar(functions, parallel), param: 'tools', toolFormat: format };
  if (choice === 'required')
    return { grammar: format.requiredGrammar(functions, parallel), param: 'tools', toolFormat: format };
  const named = functions.find((f) => f.name === choice.function.name);
  if (named === undefined)
    throw new InvalidRequest(
      `tool_choice names '${choice.function.name}', which is not among the tools.`,
      'tool_choice',
    );
  return { grammar: format.requiredGrammar([named], parallel), param: 'tool_choice', toolFormat: format };
}

export function outputConstraint(req: StructuredFields & ToolFields, format: ToolCallFormat | null): OutputConstraint {
  const tools = toolConstraint(req, format);
  const structured = structuredGrammar(req);
  if (structured === null) return tools;
  if (tools.grammar !== null) {
    throw new InvalidRequest(
      `${structured.param} cannot be combined with tool calling; pass tool_choice "none" or drop one.`,
      structured.param,
    );
  }
  return { grammar: structured.grammar, param: structured.param, toolFormat: null };
}

/** Compiles the request's grammar before any engine work, so a bad or slow grammar is a 400 on its own. */
export async function compileGrammar(opts: RouteOptions, grammar: GrammarSpec, param: string | null): Promise<void> {
  if (opts.grammars === undefined)
    throw new InvalidRequest('Structured output is not available on this server.', param);
  try {
    await opts.grammars.compile(grammar);
  } catch (err) {
    if (!(err instanceof GrammarCompileError)) throw err;
    const code = err.timedOut ? 'grammar_compile_timeout' : 'invalid_grammar';
    throw new InvalidRequest(
      err.timedOut
        ? `${err.message}; simplify the ${param ?? 'grammar'}`
        : `The ${param ?? 'grammar'} does not compile: ${err.message}`,
      param,
      code,
    );
  }
}
