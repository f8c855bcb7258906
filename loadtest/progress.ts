// A live progress line on stderr: redrawn in place on a terminal (at most ten times a second), a line per
// quarter otherwise, so logs of CI runs stay short.
import type { LevelProgress } from './run-level.js';

export function renderProgress(label: string, p: LevelProgress, width = 28): string {
  const ended = p.completed + p.failed;
  const filled = p.total === 0 ? width : Math.round((ended / p.total) * width);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const failed = p.failed > 0 ? ` ${p.failed} failed` : '';
  return `${label} ${bar} ${ended}/${p.total} (${p.inFlight} in flight${failed}) ${(p.elapsedMs / 1000).toFixed(1)}s`;
}

export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export class ProgressBar {
  private lastDrawMs = -Infinity;
  private lastQuarter = -1;
  private last: LevelProgress | null = null;

  constructor(
    private readonly out: ProgressSink,
    private readonly label: string,
  ) {}

  update(p: LevelProgress): void {
    this.last = p;
    if (this.out.isTTY === true) {
      const now = performance.now();
      if (now - this.lastDrawMs < 100) return;
      this.lastDrawMs = now;
      this.out.write(`\r\x1b[2K${renderProgress(this.label, p)}`);
      return;
    }
    const quarter = p.total === 0 ? 4 : Math.floor(((p.completed + p.failed) / p.total) * 4);
    if (quarter > this.lastQuarter && quarter < 4) {
      this.lastQuarter = quarter;
      this.out.write(`${renderProgress(this.label, p)}\n`);
    }
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (this.last === null) return;
    const line = renderProgress(this.label, this.last);
    this.out.write(this.out.isTTY === true ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }
}
