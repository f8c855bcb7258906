// Text ↔ token ids and chat formatting for a HuggingFace model folder, on @huggingface/tokenizers (pure JS port
// of the Rust `tokenizers`) and @huggingface/jinja (the chat_template dialect transformers uses).
// Reads only the small JSON files; never touches the weights.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';

/** A message as transformers' apply_chat_template passes it to the template. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | string;
  /** null for an assistant turn that only calls tools. */
  content: string | null;
  tool_calls?: readonly { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
  name?: string;
}

type JsonObject = Record<string, unknown>;

/** Special-token fields in tokenizer_config.json are plain strings or serialized AddedTokens `{content: ...}`. */
const SPECIAL_TOKEN_KEYS = [
  'bos_token',
  'eos_token',
  'unk_token',
  'pad_token',
  'sep_token',
  'cls_token',
  'mask_token',
] as const;

async function readJson(dir: string, file: string, required: true): Promise<JsonObject>;
async function readJson(dir: string, file: string, required: false): Promise<JsonObject | null>;
async function readJson(dir: string, file: string, required: boolean): Promise<JsonObject | null> {
  const path = join(dir, file);
  if (!existsSync(path)) {
    if (required) throw new Error(`missing ${file} in ${dir}`);
    return null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${path}: not a JSON object`);
  return parsed as JsonObject;
}

function tokenString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return null;
}

/** `eos_token_id`-style fields: a number, a list of numbers, or absent/null. */
function idList(value: unknown): number[] | null {
  const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (isId(value)) return [value];
  if (Array.isArray(value) && value.length > 0 && value.every(isId)) return value;
  return null;
}

/**
 * The chat template from tokenizer_config.json (a string, or transformers' list of `{name, template}` where
 * "default" is the chat one), else from a `chat_template.jinja` file as newer transformers saves it.
 */
async function findChatTemplate(dir: string, config: JsonObject): Promise<string | null> {
  const value = config['chat_template'];
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value as { name?: unknown; template?: unknown }[];
    const chosen = named.find((t) => t.name === 'default') ?? named[0];
    if (typeof chosen?.template === 'string') return chosen.template;
  }
  const jinjaPath = join(dir, 'chat_template.jinja');
  return existsSync(jinjaPath) ? readFile(jinjaPath, 'utf8') : null;
}

/** xgrammar's name for how a tokenizer.json decoder turns token strings into bytes. */
function vocabTypeOf(decoder: unknown): 'byte_level' | 'byte_fallback' | 'raw' {
  const types: string[] = [];
  const collect = (d: unknown): void => {
    if (typeof d !== 'object' || d === null) return;
    const { type, decoders } = d as { type?: unknown; decoders?: unknown };
    if (typeof type === 'string') types.push(type);
    if (Array.isArray(decoders)) decoders.forEach(collect);
  };
  collect(decoder);
  if (types.includes('ByteLevel')) return 'byte_level';
  if (types.includes('ByteFallback')) return 'byte_fallback';
  return 'raw';
}

export class ModelTokenizer {
  private constructor(
    /** The folder the tokenizer was loaded from. */
    readonly dir: string,
    private readonly tokenizer: Tokenizer,
    private readonly chatTemplate: Template | null,
    /** bos_token, eos_token, … as strings, passed to the chat template. */
    private readonly specialTokens: Readonly<Record<string, string>>,
    readonly bosTokenId: number | null,
    readonly eosTokenIds: readonly number[],
    /** Ids the tokenizer knows (max id + 1); the model's vocab_size may be larger (padding rows). */
    readonly vocabSize: number,
    /** What `encode(…, { addSpecialTokens: true })` puts around the text (see specialTokensAround). */
    readonly added: AddedSpecialIds,
    /** From tokenizer.json's decoder: ByteLevel, a ByteFallback step, or neither. */
    private readonly vocabType: 'byte_level' | 'byte_fallback' | 'raw' = 'raw',
    /** Added tokens marked special: dropped when decoding with skipSpecialTokens, never grammar text. */
    private readonly specialIds: ReadonlySet<number> = new Set(),
  ) {}

  /** Loads tokenizer.json + tokenizer_config.json, and bos/eos ids from generation_config.json / config.json. */
  static async load(dir: string): Promise<ModelTokenizer> {
    const [tokenizerJson, tokenizerConfig, generationConfig, modelConfig] = await Promise.all([
      readJson(dir, 'tokenizer.json', true),
      readJson(dir, 'tokenizer_config.json', true),
      readJson(dir, 'generation_config.json', false),
      readJson(dir, 'config.json', false),
    ]);

    const specialTokens: Record<string, string> = {};
    for (const key of SPECIAL_TOKEN_KEYS) {
      const token = tokenString(tokenizerConfig[key]);
      if (token !== null) specialTokens[key] = token;
    }
    // The library expects plain strings for the special tokens, so hand it the normalized copy. It would also
    // default clean_up_tokenization_spaces to true, which rewrites decoded text ("a ." → "a."); transformers
    // now defaults it to false, so only an explicit true turns it on.
    const libraryConfig = {
      ...tokenizerConfig,
      ...specialTokens,
      clean_up_tokenization_spaces: tokenizerConfig['clean_up_tokenization_spaces'] === true,
    };
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tokenizerJson, libraryConfig);
    } catch (err) {
      throw new Error(`${join(dir, 'tokenizer.json')}: cannot build tokenizer (${(err as Error).message})`);
    }
    const idOf = (token: string | undefined): number | null =>
      token === undefined ? null : (tokenizer.token_to_id(token) ?? null);

    const bosTokenId =
      idList(generationConfig?.['bos_token_id'])?.[0] ??
      idList(modelConfig?.['bos_token_id'])?.[0] ??
      idOf(specialTokens['bos_token']);
    const eosFromTokenizer = idOf(specialTokens['eos_token']);
    const eosTokenIds =
      idList(generationConfig?.['eos_token_id']) ??
      idList(modelConfig?.['eos_token_id']) ??
      (eosFromTokenizer === null ? [] : [eosFromTokenizer]);

    const templateSource = await findChatTemplate(dir, tokenizerConfig);
    let chatTemplate: Template | null = null;
    if (templateSource !== null) {
      try {
        chatTemplate = new Template(templateSource);
      } catch (err) {
        throw new Error(
          `${join(dir, 'tokenizer_config.json')}: chat_template does not parse (${(err as Error).message})`,
        );
      }
    }
    const vocabSize = tokenizer.model?.vocab.length ?? tokenizer.get_vocab(true).size;
    const addedTokens = Array.isArray(tokenizerJson['added_tokens'])
      ? (tokenizerJson['added_tokens'] as { id?: unknown; special?: unknown }[])
      : [];
    const specialIds = new Set(
      addedTokens.filter((t) => t.special === true && typeof t.id === 'number').map((t) => t.id as number),
    );
    const added = specialTokensAround(
      tokenizerConfig,
      (key) => idOf(specialTokens[key]),
      join(dir, 'tokenizer_config.json'),
    );
    return new ModelTokenizer(
      dir,
      tokenizer,
      chatTemplate,
      specialTokens,
      bosTokenId,
      eosTokenIds,
      vocabSize,
      added,
      vocabTypeOf(tokenizerJson['decoder']),
      specialIds,
    );
  }

  /**
   * Token ids for `text`. Special-token strings inside the text (e.g. "<｜begin▁of▁sentence｜>") always map to
   * their ids; `addSpecialTokens` adds what transformers' AutoTokenizer adds: tokenizer.json's post-processor,
   * then BOS/EOS where tokenizer_config.json asks for them (`add_bos_token`), but never a BOS in front of a text
   * that already starts with one (nor an EOS after one that ends with one).
   */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    const addSpecial = opts.addSpecialTokens ?? false;
    const ids = this.tokenizer.encode(text, { add_special_tokens: addSpecial }).ids;
    if (!addSpecial) return ids;
    const { bos, eos } = this.added;
    if (bos !== null && ids[0] !== bos) ids.unshift(bos);
    if (eos !== null && ids.at(-1) !== eos) ids.push(eos);
    return ids;
  }

  /** Text for `ids`; ids with no token (e.g. the model's padding rows) are dropped, as the Rust library does. */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const known = ids.filter((id) => this.tokenizer.id_to_token(id) !== undefined);
    // The library throws on an empty list; an empty list is simply empty text.
    if (known.length === 0) return '';
    return this.tokenizer.decode(known, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | null {
    return this.tokenizer.token_to_id(token) ?? null;
  }

  idToToken(id: number): string | null {
    return this.tokenizer.id_to_token(id) ?? null;
  }

  /**
   * Renders the folder's chat_template over `messages`, with bos_token/eos_token/… as in tokenizer_config and
   * `tools` (OpenAI's function-tool objects) when given, as transformers' apply_chat_template does.
   */
  applyChatTemplate(
    messages: readonly ChatMessage[],
    opts: { addGenerationPrompt?: boolean; tools?: readonly object[] | null } = {},
  ): string {
    if (this.chatTemplate === null)
      throw new Error(`${this.dir} has no chat_template (tokenizer_config.json or chat_template.jinja)`);
    return this.chatTemplate.render({
      ...this.specialTokens,
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      ...(opts.tools && opts.tools.length > 0 ? { tools: opts.tools } : {}),
    });
  }

  /**
   * Token strings by id and how to read them as bytes, for the grammar engine. Special tokens (BOS, EOS, pad, …)
   * are given as empty strings, which xgrammar never allows as text: decoding skips them, so text a grammar
   * accepted would not be the text the client sees. EOS still ends a finished grammar, as its stop token.
   */
  grammarVocab(): { tokens: string[]; vocabType: 'byte_level' | 'byte_fallback' | 'raw' } {
    const tokens = Array.from({ length: this.vocabSize }, (_, id) =>
      this.specialIds.has(id) ? '' : (this.tokenizer.id_to_token(id) ?? ''),
    );
    return { tokens, vocabType: this.vocabType };
  }
}

/** Token ids `encode` adds in front of and after a text when asked for special tokens; null = none. */
export interface AddedSpecialIds {
  readonly bos: number | null;
  readonly eos: number | null;
}

/**
 * Llama-family fast tokenizers (DeepSeek-V2/V3 ship `LlamaTokenizerFast`) ignore tokenizer.json's post-processor:
 * transformers rebuilds it from `add_bos_token` (default true) and `add_eos_token` (default false). Other classes
 * add BOS/EOS only when tokenizer_config.json sets those flags explicitly.
 */
function specialTokensAround(
  config: JsonObject,
  idOf: (key: 'bos_token' | 'eos_token') => number | null,
  path: string,
): AddedSpecialIds {
  const llama = typeof config['tokenizer_class'] === 'string' && LLAMA_CLASSES.has(config['tokenizer_class']);
  const flag = (key: string, llamaDefault: boolean): boolean => {
    const value = config[key];
    return typeof value === 'boolean' ? value : llama && llamaDefault;
  };
  const pick = (key: 'bos_token' | 'eos_token', flagName: string, llamaDefault: boolean): number | null => {
    if (!flag(flagName, llamaDefault)) return null;
    const id = idOf(key);
    if (id === null) throw new Error(`${path}: ${flagName} is true but ${key} is missing or not in the vocabulary`);
    return id;
  };
  return { bos: pick('bos_token', 'add_bos_token', true), eos: pick('eos_token', 'add_eos_token', false) };
}

const LLAMA_CLASSES = new Set([
  'LlamaTokenizer',
  'LlamaTokenizerFast',
  'CodeLlamaTokenizer',
  'CodeLlamaTokenizerFast',
  'GemmaTokenizer',
  'GemmaTokenizerFast',
]);
