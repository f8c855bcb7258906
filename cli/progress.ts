// Progress of a long compile on stderr: a bar redrawn in place on a terminal (tensors, GB of checkpoint read,
// GB/s, ETA), and on anything else (a log, a pipe) one plain line per 10 % or per 30 s. Other messages pass
// through as lines; the graph builder's "layer i/n" messages are folded into the bar.
import type { CompileProgress } from '../model/compile-progress.js';
import { describeProgress } from '../model/compile-progress.js';

const BAR_WIDTH = 30;
const SHOW_AFTER_MS = 1000;
const LINE_EVERY_MS = 30_000;

/** Where the bar goes: process.stderr, or a logger wrapped as `{ write }` (never a TTY). */
export interface ProgressOut {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export class ProgressBar {
  private drawn = false;
  private lastLineMs = -Infinity;
  private lastLineTenth = -1;

  constructor(
    private readonly label: string,
    private readonly out: ProgressOut = process.stderr,
  ) {}

  /** Feeds a message: "layer i/n" is dropped (the byte-based bar shows more), anything else is printed as a line. */
  update(message: string): void {
    if (/^layer \d+\/\d+$/.test(message)) return;
    this.clear();
    this.out.write(`${message}\n`);
  }

  /** Redraws the bar (TTY) or writes a line when another tenth is done or 30 s have passed (otherwise). */
  compile(p: CompileProgress): void {
    if (p.elapsedMs < SHOW_AFTER_MS && p.tensorsDone < p.tensorsTotal) return;
    const fraction = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 1;
    const text = `${this.label} ${describeProgress(p)}`;
    if (this.out.isTTY === true) {
      const filled = Math.round(fraction * BAR_WIDTH);
      this.out.write(`\r[${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${text}\x1b[K`);
      this.drawn = true;
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth > this.lastLineTenth || p.elapsedMs - this.lastLineMs >= LINE_EVERY_MS) {
      this.lastLineTenth = tenth;
      this.lastLineMs = p.elapsedMs;
      this.out.write(`${text}\n`);
    }
  }

  finish(): void {
    this.clear();
  }

  private clear(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
