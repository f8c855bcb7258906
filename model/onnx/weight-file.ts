// Appends initializer bytes to an external-data file next to the model. Offsets are page-aligned so ONNX Runtime
// can memory-map each tensor in place instead of copying it onto the heap.
//
// Node's fs.writeSync refuses lengths above 2³¹−1 bytes, and DeepSeek-V3's float32 embedding alone is 3.7 GB, so
// every write is cut into chunks of at most `maxWriteBytes`. Offsets are plain numbers (exact up to 2⁵³) and
// reach ONNX as decimal strings, so files past 2³² bytes need nothing special.
import { closeSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import type { ExternalRef } from './graph-builder.js';

const ALIGN_BYTES = 4096;
/** Largest single write: 1 GiB, well under Node's 2³¹−1 limit. */
export const MAX_WRITE_BYTES = 1 << 30;

export interface WeightFileOptions {
  /** Upper bound on one writeSync (tests use a few bytes to exercise the chunking). */
  readonly maxWriteBytes?: number;
}

export class WeightFile {
  private readonly fd: number;
  private readonly maxWriteBytes: number;
  private offsetBytes = 0;
  readonly location: string;

  constructor(
    readonly path: string,
    opts: WeightFileOptions = {},
  ) {
    this.maxWriteBytes = opts.maxWriteBytes ?? MAX_WRITE_BYTES;
    if (!Number.isSafeInteger(this.maxWriteBytes) || this.maxWriteBytes < 1 || this.maxWriteBytes > 0x7fffffff) {
      throw new RangeError(`maxWriteBytes must be an integer in [1, 2^31 - 1], got ${this.maxWriteBytes}`);
    }
    this.fd = openSync(path, 'w');
    this.location = basename(path);
  }

  /**
   * Writes one tensor's bytes and returns where they live. `parts` may be a lazy generator, so a tensor stacked
   * from many checkpoint tensors (an MoE layer's experts) is streamed rather than assembled in memory.
   */
  append(...parts: ArrayBufferView[]): ExternalRef {
    return this.appendParts(parts);
  }

  appendParts(parts: Iterable<ArrayBufferView>): ExternalRef {
    const pad = (ALIGN_BYTES - (this.offsetBytes % ALIGN_BYTES)) % ALIGN_BYTES;
    if (pad > 0) this.write(new Uint8Array(pad));
    const offset = this.offsetBytes;
    for (const part of parts) this.write(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
    return { location: this.location, offset, length: this.offsetBytes - offset };
  }

  get sizeBytes(): number {
    return this.offsetBytes;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** All of `bytes` at the end of the file, in writes of at most maxWriteBytes (writeSync may also write less). */
  private write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const want = Math.min(this.maxWriteBytes, bytes.length - done);
      done += writeSync(this.fd, bytes, done, want, this.offsetBytes + done);
    }
    this.offsetBytes += bytes.length;
  }
}
