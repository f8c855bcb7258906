// Batch-1 decode on llama.cpp's side: `llama-bench -p 0 -n N` (text generation only, tg N), its JSON output.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** llama-bench's JSON: one object per test; avg_ts is tokens/s over its repetitions. */
export function parseLlamaBenchJson(stdout: string): number {
  const tests = JSON.parse(stdout) as { n_gen?: number; n_prompt?: number; avg_ts?: number }[];
  const tg = tests.find((t) => (t.n_gen ?? 0) > 0 && (t.n_prompt ?? 0) === 0);
  if (tg === undefined || typeof tg.avg_ts !== 'number')
    throw new Error(`llama-bench printed no tg test: ${stdout.slice(0, 300)}`);
  return tg.avg_ts;
}

/** Tokens/s of decoding `tokens` tokens at batch 1 (one repetition after llama-bench's own warm-up run). */
export async function llamaBenchDecode(
  bin: string,
  gguf: string,
  tokens: number,
  threads: number,
  extra: readonly string[] = [],
): Promise<number> {
  const args = [
    '-m',
    gguf,
    '-p',
    '0',
    '-n',
    String(tokens),
    '-r',
    '1',
    '-o',
    'json',
    ...(threads > 0 ? ['-t', String(threads)] : []),
    ...extra,
  ];
  const { stdout } = await run(bin, args, { maxBuffer: 16 * 2 ** 20 });
  return parseLlamaBenchJson(stdout);
}
