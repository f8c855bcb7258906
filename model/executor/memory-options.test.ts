import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_EXECUTOR_MEMORY, describeExecutorMemory, parseExecutorMemory } from './memory-options.js';

test('parses a subset over the defaults and describes it back', () => {
  const m = parseExecutorMemory('memPattern=1, shapeBuckets=off');
  assert.deepEqual(m, { ...DEFAULT_EXECUTOR_MEMORY, memPattern: true, shapeBuckets: false });
  assert.deepEqual(parseExecutorMemory(describeExecutorMemory(m)), m);
  assert.deepEqual(parseExecutorMemory(''), DEFAULT_EXECUTOR_MEMORY);
});

test('refuses unknown knobs and values', () => {
  assert.throws(() => parseExecutorMemory('arenaExtend=1'), /bad executor memory option "arenaExtend=1"/);
  assert.throws(() => parseExecutorMemory('cpuArena=2'), RangeError);
});
