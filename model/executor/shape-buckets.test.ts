import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bucketUp, bucketsUpTo } from './shape-buckets.js';

test('exact up to 8, then four buckets per octave', () => {
  assert.deepEqual(
    [1, 2, 7, 8, 9, 10, 11, 13, 17, 33, 300, 512, 513].map(bucketUp),
    [1, 2, 7, 8, 10, 10, 12, 14, 20, 40, 320, 512, 640],
  );
  assert.deepEqual(bucketsUpTo(32), [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32]);
  assert.equal(bucketsUpTo(512).length, 32);
});

test('property: a bucket holds n, is a fixed point, grows with n, and wastes at most 25 %', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1 << 20 }), fc.integer({ min: 1, max: 1 << 20 }), (n, m) => {
      const b = bucketUp(n);
      assert.ok(b >= n && b < 1.25 * n + 1);
      assert.equal(bucketUp(b), b);
      if (n <= m) assert.ok(bucketUp(n) <= bucketUp(m));
    }),
  );
});

test('refuses what is not a positive integer', () => {
  assert.throws(() => bucketUp(0), RangeError);
  assert.throws(() => bucketUp(2.5), RangeError);
});
