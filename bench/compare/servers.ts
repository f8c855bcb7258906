// The two servers as child processes: llama.cpp's llama-server (the anchor) and `latentserve serve`, each started
// on a free loopback port and ready once GET /health answers 200 (llama-server answers 503 while it loads).
// Their output is kept (the last 20 kB) for the error when one dies; nothing is printed while they run.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../loadtest/free-port.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cli.js');

export interface Served {
  readonly url: string;
  readonly proc: ChildProcess;
  readonly name: string;
}

/** Every server this process started and has not stopped: killed if the bench itself is interrupted. */
const live = new Set<ChildProcess>();

export function killAllServers(): void {
  for (const proc of live) proc.kill('SIGKILL');
}

async function startProcess(
  name: string,
  cmd: string,
  args: readonly string[],
  url: string,
  timeoutMs: number,
): Promise<Served> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  let output = '';
  const keep = (b: Buffer): void => {
    output = (output + b.toString()).slice(-20_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}):\n${output.slice(-3000)}`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) return { url, proc, name };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  proc.kill('SIGKILL');
  throw new Error(`${name} was not healthy after ${timeoutMs / 1000} s:\n${output.slice(-3000)}`);
}

export async function stopServer(s: Served): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  const killer = setTimeout(() => s.proc.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(killer);
}

/** llama-server with `slots` parallel slots (`-np`), each `ctxPerSlot` tokens of context (`-c` is their total). */
export async function startLlamaServer(
  bin: string,
  gguf: string,
  slots: number,
  ctxPerSlot: number,
  threads: number,
  extra: readonly string[] = [],
): Promise<Served> {
  const port = await freePort();
  const args = [
    '-m',
    gguf,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '-np',
    String(slots),
    '-c',
    String(slots * ctxPerSlot),
    '-cb',
    ...(threads > 0 ? ['-t', String(threads)] : []),
    ...extra,
  ];
  return startProcess(`llama-server -np ${slots}`, bin, args, `http://127.0.0.1:${port}`, 300_000);
}

/** `latentserve serve --max-num-seqs 32` with the format's flag (int8: `--quant int8`). */
export async function startLatentServe(
  modelDir: string,
  quant: 'int8' | 'float32',
  extra: readonly string[] = [],
): Promise<Served> {
  const port = await freePort();
  const args = [
    CLI,
    'serve',
    '--model',
    modelDir,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--max-num-seqs',
    '32',
    '--log-level',
    'warn',
    ...(quant === 'int8' ? ['--quant', 'int8'] : []),
    ...extra,
  ];
  return startProcess(`latentserve serve (${quant})`, process.execPath, args, `http://127.0.0.1:${port}`, 600_000);
}
