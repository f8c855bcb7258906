import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StepShapeStats } from './step-shape-stats.js';

test('counts distinct shapes and sizes, and keeps the largest step by each working-set term', () => {
  const stats = new StepShapeStats();
  assert.deepEqual(stats.largest, { tokens: 0, gathered: 0, attention: 0 });
  stats.record([64, 4, 16, 2, 4]); // a prefill-heavy step: attention 4·16·2 = 128
  stats.record([32, 32, 1, 8, 32]); // a decode batch: gathered 32·8 = 256, attention 256
  stats.record([64, 4, 16, 2, 4]); // seen before
  assert.equal(stats.numShapes, 2);
  assert.equal(stats.numSizes, 2 + 2 + 2 + 2 + 2);
  assert.deepEqual(stats.largest, { tokens: 64, gathered: 256, attention: 256 });
  stats.record([20, 2, 10, 20, 2]); // smaller N, but the most attention blocks: 2·10·20 = 400
  assert.deepEqual(stats.largest, { tokens: 64, gathered: 256, attention: 400 });
  assert.equal(stats.numSizes, 15);
});
