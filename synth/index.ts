// synth/: synthetic DeepSeek-V2/V3 checkpoints (`latentserve synth`, the `demo` model `serve` starts without
// --model, and the bench and test suites' random models): HF config presets, random weights written as
// safetensors (F32 / BF16 / FP8 blocks), and a byte-level BPE tokenizer trained on a small corpus.
// May import model/ and quant/; never server/, engine/, grammar/ or cli. Nothing under model/ imports it: the
// loader reads what synth writes like any other checkpoint (the dependency lint enforces both directions).
export { synthesizeCheckpoint, synthCacheDir, synthPresetConfig, SYNTH_DTYPES, SYNTH_PRESETS } from './synth.js';
export type { SynthDtype, SynthPreset } from './synth.js';
