// How far a compile is: tensors and checkpoint bytes read so far out of the totals, reported as the graph builder
// reads each tensor. Checkpoint bytes are what the compile must stream from disk, so bytes ÷ seconds is the
// compile throughput the README states (GB of checkpoint per second).
import type { WeightSource } from './graph/context.js';
import type { SafetensorsCheckpoint } from './safetensors.js';

export interface CompileProgress {
  readonly tensorsDone: number;
  readonly tensorsTotal: number;
  /** Checkpoint bytes read (a weight's FP8 scale_inv counted with it). */
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly elapsedMs: number;
}

/** Reports at most this often (and always after the last tensor). */
const REPORT_EVERY_MS = 250;

/** A WeightSource that counts what the graph builder reads and reports progress. */
export class ProgressSource implements WeightSource {
  private readonly startMs = performance.now();
  private readonly seen = new Set<string>();
  private bytesDone = 0;
  private lastReportMs = -Infinity;

  constructor(
    private readonly inner: WeightSource,
    private readonly checkpoint: SafetensorsCheckpoint,
    private readonly tensorsTotal: number,
    private readonly bytesTotal: number,
    private readonly report: (p: CompileProgress) => void,
  ) {}

  has(name: string): boolean {
    return this.inner.has(name);
  }

  info(name: string): { readonly shape: readonly number[] } {
    return this.inner.info(name);
  }

  readFloat32(name: string): Float32Array {
    const out = this.inner.readFloat32(name);
    if (!this.seen.has(name)) {
      this.seen.add(name);
      this.bytesDone += tensorBytes(this.checkpoint, name);
    }
    const now = performance.now();
    if (now - this.lastReportMs >= REPORT_EVERY_MS || this.seen.size === this.tensorsTotal) {
      this.lastReportMs = now;
      this.report(this.progress());
    }
    return out;
  }

  progress(): CompileProgress {
    return {
      tensorsDone: this.seen.size,
      tensorsTotal: this.tensorsTotal,
      bytesDone: Math.min(this.bytesDone, this.bytesTotal),
      bytesTotal: this.bytesTotal,
      elapsedMs: performance.now() - this.startMs,
    };
  }
}

/** A tensor's bytes in the checkpoint, with its `_scale_inv` when it is stored as FP8. */
export function tensorBytes(checkpoint: SafetensorsCheckpoint, name: string): number {
  const scale = `${name}_scale_inv`;
  return checkpoint.info(name).byteLength + (checkpoint.has(scale) ? checkpoint.info(scale).byteLength : 0);
}

/** "12.3 GB of 31.0 GB, 0.41 GB/s, ETA 46 s" style numbers, for bars and log lines. */
export function describeProgress(p: CompileProgress): string {
  const gb = (b: number): string => (b / 1e9).toFixed(b < 10e9 ? 2 : 1);
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.bytesDone / seconds : 0;
  const eta = rate > 0 ? (p.bytesTotal - p.bytesDone) / rate : NaN;
  return `${p.tensorsDone}/${p.tensorsTotal} tensors, ${gb(p.bytesDone)}/${gb(p.bytesTotal)} GB, ${gb(rate)} GB/s, ${Number.isFinite(eta) ? `ETA ${formatSeconds(eta)}` : 'ETA ?'}`;
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
