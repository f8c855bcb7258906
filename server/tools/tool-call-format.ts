// How a model family writes tool calls in its output, behind one interface: the grammar that constrains a call
// (tool_choice required / named / auto) and a streaming parser from generated text to OpenAI `tool_calls`.
// DeepSeek-V2.5/V3's format is the one latentserve serves; another family adds a ToolCallFormat and a line in
// formats.ts.
import type { GrammarSpec, Json } from '../../grammar/spec.js';

export interface FunctionTool {
  readonly name: string;
  /** The arguments' JSON schema; absent = any JSON object. */
  readonly parameters: Json | null;
}

/** What a parser reports as text arrives; one choice's output, in order. */
export type ToolCallEvent =
  | { readonly type: 'content'; readonly text: string }
  /** A call begins: its name is known; its arguments follow as `arguments` fragments. */
  | { readonly type: 'call'; readonly index: number; readonly name: string }
  | { readonly type: 'arguments'; readonly index: number; readonly text: string };

export interface ToolCallParser {
  push(text: string): ToolCallEvent[];
  /** The output ended: whatever was held back (a possible marker that never completed) comes out as content. */
  finish(): ToolCallEvent[];
}

export interface ToolCallFormat {
  readonly name: string;
  /** Output that is one or more calls (or exactly one when !parallel) and nothing else. */
  requiredGrammar(tools: readonly FunctionTool[], parallel: boolean): GrammarSpec;
  /** Free text, in which any call the model opens is held to its tool's schema. */
  autoGrammar(tools: readonly FunctionTool[], parallel: boolean): GrammarSpec;
  createParser(): ToolCallParser;
}
