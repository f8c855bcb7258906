// engine/: turns requests into model steps and tokens — generation loops, sampling. Reaches the model only
// through the Executor interface; never imports onnxruntime-node or server/.
//
//   EngineRequest → SchedulerOutput → ForwardInputs → RunnerOutput → TokenEvent
export { generateOffline } from './offline-generate.js';
export type { GenerateParams, GenerateResult } from './offline-generate.js';
export { argmax, logSoftmax, sampleToken, topK } from '../sampling/index.js';
export type { LogprobEntry, SamplingOptions, TokenLogprob } from '../sampling/index.js';
