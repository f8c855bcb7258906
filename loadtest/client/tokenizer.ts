// Token counting through the server's own `/tokenize` (vLLM's extension endpoint), so prompt lengths are what the
// server will prefill and re-tokenized output counts are in the server's tokens. Servers without it get null from
// `probe` and the caller falls back to estimates (and to `usage`, which most servers stream).
import { headers, type Target } from './target.js';

interface TokenizeResponse {
  count?: number;
  tokens?: number[];
}

export class ServerTokenizer {
  private constructor(private readonly target: Target) {}

  /** A tokenizer when POST /tokenize answers with a count, else null. */
  static async probe(target: Target): Promise<ServerTokenizer | null> {
    const tokenizer = new ServerTokenizer(target);
    try {
      await tokenizer.call({ prompt: 'hello' });
      return tokenizer;
    } catch {
      return null;
    }
  }

  /** Tokens the server prefills for `prompt` sent to the target's endpoint (the chat template included for chat). */
  async promptTokens(prompt: string): Promise<number> {
    if (this.target.endpoint === 'chat') {
      return this.call({ messages: [{ role: 'user', content: prompt }], add_generation_prompt: true });
    }
    return this.call({ prompt });
  }

  /** Tokens in generated text (no special tokens added). */
  async textTokens(text: string): Promise<number> {
    return this.call({ prompt: text, add_special_tokens: false });
  }

  private async call(body: Record<string, unknown>): Promise<number> {
    const res = await fetch(`${this.target.baseUrl}/tokenize`, {
      method: 'POST',
      headers: headers(this.target),
      body: JSON.stringify({ model: this.target.model, ...body }),
    });
    if (!res.ok) throw new Error(`POST /tokenize: HTTP ${res.status}`);
    const parsed = (await res.json()) as TokenizeResponse;
    const count = parsed.count ?? parsed.tokens?.length;
    if (typeof count !== 'number') throw new Error('POST /tokenize: no count in the response');
    return count;
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
