import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder, MS_DOMAIN } from './graph-builder.js';
import { decodeModelProto } from './onnx-proto.js';
import { WeightFile } from './weight-file.js';

// Loose views of the decoded proto (protobufjs toObject: longs as numbers, bytes as number arrays).
interface Entry {
  key: string;
  value: string;
}
interface Attr {
  name: string;
  type: number;
  i?: number;
  f?: number;
  s?: number[];
  ints?: number[];
  floats?: number[];
  t?: Tensor;
}
interface Node {
  op_type: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute?: Attr[];
}
interface Tensor {
  name?: string;
  data_type: number;
  dims?: number[];
  raw_data?: number[];
  data_location?: number;
  external_data?: Entry[];
}
interface Dim {
  dim_value?: number;
  dim_param?: string;
}
interface ValueInfo {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: Dim[] } } };
}
interface Graph {
  name: string;
  node: Node[];
  initializer: Tensor[];
  input: ValueInfo[];
  output: ValueInfo[];
}
interface Model {
  ir_version: number;
  producer_name: string;
  opset_import: { domain?: string; version: number }[];
  metadata_props: Entry[];
  graph: Graph;
}

const f32 = (...v: number[]): Float32Array => Float32Array.from(v);
const floatsOf = (bytes: number[]): number[] => Array.from(new Float32Array(Uint8Array.from(bytes).buffer));
const entries = (t: Tensor): Record<string, string> =>
  Object.fromEntries((t.external_data ?? []).map((e) => [e.key, e.value]));

interface Built {
  readonly dir: string;
  readonly modelPath: string;
  readonly model: Model;
  readonly weightsPath: string;
}

// x [batch, 3] → affine = x·W + c → (affine ⊙ g)ᵀ → LeakyRelu(α = 0.25) → Concat(·, ·; axis 1) → Einsum "ij->ji" → y.
// W [3, 2] and g [2] live in the external weight file; c is an inline constant.
const W = f32(1, 0, 0, 1, 1, -1); // [3, 2]
const C = [0.5, -1];
const G = [2, 0.5];

function buildModel(): Built {
  const dir = mkdtempSync(join(tmpdir(), 'graph-builder-test-'));
  const weightsPath = join(dir, 'weights.bin');
  const weights = new WeightFile(weightsPath);
  const wRef = weights.append(W);
  const gRef = weights.append(f32(G[0]!), f32(G[1]!)); // two parts, one tensor
  weights.close();

  const g = new GraphBuilder();
  const x = g.input('x', DataType.FLOAT, ['batch', 3]);
  const w = g.external('W', DataType.FLOAT, [3, 2], wRef);
  const gain = g.external('gain', DataType.FLOAT, [2], gRef);
  const c = g.constFloat(C);
  const affine = g.op1('Add', [g.op1('MatMul', [x, w]), c]); // [batch, 2]
  const t = g.op1('Transpose', [g.op1('Mul', [affine, gain])], { perm: [1, 0] }); // [2, batch]
  const leaky = g.op1('LeakyRelu', [t], { alpha: { float: 0.25 } });
  const wide = g.op1('Concat', [leaky, leaky], { axis: 1 }); // [2, 2·batch]
  const y = g.op1('Einsum', [wide], { equation: 'ij->ji' }); // [2·batch, 2]
  g.output(affine, DataType.FLOAT, ['batch', 2], 'affine');
  g.output(y, DataType.FLOAT, ['rows', 2], 'y');
  const bytes = g.build('tiny', { purpose: 'test' });
  const modelPath = join(dir, 'model.onnx');
  writeFileSync(modelPath, bytes);
  return { dir, modelPath, model: decodeModelProto(bytes) as unknown as Model, weightsPath };
}

test('the encoded model decodes to the inputs, initializers, nodes and outputs that were built', () => {
  const { dir, model, weightsPath } = buildModel();
  try {
    assert.equal(model.ir_version, 10);
    assert.equal(model.producer_name, 'latentserve');
    assert.deepEqual(
      model.opset_import.map((o) => [o.domain ?? '', o.version]),
      [
        ['', 21],
        [MS_DOMAIN, 1],
      ],
    );
    assert.deepEqual(model.metadata_props, [{ key: 'purpose', value: 'test' }]);

    const graph = model.graph;
    assert.equal(graph.name, 'tiny');
    assert.equal(graph.input.length, 1);
    assert.equal(graph.input[0]!.name, 'x');
    assert.equal(graph.input[0]!.type.tensor_type.elem_type, DataType.FLOAT);
    assert.deepEqual(graph.input[0]!.type.tensor_type.shape.dim, [{ dim_param: 'batch' }, { dim_value: 3 }]);
    assert.deepEqual(
      graph.output.map((o) => o.name),
      ['affine', 'y'],
    );
    assert.deepEqual(graph.output[1]!.type.tensor_type.shape.dim, [{ dim_param: 'rows' }, { dim_value: 2 }]);

    const byName = new Map(graph.initializer.map((t) => [t.name, t]));
    const w = byName.get('W')!;
    assert.equal(w.data_type, DataType.FLOAT);
    assert.deepEqual(w.dims, [3, 2]);
    assert.equal(w.data_location, 1);
    assert.equal(w.raw_data, undefined);
    assert.deepEqual(entries(w), { location: 'weights.bin', offset: '0', length: '24' });
    const gain = byName.get('gain')!;
    assert.deepEqual(gain.dims, [2]);
    assert.deepEqual(entries(gain), { location: 'weights.bin', offset: '4096', length: '8' });
    for (const t of [w, gain]) assert.equal(Number(entries(t).offset) % 4096, 0);

    // The one inline constant carries c's bytes.
    const inline = graph.initializer.filter((t) => t.data_location !== 1);
    assert.equal(inline.length, 1);
    assert.deepEqual(inline[0]!.dims, [2]);
    assert.deepEqual(floatsOf(inline[0]!.raw_data!), C);

    assert.deepEqual(
      graph.node.map((n) => n.op_type),
      ['MatMul', 'Add', 'Mul', 'Transpose', 'LeakyRelu', 'Concat', 'Einsum', 'Identity', 'Identity'],
    );
    const node = (op: string): Node => graph.node.find((n) => n.op_type === op)!;
    assert.deepEqual(node('MatMul').input, ['x', 'W']);
    assert.deepEqual(node('Add').input, [node('MatMul').output[0], inline[0]!.name]);
    assert.deepEqual(node('Transpose').attribute, [{ name: 'perm', type: 7, ints: [1, 0] }]);
    assert.deepEqual(node('LeakyRelu').attribute, [{ name: 'alpha', type: 1, f: 0.25 }]);
    assert.deepEqual(node('Concat').attribute, [{ name: 'axis', type: 2, i: 1 }]);
    const eq = node('Einsum').attribute![0]!;
    assert.equal(eq.name, 'equation');
    assert.equal(eq.type, 3);
    assert.equal(Buffer.from(eq.s!).toString('utf8'), 'ij->ji');
    assert.deepEqual(
      graph.node.filter((n) => n.op_type === 'Identity').map((n) => n.output[0]),
      ['affine', 'y'],
    );

    // The weight file holds W at 0, zero padding, then g at the next page.
    const file = readFileSync(weightsPath);
    assert.equal(file.length, 4096 + 8);
    assert.deepEqual(
      Array.from(new Float32Array(file.buffer.slice(file.byteOffset, file.byteOffset + 24))),
      Array.from(W),
    );
    assert.ok(file.subarray(24, 4096).every((b) => b === 0));
    assert.deepEqual(
      Array.from(new Float32Array(file.buffer.slice(file.byteOffset + 4096, file.byteOffset + 4104))),
      G,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('onnxruntime runs the built model with its external weights', async () => {
  const { dir, modelPath } = buildModel();
  try {
    const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'], logSeverityLevel: 3 });
    try {
      const x = new ort.Tensor('float32', f32(1, 2, 3, -1, 0, 2), [2, 3]);
      const out = await session.run({ x });
      const affine = out['affine']!;
      assert.deepEqual(affine.dims, [2, 2]);
      // x·W = [[4, −1], [1, −2]]; + c
      assert.deepEqual(Array.from(affine.data as Float32Array), [4.5, -2, 1.5, -3]);
      const y = out['y']!;
      // (affine ⊙ g)ᵀ = [[9, 3], [−1, −1.5]] → leaky → [[9, 3], [−0.25, −0.375]] → concat → transpose
      assert.deepEqual(y.dims, [4, 2]);
      assert.deepEqual(Array.from(y.data as Float32Array), [9, -0.25, 3, -0.375, 9, -0.25, 3, -0.375]);
    } finally {
      await session.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('float lists and tensor attributes encode', () => {
  const g = new GraphBuilder();
  const x = g.input('x', DataType.FLOAT, [2]);
  g.op1(
    'Custom',
    [x, null],
    {
      scales: { floats: [0.5, 1.5] },
      value: {
        tensor: { dataType: DataType.INT64, dims: [1], bytes: new Uint8Array(BigInt64Array.from([7n]).buffer) },
      },
    },
    MS_DOMAIN,
  );
  const model = decodeModelProto(g.build('attrs')) as unknown as Model;
  const node = model.graph.node[0]!;
  assert.equal(node.domain, MS_DOMAIN);
  assert.deepEqual(node.input, ['x', '']);
  const [scales, value] = node.attribute!;
  assert.deepEqual(scales, { name: 'scales', type: 6, floats: [0.5, 1.5] });
  assert.equal(value!.type, 4);
  assert.equal(value!.t!.data_type, DataType.INT64);
  assert.deepEqual(value!.t!.dims, [1]);
  assert.deepEqual(value!.t!.raw_data, [7, 0, 0, 0, 0, 0, 0, 0]);
});

test('identical constants are shared, different ones are not', () => {
  const g = new GraphBuilder();
  const a = g.constFloat([1, 2]);
  assert.equal(g.constFloat([1, 2]), a);
  assert.notEqual(g.constFloat([1, 2], [2, 1]), a);
  assert.notEqual(g.constInt64([1, 2]), a);
  const model = decodeModelProto(g.build('consts')) as unknown as Model;
  assert.equal(model.graph.initializer.length, 3);
});

test('duplicate value names throw', () => {
  const g = new GraphBuilder();
  const x = g.input('x', DataType.FLOAT, [2]);
  assert.throws(() => g.input('x', DataType.FLOAT, [2]), /duplicate ONNX value name "x"/);
  assert.throws(
    () => g.external('x', DataType.FLOAT, [2], { location: 'w.bin', offset: 0, length: 8 }),
    /duplicate.*"x"/,
  );
  assert.throws(
    () => g.inline('x', { dataType: DataType.FLOAT, dims: [], bytes: new Uint8Array(4) }),
    /duplicate.*"x"/,
  );
  g.op('Relu', [x], {}, { name: 'r' });
  assert.throws(() => g.op('Relu', [x], {}, { name: 'r' }), /duplicate.*"r"/);
  assert.throws(() => g.output(x, DataType.FLOAT, [2], 'r'), /duplicate.*"r"/);
});

test('a non-integer number attribute without { float } throws', () => {
  const g = new GraphBuilder();
  const x = g.input('x', DataType.FLOAT, [2]);
  assert.throws(
    () => g.op1('LeakyRelu', [x], { alpha: 0.25 }),
    /attribute alpha: use \{ float \} for non-integer 0\.25/,
  );
  // An integer-valued number is an INT attribute, a { float } one a FLOAT attribute.
  g.op1('LeakyRelu', [x], { alpha: { float: 1 } });
  g.op1('Concat', [x, x], { axis: 0 });
  const nodes = (decodeModelProto(g.build('attrs')) as unknown as Model).graph.node;
  assert.equal(nodes.length, 2);
  assert.equal(nodes[0]!.attribute![0]!.type, 1);
  assert.equal(nodes[1]!.attribute![0]!.type, 2);
});
