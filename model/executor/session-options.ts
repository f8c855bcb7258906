// ONNX Runtime session options the operator may tune (`serve --session-options JSON`, `bench:model
// --session-options JSON`), and where its profiles go (`--profile DIR`). Parsed here, on the caller's thread, into
// plain data the worker spreads over its own session options; this file never imports onnxruntime-node.
//
// The JSON is one object. Keys that are SessionOptions fields of the Node binding (below) go there; keys with a dot
// are ONNX Runtime session config entries (onnxruntime_session_options_config_keys.h), passed through `extra` as
// strings, e.g. {"intraOpNumThreads": 2, "session.intra_op.allow_spinning": "0", "session.disable_prepacking": "1"}.
// Memory knobs stay with --executor-memory (memory-options.ts).

export interface SessionTuning {
  readonly intraOpNumThreads?: number;
  readonly interOpNumThreads?: number;
  readonly executionMode?: 'sequential' | 'parallel';
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Session config entries, key → value as ONNX Runtime reads them (strings). */
  readonly configEntries?: Readonly<Record<string, string>>;
}

/**
 * What the server runs with; --session-options is read over it. ONNX Runtime's own defaults (threads = cores,
 * spinning on), chosen by measurement: README "ONNX Runtime profiles and session options" has the sweep (spinning
 * off costs ~9 % of batch-1 decode on a quiet machine and gains 50–70 % on an oversubscribed one).
 */
export const DEFAULT_SESSION_TUNING: SessionTuning = {};

const LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
const MODES = ['sequential', 'parallel'] as const;

function threads(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new RangeError(`session option ${key} must be an integer ≥ 0 (0: ONNX Runtime's default)`);
  return v;
}

function oneOf<T extends string>(key: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw new RangeError(`session option ${key} must be one of ${allowed.join(', ')}`);
  return v as T;
}

/** Parses the JSON of --session-options over `base`; throws RangeError naming the bad key. '' is `base`. */
export function parseSessionTuning(text: string, base: SessionTuning = DEFAULT_SESSION_TUNING): SessionTuning {
  if (text.trim() === '') return base;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new RangeError(`session options are not JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new RangeError('session options must be a JSON object');
  const { configEntries: baseEntries, ...baseFields } = base;
  const out: { -readonly [K in keyof SessionTuning]: SessionTuning[K] } = { ...baseFields };
  const entries: Record<string, string> = { ...baseEntries };
  for (const [key, v] of Object.entries(raw)) {
    if (key === 'intraOpNumThreads' || key === 'interOpNumThreads') out[key] = threads(key, v);
    else if (key === 'executionMode') out.executionMode = oneOf(key, v, MODES);
    else if (key === 'graphOptimizationLevel') out.graphOptimizationLevel = oneOf(key, v, LEVELS);
    else if (key.includes('.')) {
      if (typeof v === 'string') entries[key] = v;
      else if (typeof v === 'number' && Number.isFinite(v)) entries[key] = String(v);
      else if (typeof v === 'boolean') entries[key] = v ? '1' : '0';
      else throw new RangeError(`session config entry ${key} must be a string, number or boolean`);
    } else {
      throw new RangeError(
        `unknown session option "${key}" (known: intraOpNumThreads, interOpNumThreads, executionMode, graphOptimizationLevel, or a config entry such as session.intra_op.allow_spinning)`,
      );
    }
  }
  if (Object.keys(entries).length > 0) out.configEntries = entries;
  return out;
}

/** One line for logs and bench reports: the JSON that reproduces it. */
export function describeSessionTuning(t: SessionTuning): string {
  const { configEntries, ...fields } = t;
  return JSON.stringify({ ...fields, ...configEntries });
}

/** The options object the worker spreads over its own (SessionOptions-shaped, without importing the runtime). */
export function ortSessionFields(t: SessionTuning, profilePrefix: string | null): Record<string, unknown> {
  const { configEntries, ...fields } = t;
  return {
    ...fields,
    ...(configEntries === undefined ? {} : { extra: { ...configEntries } }),
    ...(profilePrefix === null ? {} : { enableProfiling: true, profileFilePrefix: profilePrefix }),
  };
}
