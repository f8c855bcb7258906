import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_QUANT_BLOCK_SIZE } from '../model/graph/compile-options.js';
import { parseModelBenchArgs } from './model-bench-options.js';

test("model-bench defaults: batch-1 decode, the folder's own compile options", () => {
  const o = parseModelBenchArgs([]);
  assert.equal(o.decodeBatch, 1);
  assert.equal(o.promptTokens, 512);
  assert.equal(o.compile, undefined);
});

test('--quant, --kv-cache-dtype and --decode-batch are parsed and checked', () => {
  const o = parseModelBenchArgs([
    '--quant',
    'int8',
    '--kv-cache-dtype',
    'fp8',
    '--decode-batch',
    '16',
    '--prompt-tokens',
    '64',
  ]);
  assert.equal(o.decodeBatch, 16);
  assert.equal(o.promptTokens, 64);
  assert.deepEqual(o.compile, { quant: 'int8', quantBlockSize: DEFAULT_QUANT_BLOCK_SIZE, kvCacheDtype: 'fp8' });
  assert.equal(parseModelBenchArgs(['--kv-cache-dtype', 'fp8']).compile?.quant, 'none');
  assert.throws(() => parseModelBenchArgs(['--quant', 'fp16']), /--quant must be/);
  assert.throws(() => parseModelBenchArgs(['--decode-batch', '0']), /--decode-batch/);
  assert.throws(() => parseModelBenchArgs(['--no-such-flag']));
  assert.equal(parseModelBenchArgs(['--quant', 'int8', '--quant-block-size', '32']).compile?.quantBlockSize, 32);
  assert.throws(() => parseModelBenchArgs(['--quant-block-size', '48']), /power of two/);
});
