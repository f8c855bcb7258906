import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { prefetchFile } from './prefetch.js';

test('prefetchFile reads the whole file; a missing file or one over the memory fraction is skipped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prefetch-test-'));
  try {
    const path = join(dir, 'model.onnx.data');
    writeFileSync(path, new Uint8Array((8 << 20) + 12345).fill(7)); // more than one read chunk
    const read = await prefetchFile(path);
    assert.equal(read?.bytes, (8 << 20) + 12345);
    assert.ok(read!.ms >= 0);
    assert.equal(await prefetchFile(join(dir, 'absent.data')), null);
    assert.equal(await prefetchFile(path, 1e-9), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
