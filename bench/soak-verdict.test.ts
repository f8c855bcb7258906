import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemorySample } from './soak-verdict.js';
import { memoryVerdict } from './soak-verdict.js';

const run = (rows: [number, number, number][]): MemorySample[] => rows.map(([atS, rssMb, sizes]) => ({ atS, rssMb, sizes }));
const opts = { minWarmupS: 30, loadEndS: 600, maxGrowthPct: 10 };

test('warm-up ends once 95 % of the step sizes are seen (not before the floor); a plateau passes', () => {
  const v = memoryVerdict(run([[0, 200, 0], [30, 700, 80], [60, 800, 96], [120, 820, 99], [600, 850, 100]]), opts);
  assert.equal(v.warmupEndS, 60);
  assert.equal(v.rssAfterWarmupMb, 800);
  assert.equal(v.growthPct, 6.3);
  assert.ok(v.ok, v.reason);
});

test('growth past the limit after warm-up fails: the issue-16 run (RSS 842 → 1,772 MiB)', () => {
  const v = memoryVerdict(run([[0, 205, 0], [30, 842, 100], [60, 1109, 190], [90, 1377, 196], [480, 1772, 200]]), { ...opts, loadEndS: 480 });
  assert.equal(v.warmupEndS, 60);
  assert.equal(v.ok, false);
  assert.match(v.reason, /1109 → 1772 MiB after warm-up \(\+59\.8 %, limit 10 %\)/);
});

test('a size set still growing at mid-run fails: warm-up never ended', () => {
  const v = memoryVerdict(run([[0, 200, 0], [100, 300, 100], [300, 310, 300], [600, 320, 600]]), opts);
  assert.equal(v.ok, false);
  assert.equal(v.warmupEndS, null);
  assert.match(v.reason, /300 of 600 step sizes seen by mid-run/);
});

test('the drain after the load stops does not count: its small batches are new sizes, not larger steps', () => {
  // The 6-minute soak with the defaults: 53 sizes under load (51 by 140 s), 78 once the drain had run.
  const v = memoryVerdict(run([[0, 205, 0], [30, 536, 41], [140, 615, 51], [250, 614, 51], [360, 614, 53], [369, 617, 78]]), { ...opts, loadEndS: 368.6 });
  assert.equal(v.warmupEndS, 140);
  assert.equal(v.sizesAtEnd, 53);
  assert.equal(v.rssEndMb, 617);
  assert.ok(v.ok, v.reason);
});
