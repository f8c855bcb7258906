// Block scales and rounding shared by the integer and FP8 codecs.

/** max |values[start..end)|; NaN entries are skipped. */
export function absMax(values: Float32Array, start: number, end: number): number {
  let max = 0;
  for (let i = start; i < end; i++) {
    const a = Math.abs(values[i] ?? 0);
    if (a > max) max = a;
  }
  return max;
}

/**
 * The float32 scale mapping `max` onto `codeMax`. An all-zero block gets scale 1 (its codes all encode 0), and so
 * does one whose scale would underflow float32 (its values all round to 0): every scale in quant/ is positive and
 * finite, so consumers may divide by it.
 */
export function scaleFor(max: number, codeMax: number): number {
  const scale = Math.fround(max / codeMax);
  return scale > 0 && Number.isFinite(scale) ? scale : 1;
}

/** Rounds `v` to the nearest integer, ties to even (as ONNX QuantizeLinear and torch.round); NaN stays NaN. */
export function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const frac = v - floor;
  if (frac > 0.5) return floor + 1;
  if (frac < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
