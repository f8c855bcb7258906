// Worker-thread faults for the real OnnxExecutor, injected through its `spawn` option (no test hooks in the
// executor itself): every worker it starts is tests/helpers/crashing-worker.ts, which can be told to die after
// its next step, and the latest one can be terminated from outside while idle.
import { Worker } from 'node:worker_threads';
import type { SpawnWorker } from '../../model/executor/onnx-executor.js';

export class WorkerFaults {
  /** Set to 1 by crashNextStep(); the worker clears it as it dies. Shared by every worker this spawns. */
  private readonly crashFlag = new Int32Array(new SharedArrayBuffer(4));
  private latest: Worker | null = null;

  readonly spawn: SpawnWorker = (init) => {
    this.latest = new Worker(new URL('./crashing-worker.js', import.meta.url), {
      workerData: { ...init, crashFlag: this.crashFlag },
    });
    return this.latest;
  };

  /** The worker runs the next step, then exits without replying: that step fails with ExecutorCrashed. */
  crashNextStep(): void {
    Atomics.store(this.crashFlag, 0, 1);
  }

  /**
   * Kills the current worker from outside, as a crash between steps would; the executor's next step() reports it.
   * Only while no step is in flight (see crashing-worker.ts): call it before handing a step to the executor.
   */
  async killIdleWorker(): Promise<void> {
    await this.latest?.terminate();
  }
}
