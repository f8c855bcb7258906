// Messages between the GrammarService (caller's thread) and the grammar worker. The worker handles them strictly
// in order, so an `open` sent before a `step` is always seen first.
import type { GrammarSpec } from './spec.js';

export interface GrammarWorkerInit {
  /** Token strings by id, as tokenizer.json spells them (byte-level symbols for byte-level BPE). */
  readonly encodedVocab: readonly string[];
  readonly vocabType: VocabType;
  /** Rows of the model's logits (config vocab_size); may exceed encodedVocab.length (padding rows). */
  readonly vocabSize: number;
  /** Tokens that end a finished grammar (the model's EOS ids). */
  readonly stopTokenIds: readonly number[];
  /** Compiled grammars kept for reuse. */
  readonly cacheSize: number;
}

/** How xgrammar turns token strings back into bytes (HF: ByteLevel decoder, ByteFallback, or neither). */
export type VocabType = 'byte_level' | 'byte_fallback' | 'raw';

export type GrammarRequest =
  | { readonly kind: 'compile'; readonly id: number; readonly spec: GrammarSpec }
  | { readonly kind: 'open'; readonly matcher: number; readonly spec: GrammarSpec }
  | { readonly kind: 'close'; readonly matcher: number }
  /** Accept `accepts` (pairs: matcher, token), then fill one bitmask per matcher in `fills`. */
  | { readonly kind: 'step'; readonly id: number; readonly accepts: Int32Array; readonly fills: Int32Array };

export type GrammarReply =
  | { readonly kind: 'ready'; readonly words: number }
  | { readonly kind: 'init-failed'; readonly message: string }
  | { readonly kind: 'compiled'; readonly id: number; readonly ms: number }
  /** `broken`: the WebAssembly instance faulted (not a refusal xgrammar explained), so the worker must be replaced. */
  | { readonly kind: 'compile-failed'; readonly id: number; readonly message: string; readonly broken: boolean }
  /**
   * `masks` holds fills.length bitmasks of `words` int32 each; bit i set = token i allowed. `rejected`: matchers
   * whose accepted token broke the grammar; `missing`: fills with no matcher (its open failed).
   */
  | {
      readonly kind: 'masks';
      readonly id: number;
      readonly masks: Int32Array;
      readonly rejected: Int32Array;
      readonly missing: Int32Array;
      readonly ms: number;
    }
  | { readonly kind: 'step-failed'; readonly id: number; readonly message: string };
