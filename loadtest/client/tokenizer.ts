// Token counting through the server's own `/tokenize`, so prompt lengths are what the server will prefill and
// re-tokenized output counts are in the server's tokens. Two dialects exist and `probe` finds which one a server
// speaks:
//
//   prompt   vLLM, SGLang, latentserve: {"prompt": text, "add_special_tokens"} or {"messages"} → {"count", "tokens"}
//   content  llama.cpp's llama-server: {"content": text, "add_special"} → {"tokens"}; chat prompts are rendered by
//            its POST /apply-template ({"messages"} → {"prompt"}) first
//
// llama-server answers a `prompt` body with 200 `{"tokens": []}`, so an empty answer for non-empty text means "not
// this dialect", never "0 tokens". A server that gives no tokens in either dialect has no tokenizer: `probe` returns
// null and the caller falls back to estimates (and to `usage`, which most servers stream).
import { headers, type Target } from './target.js';

export type TokenizeDialect = 'prompt' | 'content';

interface TokenizeResponse {
  count?: unknown;
  tokens?: unknown;
}

const PROBE_TEXT = 'hello world';

export class ServerTokenizer {
  private constructor(
    private readonly target: Target,
    readonly dialect: TokenizeDialect,
  ) {}

  /** A tokenizer in the first dialect whose /tokenize counts tokens in non-empty text, else null. */
  static async probe(target: Target): Promise<ServerTokenizer | null> {
    for (const dialect of ['prompt', 'content'] as const) {
      const tokenizer = new ServerTokenizer(target, dialect);
      try {
        if ((await tokenizer.textTokens(PROBE_TEXT)) > 0) return tokenizer;
      } catch {
        /* not this dialect (or no /tokenize at all) */
      }
    }
    return null;
  }

  /** Tokens the server prefills for `prompt` sent to the target's endpoint (the chat template included for chat). */
  async promptTokens(prompt: string): Promise<number> {
    const messages = [{ role: 'user', content: prompt }];
    if (this.dialect === 'prompt') {
      return this.target.endpoint === 'chat'
        ? this.count({ messages, add_generation_prompt: true }, prompt)
        : this.count({ prompt }, prompt);
    }
    // llama-server tokenizes what it prefills (a completion prompt, or a chat request rendered by its template) with
    // special tokens added (BOS where the vocabulary asks for one) and special-token strings parsed.
    const text = this.target.endpoint === 'chat' ? await this.applyTemplate(messages) : prompt;
    return this.count({ content: text, add_special: true, parse_special: true }, text);
  }

  /** Tokens in generated text (no special tokens added). */
  async textTokens(text: string): Promise<number> {
    return this.dialect === 'prompt'
      ? this.count({ prompt: text, add_special_tokens: false }, text)
      : this.count({ content: text, add_special: false }, text);
  }

  private async applyTemplate(messages: readonly { role: string; content: string }[]): Promise<string> {
    const parsed = (await this.post('/apply-template', { messages })) as { prompt?: unknown };
    if (typeof parsed.prompt !== 'string') throw new Error('POST /apply-template: no prompt in the response');
    return parsed.prompt;
  }

  /** The server's count for `text`; an empty answer for non-empty text is an error (no tokenizer in this dialect). */
  private async count(body: Record<string, unknown>, text: string): Promise<number> {
    const parsed = (await this.post('/tokenize', body)) as TokenizeResponse;
    const count =
      typeof parsed.count === 'number' ? parsed.count : Array.isArray(parsed.tokens) ? parsed.tokens.length : null;
    if (count === null) throw new Error('POST /tokenize: no count in the response');
    if (count === 0 && text.length > 0)
      throw new Error(`POST /tokenize (${this.dialect} dialect): no tokens for non-empty text`);
    return count;
  }

  private async post(path: string, body: Record<string, unknown>): Promise<unknown> {
    const res = await fetch(`${this.target.baseUrl}${path}`, {
      method: 'POST',
      headers: headers(this.target),
      body: JSON.stringify({ model: this.target.model, ...body }),
    });
    if (!res.ok) throw new Error(`POST ${path}: HTTP ${res.status}`);
    return res.json();
  }
}

/** The first model listed by GET /v1/models, for targets given without --model. */
export async function discoverModel(target: Omit<Target, 'model'>): Promise<string> {
  const res = await fetch(`${target.baseUrl}/v1/models`, { headers: headers(target, false) });
  if (!res.ok) throw new Error(`GET /v1/models: HTTP ${res.status}; pass --model`);
  const body = (await res.json()) as { data?: { id?: string }[] };
  const id = body.data?.[0]?.id;
  if (typeof id !== 'string') throw new Error('GET /v1/models lists no model; pass --model');
  return id;
}
