// model/: everything about running a DeepSeek-V2/V3 checkpoint — config, safetensors, tokenizer, the ONNX graph
// builder, compilation, and the executor worker (the only code that imports onnxruntime-node).
// Must not import engine/, server/ or cli. The graph builder (onnx/, graph/) never imports onnxruntime-node.
export type { ModelConfig, MoeConfig } from './config.js';
export { loadModelConfig, parseModelConfig, ConfigError, latentRowWidth } from './config.js';
export type { BlockId, CacheGeometry, Executor, ForwardInputs, RunnerOutput, SequenceSlice } from './executor/types.js';
export { cacheBytesPerToken } from './executor/types.js';
export type { LoadedModel, LoadOptions } from './load.js';
export { loadModel, DEFAULT_BLOCK_SIZE } from './load.js';
export { ModelTokenizer } from './tokenizer.js';
export type { ChatMessage } from './tokenizer.js';
