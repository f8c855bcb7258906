// A BlockQuantizePool thread: quantizes chunks of every job it is sent (see block-quantize-pool.ts).
import { parentPort } from 'node:worker_threads';
import { quantizeChunks, type QuantizeJob } from './block-quantize-job.js';

parentPort?.on('message', (job: QuantizeJob) => quantizeChunks(job, true));
