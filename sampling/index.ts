// sampling/: pure sampling — token choice (temperature, top-k, top-p, min-p), penalties, logit_bias, grammar
// bitmasks, logprobs — and the per-row spec a model step carries. Both the engine (which builds the specs) and
// the executor worker (which runs them next to the logits) import it; it imports nothing of engine/, server/,
// model/ or grammar/ (checked by the lint).
export { applyBitmask } from './bitmask.js';
export { PenaltyTracker, applyLogitsProcessors, logitsProcessorsNeutral } from './logits-processors.js';
export type { PenaltySnapshot, PenaltyState } from './logits-processors.js';
export { logprobEntry } from './logprobs.js';
export { RowSampler, sampleStep } from './row-sampler.js';
export { SamplingScratch, argmax, logSoftmax, sampleToken, topK } from './sample-token.js';
export type { TokenFilter } from './sample-token.js';
export type {
  RowResult,
  RowSpec,
  SampleRowSpec,
  ScoreRowSpec,
  StepMaskRows,
  StepSampling,
  StepSamples,
} from './step-spec.js';
export { DEFAULT_SAMPLING } from './types.js';
export type { LogprobEntry, SamplingOptions, TokenLogprob, UniformSource } from './types.js';
