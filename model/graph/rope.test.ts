import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelConfig, type ModelConfig } from '../config.js';
import { ropeAmplitude, ropeInverseFrequencies, softmaxScale, yarnMscale } from './rope.js';

// Compiled to dist/model/graph/rope.test.js: three levels up is the repository root.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = (name: string): string => join(repoRoot, 'tests', 'fixtures', name);

interface ReferenceNumbers {
  readonly rope_freqs: number[];
  readonly softmax_scale: number;
  readonly yarn_active: boolean;
}

function reference(name: string): ReferenceNumbers {
  const raw = JSON.parse(readFileSync(join(fixture(name), 'reference.json'), 'utf8')) as {
    reference: ReferenceNumbers;
  };
  return raw.reference;
}

function assertRelClose(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

test('deepseek-v3-tiny-b: yarn frequencies and softmax scale match the reference implementation', () => {
  const config = loadModelConfig(fixture('deepseek-v3-tiny-b'));
  const ref = reference('deepseek-v3-tiny-b');
  assert.equal(ref.yarn_active, true);
  assert.notEqual(config.ropeScaling, null);
  const freqs = ropeInverseFrequencies(config);
  assert.equal(freqs.length, config.qkRopeHeadDim / 2);
  assert.equal(freqs.length, ref.rope_freqs.length);
  ref.rope_freqs.forEach((want, i) => assertRelClose(freqs[i]!, want, 1e-7, `freq ${i}`));
  assertRelClose(softmaxScale(config), ref.softmax_scale, 1e-6, 'softmax scale');
  // The fixture scales the slow dims: yarn must actually change something.
  assert.ok(Math.abs(freqs[1]! - 1 / Math.pow(config.ropeTheta, 2 / config.qkRopeHeadDim)) > 1e-3);
});

test('deepseek-v2-tiny (no rope scaling): θᵢ = base^(−2i/d) and scale = (qkNope + qkRope)^−½', () => {
  const config = loadModelConfig(fixture('deepseek-v2-tiny'));
  assert.equal(config.ropeScaling, null);
  const d = config.qkRopeHeadDim;
  const freqs = ropeInverseFrequencies(config);
  assert.equal(freqs.length, d / 2);
  for (let i = 0; i < d / 2; i++) assertRelClose(freqs[i]!, Math.pow(10000, (-2 * i) / d), 1e-7, `freq ${i}`);
  assertRelClose(
    softmaxScale(config),
    1 / Math.sqrt(config.qkNopeHeadDim + config.qkRopeHeadDim),
    1e-12,
    'softmax scale',
  );
  assert.equal(ropeAmplitude(config), 1);
  // The reference agrees.
  const ref = reference('deepseek-v2-tiny');
  ref.rope_freqs.forEach((want, i) => assertRelClose(freqs[i]!, want, 1e-7, `reference freq ${i}`));
  assertRelClose(softmaxScale(config), ref.softmax_scale, 1e-6, 'reference softmax scale');
});

function withYarn(base: ModelConfig, mscale: number, mscaleAllDim: number): ModelConfig {
  return { ...base, ropeScaling: { ...base.ropeScaling!, mscale, mscaleAllDim } };
}

test('ropeAmplitude is 1 exactly when mscale == mscale_all_dim', () => {
  const v3 = loadModelConfig(fixture('deepseek-v3-tiny-b'));
  assert.equal(ropeAmplitude(v3), 1);
  assert.equal(ropeAmplitude(withYarn(v3, 1, 1)), 1);
  const a = ropeAmplitude(withYarn(v3, 1, 0));
  assertRelClose(a, 0.1 * Math.log(2) + 1, 1e-12, 'amplitude mscale 1 / mscale_all_dim 0');
  assert.notEqual(ropeAmplitude(withYarn(v3, 0.707, 1)), 1);
});

test('softmaxScale multiplies by mscale(factor, mscale_all_dim)² under yarn', () => {
  const v3 = loadModelConfig(fixture('deepseek-v3-tiny-b'));
  const base = 1 / Math.sqrt(v3.qkNopeHeadDim + v3.qkRopeHeadDim);
  const m = 0.1 * 1 * Math.log(v3.ropeScaling!.factor) + 1;
  assertRelClose(softmaxScale(withYarn(v3, 0.707, 1)), base * m * m, 1e-12, 'mscale_all_dim 1');
  assertRelClose(softmaxScale(withYarn(v3, 0.707, 0)), base, 1e-12, 'mscale_all_dim 0');
});

test('yarnMscale', () => {
  assert.equal(yarnMscale(1, 0.707), 1);
  assert.equal(yarnMscale(1, 5), 1);
  assert.equal(yarnMscale(0.5, 1), 1);
  assertRelClose(yarnMscale(40, 1), 0.1 * Math.log(40) + 1, 1e-15, 'factor 40');
  assertRelClose(yarnMscale(2, 0.707), 0.0707 * Math.log(2) + 1, 1e-15, 'factor 2');
});
