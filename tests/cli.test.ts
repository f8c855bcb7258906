// The `latentserve` binary end to end: `complete --json` output shape and usage errors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { CompleteJson } from '../cli/complete.js';
import { REPO_ROOT, fixtureDir, loadReference, tempCacheDir } from './helpers/fixtures.js';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'latentserve.js');

describe('latentserve complete', () => {
  const cacheDir = tempCacheDir();
  const env = { ...process.env, LATENTSERVE_CACHE_DIR: cacheDir };
  after(() => rmSync(cacheDir, { recursive: true, force: true }));

  it('--json prints tokens, text, finish_reason, logprobs and prompt_logprobs', async () => {
    const prompt = loadReference('deepseek-v2-tiny').prompts.find((p) => p.name === 'short7')!;
    const { stdout } = await run(process.execPath, [BIN, 'complete', '--model', fixtureDir('deepseek-v2-tiny'),
      '--prompt-ids', prompt.prompt_ids.join(','), '--max-tokens', '4', '--logprobs', '3', '--echo', '--ignore-eos', '--json'], { env });
    const out = JSON.parse(stdout) as CompleteJson;
    assert.deepEqual(out.tokens, prompt.continuation_ids.slice(0, 4));
    assert.equal(out.finish_reason, 'length');
    assert.equal(out.logprobs.length, 4);
    for (const e of out.logprobs) {
      assert.equal(e.top.length, 3);
      assert.equal(e.top[0]!.id, e.id); // greedy picks the most likely token
      assert.ok(e.top[0]!.logprob >= e.top[1]!.logprob && e.top[1]!.logprob >= e.top[2]!.logprob);
    }
    assert.equal(out.prompt_logprobs.length, prompt.prompt_ids.length);
    assert.equal(out.prompt_logprobs[0], null);
    assert.deepEqual(out.prompt_logprobs.slice(1).map((e) => e!.id), prompt.prompt_ids.slice(1));
    assert.ok(out.text.startsWith('<｜begin▁of▁sentence｜>The license is free software.'), out.text); // echo includes the prompt
  });

  it('--prompt text is tokenized and generation stops at EOS unless --ignore-eos', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'complete', '--model', fixtureDir('deepseek-v3-tiny-b'),
      '--prompt', 'The license is free software.', '--max-tokens', '3', '--temperature', '0.8', '--seed', '7', '--json'], { env });
    const out = JSON.parse(stdout) as CompleteJson;
    assert.ok(out.tokens.length >= 1 && out.tokens.length <= 3);
    assert.equal(out.finish_reason === 'stop', out.tokens.at(-1) === 1);
    const again = JSON.parse((await run(process.execPath, [BIN, 'complete', '--model', fixtureDir('deepseek-v3-tiny-b'),
      '--prompt', 'The license is free software.', '--max-tokens', '3', '--temperature', '0.8', '--seed', '7', '--json'], { env })).stdout) as CompleteJson;
    assert.deepEqual(again.tokens, out.tokens, 'same seed, same tokens');
  });

  it('bad input exits 2 with a clear message', async () => {
    await assert.rejects(run(process.execPath, [BIN, 'complete', '--model', fixtureDir('deepseek-v2-tiny'), '--prompt-ids', '0,99999'], { env }),
      (err: { code: number; stderr: string }) => err.code === 2 && err.stderr.includes('99999 is not a token id'));
    await assert.rejects(run(process.execPath, [BIN, 'complete', '--prompt', 'x'], { env }),
      (err: { code: number; stderr: string }) => err.code === 2 && err.stderr.includes('--model DIR is required'));
    await assert.rejects(run(process.execPath, [BIN, 'complete', '--model', '/nonexistent', '--prompt', 'x'], { env }),
      (err: { code: number; stderr: string }) => err.code === 1 && err.stderr.includes('config.json'));
    await assert.rejects(run(process.execPath, [BIN, 'serve', '--model', fixtureDir('deepseek-v2-tiny'), '--executor-memory', 'arenaExtend=1'], { env }),
      (err: { code: number; stderr: string }) => err.code === 2 && err.stderr.includes('--executor-memory: bad executor memory option "arenaExtend=1"'));
  });
});
