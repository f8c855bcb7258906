import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_SESSION_TUNING,
  describeSessionTuning,
  ortSessionFields,
  parseSessionTuning,
} from './session-options.js';

test('fields go to SessionOptions, dotted keys to config entries as strings', () => {
  const t = parseSessionTuning(
    '{"intraOpNumThreads": 2, "graphOptimizationLevel": "extended", "session.intra_op.allow_spinning": false, "session.disable_prepacking": 1}',
  );
  assert.deepEqual(t, {
    intraOpNumThreads: 2,
    graphOptimizationLevel: 'extended',
    configEntries: { 'session.intra_op.allow_spinning': '0', 'session.disable_prepacking': '1' },
  });
  assert.deepEqual(ortSessionFields(t, null), {
    intraOpNumThreads: 2,
    graphOptimizationLevel: 'extended',
    extra: { 'session.intra_op.allow_spinning': '0', 'session.disable_prepacking': '1' },
  });
  assert.deepEqual(parseSessionTuning(describeSessionTuning(t)), t);
});

test('empty text is the defaults; a profile prefix turns profiling on', () => {
  assert.deepEqual(parseSessionTuning(' '), DEFAULT_SESSION_TUNING);
  assert.equal(describeSessionTuning(DEFAULT_SESSION_TUNING), '{}');
  assert.deepEqual(ortSessionFields({}, '/tmp/p/latentserve'), {
    enableProfiling: true,
    profileFilePrefix: '/tmp/p/latentserve',
  });
});

test("options are read over a base, and a config entry can turn the base's back", () => {
  const base = { configEntries: { 'session.intra_op.allow_spinning': '0' } };
  assert.deepEqual(parseSessionTuning('{"intraOpNumThreads": 1}', base), {
    intraOpNumThreads: 1,
    configEntries: { 'session.intra_op.allow_spinning': '0' },
  });
  assert.deepEqual(parseSessionTuning('{"session.intra_op.allow_spinning": "1"}', base).configEntries, {
    'session.intra_op.allow_spinning': '1',
  });
  assert.deepEqual(parseSessionTuning('{"intraOpNumThreads": 1}'), { intraOpNumThreads: 1 });
});

test('refuses unknown keys, bad values and non-objects', () => {
  assert.throws(() => parseSessionTuning('{"intraOpThreads": 2}'), /unknown session option "intraOpThreads"/);
  assert.throws(() => parseSessionTuning('{"interOpNumThreads": -1}'), /interOpNumThreads must be an integer/);
  assert.throws(
    () => parseSessionTuning('{"executionMode": "fast"}'),
    /executionMode must be one of sequential, parallel/,
  );
  assert.throws(() => parseSessionTuning('{"session.x": {"y": 1}}'), /session\.x must be a string/);
  assert.throws(() => parseSessionTuning('[1]'), /must be a JSON object/);
  assert.throws(() => parseSessionTuning('{intra'), /not JSON/);
});
