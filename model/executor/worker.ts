// The executor worker: the only module that imports onnxruntime-node. session.run() blocks the thread that
// calls it, so it runs here and never on the HTTP thread. The worker owns the latent cache pools; the caller
// only ever sends block ids and slots.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { LatentPools } from './latent-pools.js';
import { packStep } from './pack.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './protocol.js';
import type { ForwardInputs } from './types.js';
import { ortSessionFields } from './session-options.js';

const init = workerData as WorkerInit;
const port = parentPort;
if (port === null) throw new Error('executor worker must run in a worker_thread');

function reply(msg: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

// ORT's process-wide logger is set up by the first session. A CUDA attempt that fails would print ORT's own
// multi-line error there; the fallback below says it in one line instead.
ort.env.logLevel = init.device === 'cuda' ? 'fatal' : 'error';

async function createSession(): Promise<{ session: ort.InferenceSession; device: 'cpu' | 'cuda'; warning: string | null }> {
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    enableMemPattern: init.memory.memPattern,
    enableCpuMemArena: init.memory.cpuArena,
    ...(init.intraOpThreads === null ? {} : { intraOpNumThreads: init.intraOpThreads }),
    ...ortSessionFields(init.session, init.profilePrefix),
  };
  if (init.device === 'cuda') {
    try {
      const session = await ort.InferenceSession.create(init.onnxPath, { ...options, logSeverityLevel: 4, executionProviders: ['cuda', 'cpu'] });
      return { session, device: 'cuda', warning: null };
    } catch (err) {
      // ONNX Runtime does not fall back by itself when the CUDA provider cannot load.
      const why = (err as Error).message.split('\n')[0] ?? 'unknown error';
      const session = await ort.InferenceSession.create(init.onnxPath, { ...options, executionProviders: ['cpu'] });
      return { session, device: 'cpu', warning: `warning: CUDA execution provider unavailable (${why}); running on CPU` };
    }
  }
  return { session: await ort.InferenceSession.create(init.onnxPath, { ...options, executionProviders: ['cpu'] }), device: 'cpu', warning: null };
}

class StepRunner {
  private readonly pools = new LatentPools(init.numLayers, init.numBlocks, init.blockSize, init.rowWidth, init.kvCacheDtype);
  private readonly poolTensors = this.pools.inputs.map((p) => [p.name, new ort.Tensor(p.type, p.data, p.dims)] as const);
  /** What a step returns; the graph has other outputs that exist only to pin buffers (see graph/moe.ts). */
  private readonly fetches = ['logits', ...Array.from({ length: init.numLayers }, (_, l) => `latent.${l}`)];
  constructor(private readonly session: ort.InferenceSession) {}

  async run(inputs: ForwardInputs): Promise<Float32Array> {
    const p = packStep(inputs, init.memory.shapeBuckets);
    for (const s of inputs.seqs) {
      for (const b of s.blockTable) if (b < 0 || b >= init.numBlocks) throw new Error(`block ${b} outside the cache's ${init.numBlocks} blocks`);
    }
    const slots = init.numBlocks * init.blockSize;
    for (const slot of inputs.slotMapping) {
      if (slot < 0 || slot >= slots) throw new Error(`slot ${slot} outside the cache's ${slots} slots`);
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', p.inputIds, [p.numTokens]),
      positions: new ort.Tensor('int64', p.positions, [p.numTokens]),
      query_lens: new ort.Tensor('int64', p.queryLens, [p.batch]),
      context_lens: new ort.Tensor('int64', p.contextLens, [p.batch]),
      block_table: new ort.Tensor('int64', p.blockTable, [p.batch, p.maxBlocks]),
      pad_index: new ort.Tensor('int64', p.padIndex, [p.batch, p.queryLen]),
      unpad_index: new ort.Tensor('int64', p.unpadIndex, [p.numTokens]),
      logits_indices: new ort.Tensor('int64', p.logitsIndices, [p.logitsIndices.length]),
    };
    for (const [name, tensor] of this.poolTensors) feeds[name] = tensor;
    const out = await this.session.run(feeds, this.fetches);
    // Only now write the step's rows: the graph read the pools as they were before this step.
    // Rows past the real tokens (bucket padding) are never stored: write() takes one row per slotMapping entry.
    for (let l = 0; l < init.numLayers; l++) this.pools.write(l, inputs.slotMapping, out[`latent.${l}`]!.data as Float32Array);
    const logits = out['logits']!.data as Float32Array;
    return p.numLogits === p.logitsIndices.length ? logits : logits.subarray(0, p.numLogits * init.vocabSize);
  }
}

async function main(): Promise<void> {
  let runner: StepRunner;
  let session: ort.InferenceSession;
  try {
    const created = await createSession();
    session = created.session;
    runner = new StepRunner(session);
    reply({ kind: 'ready', device: created.device, warning: created.warning });
  } catch (err) {
    reply({ kind: 'init-failed', message: (err as Error).message });
    return;
  }
  // Steps are handled strictly one at a time, in arrival order.
  let queue = Promise.resolve();
  port!.on('message', (msg: WorkerRequest) => {
    queue = queue.then(async () => {
      if (msg.kind === 'close') {
        if (init.profilePrefix !== null) session.endProfiling(); // writes the profile file
        await session.release();
        reply({ kind: 'closed', id: msg.id });
        port!.close();
        return;
      }
      try {
        const logits = await runner.run(msg.inputs);
        if (msg.exitAfterRun === true) process.exit(70); // tests: a crash mid-step, with no run left in flight
        const copy = logits.byteOffset === 0 && logits.byteLength === logits.buffer.byteLength ? logits : logits.slice();
        reply({ kind: 'step', id: msg.id, logits: copy }, [copy.buffer as ArrayBuffer]);
      } catch (err) {
        reply({ kind: 'error', id: msg.id, message: (err as Error).message });
      }
    });
  });
}

void main();
