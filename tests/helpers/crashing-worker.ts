// A drop-in executor worker for fault tests: the real worker (model/executor/worker.ts) with one difference. When
// the test sets the shared crash flag, the next step's reply is never sent: the thread exits instead, as a crash
// mid-step would. The step has run by then, so no ONNX Runtime call is in flight when the thread dies
// (terminating one while ONNX Runtime runs in it aborts the whole process).
import { parentPort, workerData } from 'node:worker_threads';

const port = parentPort;
if (port === null) throw new Error('crashing-worker must run in a worker_thread');
const { crashFlag } = workerData as { crashFlag: Int32Array };
const post = port.postMessage.bind(port);
port.postMessage = (...args: Parameters<typeof post>): void => {
  const msg: unknown = args[0];
  const isStep = typeof msg === 'object' && msg !== null && (msg as { kind?: unknown }).kind === 'step';
  if (isStep && Atomics.exchange(crashFlag, 0, 0) === 1) process.exit(70);
  post(...args);
};
await import('../../model/executor/worker.js');
