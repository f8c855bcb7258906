// A small STREAM triad (a[i] = b[i] + s·c[i] over float64 arrays far larger than the caches) on every core at once,
// in worker threads over shared memory: this machine's usable memory bandwidth, the roofline a memory-bound decode
// step is measured against. STREAM's accounting: 24 bytes per element (two reads, one write); the best of
// `repeats` passes, as STREAM reports it.
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';

// Each worker triads its slice once per pass, between barriers, and reports how long its slices took.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { sab, start, end } = workerData;
const n = sab.byteLength / 24;
const a = new Float64Array(sab, 0, n), b = new Float64Array(sab, 8 * n, n), c = new Float64Array(sab, 16 * n, n);
for (let i = start; i < end; i++) { b[i] = 1; c[i] = 2; }
parentPort.postMessage('ready');
parentPort.on('message', (pass) => {
  const s = 3 + pass * 1e-9;
  for (let i = start; i < end; i++) a[i] = b[i] + s * c[i];
  parentPort.postMessage('done');
});
`;

export interface TriadResult {
  readonly bytesPerSecond: number;
  readonly threads: number;
  readonly arrayMiB: number;
}

/** Best-of-`repeats` triad bandwidth, bytes/s, with `threads` workers (default: one per core). */
export async function measureTriad(
  opts: { elements?: number; repeats?: number; threads?: number } = {},
): Promise<TriadResult> {
  const n = opts.elements ?? 2 ** 24; // 128 MiB per array
  const repeats = opts.repeats ?? 5;
  const threads = opts.threads ?? cpus().length;
  const sab = new SharedArrayBuffer(24 * n);
  const workers = Array.from(
    { length: threads },
    (_, t) =>
      new Worker(WORKER, {
        eval: true,
        workerData: { sab, start: Math.floor((t * n) / threads), end: Math.floor(((t + 1) * n) / threads) },
      }),
  );
  const next = (w: Worker): Promise<void> =>
    new Promise((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    });
  try {
    await Promise.all(workers.map(next));
    let best = Infinity;
    for (let pass = 0; pass <= repeats; pass++) {
      // pass 0 warms up (JIT, page faults)
      const done = workers.map(next);
      const t0 = performance.now();
      for (const w of workers) w.postMessage(pass);
      await Promise.all(done);
      const ms = performance.now() - t0;
      if (pass > 0) best = Math.min(best, ms);
    }
    return { bytesPerSecond: (24 * n) / (best / 1000), threads, arrayMiB: (8 * n) / 2 ** 20 };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
