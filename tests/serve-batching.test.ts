// Continuous batching through the HTTP API on a real fixture model: batch invariance, preemption on a tiny
// cache, client disconnects freeing blocks, and the prefix cache skipping a repeated prompt's prefill.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadReference } from './helpers/fixtures.js';
import type { ModelServer } from './helpers/server.js';
import { MODEL_NAME, startModelServer } from './helpers/server.js';

const prompts = loadReference('deepseek-v3-tiny-b').prompts;
const tokenId = (s: string): number => Number(s.replace(/^token_id:/, ''));

async function greedyTokens(s: ModelServer, prompt: number[], maxTokens = 16): Promise<number[]> {
  const res = await s.client.completions.create({
    model: MODEL_NAME,
    prompt,
    max_tokens: maxTokens,
    temperature: 0,
    logprobs: 0,
    ...{ ignore_eos: true, return_tokens_as_token_ids: true },
  });
  return res.choices[0]!.logprobs!.tokens!.map(tokenId);
}

async function untilMetric(s: ModelServer, name: string, value: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await s.metric(name)) === value) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(await s.metric(name), value, `${name} never reached ${value}`);
}

async function withServer(
  opts: Parameters<typeof startModelServer>[1],
  body: (s: ModelServer) => Promise<void>,
): Promise<void> {
  const s = await startModelServer('deepseek-v3-tiny-b', opts);
  try {
    await body(s);
  } finally {
    await s.close();
  }
}

describe('batching through the API', () => {
  it('16 concurrent greedy requests give exactly the tokens each gives alone', () =>
    withServer({ maxNumBatchedTokens: 48 }, async (s) => {
      const alone: number[][] = [];
      for (const p of prompts) alone.push(await greedyTokens(s, p.prompt_ids));
      prompts.forEach((p, i) => assert.deepEqual(alone[i], p.continuation_ids));
      const before = s.executor.steps.length;
      const together = await Promise.all(
        Array.from({ length: 16 }, (_, i) => greedyTokens(s, prompts[i % 3]!.prompt_ids)),
      );
      together.forEach((tokens, i) => assert.deepEqual(tokens, alone[i % 3], `request ${i}`));
      const steps = s.executor.steps.slice(before);
      assert.ok(Math.max(...steps.map((st) => st.seqs.length)) >= 8, 'requests shared model steps');
      await untilMetric(s, 'latentserve_cache_blocks_used', 0);
    }));

  it('a tiny cache preempts by recompute and still gets every token right', () =>
    withServer({ numBlocks: 6, blockSize: 16, maxNumBatchedTokens: 64 }, async (s) => {
      // chat40 needs 40 + 16 tokens = 4 blocks; four of them cannot all hold their blocks in 6.
      const chat40 = prompts.find((p) => p.name === 'chat40')!;
      const outs = await Promise.all(Array.from({ length: 4 }, () => greedyTokens(s, chat40.prompt_ids)));
      for (const tokens of outs) assert.deepEqual(tokens, chat40.continuation_ids);
      assert.ok((await s.metric('latentserve_num_preemptions_total'))! > 0, 'some request was preempted');
      await untilMetric(s, 'latentserve_cache_blocks_used', 0);
    }));

  it('a client that disconnects mid-stream frees its blocks', () =>
    withServer({}, async (s) => {
      const controller = new AbortController();
      const stream = await s.client.completions.create(
        {
          model: MODEL_NAME,
          prompt: prompts[1]!.prompt_ids,
          max_tokens: 400,
          temperature: 0,
          stream: true,
          ...{ ignore_eos: true },
        },
        { signal: controller.signal },
      );
      let chunks = 0;
      try {
        for await (const _ of stream) {
          if (++chunks === 3) {
            assert.ok((await s.metric('latentserve_cache_blocks_used'))! > 0);
            controller.abort();
          }
        }
      } catch (err) {
        assert.equal((err as Error).name, 'APIUserAbortError'); // how openai-node reports a cancelled stream
      }
      assert.ok(chunks >= 3 && chunks < 50, `stopped reading after ${chunks} chunks`);
      await untilMetric(s, 'latentserve_cache_blocks_used', 0);
      await untilMetric(s, 'latentserve_num_requests_running', 0);
      const stepsAfter = s.executor.steps.length;
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(s.executor.steps.length, stepsAfter, 'no more steps run for the gone client');
    }));

  it('a repeated long prompt hits the prefix cache and skips its prefill', () =>
    withServer({ blockSize: 16 }, async (s) => {
      const long = Array.from({ length: 200 }, (_, i) => 3 + ((i * 37) % 900));
      const first = await s.client.completions.create({
        model: MODEL_NAME,
        prompt: long,
        max_tokens: 4,
        temperature: 0,
      });
      const before = s.executor.steps.length;
      const second = await s.client.completions.create({
        model: MODEL_NAME,
        prompt: long,
        max_tokens: 4,
        temperature: 0,
      });
      assert.equal(second.choices[0]!.text, first.choices[0]!.text);
      const details = (u: typeof second.usage) =>
        (u as { prompt_tokens_details?: { cached_tokens?: number } }).prompt_tokens_details?.cached_tokens;
      assert.equal(details(first.usage), 0);
      // 12 full blocks of 16, then 7 rows copied from the first request's 13th block (200 prompt tokens and 3
      // computed output tokens); the last prompt token is always computed.
      assert.equal(details(second.usage), 199);
      const prefill = s.executor.steps[before]!;
      assert.equal(prefill.tokenIds.length, 1, 'only the last prompt token was computed');
      assert.equal(await s.metric('latentserve_prefix_cache_hits_total'), 199);
      assert.equal(await s.metric('latentserve_prefix_cache_queries_total'), 400);
    }));
});
