// Prompt encoding off the HTTP thread, as vLLM's API server does with its tokenizer: texts up to INLINE_CHARS are
// encoded in place (a message round trip would cost more than they do), longer ones on a worker thread that holds
// its own copy of the tokenizer. Encodes run one at a time there, in order. A worker that dies fails the encodes it
// held; the next long text starts a fresh one.
import { Worker } from 'node:worker_threads';
import type { ModelTokenizer } from './tokenizer.js';

/** What the server needs to turn prompt text into ids. */
export interface PromptEncoder {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): Promise<number[]>;
}

/** Encodes in place: for tests and tools that have no HTTP thread to protect. */
export function inlineEncoder(tokenizer: ModelTokenizer): PromptEncoder {
  return { encode: async (text, opts) => tokenizer.encode(text, opts) };
}

/** Texts this long or shorter are encoded in place: about a millisecond of BPE. */
export const INLINE_CHARS = 2048;

export interface EncodeRequest {
  readonly id: number;
  readonly text: string;
  readonly addSpecialTokens: boolean;
}
export type EncodeReply =
  | { readonly id: number; readonly ids: Int32Array }
  | { readonly id: number; readonly error: string };

interface Pending {
  resolve(ids: number[]): void;
  reject(err: Error): void;
}

export class TokenizerThread implements PromptEncoder {
  private worker: Worker | null = null;
  private ready: Promise<Worker> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  /** Texts sent to the worker so far (for tests and logs). */
  offThreadEncodes = 0;

  constructor(private readonly tokenizer: ModelTokenizer) {}

  async encode(text: string, opts: { addSpecialTokens?: boolean } = {}): Promise<number[]> {
    if (text.length <= INLINE_CHARS) return this.tokenizer.encode(text, opts);
    if (this.closed) throw new Error('tokenizer thread closed');
    const worker = await (this.ready ??= this.start());
    if (this.worker !== worker) throw new Error(this.closed ? 'tokenizer thread closed' : 'tokenizer thread exited');
    const id = this.nextId++;
    this.offThreadEncodes++;
    return new Promise<number[]>((resolve, reject) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, text, addSpecialTokens: opts.addSpecialTokens ?? false } satisfies EncodeRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.ready = null;
    if (worker !== null) await worker.terminate();
    this.failPending(new Error('tokenizer thread closed'));
  }

  private start(): Promise<Worker> {
    const worker = new Worker(new URL('./tokenizer-worker.js', import.meta.url), {
      workerData: { dir: this.tokenizer.dir },
    });
    const started = new Promise<Worker>((resolve, reject) => {
      worker.once('message', () => {
        worker.unref(); // an idle thread never keeps the process alive; encode() refs it while work is in flight
        resolve(worker);
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`tokenizer thread exited during start-up (code ${code})`)));
    });
    worker.on('error', () => {}); // reported through 'exit'
    worker.on('exit', (code) => this.onExit(worker, code));
    worker.on('message', (msg: EncodeReply | { ready: true }) => {
      if (!('id' in msg)) return;
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) worker.unref();
      if ('ids' in msg) p.resolve(Array.from(msg.ids));
      else p.reject(new Error(msg.error));
    });
    this.worker = worker;
    return started.catch((err: Error) => {
      this.ready = null;
      throw err;
    });
  }

  private onExit(worker: Worker, code: number): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.ready = null;
    this.failPending(new Error(`tokenizer thread exited (code ${code})`));
  }

  private failPending(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
