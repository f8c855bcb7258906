import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProfileSummary, median, summarizeProfile, type ProfileEvent } from './ort-profile.js';

const node = (name: string, op: string, ts: number, dur: number): ProfileEvent => ({
  cat: 'Node',
  name: `${name}_kernel_time`,
  ts,
  dur,
  args: { op_name: op },
});

// Two runs: the first (warm-up) has one kernel; the second has three, with gaps of 5 and 10 µs between them.
const SAMPLE: ProfileEvent[] = [
  { cat: 'Session', name: 'session_initialization', ts: 0, dur: 50, args: {} },
  { cat: 'Session', name: 'model_run', ts: 100, dur: 40, args: {} },
  node('n_MatMul_0', 'MatMul', 105, 30),
  { cat: 'Session', name: 'model_run', ts: 200, dur: 100, args: {} },
  { cat: 'Session', name: 'SequentialExecutor::Execute', ts: 201, dur: 98, args: {} },
  node('n_Gather_1', 'Gather', 202, 10),
  node('n_MatMul_2', 'MatMul', 217, 40),
  node('n_Gather_3', 'Gather', 267, 20),
];

test('per run: nodes, kernel time, gaps between kernels and edges; op types over the runs counted', () => {
  const s = summarizeProfile(SAMPLE, 1);
  assert.equal(s.runs, 1);
  assert.equal(s.medianRunUs, 100);
  assert.equal(s.medianNodesPerRun, 3);
  assert.equal(s.medianKernelUs, 70);
  assert.equal(s.medianGapUs, 15);
  assert.equal(s.medianEdgeUs, 2 + 13);
  assert.deepEqual(s.opTypes, [
    { opType: 'MatMul', totalUs: 40, kernels: 1 },
    { opType: 'Gather', totalUs: 30, kernels: 2 },
  ]);
});

test('without skipping, the warm-up run counts too', () => {
  const s = summarizeProfile(SAMPLE);
  assert.equal(s.runs, 2);
  assert.equal(s.opTypes[0]!.totalUs, 70);
  assert.equal(s.medianNodesPerRun, 2);
  assert.match(formatProfileSummary(s), /\| MatMul \| 0\.07 \| 70\.0 % \| 2 \| 1\.0 \| 35\.0 \|/);
});

test('median of even and odd counts', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(median([]), 0);
});
