// Batch-1 decode on latentserve's side, in this process: the checkpoint loaded in the format asked for (compiled
// once, then cached), one warm-up generation, then `tokens` greedy tokens timed — what llama-bench's tg measures.
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_SESSION_TUNING, type SessionTuning } from '../../model/executor/session-options.js';
import { DEFAULT_QUANT_BLOCK_SIZE } from '../../model/graph/compile-options.js';
import { loadModel } from '../../model/load.js';
import { type Quant, weightQuantOf } from './args.js';
import { decodeRate } from '../decode-rate.js';

const PROMPT = [0, 5, 6, 7];

export async function latentDecode(
  modelDir: string,
  quant: Quant,
  tokens: number,
  session: SessionTuning = DEFAULT_SESSION_TUNING,
): Promise<number> {
  const compile = {
    quant: weightQuantOf(quant),
    quantBlockSize: DEFAULT_QUANT_BLOCK_SIZE,
    kvCacheDtype: 'fp32' as const,
  };
  const model = await loadModel(modelDir, {
    compile,
    numBlocks: Math.ceil((PROMPT.length + tokens + 1) / 64) + 1,
    blockSize: 64,
    session,
    onProgress: () => {},
  });
  try {
    await decodeRate(model, PROMPT, Math.min(tokens, 16)); // warm-up: arena, prepacked weights, first-run costs
    await sleep(50);
    return await decodeRate(model, PROMPT, tokens);
  } finally {
    await model.executor.close();
  }
}
