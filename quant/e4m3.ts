// OCP FP8 E4M3FN (torch.float8_e4m3fn, ONNX FLOAT8E4M3FN, safetensors "F8_E4M3").
//
//   bit  7   6 5 4 3   2 1 0
//        S   E E E E   M M M        exponent bias 7, no infinities
//   E = 1..15: (−1)^S · (1 + M/8) · 2^(E−7)     max finite S.1111.110 = ±448
//   E = 0:     (−1)^S · (M/8) · 2^(−6)          subnormals; min 2^−9; S.0000.000 = ±0
//   S.1111.111 (0x7F / 0xFF) is NaN, the only non-finite code.
//
// Codes of one sign are ordered like their magnitudes, so code + 1 is the next representable value up, and a code
// is "even" when its mantissa's last bit is 0 (what round-half-to-even picks at a tie).

import { absMax, roundHalfEven, scaleFor } from './scale.js';

export const E4M3_MAX = 448;
export const E4M3_NAN = 0x7f;
/** The largest finite magnitude code; OR in 0x80 for the negative one. */
export const E4M3_MAX_CODE = 0x7e;

const MIN_NORMAL = 2 ** -6;
const SUBNORMAL_STEP = 2 ** -9;

/** The value of one code (only the low 8 bits of `code` count). */
export function decodeE4M3(code: number): number {
  const sign = code & 0x80 ? -1 : 1;
  const exponent = (code >>> 3) & 0xf;
  const mantissa = code & 0x7;
  if (exponent === 0xf && mantissa === 0x7) return Number.NaN;
  if (exponent === 0) return sign * mantissa * SUBNORMAL_STEP;
  return sign * (1 + mantissa / 8) * 2 ** (exponent - 7);
}

/** All 256 codes decoded (index = code); the two NaN codes hold NaN. Every value is exact in float32. */
export const E4M3_TABLE: Float32Array = Float32Array.from({ length: 256 }, (_, code) => decodeE4M3(code));

/**
 * The code nearest `x`, rounding half to even, with the "satfinite" convention (CUDA's
 * `__nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3)`, ONNX Cast / QuantizeLinear with saturate=1): every
 * |x| > 448, ±Infinity included, becomes ±448 rather than NaN (torch's plain `.to(float8_e4m3fn)` gives NaN). NaN → 0x7F. ±0 and anything that rounds to zero keep their sign
 * (|x| ≤ 2^−10, half the smallest subnormal, rounds to ±0; exactly half is a tie and goes to the even code 0).
 * Rounding is done on the double `x` directly, so there is no double rounding through float32.
 */
export function encodeE4M3(x: number): number {
  if (Number.isNaN(x)) return E4M3_NAN;
  const signBit = x < 0 || Object.is(x, -0) ? 0x80 : 0;
  const magnitude = Math.abs(x);
  if (magnitude > E4M3_MAX) return signBit | E4M3_MAX_CODE;
  if (magnitude < MIN_NORMAL) {
    // Subnormal steps of 2^−9; a result of 8 is code 0x08, the smallest normal, which is the right carry.
    return signBit | roundHalfEven(magnitude / SUBNORMAL_STEP);
  }
  let exponent = Math.floor(Math.log2(magnitude));
  // log2 may land one off at exact powers of two; fix it so 2^exponent ≤ magnitude < 2^(exponent+1).
  if (2 ** exponent > magnitude) exponent--;
  else if (2 ** (exponent + 1) <= magnitude) exponent++;
  // Significand in eighths, 8..16; 16 carries into the next exponent through the addition below.
  const eighths = roundHalfEven(magnitude / 2 ** (exponent - 3));
  const code = ((exponent + 7) << 3) + (eighths - 8);
  // Only |x| in (448, 464) could round past 0x7E, and those were saturated above; keep the guard regardless.
  return signBit | Math.min(code, E4M3_MAX_CODE);
}

/**
 * Quantizes one row with a single scale: scale = absmax / 448 rounded to float32 (1 when the row is all zero or
 * its absmax underflows the division), dst[i] = encode(src[i] / scale), so src[i] ≈ E4M3_TABLE[dst[i]] · scale.
 * The row must be finite. Returns the scale. Shapes: src [n] float32, dst [n] codes.
 */
export function encodeRowE4M3(src: Float32Array, dst: Uint8Array): number {
  if (dst.length < src.length) throw new RangeError(`encodeRowE4M3: dst holds ${dst.length} codes, need ${src.length}`);
  const scale = scaleFor(absMax(src, 0, src.length), E4M3_MAX);
  for (let i = 0; i < src.length; i++) dst[i] = encodeE4M3((src[i] ?? 0) / scale);
  return scale;
}
