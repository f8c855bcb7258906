// tokenizer.json / tokenizer_config.json / generation_config.json for synthetic checkpoints, in the fixtures'
// format: byte-level BPE with DeepSeek-V3's special tokens.
//
// Id layout (exactly vocabSize entries whenever vocabSize >= 261):
//   0..2            <｜begin▁of▁sentence｜> <｜end▁of▁sentence｜> <｜▁pad▁｜>
//   3..258          the 256 byte-level symbols, in byte order
//   259..           learned merges
//   last 2..7 ids   <｜User｜> <｜Assistant｜> then, if room, fim hole/begin/end, <think>, </think>

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
];
const BYTE_SYMBOLS = 256;
const MIN_VOCAB_SIZE = LEADING_SPECIALS.length + BYTE_SYMBOLS + 2;

// DeepSeek-V3's template, reduced to system/user/assistant turns (identical to the fixtures').
const CHAT_TEMPLATE =
  "{%- set ns = namespace(system='') -%}{%- for m in messages -%}{%- if m['role'] == 'system' -%}" +
  "{%- set ns.system = ns.system + m['content'] -%}{%- endif -%}{%- endfor -%}{{- bos_token -}}{{- ns.system -}}" +
  "{%- for m in messages -%}{%- if m['role'] == 'user' -%}{{- '<｜User｜>' + m['content'] -}}" +
  "{%- elif m['role'] == 'assistant' -%}{{- '<｜Assistant｜>' + m['content'] + eos_token -}}{%- endif -%}" +
  "{%- endfor -%}{%- if add_generation_prompt -%}{{- '<｜Assistant｜>' -}}{%- endif -%}";

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
      addedTokens.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: added });
    }
  };
  for (const special of LEADING_SPECIALS) addToken(special, true);
  for (const symbol of alphabet) addToken(symbol, null);
  for (const token of newTokens) addToken(token, null);
  for (const [content, special] of TRAILING_SPECIALS.slice(0, numTrailing)) addToken(content, special);

  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean): Record<string, unknown> => (
    { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: true }
  );
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
