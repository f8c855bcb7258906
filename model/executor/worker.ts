// The executor worker: the only module that imports onnxruntime-node. session.run() blocks the thread that
// calls it, so it runs here and never on the HTTP thread. The worker owns the latent cache pools; the caller
// only ever sends block ids and slots.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { RowSampler, sampleStep } from '../../sampling/row-sampler.js';
import type { StepMaskRows } from '../../sampling/step-spec.js';
import { latentOutputName, LOGITS_OUTPUT, STEP_INPUTS } from '../graph/io.js';
import { LatentPools } from './latent-pools.js';
import { packStep } from './pack.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './protocol.js';
import { slotCopiesOf, type ForwardInputs } from './types.js';
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

async function createSession(): Promise<{
  session: ort.InferenceSession;
  device: 'cpu' | 'cuda';
  warning: string | null;
}> {
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    enableMemPattern: init.memory.memPattern,
    enableCpuMemArena: init.memory.cpuArena,
    ...(init.intraOpThreads === null ? {} : { intraOpNumThreads: init.intraOpThreads }),
    ...ortSessionFields(init.session, init.profilePrefix),
  };
  if (init.device === 'cuda') {
    try {
      const session = await ort.InferenceSession.create(init.onnxPath, {
        ...options,
        logSeverityLevel: 4,
        executionProviders: ['cuda', 'cpu'],
      });
      return { session, device: 'cuda', warning: null };
    } catch (err) {
      // ONNX Runtime does not fall back by itself when the CUDA provider cannot load.
      const why = (err as Error).message.split('\n')[0] ?? 'unknown error';
      const session = await ort.InferenceSession.create(init.onnxPath, { ...options, executionProviders: ['cpu'] });
      return {
        session,
        device: 'cpu',
        warning: `warning: CUDA execution provider unavailable (${why}); running on CPU`,
      };
    }
  }
  return {
    session: await ort.InferenceSession.create(init.onnxPath, { ...options, executionProviders: ['cpu'] }),
    device: 'cpu',
    warning: null,
  };
}

class StepRunner {
  private readonly pools = new LatentPools(
    init.numLayers,
    init.numBlocks,
    init.blockSize,
    init.rowWidth,
    init.kvCacheDtype,
  );
  private readonly poolTensors = this.pools.inputs.map(
    (p) => [p.name, new ort.Tensor(p.type, p.data, p.dims)] as const,
  );
  /** What a step returns: the sampled rows' logits and each layer's new latent rows. */
  private readonly fetches = [LOGITS_OUTPUT, ...Array.from({ length: init.numLayers }, (_, l) => latentOutputName(l))];
  constructor(private readonly session: ort.InferenceSession) {}

  async run(inputs: ForwardInputs): Promise<Float32Array> {
    const p = packStep(inputs, init.memory.shapeBuckets);
    for (const s of inputs.seqs) {
      for (const b of s.blockTable)
        if (b < 0 || b >= init.numBlocks) throw new Error(`block ${b} outside the cache's ${init.numBlocks} blocks`);
    }
    const slots = init.numBlocks * init.blockSize;
    for (const slot of inputs.slotMapping) {
      if (slot < 0 || slot >= slots) throw new Error(`slot ${slot} outside the cache's ${slots} slots`);
    }
    const copies = slotCopiesOf(inputs);
    for (const { src, dst, rows } of copies) {
      if (rows < 1 || src < 0 || dst < 0 || src + rows > slots || dst + rows > slots)
        throw new Error(`copy of ${rows} rows ${src} → ${dst} outside the cache's ${slots} slots`);
    }
    for (const { src, dst, rows } of copies) this.pools.copy(src, dst, rows);
    const feeds: Record<string, ort.Tensor> = {
      [STEP_INPUTS.inputIds]: new ort.Tensor('int64', p.inputIds, [p.numTokens]),
      [STEP_INPUTS.positions]: new ort.Tensor('int64', p.positions, [p.numTokens]),
      [STEP_INPUTS.queryLens]: new ort.Tensor('int64', p.queryLens, [p.batch]),
      [STEP_INPUTS.contextLens]: new ort.Tensor('int64', p.contextLens, [p.batch]),
      [STEP_INPUTS.blockTable]: new ort.Tensor('int64', p.blockTable, [p.batch, p.maxBlocks]),
      [STEP_INPUTS.padIndex]: new ort.Tensor('int64', p.padIndex, [p.batch, p.queryLen]),
      [STEP_INPUTS.unpadIndex]: new ort.Tensor('int64', p.unpadIndex, [p.numTokens]),
      [STEP_INPUTS.logitsIndices]: new ort.Tensor('int64', p.logitsIndices, [p.logitsIndices.length]),
    };
    for (const [name, tensor] of this.poolTensors) feeds[name] = tensor;
    const out = await this.session.run(feeds, this.fetches);
    // Only now write the step's rows: the graph read the pools as they were before this step.
    // Rows past the real tokens (bucket padding) are never stored: write() takes one row per slotMapping entry.
    for (let l = 0; l < init.numLayers; l++)
      this.pools.write(l, inputs.slotMapping, out[latentOutputName(l)]!.data as Float32Array);
    const logits = out[LOGITS_OUTPUT]!.data as Float32Array;
    return p.numLogits === p.logitsIndices.length ? logits : logits.subarray(0, p.numLogits * init.vocabSize);
  }
}

/**
 * Grammar masks by step id. A step's masks may arrive before its model run ends (usual) or after; whichever comes
 * first creates the entry, and the step removes it once it has its masks. Masks for a step already done (it
 * failed) are dropped.
 */
class MaskMailbox {
  private readonly waits = new Map<number, { promise: Promise<StepMaskRows>; resolve(m: StepMaskRows): void }>();
  /** Every step id below this is done: it will not read its masks. */
  private doneBelow = 0;

  deliver(stepId: number, masks: StepMaskRows): void {
    if (stepId < this.doneBelow && !this.waits.has(stepId)) return;
    this.entry(stepId).resolve(masks);
  }

  masksOf(stepId: number): Promise<StepMaskRows> {
    return this.entry(stepId).promise;
  }

  done(stepId: number): void {
    this.waits.delete(stepId);
    this.doneBelow = Math.max(this.doneBelow, stepId + 1);
  }

  private entry(stepId: number): { promise: Promise<StepMaskRows>; resolve(m: StepMaskRows): void } {
    let wait = this.waits.get(stepId);
    if (wait === undefined) {
      let resolve!: (m: StepMaskRows) => void;
      const promise = new Promise<StepMaskRows>((r) => {
        resolve = r;
      });
      wait = { promise, resolve };
      this.waits.set(stepId, wait);
    }
    return wait;
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
  const sampler = new RowSampler(init.vocabSize);
  const mailbox = new MaskMailbox();
  // Steps are handled strictly one at a time, in arrival order; masks are taken as they come (a step may be
  // waiting for them).
  let queue = Promise.resolve();
  port!.on('message', (msg: WorkerRequest) => {
    if (msg.kind === 'masks') {
      mailbox.deliver(msg.stepId, msg.masks);
      return;
    }
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
        const sampling = msg.inputs.sampling;
        if (sampling === undefined) {
          const copy =
            logits.byteOffset === 0 && logits.byteLength === logits.buffer.byteLength ? logits : logits.slice();
          reply({ kind: 'step', id: msg.id, logits: copy, results: null }, [copy.buffer as ArrayBuffer]);
          return;
        }
        const constrained = sampling.rows.some((r) => r.kind === 'sample' && r.maskSlot !== null);
        const { results, late } = await sampleStep(
          sampler,
          logits,
          sampling,
          constrained ? mailbox.masksOf(msg.id) : null,
        );
        reply({ kind: 'step', id: msg.id, logits: null, results });
        if (late === null) mailbox.done(msg.id);
        else
          void late.then((held) => {
            mailbox.done(msg.id);
            reply({ kind: 'late', id: msg.id, results: [...held] });
          });
      } catch (err) {
        mailbox.done(msg.id);
        reply({ kind: 'error', id: msg.id, message: (err as Error).message });
      }
    });
  });
}

void main();
