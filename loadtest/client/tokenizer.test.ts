// The load tester's /tokenize dialects against scripted servers: vLLM's (`prompt`), llama.cpp's llama-server
// (`content`; answers `{"tokens": []}` to a `prompt` body) and none; then a whole `bench serve` run against the
// llama.cpp-style server, whose prompts must be --input-len tokens as that server counts them.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { randomDataset } from '../dataset.js';
import { runServeBench, type ServeBenchConfig } from '../serve-bench.js';
import {
  startScriptedServer,
  textChunk,
  usageChunk,
  writeSse,
  type ScriptedRequest,
  type ScriptedServer,
} from './scripted-server.test-helper.js';
import { ServerTokenizer } from './tokenizer.js';
import type { Target } from './target.js';

const BOS = 1;
const TEMPLATE = (content: string): string => `<|user|>${content}<|assistant|>`;
/** The scripted servers' tokenizer: one token per whitespace-separated word, and per template marker. */
const words = (text: string): number[] =>
  text
    .replace(/<\|(user|assistant)\|>/g, ' $& ')
    .split(/\s+/)
    .filter((w) => w !== '')
    .map((_, i) => 100 + i);

function json(res: ServerResponse, status: number, body: unknown): Promise<void> {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  return Promise.resolve();
}

/** llama-server's /tokenize and /apply-template (and enough of the rest for a bench run). */
async function llamaCpp(req: ScriptedRequest, res: ServerResponse): Promise<void> {
  const body = req.body;
  if (req.path === '/tokenize') {
    // Unknown fields (`prompt`) are ignored: no `content` means empty content, hence no tokens.
    const content = typeof body['content'] === 'string' ? body['content'] : '';
    return json(res, 200, { tokens: [...(body['add_special'] === true ? [BOS] : []), ...words(content)] });
  }
  if (req.path === '/apply-template') {
    const messages = body['messages'] as { content: string }[];
    return json(res, 200, { prompt: TEMPLATE(messages[0]!.content) });
  }
  if (req.path === '/v1/models') return json(res, 200, { object: 'list', data: [{ id: 'llama', object: 'model' }] });
  if (req.path === '/v1/completions') {
    const promptTokens = 1 + words(String(body['prompt'])).length;
    return writeSse(res, [
      [0, textChunk(' a')],
      [1, textChunk(' b')],
      [1, textChunk(' c')],
      [1, textChunk(' d')],
      [0, usageChunk(promptTokens, 4)],
      [0, '[DONE]'],
    ]);
  }
  return json(res, 404, { error: { message: 'not found', type: 'not_found_error', code: 404 } });
}

/** vLLM's /tokenize: `prompt` or `messages`, answering count and tokens. */
async function vllm(req: ScriptedRequest, res: ServerResponse): Promise<void> {
  const body = req.body;
  if (req.path !== '/tokenize') return json(res, 404, { detail: 'Not Found' });
  const text =
    typeof body['prompt'] === 'string'
      ? body['prompt']
      : TEMPLATE((body['messages'] as { content: string }[])[0]!.content);
  const tokens = [...(body['add_special_tokens'] === false ? [] : [BOS]), ...words(text)];
  return json(res, 200, { count: tokens.length, tokens, max_model_len: 4096 });
}

async function withServer(
  handler: (req: ScriptedRequest, res: ServerResponse) => Promise<void>,
  run: (s: ScriptedServer) => Promise<void>,
): Promise<void> {
  const s = await startScriptedServer(handler);
  try {
    await run(s);
  } finally {
    await s.close();
  }
}

const target = (url: string, endpoint: Target['endpoint'] = 'completions'): Target => ({
  baseUrl: url,
  model: 'm',
  endpoint,
  apiKey: null,
});

describe('ServerTokenizer dialects', () => {
  it('llama.cpp: `prompt` gets {"tokens": []}, so the `content` dialect is chosen and counts as llama-server prefills', async () => {
    await withServer(llamaCpp, async (s) => {
      const tokenizer = await ServerTokenizer.probe(target(s.url));
      assert.ok(tokenizer);
      assert.equal(tokenizer.dialect, 'content');
      assert.equal(await tokenizer.promptTokens('one two three'), 4, 'BOS + 3 words');
      assert.equal(await tokenizer.textTokens('one two three'), 3);
      const chat = await ServerTokenizer.probe(target(s.url, 'chat'));
      assert.equal(await chat!.promptTokens('one two three'), 1 + 2 + 3, 'BOS + template markers + words');
      assert.ok(
        s.requests.some((r) => r.path === '/tokenize' && 'prompt' in r.body),
        'the vLLM dialect was tried first',
      );
    });
  });

  it('vLLM / latentserve: the `prompt` dialect', async () => {
    await withServer(vllm, async (s) => {
      const tokenizer = await ServerTokenizer.probe(target(s.url));
      assert.equal(tokenizer!.dialect, 'prompt');
      assert.equal(await tokenizer!.promptTokens('one two three'), 4);
      assert.equal(await tokenizer!.textTokens('one two three'), 3);
      const chat = await ServerTokenizer.probe(target(s.url, 'chat'));
      assert.equal(await chat!.promptTokens('one two three'), 6);
    });
  });

  it('no tokenizer: a 404, or empty answers for non-empty text in both dialects', async () => {
    await withServer(
      (_req, res) => json(res, 404, {}),
      async (s) => {
        assert.equal(await ServerTokenizer.probe(target(s.url)), null);
      },
    );
    await withServer(
      (_req, res) => json(res, 200, { tokens: [] }),
      async (s) => {
        assert.equal(await ServerTokenizer.probe(target(s.url)), null);
      },
    );
  });

  it('random prompts are cut to --input-len tokens as llama-server counts them', async () => {
    await withServer(llamaCpp, async (s) => {
      const tokenizer = (await ServerTokenizer.probe(target(s.url)))!;
      const prompts = await randomDataset({
        numPrompts: 3,
        inputLen: 64,
        outputLen: 4,
        seed: 0,
        counter: (t) => tokenizer.promptTokens(t),
      });
      for (const p of prompts) {
        assert.equal(p.promptLen, 64);
        assert.equal(1 + words(p.prompt).length, 64);
      }
    });
  });
});

describe('bench serve against a llama.cpp-style server', () => {
  it('sends --input-len-token prompts (not the ~6× longer ones a 0 count gave)', async () => {
    await withServer(llamaCpp, async (s) => {
      const config: ServeBenchConfig = {
        baseUrl: s.url,
        model: null,
        endpoint: 'completions',
        apiKey: null,
        label: null,
        levels: [{ maxConcurrency: 2, numPrompts: 4 }],
        requestRate: Infinity,
        burstiness: 1,
        inputLen: 64,
        outputLen: 4,
        dataset: 'random',
        seed: 0,
        goodput: null,
        percentiles: [99],
        maxDurationS: 30,
        allowRemote: false,
      };
      const out = await runServeBench(config, { log: () => {}, progress: { write: () => true } });
      assert.ok(!out.notes.some((n) => n.includes('no /tokenize')), out.notes.join('\n'));
      const sent = s.requests.filter(
        (r) => r.path === '/v1/completions' && r.body['max_tokens'] === 4 && String(r.body['prompt']) !== 'Hello',
      );
      assert.equal(sent.length, 4);
      for (const r of sent) assert.equal(1 + words(String(r.body['prompt'])).length, 64);
      assert.equal(out.runs[0]!.result.total_input_tokens, 4 * 64);
    });
  });
});
