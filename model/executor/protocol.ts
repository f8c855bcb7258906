// Messages between OnnxExecutor (caller's thread) and the executor worker.
import type { ExecutorMemoryOptions } from './memory-options.js';
import type { SessionTuning } from './session-options.js';
import type { ForwardInputs } from './types.js';

export interface WorkerInit {
  readonly onnxPath: string;
  readonly device: 'cpu' | 'cuda';
  readonly numLayers: number;
  readonly rowWidth: number;
  readonly kvCacheDtype: 'fp32' | 'fp8';
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly vocabSize: number;
  readonly intraOpThreads: number | null;
  readonly memory: ExecutorMemoryOptions;
  readonly session: SessionTuning;
  /** ONNX Runtime writes its profile to `${profilePrefix}_DATE.json` when the worker closes; null: no profile. */
  readonly profilePrefix: string | null;
}

export type WorkerRequest =
  /** exitAfterRun (tests): the worker runs the step, then exits without replying, as a crash mid-step would. */
  | { readonly kind: 'step'; readonly id: number; readonly inputs: ForwardInputs; readonly exitAfterRun?: true }
  | { readonly kind: 'close'; readonly id: number };

export type WorkerReply =
  | { readonly kind: 'ready'; readonly device: 'cpu' | 'cuda'; readonly warning: string | null }
  | { readonly kind: 'init-failed'; readonly message: string }
  | { readonly kind: 'step'; readonly id: number; readonly logits: Float32Array }
  | { readonly kind: 'error'; readonly id: number; readonly message: string }
  | { readonly kind: 'closed'; readonly id: number };
