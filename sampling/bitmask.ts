// Grammar bitmasks (xgrammar's layout) applied to one logits row.

/**
 * Sets every logit whose bit is clear in `mask[offset, offset + words)` to −∞ (bit i of word k = token 32k + i
 * allowed). Returns whether any allowed token has a finite logit, i.e. whether the row can still be sampled.
 */
export function applyBitmask(row: Float32Array, mask: Int32Array, offset: number, words: number): boolean {
  let open = false;
  const n = row.length;
  for (let k = 0; k < words; k++) {
    const word = mask[offset + k]!;
    const base = k * 32;
    if (word === -1) {
      for (let i = base, end = Math.min(base + 32, n); i < end && !open; i++) open = row[i]! !== -Infinity;
      continue;
    }
    for (let bit = 0; bit < 32 && base + bit < n; bit++) {
      if ((word >>> bit) & 1) open ||= row[base + bit]! !== -Infinity;
      else row[base + bit] = -Infinity;
    }
  }
  return open;
}
