import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SafetensorsCheckpoint, halfToFloat32, type SafetensorsDtype } from './safetensors.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

interface TestTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
}

/** Writes a header object and data bytes in safetensors layout, padding the header with spaces to 8 bytes. */
function writeRaw(path: string, header: unknown, data: Uint8Array): void {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  writeFileSync(path, Buffer.concat([len, headerBytes, data]));
}

function writeSafetensors(path: string, tensors: Record<string, TestTensor>, metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    parts.push(t.data);
    offset += t.data.length;
  }
  writeRaw(path, header, Buffer.concat(parts));
}

const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const f32 = (...v: number[]): Uint8Array => bytes(new Float32Array(v));
const u16 = (...v: number[]): Uint8Array => bytes(new Uint16Array(v));

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'safetensors-test-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Independent binary16 decoder (arithmetic, not bit tricks) to check halfToFloat32 against. */
function halfReference(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

test('halfToFloat32 matches an arithmetic decoder on all 65536 bit patterns', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const out = halfToFloat32(all);
  for (let h = 0; h < 65536; h++) {
    const want = halfReference(h);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(out[h]), `0x${h.toString(16)}`);
    else assert.ok(Object.is(out[h], want), `0x${h.toString(16)}: got ${out[h]}, want ${want}`);
  }
});

test('single model.safetensors: F32, F16, BF16, F64, metadata, raw bytes', () => {
  withDir((dir) => {
    // F16: 1, -2, 0.5, 65504 (max), 2^-14 (min normal), 2^-24 (min subnormal), 1023·2^-24, +inf, -inf, NaN, -0
    const halfBits = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0400, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00, 0x8000];
    // BF16: 1, -3, 1.5, +inf, NaN, 2^-133 (subnormal in f32)
    const bf16Bits = [0x3f80, 0xc040, 0x3fc0, 0x7f80, 0x7fc0, 0x0001];
    writeSafetensors(
      join(dir, 'model.safetensors'),
      {
        a: { dtype: 'F32', shape: [2, 3], data: f32(1, 2, 3, -4, 0.25, 1e-30) },
        h: { dtype: 'F16', shape: [11], data: u16(...halfBits) },
        b: { dtype: 'BF16', shape: [2, 3], data: u16(...bf16Bits) },
        d: { dtype: 'F64', shape: [2], data: bytes(new Float64Array([0.1, -1e300])) },
        i: { dtype: 'I32', shape: [2], data: bytes(new Int32Array([7, -7])) },
        s: { dtype: 'F32', shape: [], data: f32(42) },
        e: { dtype: 'F32', shape: [0, 4], data: new Uint8Array(0) },
      },
      { format: 'pt', note: 'hi' },
    );
    const ckpt = SafetensorsCheckpoint.open(dir);
    try {
      assert.deepEqual(ckpt.names(), ['a', 'h', 'b', 'd', 'i', 's', 'e']);
      assert.ok(ckpt.has('h'));
      assert.ok(!ckpt.has('zz'));
      assert.deepEqual(ckpt.metadata(), { format: 'pt', note: 'hi' });
      const info = ckpt.info('a');
      assert.equal(info.dtype, 'F32');
      assert.deepEqual(info.shape, [2, 3]);
      assert.equal(info.byteLength, 24);
      assert.equal(info.file, join(dir, 'model.safetensors'));
      assert.deepEqual([...ckpt.readFloat32('a')], [...new Float32Array([1, 2, 3, -4, 0.25, 1e-30])]);
      const half = ckpt.readFloat32('h');
      assert.deepEqual([...half.slice(0, 7)], [1, -2, 0.5, 65504, 2 ** -14, 2 ** -24, 1023 * 2 ** -24]);
      assert.equal(half[7], Infinity);
      assert.equal(half[8], -Infinity);
      assert.ok(Number.isNaN(half[9]));
      assert.ok(Object.is(half[10], -0));
      const bf = ckpt.readFloat32('b');
      assert.deepEqual([...bf.slice(0, 4)], [1, -3, 1.5, Infinity]);
      assert.ok(Number.isNaN(bf[4]));
      assert.equal(bf[5], 2 ** -133);
      assert.deepEqual([...ckpt.readFloat32('d')], [Math.fround(0.1), -Infinity]);
      assert.deepEqual([...ckpt.readFloat32('s')], [42]);
      assert.equal(ckpt.readFloat32('e').length, 0);
      assert.deepEqual([...ckpt.readRaw('i')], [...bytes(new Int32Array([7, -7]))]);
      assert.throws(
        () => ckpt.readFloat32('i'),
        /tensor "i" .*dtype I32, which is not a float type readable as float32/,
      );
      assert.throws(() => ckpt.info('zz'), { message: `tensor "zz" not found in ${dir}` });
    } finally {
      ckpt.close();
    }
    assert.throws(() => ckpt.readRaw('a'), /closed/);
    ckpt.close();
  });
});

test('sharded via model.safetensors.index.json', () => {
  withDir((dir) => {
    writeSafetensors(
      join(dir, 'model-00001-of-00002.safetensors'),
      {
        'layers.0.w': { dtype: 'F32', shape: [2], data: f32(1, 2) },
        'layers.0.b': { dtype: 'BF16', shape: [1], data: u16(0x4000) },
      },
      { format: 'pt' },
    );
    writeSafetensors(
      join(dir, 'model-00002-of-00002.safetensors'),
      {
        'layers.1.w': { dtype: 'F16', shape: [2, 1], data: u16(0x4200, 0xbc00) },
      },
      { extra: 'x' },
    );
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({
        metadata: { total_size: 14 },
        weight_map: {
          'layers.0.w': 'model-00001-of-00002.safetensors',
          'layers.0.b': 'model-00001-of-00002.safetensors',
          'layers.1.w': 'model-00002-of-00002.safetensors',
        },
      }),
    );
    const ckpt = SafetensorsCheckpoint.open(dir);
    try {
      assert.deepEqual(ckpt.names().sort(), ['layers.0.b', 'layers.0.w', 'layers.1.w']);
      assert.equal(ckpt.info('layers.1.w').file, join(dir, 'model-00002-of-00002.safetensors'));
      assert.deepEqual([...ckpt.readFloat32('layers.0.w')], [1, 2]);
      assert.deepEqual([...ckpt.readFloat32('layers.0.b')], [2]);
      assert.deepEqual([...ckpt.readFloat32('layers.1.w')], [3, -1]);
      assert.deepEqual(ckpt.metadata(), { format: 'pt', extra: 'x' });
    } finally {
      ckpt.close();
    }
  });
});

test('several *.safetensors without an index are merged; duplicates are refused', () => {
  withDir((dir) => {
    writeSafetensors(join(dir, 'a.safetensors'), { x: { dtype: 'F32', shape: [1], data: f32(5) } });
    writeSafetensors(join(dir, 'b.safetensors'), { y: { dtype: 'F32', shape: [1], data: f32(6) } });
    const ckpt = SafetensorsCheckpoint.open(dir);
    assert.deepEqual(ckpt.names(), ['x', 'y']);
    assert.deepEqual([...ckpt.readFloat32('y')], [6]);
    ckpt.close();
    writeSafetensors(join(dir, 'c.safetensors'), { x: { dtype: 'F32', shape: [1], data: f32(7) } });
    assert.throws(
      () => SafetensorsCheckpoint.open(dir),
      /tensor "x" appears in both .*a\.safetensors and .*c\.safetensors/,
    );
  });
});

test('missing and corrupt files give errors naming the folder, file and tensor', () => {
  withDir((dir) => {
    assert.throws(() => SafetensorsCheckpoint.open(join(dir, 'nope')), /nope does not exist/);
    assert.throws(() => SafetensorsCheckpoint.open(dir), new RegExp(`no \\*\\.safetensors files .* in ${dir}`));

    const file = join(dir, 'model.safetensors');
    writeFileSync(file, Buffer.from([1, 2, 3]));
    assert.throws(() => SafetensorsCheckpoint.open(dir), /model\.safetensors: not a safetensors file/);

    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(1000n);
    writeFileSync(file, huge);
    assert.throws(() => SafetensorsCheckpoint.open(dir), /model\.safetensors: corrupt safetensors header length 1000/);

    const notJson = Buffer.alloc(12);
    notJson.writeBigUInt64LE(4n);
    notJson.write('{{{{', 8);
    writeFileSync(file, notJson);
    assert.throws(() => SafetensorsCheckpoint.open(dir), /model\.safetensors: safetensors header is not valid JSON/);

    writeRaw(file, { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(12));
    assert.throws(
      () => SafetensorsCheckpoint.open(dir),
      /model\.safetensors: tensor "w": holds 12 bytes but shape \[2, 2\] of F32 needs 16/,
    );

    writeRaw(file, { w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8));
    assert.throws(() => SafetensorsCheckpoint.open(dir), /tensor "w": data_offsets \[0, 16\] outside the 8 data bytes/);

    writeRaw(file, { w: { dtype: 'Q4', shape: [4], data_offsets: [0, 2] } }, new Uint8Array(2));
    assert.throws(() => SafetensorsCheckpoint.open(dir), /tensor "w": unknown dtype "Q4"/);

    writeRaw(
      file,
      {
        u: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        v: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      },
      new Uint8Array(12),
    );
    assert.throws(() => SafetensorsCheckpoint.open(dir), /tensors "u" and "v" overlap/);
  });
});

test('index.json pointing at a missing shard or the wrong shard is refused', () => {
  withDir((dir) => {
    writeSafetensors(join(dir, 's1.safetensors'), { x: { dtype: 'F32', shape: [1], data: f32(1) } });
    const index = join(dir, 'model.safetensors.index.json');
    writeFileSync(index, JSON.stringify({ weight_map: { x: 's1.safetensors', y: 's2.safetensors' } }));
    assert.throws(() => SafetensorsCheckpoint.open(dir), /shard .*s2\.safetensors .*does not exist/);
    writeSafetensors(join(dir, 's2.safetensors'), { z: { dtype: 'F32', shape: [1], data: f32(1) } });
    assert.throws(
      () => SafetensorsCheckpoint.open(dir),
      /maps tensor "y" to s2\.safetensors, but that shard does not hold it/,
    );
    writeFileSync(index, '{"metadata": {}}');
    assert.throws(
      () => SafetensorsCheckpoint.open(dir),
      /model\.safetensors\.index\.json: missing or invalid "weight_map"/,
    );
  });
});

test('real fixture deepseek-v3-tiny-b: embed_tokens matches the bytes at its offset', () => {
  const dir = join(repoRoot, 'tests/fixtures/deepseek-v3-tiny-b');
  const ckpt = SafetensorsCheckpoint.open(dir);
  try {
    const info = ckpt.info('model.embed_tokens.weight');
    assert.equal(info.dtype, 'F32');
    assert.deepEqual(info.shape, [1024, 64]);
    assert.equal(info.byteLength, 1024 * 64 * 4);
    const expected = Buffer.alloc(info.byteLength);
    const fd = openSync(info.file, 'r');
    try {
      readSync(fd, expected, 0, info.byteLength, info.byteOffset);
    } finally {
      closeSync(fd);
    }
    const values = ckpt.readFloat32('model.embed_tokens.weight');
    assert.equal(values.length, 1024 * 64);
    assert.deepEqual(Buffer.from(values.buffer, values.byteOffset, values.byteLength), expected);
    assert.ok(ckpt.names().length > 10);
  } finally {
    ckpt.close();
  }
});

test('chunked reads: every tensor reads back the same in reads of a few bytes (as >2 GiB tensors are read)', () => {
  const dir = join(repoRoot, 'tests/fixtures/deepseek-v3-tiny-b');
  const whole = SafetensorsCheckpoint.open(dir);
  const chunked = SafetensorsCheckpoint.open(dir, { maxReadBytes: 7 });
  try {
    for (const name of whole.names().slice(0, 12)) assert.deepEqual(chunked.readRaw(name), whole.readRaw(name), name);
    assert.deepEqual(chunked.readFloat32('model.embed_tokens.weight'), whole.readFloat32('model.embed_tokens.weight'));
  } finally {
    whole.close();
    chunked.close();
  }
  assert.throws(
    () => SafetensorsCheckpoint.open(dir, { maxReadBytes: 2 ** 31 }),
    /maxReadBytes must be an integer in \[1, 2\^31 - 1\]/,
  );
});
