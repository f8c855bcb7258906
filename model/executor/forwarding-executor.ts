// An Executor that forwards everything to another one. Wrappers that watch or alter steps (the benches' timing,
// the tests' recording and fault injection) extend it and override step().
import type { Executor, ForwardInputs, RunnerOutput } from './types.js';

export class ForwardingExecutor implements Executor {
  constructor(protected readonly inner: Executor) {}
  get vocabSize(): number {
    return this.inner.vocabSize;
  }
  get cache(): Executor['cache'] {
    return this.inner.cache;
  }
  get device(): Executor['device'] {
    return this.inner.device;
  }
  step(inputs: ForwardInputs): Promise<RunnerOutput> {
    return this.inner.step(inputs);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
