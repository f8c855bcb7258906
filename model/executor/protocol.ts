// Messages between OnnxExecutor (caller's thread) and the executor worker.
import type { RowResult, StepMaskRows } from '../../sampling/step-spec.js';
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
  | { readonly kind: 'step'; readonly id: number; readonly inputs: ForwardInputs }
  /**
   * The grammar masks of step `stepId`'s constrained rows (inputs.sampling.masks stays on the caller's side; this
   * message brings its value, transferred). Handled on arrival, not queued behind the step it belongs to.
   */
  | { readonly kind: 'masks'; readonly stepId: number; readonly masks: StepMaskRows }
  | { readonly kind: 'close'; readonly id: number };

export type WorkerReply =
  | { readonly kind: 'ready'; readonly device: 'cpu' | 'cuda'; readonly warning: string | null }
  | { readonly kind: 'init-failed'; readonly message: string }
  /** logits for a step without sampling; results (one per row spec) for a step with it. */
  | {
      readonly kind: 'step';
      readonly id: number;
      readonly logits: Float32Array | null;
      readonly results: readonly RowResult[] | null;
    }
  /** The results of step `id`'s held rows (by index in its row specs), once their masks arrived. */
  | { readonly kind: 'late'; readonly id: number; readonly results: readonly (readonly [number, RowResult])[] }
  | { readonly kind: 'error'; readonly id: number; readonly message: string }
  | { readonly kind: 'closed'; readonly id: number };
