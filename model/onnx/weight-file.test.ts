import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, GraphBuilder } from './graph-builder.js';
import { decodeModelProto } from './onnx-proto.js';
import { STRIPE_BYTES, WeightFile } from './weight-file.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'weight-file-test-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('chunked writes: tiny write chunks give the same file, offsets and page alignment as whole writes', () => {
  withDir((dir) => {
    const a = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5 - 7);
    const b = Uint8Array.from({ length: 5001 }, (_, i) => (i * 31) & 0xff);
    const write = (path: string, maxWriteBytes?: number): { refs: unknown[]; bytes: Buffer } => {
      const file = new WeightFile(path, maxWriteBytes === undefined ? {} : { maxWriteBytes });
      const refs = [file.append(a), file.appendParts([b.subarray(0, 3), b.subarray(3)]), file.append(a.subarray(1, 2))];
      file.close();
      return { refs, bytes: readFileSync(path) };
    };
    const whole = write(join(dir, 'whole.bin'));
    for (const chunk of [1, 7, 4096]) {
      const chunked = write(join(dir, `chunked-${chunk}.bin`), chunk);
      assert.deepEqual(
        chunked.refs,
        whole.refs.map((r) => ({ ...(r as object), location: `chunked-${chunk}.bin` })),
      );
      assert.ok(chunked.bytes.equals(whole.bytes), `chunk ${chunk}`);
    }
    assert.deepEqual(
      whole.refs.map((r) => (r as { offset: number }).offset),
      [0, 4096, 12288],
    );
    const first = new Float32Array(whole.bytes.buffer.slice(whole.bytes.byteOffset, whole.bytes.byteOffset + 4000));
    assert.deepEqual(first, a);
    assert.throws(() => new WeightFile(join(dir, 'x.bin'), { maxWriteBytes: 2 ** 31 }), /maxWriteBytes/);
  });
});

test('stripes: tensors across stripe boundaries, written straight or staged, land whole at their offsets', () => {
  withDir((dir) => {
    const bytes = (n: number, seed: number): Uint8Array =>
      Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);
    // Straight: 2.5 stripes at offset 0 (2 written directly, the half staged); then small tensors that fill the
    // stripe and spill over; then a tensor larger than a stripe that starts mid-stripe (all staged); then a tail.
    const tensors = [
      bytes(2.5 * STRIPE_BYTES, 1),
      bytes(5, 2),
      bytes(STRIPE_BYTES / 2 - 4096 + 17, 3),
      bytes(1.25 * STRIPE_BYTES, 4),
      bytes(100, 5),
    ];
    for (const maxWriteBytes of [undefined, 3 * 1024 * 1024 + 1]) {
      const path = join(dir, `w-${maxWriteBytes ?? 'default'}.bin`);
      const file = new WeightFile(path, maxWriteBytes === undefined ? {} : { maxWriteBytes });
      const refs = tensors.map((t, i) =>
        i === 3 ? file.appendParts([t.subarray(0, 9), t.subarray(9)]) : file.append(t),
      );
      assert.equal(file.sizeBytes, refs.at(-1)!.offset + 100);
      file.close();
      const out = readFileSync(path);
      assert.equal(out.length, file.sizeBytes);
      refs.forEach((ref, i) => {
        assert.equal(ref.offset % 4096, 0);
        assert.equal(ref.length, tensors[i]!.length);
        assert.ok(out.subarray(ref.offset, ref.offset + ref.length).equals(tensors[i]!), `tensor ${i}`);
      });
    }
  });
});

test('external initializers keep offsets and lengths beyond 2^31 and 2^32 exactly', () => {
  const g = new GraphBuilder();
  const offsets = [2 ** 31 + 4096, 2 ** 32 + 8192, 700e9];
  for (const [i, offset] of offsets.entries()) {
    g.external(`w${i}`, DataType.FLOAT, [129280, 7168], {
      location: 'model.onnx.data',
      offset,
      length: 129280 * 7168 * 4,
    });
  }
  g.output(g.op1('Identity', ['w0' as never]), DataType.FLOAT, [129280, 7168]);
  const model = decodeModelProto(g.build('big')) as {
    graph: { initializer: { dims: number[]; external_data: { key: string; value: string }[] }[] };
  };
  for (const [i, init] of model.graph.initializer.entries()) {
    const entries = Object.fromEntries(init.external_data.map((e) => [e.key, e.value]));
    assert.equal(entries['offset'], String(offsets[i]));
    assert.equal(entries['length'], String(129280 * 7168 * 4));
    assert.deepEqual(init.dims, [129280, 7168]);
  }
});
