// A server run as a child process by the benches (`latentserve serve`, or llama.cpp's llama-server): started with
// the caller's arguments and ready once GET {url}/health answers 200 (llama-server answers 503 while it loads). The
// last 20 kB of its output is kept for the error when it dies; what else happens to its output is the caller's.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const KEEP_CHARS = 20_000;

export interface ChildServer {
  readonly name: string;
  readonly url: string;
  readonly proc: ChildProcess;
  /** The last 20 kB of its stdout and stderr, interleaved as they came. */
  output(): string;
}

export interface ChildServerOptions {
  /** For messages: "serve int8", "llama-server -np 16". */
  readonly name: string;
  /** Default: this Node binary (args then start with the script). */
  readonly command?: string;
  readonly args: readonly string[];
  /** Where it listens, e.g. http://127.0.0.1:PORT (the caller picked the port and passed it in args). */
  readonly url: string;
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Each chunk of its stderr as it comes (besides being kept), e.g. to show progress. */
  readonly onStderr?: (text: string) => void;
  /** Each complete line of its stdout (besides being kept), e.g. to parse its JSON logs. */
  readonly onStdoutLine?: (line: string) => void;
}

/** The child exited before it was healthy; `output` is its kept output (a usage error, a stack trace). */
export class ChildExited extends Error {
  constructor(
    readonly serverName: string,
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly output: string,
  ) {
    super(`${serverName} exited (${code ?? signal}) before it was healthy:\n${output.slice(-3000)}`);
  }
}

/** Every child this process started and has not seen exit: killed by killAllChildServers (an interrupted bench). */
const live = new Set<ChildProcess>();

export function killAllChildServers(): void {
  for (const proc of live) proc.kill('SIGKILL');
}

/** Starts the server and resolves once /health is 200; throws ChildExited, or an Error after timeoutMs (killed). */
export async function startChildServer(opts: ChildServerOptions): Promise<ChildServer> {
  const proc = spawn(opts.command ?? process.execPath, opts.args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  let kept = '';
  const keep = (text: string): void => {
    kept = (kept + text).slice(-KEEP_CHARS);
  };
  let partial = '';
  proc.stdout!.on('data', (b: Buffer) => {
    const text = b.toString();
    keep(text);
    if (opts.onStdoutLine === undefined) return;
    partial += text;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      opts.onStdoutLine(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
    }
  });
  proc.stderr!.on('data', (b: Buffer) => {
    const text = b.toString();
    keep(text);
    opts.onStderr?.(text);
  });
  const served: ChildServer = { name: opts.name, url: opts.url, proc, output: () => kept };
  const exited = (): boolean => proc.exitCode !== null || proc.signalCode !== null;
  const deadline = performance.now() + opts.timeoutMs;
  while (performance.now() < deadline) {
    if (exited()) {
      // Let the last output arrive ('close' follows the end of its stdio): a usage error is printed just before exit.
      await Promise.race([once(proc, 'close'), new Promise((r) => setTimeout(r, 1000))]);
      throw new ChildExited(opts.name, proc.exitCode, proc.signalCode, kept);
    }
    try {
      if ((await fetch(`${opts.url}/health`)).status === 200) return served;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  proc.kill('SIGKILL');
  throw new Error(`${opts.name} was not healthy after ${opts.timeoutMs / 1000} s:\n${kept.slice(-3000)}`);
}

/** SIGTERM (a graceful drain), SIGKILL after killAfterMs; resolves with the exit code (null: killed by a signal). */
export async function stopChildServer(proc: ChildProcess, killAfterMs = 30_000): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  proc.kill('SIGTERM');
  const killer = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
  const code = await exited;
  clearTimeout(killer);
  return code;
}
