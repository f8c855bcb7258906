// Parsing the load generator's option values. Errors are RangeErrors naming the flag; the CLI shows them with
// its usage.
import type { GoodputSlo } from './metrics.js';

/** `1,4,16` → [1, 4, 16]; `inf` means no cap. */
export function parseConcurrencyList(text: string): number[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new RangeError(`--concurrency needs at least one level, got "${text}"`);
  return items.map((s) => {
    if (s === 'inf') return Infinity;
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new RangeError(`--concurrency levels must be integers ≥ 1 or inf, got "${s}"`);
    return n;
  });
}

/** `inf` or a positive number of requests per second. */
export function parseRequestRate(text: string): number {
  if (text.trim() === 'inf') return Infinity;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new RangeError(`--request-rate must be inf or a number > 0, got "${text}"`);
  return n;
}

const SLO_KEYS = { ttft: 'ttftMs', tpot: 'tpotMs', e2el: 'e2elMs' } as const;

/** vLLM's goodput spec, `ttft:500,tpot:50` (commas or spaces), in ms. */
export function parseGoodput(text: string): GoodputSlo {
  const slo: { ttftMs?: number; tpotMs?: number; e2elMs?: number } = {};
  const items = text.split(/[,\s]+/).filter((s) => s !== '');
  if (items.length === 0) throw new RangeError('--goodput needs at least one KEY:MS');
  for (const item of items) {
    const [key, value, ...rest] = item.split(':');
    const field = SLO_KEYS[key as keyof typeof SLO_KEYS];
    const ms = Number(value);
    if (
      field === undefined ||
      rest.length > 0 ||
      value === undefined ||
      value === '' ||
      !Number.isFinite(ms) ||
      ms < 0
    ) {
      throw new RangeError(`--goodput items are ttft:MS, tpot:MS or e2el:MS, got "${item}"`);
    }
    slo[field] = ms;
  }
  return slo;
}

/** `90,99` → [90, 99]; each in (0, 100]. */
export function parsePercentiles(text: string): number[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const n = Number(s);
      if (!Number.isFinite(n) || n <= 0 || n > 100)
        throw new RangeError(`--percentiles must be numbers in (0, 100], got "${s}"`);
      return n;
    });
}
