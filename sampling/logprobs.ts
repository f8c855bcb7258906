// Log-probability entries as the API reports them: the chosen token's logprob and the top alternatives,
// from the model's raw distribution (before temperature, penalties or biases, as vLLM reports by default).
import { logSoftmax, topK } from './sample-token.js';
import type { LogprobEntry } from './types.js';

export function logprobEntry(logits: Float32Array, id: number, numTop: number, scratch: Float32Array): LogprobEntry {
  const lp = logSoftmax(logits, scratch);
  return { id, logprob: lp[id]!, top: topK(lp, numTop) };
}
