import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, isMoeLayer, latentRowWidth, loadModelConfig, parseModelConfig } from './config.js';

// Compiled to dist/model/config.test.js: two levels up is the repository root.
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string): string => join(repoRoot, 'tests', 'fixtures', name);

function rawConfig(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(fixture(name), 'config.json'), 'utf8')) as Record<string, unknown>;
}

/** Asserts that parsing `raw` throws a ConfigError naming `field`. */
function assertFieldError(raw: unknown, field: string, extra?: RegExp): void {
  assert.throws(
    () => parseModelConfig(raw),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.ok(err.message.includes(`field "${field}`), `message should name ${field}: ${err.message}`);
      if (extra) assert.match(err.message, extra);
      return true;
    },
  );
}

test('deepseek-v2-tiny parses', () => {
  const c = loadModelConfig(fixture('deepseek-v2-tiny'));
  assert.equal(c.modelType, 'deepseek_v2');
  assert.equal(c.vocabSize, 1024);
  assert.equal(c.hiddenSize, 64);
  assert.equal(c.numHiddenLayers, 3);
  assert.equal(c.qLoraRank, null);
  assert.equal(c.kvLoraRank, 32);
  assert.equal(c.qkNopeHeadDim, 16);
  assert.equal(c.qkRopeHeadDim, 8);
  assert.equal(c.vHeadDim, 16);
  assert.equal(c.ropeScaling, null);
  assert.equal(c.firstKDenseReplace, 1);
  assert.equal(c.bosTokenId, 0);
  assert.deepEqual(c.eosTokenIds, [1]);
  assert.equal(c.quantizationConfig, null);
  assert.deepEqual(c.moe, {
    nRoutedExperts: 8,
    nSharedExperts: 2,
    numExpertsPerTok: 2,
    moeIntermediateSize: 32,
    scoringFunc: 'softmax',
    topkMethod: 'greedy',
    nGroup: 1,
    topkGroup: 1,
    normTopkProb: false,
    routedScalingFactor: 1,
  });
  assert.equal(latentRowWidth(c), 40);
  assert.deepEqual(
    [0, 1, 2].map((l) => isMoeLayer(c, l)),
    [false, true, true],
  );
});

test('deepseek-v3-tiny-b parses, including yarn and noaux_tc routing', () => {
  const c = loadModelConfig(fixture('deepseek-v3-tiny-b'));
  assert.equal(c.modelType, 'deepseek_v3');
  assert.equal(c.qLoraRank, 32);
  assert.equal(c.ropeTheta, 10000);
  assert.equal(c.rmsNormEps, 1e-6);
  assert.equal(c.maxPositionEmbeddings, 512);
  assert.deepEqual(c.ropeScaling, {
    factor: 2,
    originalMaxPositionEmbeddings: 32,
    betaFast: 32,
    betaSlow: 1,
    mscale: 0.707,
    mscaleAllDim: 0.707,
  });
  assert.equal(c.moe?.scoringFunc, 'sigmoid');
  assert.equal(c.moe?.topkMethod, 'noaux_tc');
  assert.equal(c.moe?.nGroup, 2);
  assert.equal(c.moe?.topkGroup, 1);
  assert.equal(c.moe?.normTopkProb, true);
  assert.equal(c.moe?.routedScalingFactor, 1.5);
  assert.equal(latentRowWidth(c), 32 + 8);
  assert.equal(isMoeLayer(c, 0), false);
  assert.equal(isMoeLayer(c, 2), true);
});

test('isMoeLayer follows first_k_dense_replace and moe_layer_freq; dense models have no MoE layers', () => {
  const base = rawConfig('deepseek-v2-tiny');
  const c = parseModelConfig({ ...base, num_hidden_layers: 8, first_k_dense_replace: 3, moe_layer_freq: 2 });
  assert.equal(c.moeLayerFreq, 2);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].map((l) => isMoeLayer(c, l)),
    [false, false, false, false, true, false, true, false],
  );
  const dense = parseModelConfig({ ...base, n_routed_experts: null });
  assert.equal(dense.moe, null);
  assert.equal(isMoeLayer(dense, 2), false);
});

test('eos_token_id may be a list', () => {
  const c = parseModelConfig({ ...rawConfig('deepseek-v2-tiny'), eos_token_id: [1, 5] });
  assert.deepEqual(c.eosTokenIds, [1, 5]);
});

test('missing kv_lora_rank names the field', () => {
  const raw = rawConfig('deepseek-v2-tiny');
  delete raw.kv_lora_rank;
  assertFieldError(raw, 'kv_lora_rank');
});

test('unsupported scoring_func names the field', () => {
  assertFieldError({ ...rawConfig('deepseek-v3-tiny-b'), scoring_func: 'relu' }, 'scoring_func');
});

test('topk_method noaux_tc without n_group names n_group', () => {
  const raw = rawConfig('deepseek-v3-tiny-b');
  delete raw.n_group;
  assertFieldError(raw, 'n_group', /noaux_tc/);
});

test('num_experts_per_tok above n_routed_experts names the field', () => {
  assertFieldError(
    { ...rawConfig('deepseek-v2-tiny'), num_experts_per_tok: 9 },
    'num_experts_per_tok',
    /9 exceeds n_routed_experts 8/,
  );
});

test('rope_scaling of type "linear" is refused, naming rope_scaling', () => {
  const raw = rawConfig('deepseek-v3-tiny-b');
  assertFieldError(
    { ...raw, rope_scaling: { type: 'linear', factor: 2, original_max_position_embeddings: 32 } },
    'rope_scaling',
  );
  assertFieldError(
    { ...raw, rope_scaling: { rope_type: 'linear', factor: 2, original_max_position_embeddings: 32 } },
    'rope_scaling',
  );
});

test('tie_word_embeddings true names the field', () => {
  assertFieldError(
    { ...rawConfig('deepseek-v2-tiny'), tie_word_embeddings: true },
    'tie_word_embeddings',
    /tied embeddings/,
  );
});

test('the error names the source file', () => {
  assert.throws(
    () => parseModelConfig({ ...rawConfig('deepseek-v2-tiny'), scoring_func: 'relu' }, '/models/x/config.json'),
    /^ConfigError: \/models\/x\/config\.json: field "scoring_func"/,
  );
});

test('loadModelConfig on a folder with no config.json gives a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-test-'));
  try {
    assert.throws(
      () => loadModelConfig(dir),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(err.message.includes(join(dir, 'config.json')), err.message);
        assert.match(err.message, /cannot read config\.json/);
        return true;
      },
    );
    writeFileSync(join(dir, 'config.json'), '{ not json');
    assert.throws(() => loadModelConfig(dir), /invalid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
