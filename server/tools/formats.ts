// Which tool-call format a model speaks, told by its tokenizer's vocabulary.
import type { ModelTokenizer } from '../../model/tokenizer.js';
import { DEEPSEEK_V3_TOOL_FORMAT } from './deepseek-v3.js';
import type { ToolCallFormat } from './tool-call-format.js';

/** The tool-call format the model's tokenizer was made for, or null when it has none we know. */
export function toolCallFormatFor(tokenizer: Pick<ModelTokenizer, 'tokenToId'>): ToolCallFormat | null {
  if (tokenizer.tokenToId(DEEPSEEK_V3_TOOL_FORMAT.marker) !== null) return DEEPSEEK_V3_TOOL_FORMAT;
  return null;
}
