// An Executor that times each step it forwards, split by kind: single-token (decode) steps one by one, prompt
// steps summed. Shared by bench:model and decodeRate.
import { ForwardingExecutor } from '../model/executor/forwarding-executor.js';
import type { ForwardInputs, RunnerOutput } from '../model/executor/types.js';

export class TimedExecutor extends ForwardingExecutor {
  prefillMs = 0;
  prefillTokens = 0;
  readonly decodeMs: number[] = [];
  /** performance.now() when the latest multi-token (prompt) step ended; NaN before one has. */
  prefillEndAt = Number.NaN;
  /** performance.now() when the latest step ended; NaN before one has. */
  lastEndAt = Number.NaN;

  override async step(inputs: ForwardInputs): Promise<RunnerOutput> {
    const t0 = performance.now();
    const out = await this.inner.step(inputs);
    const end = performance.now();
    this.lastEndAt = end;
    if (inputs.tokenIds.length === 1) this.decodeMs.push(end - t0);
    else {
      this.prefillMs += end - t0;
      this.prefillTokens += inputs.tokenIds.length;
      this.prefillEndAt = end;
    }
    return out;
  }
}
