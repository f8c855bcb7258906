// DeepSeek-V2.5/V3's tool-call format (its chat template writes assistant calls this way, and the model answers
// in kind):
//
//   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGUMENTS\n```<｜tool▁call▁end｜>
//   \n<｜tool▁call▁begin｜>…<｜tool▁call▁end｜><｜tool▁calls▁end｜>
//
// Text before the block is the message's content. The parser streams: a call is reported once its name is
// complete, its arguments as they arrive, and text that might still become a marker is held back until it
// either does or cannot.
import type { GrammarSpec, Json } from '../../grammar/spec.js';
import type { FunctionTool, ToolCallEvent, ToolCallFormat, ToolCallParser } from './tool-call-format.js';

const CALLS_BEGIN = '<｜tool▁calls▁begin｜>';
const CALLS_END = '<｜tool▁calls▁end｜>';
const CALL_BEGIN = '<｜tool▁call▁begin｜>';
const CALL_END = '<｜tool▁call▁end｜>';
const SEP = '<｜tool▁sep｜>';
const ARGS_BEGIN = '\n```json\n';
const ARGS_END = `\n\`\`\`${CALL_END}`;

function callTag(tool: FunctionTool): Json {
  return {
    type: 'tag',
    begin: `${CALL_BEGIN}function${SEP}${tool.name}${ARGS_BEGIN}`,
    content: { type: 'json_schema', json_schema: tool.parameters ?? { type: 'object' } },
    end: ARGS_END,
  };
}

/** Length of the longest suffix of `text` that is a proper prefix of one of `markers`. */
function partialMarkerLength(text: string, markers: readonly string[]): number {
  let best = 0;
  for (const marker of markers) {
    for (let len = Math.min(marker.length - 1, text.length); len > best; len--) {
      if (text.endsWith(marker.slice(0, len))) {
        best = len;
        break;
      }
    }
  }
  return best;
}

type State = 'content' | 'calls' | 'header' | 'arguments' | 'after';

class DeepSeekV3Parser implements ToolCallParser {
  private state: State = 'content';
  private buffer = '';
  private calls = 0;

  push(text: string): ToolCallEvent[] {
    this.buffer += text;
    const events: ToolCallEvent[] = [];
    while (this.advance(events));
    return events;
  }

  finish(): ToolCallEvent[] {
    const events: ToolCallEvent[] = [];
    const rest = this.buffer;
    this.buffer = '';
    if (rest === '') return events;
    if (this.state === 'content') events.push({ type: 'content', text: rest });
    // Held back in the arguments only while it might be the start of the closing fence: cut off there (max_tokens),
    // it belongs to the marker, not the JSON (a raw newline and backticks are no JSON outside a string either).
    else if (this.state === 'arguments' && !ARGS_END.startsWith(rest))
      events.push({ type: 'arguments', index: this.calls - 1, text: rest });
    else if (this.state === 'header') events.push({ type: 'content', text: CALL_BEGIN + rest });
    return events;
  }

  /** Consumes what the buffer allows in the current state; true when the state changed and more may follow. */
  private advance(events: ToolCallEvent[]): boolean {
    switch (this.state) {
      case 'content': {
        const at = firstOf(this.buffer, [CALLS_BEGIN, CALL_BEGIN]);
        if (at === null) {
          this.emitSafe(events, 'content', [CALLS_BEGIN, CALL_BEGIN]);
          return false;
        }
        if (at.index > 0) events.push({ type: 'content', text: this.buffer.slice(0, at.index) });
        this.buffer = this.buffer.slice(at.index + at.marker.length);
        this.state = at.marker === CALL_BEGIN ? 'header' : 'calls';
        return true;
      }
      case 'calls': {
        // Between calls: separators (newlines) only, until the next call or the end of the block.
        const at = firstOf(this.buffer, [CALL_BEGIN, CALLS_END]);
        if (at === null) return false;
        this.buffer = this.buffer.slice(at.index + at.marker.length);
        this.state = at.marker === CALL_BEGIN ? 'header' : 'after';
        return true;
      }
      case 'header': {
        const end = this.buffer.indexOf(ARGS_BEGIN);
        if (end < 0) return false;
        const header = this.buffer.slice(0, end);
        const sep = header.indexOf(SEP);
        const name = (sep < 0 ? header : header.slice(sep + SEP.length)).trim();
        events.push({ type: 'call', index: this.calls++, name });
        this.buffer = this.buffer.slice(end + ARGS_BEGIN.length);
        this.state = 'arguments';
        return true;
      }
      case 'arguments': {
        const end = this.buffer.indexOf(ARGS_END);
        if (end < 0) {
          this.emitSafe(events, 'arguments', [ARGS_END]);
          return false;
        }
        if (end > 0) events.push({ type: 'arguments', index: this.calls - 1, text: this.buffer.slice(0, end) });
        this.buffer = this.buffer.slice(end + ARGS_END.length);
        this.state = 'calls';
        return true;
      }
      case 'after':
        // Nothing after the block belongs to the message (the model should have ended it with EOS).
        this.buffer = '';
        return false;
    }
  }

  /** Emits the buffer except a tail that could still grow into one of `markers`. */
  private emitSafe(events: ToolCallEvent[], type: 'content' | 'arguments', markers: readonly string[]): void {
    const keep = partialMarkerLength(this.buffer, markers);
    const text = this.buffer.slice(0, this.buffer.length - keep);
    this.buffer = this.buffer.slice(this.buffer.length - keep);
    if (text === '') return;
    events.push(type === 'content' ? { type, text } : { type, index: this.calls - 1, text });
  }
}

function firstOf(text: string, markers: readonly string[]): { index: number; marker: string } | null {
  let best: { index: number; marker: string } | null = null;
  for (const marker of markers) {
    const index = text.indexOf(marker);
    if (index >= 0 && (best === null || index < best.index)) best = { index, marker };
  }
  return best;
}

export const DEEPSEEK_V3_TOOL_FORMAT: ToolCallFormat & { readonly marker: string } = {
  name: 'deepseek_v3',
  marker: CALLS_BEGIN,
  requiredGrammar(tools, parallel): GrammarSpec {
    return {
      kind: 'structural_tag',
      tag: {
        type: 'structural_tag',
        // A tag around the calls (a `sequence` holding tags_with_separator fails to compile in xgrammar 0.1.27).
        format: {
          type: 'tag',
          begin: CALLS_BEGIN,
          content: {
            type: 'tags_with_separator',
            tags: tools.map(callTag),
            separator: '\n',
            at_least_one: true,
            stop_after_first: !parallel,
          },
          end: CALLS_END,
        },
      },
    };
  },
  autoGrammar(tools, parallel): GrammarSpec {
    return {
      kind: 'structural_tag',
      tag: {
        type: 'structural_tag',
        format: {
          type: 'triggered_tags',
          triggers: [CALL_BEGIN],
          tags: tools.map(callTag),
          stop_after_first: !parallel,
        },
      },
    };
  },
  createParser: () => new DeepSeekV3Parser(),
};
