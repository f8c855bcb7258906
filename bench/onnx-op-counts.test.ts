import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DataType, GraphBuilder } from '../model/onnx/graph-builder.js';
import { onnxOpCounts } from './onnx-op-counts.js';

test('onnxOpCounts counts the nodes of each op type in a built graph', () => {
  const g = new GraphBuilder();
  const x = g.input('x', DataType.FLOAT, ['n', 4]);
  const y = g.op1('Mul', [g.op1('Sigmoid', [x]), g.op1('Sigmoid', [x])]);
  g.output(
    g.op1('SimplifiedLayerNormalization', [y, g.constFloat([1, 1, 1, 1])], { axis: -1, epsilon: { float: 1e-6 } }),
    DataType.FLOAT,
    ['n', 4],
    'y',
  );
  const dir = mkdtempSync(join(tmpdir(), 'op-counts-'));
  try {
    writeFileSync(join(dir, 'm.onnx'), g.build('t', { note: 'x' }));
    const counts = onnxOpCounts(join(dir, 'm.onnx'));
    assert.equal(counts.get('Sigmoid'), 2);
    assert.equal(counts.get('Mul'), 1);
    assert.equal(counts.get('SimplifiedLayerNormalization'), 1);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
