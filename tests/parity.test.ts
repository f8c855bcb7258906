// Parity with DeepSeek's reference logits (deepseek-ai/DeepSeek-V3 inference/model.py, absorb mode) on the tiny
// fixtures: every greedy token, and the log-softmax of the reference's top-5 ids at every row within 1e-3,
// for one-shot prefill, prefill-then-decode, and chunked prefill over small cache blocks.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { GenerateResult } from '../engine/offline-generate.js';
import { generateOffline } from '../engine/offline-generate.js';
import type { LogprobEntry } from '../sampling/index.js';
import { logSoftmax } from '../sampling/index.js';
import type { LoadedModel } from '../model/load.js';
import { loadModel } from '../model/load.js';
import { FIXTURES, fixtureDir, loadReference, referenceRows, tempCacheDir } from './helpers/fixtures.js';

const TOLERANCE = 1e-3;

function assertRowMatches(entry: LogprobEntry | null | undefined, reference: Float32Array, where: string): void {
  assert.ok(entry, `${where}: missing logprob entry`);
  const ref = logSoftmax(reference, new Float32Array(reference.length));
  const refTop = Array.from(ref.keys())
    .sort((a, b) => ref[b]! - ref[a]!)
    .slice(0, 5);
  const ours = new Map(entry.top.map((t) => [t.id, t.logprob]));
  for (const id of refTop) {
    const got = ours.get(id);
    assert.ok(
      got !== undefined,
      `${where}: reference top-5 id ${id} not in our top-5 [${[...ours.keys()].join(', ')}]`,
    );
    assert.ok(Math.abs(got - ref[id]!) <= TOLERANCE, `${where}: id ${id} logprob ${got} vs reference ${ref[id]}`);
  }
  assert.ok(Math.abs(entry.logprob - ref[entry.id]!) <= TOLERANCE, `${where}: chosen id ${entry.id} logprob`);
}

const greedy = { temperature: 0, topP: 1, seed: 0, logprobs: 5, echo: true, ignoreEos: true, eosTokenIds: [1] };

const modes = [
  { name: 'one-shot prefill', blockSize: 64, maxBatchTokens: 4096, oneShot: true },
  { name: 'prefill then decode', blockSize: 64, maxBatchTokens: 4096, oneShot: false },
  { name: 'chunked prefill then decode over 4-token blocks', blockSize: 4, maxBatchTokens: 5, oneShot: false },
] as const;

for (const fixture of FIXTURES) {
  const reference = loadReference(fixture);
  for (const mode of modes) {
    describe(`${fixture}: ${mode.name}`, () => {
      let model: LoadedModel;
      const cacheDir = tempCacheDir();
      before(async () => {
        model = await loadModel(fixtureDir(fixture), { cacheDir, blockSize: mode.blockSize, numBlocks: 64 });
      });
      after(async () => {
        await model.executor.close();
        rmSync(cacheDir, { recursive: true, force: true });
      });

      for (const prompt of reference.prompts) {
        it(prompt.name, async () => {
          const rows = referenceRows(prompt, reference.vocab_size);
          const fed = mode.oneShot ? prompt.fed_ids : prompt.prompt_ids;
          const result: GenerateResult = await generateOffline(model.executor, model.tokenizer, fed, {
            ...greedy,
            maxTokens: mode.oneShot ? 1 : prompt.continuation_ids.length,
            maxBatchTokens: mode.maxBatchTokens,
          });
          // Every row is either a prompt logprob (row j-1 scores fed token j) or a generated token's.
          assert.equal(result.promptLogprobs.length, fed.length);
          assert.equal(result.promptLogprobs[0], null);
          for (let j = 1; j < fed.length; j++)
            assertRowMatches(result.promptLogprobs[j], rows[j - 1]!, `row ${j - 1} (prompt)`);
          result.logprobs.forEach((e, k) =>
            assertRowMatches(e, rows[fed.length - 1 + k]!, `row ${fed.length - 1 + k} (generated ${k})`),
          );
          assert.equal(fed.length - 1 + result.logprobs.length, prompt.n_rows);
          const expected = mode.oneShot ? prompt.continuation_ids.slice(-1) : prompt.continuation_ids;
          assert.deepEqual(result.tokens, expected);
        });
      }
    });
  }
}
