// tokenizer.json / tokenizer_config.json / generation_config.json for synthetic checkpoints, in the fixtures'
// format: byte-level BPE with DeepSeek-V3's special tokens.
//
// Id layout (exactly vocabSize entries whenever vocabSize >= 261):
//   0..2            <｜begin▁of▁sentence｜> <｜end▁of▁sentence｜> <｜▁pad▁｜>
//   3..258          the 256 byte-level symbols, in byte order
//   259..           learned merges
//   last 2..16 ids  <｜User｜> <｜Assistant｜> then, if room, fim hole/begin/end, <think>, </think>, and the nine
//                   tool-call markers (<｜tool▁calls▁begin｜> … <｜tool▁sep｜>)

import { SYNTH_CORPUS } from './synth-corpus.js';
import { byteLevelAlphabet, trainByteLevelBpe } from './synth-bpe.js';

export const BOS_TOKEN = '<｜begin▁of▁sentence｜>';
export const EOS_TOKEN = '<｜end▁of▁sentence｜>';
const PAD_TOKEN = '<｜▁pad▁｜>';
const LEADING_SPECIALS = [BOS_TOKEN, EOS_TOKEN, PAD_TOKEN];
// [content, special]: <think> tags are ordinary added tokens in DeepSeek's tokenizer, so decode keeps them.
const TRAILING_SPECIALS: readonly (readonly [string, boolean])[] = [
  ['<｜User｜>', true],
  ['<｜Assistant｜>', true],
  ['<｜fim▁hole｜>', true],
  ['<｜fim▁begin｜>', true],
  ['<｜fim▁end｜>', true],
  ['<think>', false],
  ['</think>', false],
  // Tool-call markers: ordinary (non-special) added tokens in DeepSeek-V3, so decoded text keeps them.
  ...[
    '<｜tool▁calls▁begin｜>',
    '<｜tool▁calls▁end｜>',
    '<｜tool▁call▁begin｜>',
    '<｜tool▁call▁end｜>',
    '<｜tool▁outputs▁begin｜>',
    '<｜tool▁outputs▁end｜>',
    '<｜tool▁output▁begin｜>',
    '<｜tool▁output▁end｜>',
    '<｜tool▁sep｜>',
  ].map((t) => [t, false] as const),
];
const BYTE_SYMBOLS = 256;
const MIN_VOCAB_SIZE = LEADING_SPECIALS.length + BYTE_SYMBOLS + 2;

// DeepSeek-V3's chat template (as of V3-0324: tool calls closed properly, content before calls kept) with the
// tools rendered into the system prompt as DeepSeek-V3.1 does, so tool calling runs end to end on synthetic models.
// Plain system/user/assistant chats render exactly as DeepSeek-V3's template renders them.
const CHAT_TEMPLATE = [
  "{%- set ns = namespace(system='', first_sp=true, is_tool=false, is_output_first=true) -%}",
  "{%- for m in messages -%}{%- if m['role'] == 'system' -%}",
  "{%- if ns.first_sp -%}{%- set ns.system = m['content'] -%}{%- set ns.first_sp = false -%}",
  "{%- else -%}{%- set ns.system = ns.system + '\n\n' + m['content'] -%}{%- endif -%}",
  '{%- endif -%}{%- endfor -%}',
  "{%- if tools -%}{%- set ns.system = ns.system + ('\n\n' if ns.system else '') + '## Tools\nYou have access to the following tools:\n' -%}",
  "{%- for tool in tools -%}{%- set ns.system = ns.system + '\n### ' + tool['function']['name'] + '\nDescription: ' +",
  " (tool['function']['description'] or '') + '\n\nParameters: ' + (tool['function']['parameters'] | tojson) + '\n' -%}{%- endfor -%}",
  "{%- set ns.system = ns.system + '\nIMPORTANT: ALWAYS adhere to this exact format for tool use:\n' +",
  " '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>tool_call_name\n```json\ntool_call_arguments\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>' -%}",
  '{%- endif -%}',
  '{{- bos_token -}}{{- ns.system -}}',
  '{%- for m in messages -%}',
  "{%- if m['role'] == 'user' -%}{%- set ns.is_tool = false -%}{{- '<｜User｜>' + m['content'] -}}",
  "{%- elif m['role'] == 'assistant' -%}",
  "{%- if ns.is_tool -%}{{- '<｜tool▁outputs▁end｜>' -}}{%- set ns.is_tool = false -%}{%- else -%}{{- '<｜Assistant｜>' -}}{%- endif -%}",
  "{%- if m['content'] is not none -%}{{- m['content'] -}}{%- endif -%}",
  "{%- if m['tool_calls'] -%}{{- '<｜tool▁calls▁begin｜>' -}}",
  "{%- for tool in m['tool_calls'] -%}{%- if not loop.first -%}{{- '\n' -}}{%- endif -%}",
  "{{- '<｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\n```json\n' + tool['function']['arguments'] + '\n```<｜tool▁call▁end｜>' -}}",
  "{%- endfor -%}{{- '<｜tool▁calls▁end｜>' -}}{%- endif -%}",
  '{{- eos_token -}}',
  "{%- elif m['role'] == 'tool' -%}",
  "{%- if not ns.is_tool -%}{{- '<｜tool▁outputs▁begin｜>' -}}{%- set ns.is_tool = true -%}{%- else -%}{{- '\n' -}}{%- endif -%}",
  "{{- '<｜tool▁output▁begin｜>' + m['content'] + '<｜tool▁output▁end｜>' -}}",
  '{%- endif -%}',
  '{%- endfor -%}',
  "{%- if ns.is_tool -%}{{- '<｜tool▁outputs▁end｜>' -}}{%- endif -%}",
  "{%- if add_generation_prompt and not ns.is_tool -%}{{- '<｜Assistant｜>' -}}{%- endif -%}",
].join('');

export interface SynthTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  /** Number of ids the tokenizer can produce (== vocabSize unless vocabSize is below the minimum). */
  numTokens: number;
}

/** Builds tokenizer.json for a model whose embedding has `vocabSize` rows. */
export function buildSynthTokenizer(vocabSize: number): SynthTokenizerFiles {
  if (vocabSize < MIN_VOCAB_SIZE) {
    throw new Error(`vocab_size ${vocabSize} is too small for a byte-level tokenizer (minimum ${MIN_VOCAB_SIZE})`);
  }
  const numTrailing = Math.min(TRAILING_SPECIALS.length, vocabSize - MIN_VOCAB_SIZE + 2);
  const numMergeTokens = vocabSize - LEADING_SPECIALS.length - BYTE_SYMBOLS - numTrailing;
  const alphabet = byteLevelAlphabet();
  const { merges, newTokens } = trainByteLevelBpe(SYNTH_CORPUS, numMergeTokens, alphabet);

  const vocab: Record<string, number> = {};
  const addedTokens: Record<string, unknown>[] = [];
  let nextId = 0;
  const addToken = (content: string, added: boolean | null): void => {
    if (Object.hasOwn(vocab, content)) throw new Error(`synthetic tokenizer: token ${content} appears twice`);
    const id = nextId++;
    vocab[content] = id;
    if (added !== null) {
      addedTokens.push({
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: added,
      });
    }
  };
  for (const special of LEADING_SPECIALS) addToken(special, true);
  for (const symbol of alphabet) addToken(symbol, null);
  for (const token of newTokens) addToken(token, null);
  for (const [content, special] of TRAILING_SPECIALS.slice(0, numTrailing)) addToken(content, special);

  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean): Record<string, unknown> => ({
    type: 'ByteLevel',
    add_prefix_space: addPrefixSpace,
    trim_offsets: trimOffsets,
    use_regex: true,
  });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: merges.map(([left, right]) => `${left} ${right}`),
    },
  };
  return { tokenizerJson, numTokens: nextId };
}

export function buildSynthTokenizerConfig(modelMaxLength: number): Record<string, unknown> {
  return {
    add_bos_token: false,
    add_eos_token: false,
    bos_token: BOS_TOKEN,
    eos_token: EOS_TOKEN,
    pad_token: EOS_TOKEN,
    unk_token: null,
    clean_up_tokenization_spaces: false,
    legacy: true,
    model_max_length: modelMaxLength,
    tokenizer_class: 'LlamaTokenizerFast',
    chat_template: CHAT_TEMPLATE,
  };
}

export function buildSynthGenerationConfig(bosTokenId: number, eosTokenId: number): Record<string, unknown> {
  return { bos_token_id: bosTokenId, eos_token_id: eosTokenId, do_sample: false };
}
