// The worker side of bench:sampling: stands in for the executor worker, with a fixed [rows, vocab] logits block
// as "the model" (copied out each step, as the real worker copies ONNX Runtime's output). 'logits' steps send the
// block to the main thread, as steps did before sampling moved into the worker; 'sample' steps sample it here
// with the RowSampler the executor worker runs and send back RowResults.
import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../util/rng.js';
import { RowSampler, sampleStep } from '../sampling/row-sampler.js';
import type { RowSpec } from '../sampling/step-spec.js';

export interface BenchWorkerInit {
  readonly rows: number;
  readonly vocab: number;
}

export type BenchStep = { readonly kind: 'logits' } | { readonly kind: 'sample'; readonly rows: readonly RowSpec[] };

const init = workerData as BenchWorkerInit;
const port = parentPort!;
const block = new Float32Array(init.rows * init.vocab);
new Rng(1, 'bench-logits').fillNormal(block, 0, 2.5);
const sampler = new RowSampler(init.vocab);

port.on('message', (msg: BenchStep) => {
  void (async () => {
    const logits = block.slice();
    if (msg.kind === 'logits') {
      port.postMessage({ logits }, [logits.buffer]);
      return;
    }
    const { results } = await sampleStep(sampler, logits, { rows: msg.rows, maskGraceMs: null }, null);
    port.postMessage({ results });
  })();
});
