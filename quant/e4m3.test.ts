import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { E4M3_MAX, E4M3_TABLE, decodeE4M3, encodeE4M3, encodeRowE4M3 } from './e4m3.js';

/** The spec's value of `code`, built as a float32 bit pattern (normals) or an integer multiple (subnormals). */
function specValue(code: number): number {
  const sign = code >> 7;
  const exponent = (code >> 3) & 0xf;
  const mantissa = code & 0x7;
  if ((code & 0x7f) === 0x7f) return Number.NaN;
  if (exponent === 0) return ((sign ? -1 : 1) * mantissa) / 512;
  const bits = new Uint32Array([((sign << 31) | ((exponent - 7 + 127) << 23) | (mantissa << 20)) >>> 0]);
  return new Float32Array(bits.buffer)[0] ?? Number.NaN;
}

const FINITE_CODES = Array.from({ length: 256 }, (_, code) => code).filter((code) => (code & 0x7f) !== 0x7f);

test('decode: all 256 codes match the spec, with known anchors', () => {
  for (let code = 0; code < 256; code++) {
    const expected = specValue(code);
    assert.ok(Object.is(decodeE4M3(code), expected), `code 0x${code.toString(16)}: ${decodeE4M3(code)} vs ${expected}`);
    assert.ok(Object.is(E4M3_TABLE[code], expected), `table 0x${code.toString(16)}`);
  }
  const anchors: [number, number][] = [
    [0x00, 0],
    [0x80, -0],
    [0x01, 2 ** -9],
    [0x07, 7 * 2 ** -9],
    [0x08, 2 ** -6],
    [0x38, 1],
    [0x40, 2],
    [0xb8, -1],
    [0x7e, 448],
    [0xfe, -448],
    [0x77, 240],
    [0x39, 1.125],
  ];
  for (const [code, value] of anchors) assert.ok(Object.is(decodeE4M3(code), value), `0x${code.toString(16)}`);
  assert.equal(FINITE_CODES.length, 254);
  assert.ok(Number.isNaN(decodeE4M3(0x7f)) && Number.isNaN(decodeE4M3(0xff)));
  assert.equal(Math.max(...FINITE_CODES.map(decodeE4M3)), E4M3_MAX);
});

test('encode(decode(c)) == c for every finite code, both signs, subnormals and ±0', () => {
  for (const code of FINITE_CODES) assert.equal(encodeE4M3(decodeE4M3(code)), code, `0x${code.toString(16)}`);
});

test('midpoints between adjacent codes round to the even code; just off them to the nearer one', () => {
  let ties = 0;
  for (const signBit of [0, 0x80]) {
    for (let code = 0; code < 0x7e; code++) {
      const lo = decodeE4M3(signBit | code);
      const hi = decodeE4M3(signBit | (code + 1));
      const mid = (lo + hi) / 2;
      const even = code % 2 === 0 ? code : code + 1;
      assert.equal(encodeE4M3(mid), signBit | even, `tie between 0x${code.toString(16)} and the next code`);
      const step = Math.abs(hi - lo) * 2 ** -10;
      const towardHi = signBit ? -step : step;
      assert.equal(encodeE4M3(mid + towardHi), signBit | (code + 1));
      assert.equal(encodeE4M3(mid - towardHi), signBit | code);
      ties++;
    }
  }
  assert.equal(ties, 252);
});

test('saturation, NaN and underflow', () => {
  for (const big of [448.5, 449, 464, 480, 1e6, Number.MAX_VALUE, Number.POSITIVE_INFINITY]) {
    assert.equal(encodeE4M3(big), 0x7e, `${big}`);
    assert.equal(encodeE4M3(-big), 0xfe, `${-big}`);
  }
  assert.equal(encodeE4M3(448), 0x7e);
  assert.equal(encodeE4M3(Number.NaN), 0x7f);
  for (const tiny of [2 ** -10, 2 ** -11, 1e-30, Number.MIN_VALUE, 0]) {
    assert.equal(encodeE4M3(tiny), 0x00, `${tiny}`);
    assert.equal(encodeE4M3(-tiny), 0x80, `${-tiny}`);
  }
  assert.equal(encodeE4M3(2 ** -10 * 1.0001), 0x01);
});

test('property: encode picks a nearest representable value (saturating past ±448)', () => {
  const finiteValues = FINITE_CODES.map(decodeE4M3);
  fc.assert(
    fc.property(fc.double({ noNaN: true }), (x) => {
      const code = encodeE4M3(x);
      const chosen = decodeE4M3(code);
      if (Math.abs(x) > E4M3_MAX) return chosen === Math.sign(x) * E4M3_MAX;
      const best = Math.min(...finiteValues.map((v) => Math.abs(v - x)));
      return Math.abs(chosen - x) === best && (chosen === 0 || Math.sign(chosen) === Math.sign(x));
    }),
    { numRuns: 5000 },
  );
  // Magnitudes spread evenly over the exponent range, where the above rarely lands.
  fc.assert(
    fc.property(fc.integer({ min: -12, max: 9 }), fc.double({ min: 1, max: 2, noNaN: true }), (e, m) => {
      const x = m * 2 ** e;
      const best = Math.min(...finiteValues.map((v) => Math.abs(v - x)));
      return x > E4M3_MAX ? encodeE4M3(x) === 0x7e : Math.abs(decodeE4M3(encodeE4M3(x)) - x) === best;
    }),
    { numRuns: 5000 },
  );
});

test('encodeRowE4M3: absmax maps to ±448, zero rows get scale 1', () => {
  const src = new Float32Array([0.5, -3, 1.25, 0, 2.999]);
  const dst = new Uint8Array(src.length);
  const scale = encodeRowE4M3(src, dst);
  assert.equal(scale, Math.fround(3 / 448));
  assert.equal(dst[1], 0xfe);
  src.forEach((value, i) => {
    const decoded = (E4M3_TABLE[dst[i] ?? 0] ?? 0) * scale;
    assert.ok(
      Math.abs(decoded - value) <= Math.abs(value) * 2 ** -4 + scale * 2 ** -10,
      `${i}: ${decoded} vs ${value}`,
    );
  });
  const zeros = new Uint8Array(3).fill(0xaa);
  assert.equal(encodeRowE4M3(new Float32Array(3), zeros), 1);
  assert.deepEqual([...zeros], [0, 0, 0]);
  assert.throws(() => encodeRowE4M3(src, new Uint8Array(2)), RangeError);
});
