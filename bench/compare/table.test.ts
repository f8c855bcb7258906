import assert from 'node:assert/strict';
import { test } from 'node:test';
import { markdownTable, median, rooflinePercent, rowStats, speedRatio, type Row } from './table.js';

test('median of odd and even counts; none is null', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), null);
});

test('speed ratio: throughput latentserve ÷ llama.cpp, times llama.cpp ÷ latentserve', () => {
  assert.equal(speedRatio(80, 100, 'higher'), 0.8);
  assert.equal(speedRatio(2, 3, 'lower'), 1.5);
  assert.equal(speedRatio(null, 3, 'lower'), null);
  assert.equal(speedRatio(0, 3, 'higher'), null);
});

const row: Row = {
  label: 'int8 decode, batch 1',
  unit: 'tok/s',
  better: 'higher',
  latent: [60, 80, 70],
  llama: [100, 100, 140],
  llamaNote: 'Q8_0',
};

test('ratios pair samples of the same round, then take the median of the ratios', () => {
  const s = rowStats(row);
  assert.deepEqual(s.ratios, [0.6, 0.8, 0.5]);
  assert.equal(s.medianRatio, 0.6); // not median(latent) / median(llama) = 0.7
  assert.equal(s.latentMedian, 70);
  assert.deepEqual(s.latentRange, [60, 80]);
  assert.deepEqual(s.llamaRange, [100, 140]);
});

test('a round missing one side has no ratio and does not count', () => {
  const s = rowStats({ ...row, latent: [60, null, 70], llama: [100, 100] });
  assert.deepEqual(s.ratios, [0.6, null, null]);
  assert.equal(s.medianRatio, 0.6);
  assert.equal(s.latentMedian, 65);
});

test('the markdown table shows medians, ranges, every ratio and the roofline percentages', () => {
  const md = markdownTable(
    [row],
    [
      {
        label: 'int8',
        bytesPerToken: 100e6,
        latentTokensPerSecond: 70,
        llamaTokensPerSecond: 100,
        triadBytesPerSecond: 20e9,
      },
    ],
  );
  const lines = md.trimEnd().split('\n');
  assert.equal(lines.length, 4);
  assert.equal(
    lines[2],
    '| int8 decode, batch 1 (tok/s) | 70.0 (60.0–80.0) | Q8_0 100.0 (100.0–140.0) | 0.60 / 0.80 / 0.50 | **0.60** |',
  );
  assert.equal(lines[3], '| int8: 100 MB/token × tok/s ÷ STREAM triad (20.0 GB/s) | 35 % | 50 % | | |');
  const w8a8 = markdownTable(
    [],
    [
      {
        label: 'w8a8',
        bytesPerToken: 100e6,
        llamaBytesPerToken: 200e6,
        latentTokensPerSecond: 70,
        llamaTokensPerSecond: 100,
        triadBytesPerSecond: 20e9,
      },
    ],
  );
  assert.equal(
    w8a8.trimEnd().split('\n')[2],
    '| w8a8: 100 (llama.cpp 200) MB/token × tok/s ÷ STREAM triad (20.0 GB/s) | 35 % | 100 % | | |',
  );
});

test('roofline percent: bytes per token × rate ÷ bandwidth', () => {
  assert.equal(rooflinePercent(50, 200e6, 20e9), 50);
  assert.equal(rooflinePercent(null, 200e6, 20e9), null);
  assert.equal(rooflinePercent(50, 200e6, null), null);
});
