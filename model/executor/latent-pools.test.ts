import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatentPools } from './latent-pools.js';

for (const dtype of ['fp32', 'fp8'] as const) {
  test(`${dtype}: copy moves rows (and their scales) in every layer, leaving the rest alone`, () => {
    const rowWidth = 3;
    const pools = new LatentPools(2, 4, 2, rowWidth, dtype); // 2 layers, 4 blocks of 2 slots
    const rows = (seed: number): Float32Array => Float32Array.from({ length: 2 * rowWidth }, (_, i) => seed + i * 0.5);
    for (let l = 0; l < 2; l++) pools.write(l, Int32Array.of(2, 3), rows(l + 1)); // block 1 full
    const snapshot = (): number[][] => pools.inputs.map((p) => [...p.data]);
    const before = snapshot();
    pools.copy(2, 6, 1); // block 1's first row into block 3's first slot
    const after = snapshot();
    pools.inputs.forEach((p, k) => {
      const width = p.dims.length === 3 ? rowWidth : 1; // rows, or fp8 scales (one per slot)
      const slot = (s: number, data: number[]): number[] => data.slice(s * width, (s + 1) * width);
      assert.deepEqual(slot(6, after[k]!), slot(2, before[k]!), `${p.name}: slot 6 holds slot 2's row`);
      assert.notDeepEqual(slot(2, before[k]!), slot(6, before[k]!));
      for (let s = 0; s < 8; s++)
        if (s !== 6) assert.deepEqual(slot(s, after[k]!), slot(s, before[k]!), `${p.name}: slot ${s} untouched`);
    });
    assert.equal(pools.inputs.length, dtype === 'fp8' ? 4 : 2);
  });
}
