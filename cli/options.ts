// Option parsing helpers shared by the CLI commands.

/** Bad command-line input: printed as one line with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function numberOption(flag: string, text: string, min = -Infinity, max = Infinity): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < min || v > max) {
    throw new UsageError(
      `${flag} must be a number${min > -Infinity ? ` ≥ ${min}` : ''}${max < Infinity ? ` and ≤ ${max}` : ''}, got "${text}"`,
    );
  }
  return v;
}

export function intOption(flag: string, text: string, min = -Infinity): number {
  const v = numberOption(flag, text, min);
  if (!Number.isSafeInteger(v)) throw new UsageError(`${flag} must be an integer, got "${text}"`);
  return v;
}
