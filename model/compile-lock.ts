// One compiler per output folder across processes: `<outDir>.lock` is created exclusively (O_EXCL) and holds the
// owner's pid. A second process that finds the lock waits until the owner finishes (then reuses its folder) or
// dies (then takes the lock over). Compiling is synchronous, so waiting is too: the caller is about to block on
// the compile anyway.
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';

const POLL_MS = 200;
/** A lock file still without a pid after this long was left by a process that died while creating it. */
const EMPTY_LOCK_STALE_MS = 10_000;

export interface LockWaitOptions {
  /** Called once when another process holds the lock. */
  readonly onWait?: (ownerPid: number) => void;
  /** Give up after this long (default: wait as long as the owner lives). */
  readonly timeoutMs?: number;
}

/**
 * Runs `build` unless `isDone()` is already true, holding `<outDir>.lock` while it runs. Returns true when this
 * process built, false when another process did (or had).
 */
export function withCompileLock(
  outDir: string,
  isDone: () => boolean,
  build: () => void,
  opts: LockWaitOptions = {},
): boolean {
  const lockPath = `${outDir}.lock`;
  const started = Date.now();
  let told = false;
  for (;;) {
    if (isDone()) return false;
    if (tryCreate(lockPath)) {
      try {
        // The owner may have finished between our isDone() and our lock.
        if (isDone()) return false;
        build();
        return true;
      } finally {
        rmSync(lockPath, { force: true });
      }
    }
    const owner = lockOwner(lockPath);
    if (owner === null ? emptyFor(lockPath) > EMPTY_LOCK_STALE_MS : !isAlive(owner)) {
      // The owner died mid-compile: its lock is stale. Removing it races only with other waiters, and O_EXCL
      // lets exactly one of them take the lock next.
      rmSync(lockPath, { force: true });
      continue;
    }
    if (!told && owner !== null) {
      opts.onWait?.(owner);
      told = true;
    }
    if (opts.timeoutMs !== undefined && Date.now() - started > opts.timeoutMs) {
      throw new Error(
        `timed out after ${opts.timeoutMs} ms waiting for process ${owner ?? '?'} to finish compiling ${outDir} (remove ${lockPath} if it is stale)`,
      );
    }
    sleep(POLL_MS);
  }
}

/** Creates the lock file with this process's pid; false when it already exists. */
function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** How long an existing lock file has gone unmodified (0 when it is gone). */
function emptyFor(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** The pid in the lock file; null while the owner has created but not yet written it (or it just went away). */
function lockOwner(path: string): number | null {
  if (!existsSync(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
