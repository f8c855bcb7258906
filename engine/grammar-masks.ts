// Constrained decoding inside the step loop. Each constrained request owns a matcher in the grammar backend; the
// tokens it samples are handed to its matcher at the next step's mask request (one message per step for the whole
// batch), and that request is sent as soon as the step is dispatched, so the masks are filled while the model
// runs. Preemption and executor restarts keep every generated token, so a matcher never needs to roll back.
import type { GrammarBackend, MatcherId, StepMasks } from '../grammar/grammar-service.js';
import type { GrammarSpec } from '../grammar/spec.js';
import { InvalidRequest } from './errors.js';

export class GrammarMasks {
  /** Tokens sampled by constrained requests, not yet accepted by their matchers. */
  private readonly unaccepted = new Map<MatcherId, number>();

  constructor(private readonly backend: GrammarBackend | null) {}

  open(spec: GrammarSpec): MatcherId {
    if (this.backend === null)
      throw new InvalidRequest(
        'This engine has no grammar backend: structured output is unavailable.',
        'response_format',
      );
    return this.backend.open(spec);
  }

  close(matcher: MatcherId): void {
    this.unaccepted.delete(matcher);
    this.backend?.close(matcher);
  }

  sampled(matcher: MatcherId, token: number): void {
    this.unaccepted.set(matcher, token);
  }

  /**
   * Starts filling the masks of `fills` (the matchers that sample in this step); null when there are none.
   * `behindCompile`: the worker was compiling when asked, so these masks may take as long as that compile.
   */
  request(fills: readonly MatcherId[]): { readonly masks: Promise<StepMasks>; readonly behindCompile: boolean } | null {
    if (fills.length === 0 || this.backend === null) return null;
    const accepts = [...this.unaccepted];
    this.unaccepted.clear();
    const behindCompile = this.backend.compiling;
    const masks = this.backend.step(accepts, fills);
    masks.catch(() => {}); // awaited after the model step; this only keeps an early rejection from being "unhandled"
    return { masks, behindCompile };
  }
}
