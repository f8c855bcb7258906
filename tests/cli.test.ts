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
    const { stdout } = await run(
      process.execPath,
      [
        BIN,
        'complete',
        '--model',
        fixtureDir('deepseek-v2-tiny'),
        '--prompt-ids',
        prompt.prompt_ids.join(','),
        '--max-tokens',
        '4',
        '--logprobs',
        '3',
        '--echo',
        '--ignore-eos',
        '--json',
      ],
      { env },
    );
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
    assert.deepEqual(
      out.prompt_logprobs.slice(1).map((e) => e!.id),
      prompt.prompt_ids.slice(1),
    );
    assert.ok(out.text.startsWith('<｜begin▁of▁sentence｜>The license is free software.'), out.text); // echo includes the prompt
  });

  it('--prompt text is tokenized and generation stops at EOS unless --ignore-eos', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        BIN,
        'complete',
        '--model',
        fixtureDir('deepseek-v3-tiny-b'),
        '--prompt',
        'The license is free software.',
        '--max-tokens',
        '3',
        '--temperature',
        '0.8',
        '--seed',
        '7',
        '--json',
      ],
      { env },
    );
    const out = JSON.parse(stdout) as CompleteJson;
    assert.ok(out.tokens.length >= 1 && out.tokens.length <= 3);
    assert.equal(out.finish_reason === 'stop', out.tokens.at(-1) === 1);
    const again = JSON.parse(
      (
        await run(
          process.execPath,
          [
            BIN,
            'complete',
            '--model',
            fixtureDir('deepseek-v3-tiny-b'),
            '--prompt',
            'The license is free software.',
            '--max-tokens',
            '3',
            '--temperature',
            '0.8',
            '--seed',
            '7',
            '--json',
          ],
          { env },
        )
      ).stdout,
    ) as CompleteJson;
    assert.deepEqual(again.tokens, out.tokens, 'same seed, same tokens');
  });

  it('--quant auto plans memory, picks the most precise mode that fits and says so; convert refuses it', async () => {
    const { stderr } = await run(
      process.execPath,
      [
        BIN,
        'complete',
        '--model',
        fixtureDir('deepseek-v3-tiny-b'),
        '--prompt-ids',
        '0,865',
        '--max-tokens',
        '1',
        '--quant',
        'auto',
        '--json',
      ],
      { env },
    );
    assert.match(stderr, /--quant auto chose --quant none: [\d.]+ GiB of memory/);
    await assert.rejects(
      run(
        process.execPath,
        [BIN, 'convert', '--model', fixtureDir('deepseek-v3-tiny-b'), '--out', join(cacheDir, 'x'), '--quant', 'auto'],
        { env },
      ),
      (err: { code: number; stderr: string }) =>
        err.code === 2 && err.stderr.includes('--quant auto chooses a mode when loading'),
    );
  });

  it('bad input exits 2 with a clear message', async () => {
    await assert.rejects(
      run(process.execPath, [BIN, 'complete', '--model', fixtureDir('deepseek-v2-tiny'), '--prompt-ids', '0,99999'], {
        env,
      }),
      (err: { code: number; stderr: string }) => err.code === 2 && err.stderr.includes('99999 is not a token id'),
    );
    await assert.rejects(
      run(process.execPath, [BIN, 'complete', '--prompt', 'x'], { env }),
      (err: { code: number; stderr: string }) => err.code === 2 && err.stderr.includes('--model DIR is required'),
    );
    await assert.rejects(
      run(process.execPath, [BIN, 'complete', '--model', '/nonexistent', '--prompt', 'x'], { env }),
      (err: { code: number; stderr: string }) => err.code === 1 && err.stderr.includes('config.json'),
    );
    await assert.rejects(
      run(
        process.execPath,
        [BIN, 'serve', '--model', fixtureDir('deepseek-v2-tiny'), '--executor-memory', 'arenaExtend=1'],
        { env },
      ),
      (err: { code: number; stderr: string }) =>
        err.code === 2 && err.stderr.includes('--executor-memory: bad executor memory option "arenaExtend=1"'),
    );
    await assert.rejects(
      run(
        process.execPath,
        [BIN, 'serve', '--model', fixtureDir('deepseek-v2-tiny'), '--session-options', '{"intraOpThreads": 2}'],
        { env },
      ),
      (err: { code: number; stderr: string }) =>
        err.code === 2 && err.stderr.includes('--session-options: unknown session option "intraOpThreads"'),
    );
  });
});

describe('latentserve <command> --help and serve on a taken port', () => {
  it('every command prints its own usage on --help and exits 0', async () => {
    for (const command of ['serve', 'complete', 'convert', 'eval', 'synth', 'bench']) {
      const { stdout, stderr } = await run(process.execPath, [BIN, command, '--help']);
      assert.ok(stdout.startsWith('usage:\n'), `${command}: ${stdout}`);
      assert.ok(stdout.includes(`latentserve ${command}`), `${command} usage names the command`);
      assert.equal(stderr, '');
    }
    const { stdout } = await run(process.execPath, [BIN, 'serve', '-h']);
    assert.ok(stdout.includes('--allowed-origins'));
  });

  it('a malformed --allowed-origins is a usage error (exit 2) before anything loads', async () => {
    await assert.rejects(
      run(process.execPath, [
        BIN,
        'serve',
        '--model',
        fixtureDir('deepseek-v3-tiny-b'),
        '--port',
        '0',
        '--allowed-origins',
        '["http://a"',
      ]),
      (err: { code: number; stderr: string }) =>
        err.code === 2 && err.stderr.includes('--allowed-origins: not a JSON list'),
    );
  });

  it('serve on a port in use prints one clear line and exits 1', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const started = Date.now();
      await assert.rejects(
        run(
          process.execPath,
          [BIN, 'serve', '--model', fixtureDir('deepseek-v3-tiny-b'), '--host', '127.0.0.1', '--port', String(port)],
          { timeout: 20_000 },
        ),
        (err: { code: number; stderr: string; killed: boolean }) => {
          assert.equal(err.killed, false, 'exited on its own');
          assert.equal(err.code, 1);
          assert.equal(err.stderr, `latentserve serve: port ${port} is in use; pass --port\n`);
          return true;
        },
      );
      assert.ok(Date.now() - started < 20_000);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
