import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCompareArgs, promptsForStreams, withThreads } from './args.js';

const ENV = {
  LLAMA_SERVER: '/l/llama-server',
  LLAMA_BENCH: '/l/llama-bench',
  GGUF_Q8_0: '/g/q8.gguf',
  GGUF_F32: '/g/f32.gguf',
};

test('defaults: every row, all three formats, 1/4/16/32 int8 and w8a8 streams and 16 float32 streams, paths from the environment', () => {
  const c = parseCompareArgs(['--model', '/m'], ENV);
  assert.equal(c.model, '/m');
  assert.equal(c.rounds, 3);
  assert.deepEqual(c.rows, ['decode', 'serve', 'ttft']);
  assert.deepEqual(c.quants, ['int8', 'w8a8', 'float32']);
  assert.deepEqual(c.streams, { int8: [1, 4, 16, 32], w8a8: [1, 4, 16, 32], float32: [16] });
  assert.deepEqual(c.gguf, { Q8_0: '/g/q8.gguf', F32: '/g/f32.gguf' });
  assert.equal(c.llamaServer, '/l/llama-server');
  assert.equal(c.promptTokens, 64);
  assert.equal(c.outputTokens, 128);
  assert.equal(c.coldPromptTokens, 1080);
  assert.equal(c.shortPromptTokens, 48);
  assert.deepEqual(c.llamaServerArgs, ['--no-repack']);
  assert.deepEqual(c.llamaBenchArgs, []);
});

test('a quick run: flags pick rounds, rows, formats and stream counts; flags beat the environment', () => {
  const c = parseCompareArgs(
    [
      '--model',
      '/m',
      '--rounds',
      '1',
      '--rows',
      'serve',
      '--quants',
      'int8',
      '--streams',
      '1,16',
      '--float32-streams',
      'none',
      '--gguf-q8-0',
      '/x.gguf',
    ],
    ENV,
  );
  assert.equal(c.rounds, 1);
  assert.deepEqual(c.rows, ['serve']);
  assert.deepEqual(c.quants, ['int8']);
  assert.deepEqual(c.streams, { int8: [1, 16], w8a8: [1, 16], float32: [] });
  assert.equal(c.gguf.Q8_0, '/x.gguf');
  assert.deepEqual(
    parseCompareArgs(['--model', '/m', '--llama-server-args', ' -fa on  --no-repack'], ENV).llamaServerArgs,
    ['-fa', 'on', '--no-repack'],
  );
});

test('refuses missing model, bad numbers and unknown rows', () => {
  assert.throws(() => parseCompareArgs([], ENV), /--model DIR is required/);
  assert.throws(() => parseCompareArgs(['--model', '/m', '--rounds', '0'], ENV), /--rounds must be an integer ≥ 1/);
  assert.throws(
    () => parseCompareArgs(['--model', '/m', '--rows', 'decode,prefill'], ENV),
    /--rows: unknown "prefill"/,
  );
  assert.throws(() => parseCompareArgs(['--model', '/m', '--streams', 'inf'], ENV), /must be finite/);
});

test('refuses up front when a row asked for has no llama.cpp side', () => {
  assert.throws(() => parseCompareArgs(['--model', '/m'], { ...ENV, LLAMA_BENCH: '' }), /need LLAMA_BENCH/);
  assert.throws(() => parseCompareArgs(['--model', '/m', '--rows', 'ttft'], { LLAMA_SERVER: '/s' }), /need GGUF_Q8_0/);
  // float32 decode only: no server, no Q8_0 needed.
  const c = parseCompareArgs(['--model', '/m', '--rows', 'decode', '--quants', 'float32'], {
    LLAMA_BENCH: '/b',
    GGUF_F32: '/f',
  });
  assert.equal(c.llamaServer, null);
});

test('requests per serving level', () => {
  assert.equal(promptsForStreams({ promptsPerStream: 2, minPrompts: 8 }, 1), 8);
  assert.equal(promptsForStreams({ promptsPerStream: 2, minPrompts: 8 }, 32), 64);
});

test('--threads sets both sides: llama.cpp -t and ONNX Runtime intra-op threads, unless the session options name their own', () => {
  assert.equal(parseCompareArgs(['--model', '/m'], ENV).sessionOptions, '');
  assert.equal(parseCompareArgs(['--model', '/m', '--threads', '1'], ENV).sessionOptions, '{"intraOpNumThreads":1}');
  assert.equal(
    withThreads('{"session.intra_op.allow_spinning": "0"}', 2),
    '{"intraOpNumThreads":2,"session.intra_op.allow_spinning":"0"}',
  );
  assert.equal(withThreads('{"intraOpNumThreads": 4}', 1), '{"intraOpNumThreads":4}');
  assert.throws(
    () => parseCompareArgs(['--model', '/m', '--session-options', '{"threads": 1}'], ENV),
    /unknown session option "threads"/,
  );
});
