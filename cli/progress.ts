// A one-line progress bar on stderr for long conversions: shown once the work has taken over a second, redrawn
// in place on a terminal, plain lines otherwise.

const BAR_WIDTH = 30;
const SHOW_AFTER_MS = 1000;

export class ProgressBar {
  private readonly startMs = performance.now();
  private drawn = false;

  constructor(private readonly label: string, private readonly out: NodeJS.WriteStream = process.stderr) {}

  /** Feeds a progress message; "layer i/n" advances the bar, anything else is printed as a line. */
  update(message: string): void {
    const m = /^layer (\d+)\/(\d+)$/.exec(message);
    if (m === null) {
      this.clear();
      this.out.write(`${message}\n`);
      return;
    }
    if (performance.now() - this.startMs < SHOW_AFTER_MS) return;
    const done = Number(m[1]);
    const total = Number(m[2]);
    const filled = Math.round((done / total) * BAR_WIDTH);
    const line = `${this.label} [${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${done}/${total} layers, ${((performance.now() - this.startMs) / 1000).toFixed(0)} s`;
    if (this.out.isTTY) {
      this.out.write(`\r${line}`);
      this.drawn = true;
    } else {
      this.out.write(`${line}\n`);
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
