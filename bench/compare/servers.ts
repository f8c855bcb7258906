// The two servers as child processes: llama.cpp's llama-server (the anchor) and `latentserve serve`, each started
// on a free loopback port and ready once GET /health answers 200 (llama-server answers 503 while it loads).
// Their output is kept (the last 20 kB) for the error when one dies; nothing is printed while they run.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChildServer, stopChildServer, type ChildServer } from '../../loadtest/child-server.js';
import { freePort } from '../../loadtest/free-port.js';
import { type Quant, weightQuantOf } from './args.js';

export { killAllChildServers as killAllServers } from '../../loadtest/child-server.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cli.js');

export type Served = ChildServer;

export async function stopServer(s: Served): Promise<void> {
  await stopChildServer(s.proc);
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
  const url = `http://127.0.0.1:${port}`;
  return startChildServer({ name: `llama-server -np ${slots}`, command: bin, args, url, timeoutMs: 300_000 });
}

/** `latentserve serve --max-num-seqs 32 --quant MODE` in the format's mode (float32: none). */
export async function startLatentServe(modelDir: string, quant: Quant, extra: readonly string[] = []): Promise<Served> {
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
    '--quant',
    weightQuantOf(quant),
    ...extra,
  ];
  const url = `http://127.0.0.1:${port}`;
  return startChildServer({ name: `latentserve serve (${quant})`, args, url, timeoutMs: 600_000 });
}
