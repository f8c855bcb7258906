// engine/: turns requests into model steps and tokens — generation loops, the sampling spec each step carries
// (the sampling itself runs next to the logits, from sampling/). Reaches the model only through the Executor
// interface; never imports onnxruntime-node or server/.
//
//   EngineRequest → SchedulerOutput → ForwardInputs → RunnerOutput → TokenEvent
export { generateOffline } from './offline-generate.js';
export type { GenerateParams, GenerateResult } from './offline-generate.js';
export { argmax, logSoftmax, sampleToken, topK } from '../sampling/index.js';
export type { LogprobEntry, SamplingOptions, TokenLogprob } from '../sampling/index.js';
