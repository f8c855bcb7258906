import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemorySample } from './soak-verdict.js';
import { memoryVerdict } from './soak-verdict.js';

type Row = [
  atS: number,
  rssMb: number,
  sizes: number,
  tokens: number,
  gathered: number,
  attention: number,
  cacheTouched?: number,
];
const run = (rows: Row[]): MemorySample[] =>
  rows.map(([atS, rssMb, sizes, tokens, gathered, attention, cacheTouched = 100]) => ({
    atS,
    rssMb,
    sizes,
    largest: { tokens, gathered, attention },
    cacheTouched,
  }));
const opts = { minWarmupS: 30, loadEndS: 600, maxGrowthPct: 10 };

test('warm-up ends once the largest step of the load has run (not before the floor); a plateau passes', () => {
  const v = memoryVerdict(
    run([
      [0, 200, 0, 0, 0, 0],
      [10, 600, 20, 512, 64, 640], // every term at its largest already, but before the floor
      [30, 700, 40, 512, 64, 640],
      [120, 720, 50, 512, 64, 640],
      [600, 760, 55, 512, 64, 640],
    ]),
    opts,
  );
  assert.equal(v.warmupEndS, 30);
  assert.equal(v.rssAfterWarmupMb, 700);
  assert.equal(v.growthPct, 8.6);
  assert.deepEqual(v.largestStep, { tokens: 512, gathered: 64, attention: 640 });
  assert.deepEqual([v.sizesAtWarmupEnd, v.sizesAtEnd], [40, 55]);
  assert.ok(v.ok, v.reason);
});

test('every term must reach its largest: a step with more attention blocks ends warm-up later', () => {
  const v = memoryVerdict(
    run([
      [0, 200, 0, 0, 0, 0],
      [30, 700, 40, 512, 64, 320],
      [90, 900, 45, 512, 64, 640],
      [600, 950, 55, 512, 64, 640],
    ]),
    opts,
  );
  assert.equal(v.warmupEndS, 90);
  assert.equal(v.rssAfterWarmupMb, 900);
  assert.ok(v.ok, v.reason);
});

test('new sizes no larger than the largest step do not hold warm-up open: the mini int8 soak (RSS flat, sizes late)', () => {
  // 20-minute `mini --quant int8` soak: 51 of 55 sizes by mid-run, RSS 1119 / 1107 / 1117 / 1107 / 1115 MiB.
  const v = memoryVerdict(
    run([
      [0, 300, 0, 0, 0, 0],
      [60, 1119, 40, 256, 96, 960],
      [300, 1107, 48, 256, 96, 960],
      [600, 1117, 51, 256, 96, 960],
      [900, 1107, 53, 256, 96, 960],
      [1200, 1115, 55, 256, 96, 960],
    ]),
    { ...opts, loadEndS: 1200 },
  );
  assert.equal(v.warmupEndS, 60);
  assert.equal(v.growthPct, -0.4);
  assert.ok(v.ok, v.reason);
});

test('growth past the limit after warm-up fails: the issue-16 run (RSS 842 → 1,772 MiB)', () => {
  const v = memoryVerdict(
    run([
      [0, 205, 0, 0, 0, 0],
      [30, 842, 100, 256, 32, 320],
      [60, 1109, 190, 512, 64, 640],
      [90, 1377, 196, 512, 64, 640],
      [480, 1772, 200, 512, 64, 640],
    ]),
    { ...opts, loadEndS: 480 },
  );
  assert.equal(v.warmupEndS, 60);
  assert.equal(v.ok, false);
  assert.match(v.reason, /1109 → 1772 MiB after warm-up \(\+59\.8 %, limit 10 %\)/);
});

test('a largest step reached late but with a quarter of the load left ends warm-up there: the 10-minute mini int8 soak', () => {
  // `node dist/bench/soak-bench.js --minutes 10 --model mini-seed0 -- --quant int8`: attention 10,240 → 12,800 at 361 s.
  const v = memoryVerdict(
    run([
      [0, 773, 0, 0, 0, 0],
      [80, 1114, 32, 512, 160, 10240],
      [351, 1131, 48, 512, 160, 10240],
      [361, 1147, 49, 512, 160, 12800],
      [381, 1166, 49, 512, 160, 12800],
      [601, 1145, 50, 512, 160, 12800],
    ]),
    { ...opts, loadEndS: 600 },
  );
  assert.equal(v.warmupEndS, 361);
  assert.equal(v.growthPct, -0.2);
  assert.ok(v.ok, v.reason);
});

test('a largest step still growing in the last quarter of the load fails: warm-up never ended, and the reason names the term', () => {
  const v = memoryVerdict(
    run([
      [0, 200, 0, 0, 0, 0],
      [100, 300, 30, 512, 32, 320],
      [440, 310, 40, 512, 48, 480],
      [460, 315, 45, 512, 64, 640],
      [600, 320, 50, 512, 64, 640],
    ]),
    opts,
  );
  assert.equal(v.ok, false);
  assert.equal(v.warmupEndS, null);
  assert.match(v.reason, /gathered 48 of 64, attention 480 of 640 by 450 s/);
});

test("the drain after the load stops does not count: its batches are smaller, and its sizes are not the load's", () => {
  const v = memoryVerdict(
    run([
      [0, 205, 0, 0, 0, 0],
      [30, 536, 41, 384, 48, 480],
      [140, 615, 51, 512, 64, 640],
      [250, 614, 51, 512, 64, 640],
      [360, 614, 53, 512, 64, 640],
      [369, 617, 78, 512, 64, 640],
    ]),
    { ...opts, loadEndS: 368.6 },
  );
  assert.equal(v.warmupEndS, 140);
  assert.equal(v.sizesAtEnd, 53);
  assert.equal(v.rssEndMb, 617);
  assert.ok(v.ok, v.reason);
});

test('the cache must be filled too: blocks still being touched for the first time keep warm-up open', () => {
  // The 10-minute mini int8 soak on a loaded machine: largest step at once (reserved), cache filling until ≈ 260 s.
  const samples = run([
    [0, 1405, 12, 512, 8192, 65536, 0],
    [30, 1445, 24, 512, 8192, 65536, 148],
    [120, 1538, 34, 512, 8192, 65536, 308],
    [260, 1586, 46, 512, 8192, 65536, 364],
    [600, 1607, 54, 512, 8192, 65536, 364],
    [668, 1613, 81, 512, 8192, 65536, 364],
  ]);
  const v = memoryVerdict(samples, opts);
  assert.equal(v.warmupEndS, 260);
  assert.equal(v.cacheTouched, 364);
  assert.equal(v.growthPct, 1.7);
  assert.ok(v.ok, v.reason);
  // Had warm-up ended at the floor, the cache's own pages would have counted as growth (+11.6 %).
  const stillFilling = memoryVerdict(
    samples.map((s) => ({ ...s, cacheTouched: s.atS < 500 ? 148 : 364 })),
    opts,
  );
  assert.equal(stillFilling.warmupEndS, null);
  assert.match(stillFilling.reason, /cache blocks touched 148 of 364/);
});
