// One vocabulary rule for every field that names token ids: the model's rows (config vocab_size, padded past the
// tokenizer as real checkpoints are) that the tokenizer knows. The fixture tokenizer knows ids 0–965; the config
// has 1024 rows.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL, startTestServer, type TestServer } from './harness.test-helper.js';

const CONFIG_VOCAB = 1024;
let s: TestServer;
before(async () => {
  s = await startTestServer({ vocabSize: CONFIG_VOCAB });
});
after(async () => {
  await s.close();
});

test('the fixture pads its vocabulary (the premise of this test)', () => {
  assert.ok(s.tokenizer.vocabSize < CONFIG_VOCAB);
  assert.equal(s.tokenizer.idToToken(s.tokenizer.vocabSize), null);
});

test('a padding row id is refused with the same 400 by completions (ids, lists), logit_bias, stop_token_ids, allowed_token_ids and /detokenize', async () => {
  const padded = s.tokenizer.vocabSize; // a model row with no token
  const last = s.tokenizer.vocabSize - 1;
  const refusals = [
    ['prompt', await s.post('/v1/completions', { model: MODEL, prompt: [1, padded], max_tokens: 1 })],
    ['prompt', await s.post('/v1/completions', { model: MODEL, prompt: [[1, 2], [padded]], max_tokens: 1 })],
    [
      'logit_bias',
      await s.post('/v1/completions', { model: MODEL, prompt: 'Hi', max_tokens: 1, logit_bias: { [padded]: 5 } }),
    ],
    [
      'logit_bias',
      await s.post('/v1/chat/completions', {
        model: MODEL,
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 1,
        logit_bias: { [padded]: 5 },
      }),
    ],
    [
      'stop_token_ids',
      await s.post('/v1/completions', { model: MODEL, prompt: 'Hi', max_tokens: 1, stop_token_ids: [2, padded] }),
    ],
    [
      'allowed_token_ids',
      await s.post('/v1/chat/completions', {
        model: MODEL,
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 1,
        allowed_token_ids: [padded],
      }),
    ],
    ['tokens', await s.post('/detokenize', { model: MODEL, tokens: [1, padded] })],
  ] as const;
  for (const [param, res] of refusals) {
    assert.equal(res.status, 400, JSON.stringify(res.json));
    assert.equal(res.json.error.param, param);
    assert.equal(res.json.error.type, 'invalid_request_error');
    assert.equal(
      res.json.error.message,
      `Token id ${padded} is out of vocabulary: this model's token ids are 0 to ${last}.`,
    );
  }
  // The last id the tokenizer knows is accepted everywhere.
  assert.equal((await s.post('/v1/completions', { model: MODEL, prompt: [1, last], max_tokens: 1 })).status, 200);
  assert.equal(
    (await s.post('/v1/completions', { model: MODEL, prompt: 'Hi', max_tokens: 1, logit_bias: { [last]: 5 } })).status,
    200,
  );
  assert.equal((await s.post('/detokenize', { model: MODEL, tokens: [1, last] })).status, 200);
});
