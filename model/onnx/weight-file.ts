// Appends initializer bytes to an external-data file next to the model. Offsets are page-aligned so ONNX Runtime
// can memory-map each tensor in place instead of copying it onto the heap.
//
// Node's fs.writeSync refuses lengths above 2³¹−1 bytes, and DeepSeek-V3's float32 embedding alone is 3.7 GB, so
// every write is cut into chunks of at most `maxWriteBytes`. Offsets are plain numbers (exact up to 2⁵³) and
// reach ONNX as decimal strings, so files past 2³² bytes need nothing special.
//
// Bytes reach the file in whole, aligned 8 MiB stripes (staged, or written straight from a large tensor), never in
// small pieces. On a kernel whose page cache holds large folios (ext4 on Linux 6.16+), stripes like these are cached
// as 2 MiB folios, which ONNX Runtime's mapping of the file then maps with huge pages: float32 decode on `mini`
// measured 35 → 44 tok/s at batch 1 and 107 → 158 at 16 (bench/model-bench.ts, December 2026), where small
// writes had left 4 KiB pages and a TLB miss every few rows of a weight.
import { closeSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import type { ExternalRef } from './graph-builder.js';

const ALIGN_BYTES = 4096;
/** Writes go out in multiples of this, at offsets that are multiples of it (a multiple of the 2 MiB huge page). */
export const STRIPE_BYTES = 8 << 20;
/** Largest single write: 1 GiB, well under Node's 2³¹−1 limit. */
export const MAX_WRITE_BYTES = 1 << 30;

export interface WeightFileOptions {
  /** Upper bound on one writeSync (tests use a few bytes to exercise the chunking). */
  readonly maxWriteBytes?: number;
}

export class WeightFile {
  private readonly fd: number;
  private readonly maxWriteBytes: number;
  /** Bytes appended so far; those past `flushedBytes` wait in `stripe`. */
  private offsetBytes = 0;
  /** Bytes in the file: always a multiple of STRIPE_BYTES until close() writes the last, partial stripe. */
  private flushedBytes = 0;
  private readonly stripe = new Uint8Array(STRIPE_BYTES);
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

  /** Writes what is still staged; the refs returned by append are valid in the file from here on. */
  close(): void {
    this.writeAt(this.stripe.subarray(0, this.offsetBytes - this.flushedBytes));
    closeSync(this.fd);
  }

  /** Appends `bytes`: whole stripes straight to the file when nothing is staged, the rest through the stripe. */
  private write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const staged = this.offsetBytes + done - this.flushedBytes;
      const left = bytes.length - done;
      if (staged === 0 && left >= STRIPE_BYTES) {
        const whole = left - (left % STRIPE_BYTES);
        this.writeAt(bytes.subarray(done, done + whole));
        done += whole;
        continue;
      }
      const n = Math.min(STRIPE_BYTES - staged, left);
      this.stripe.set(bytes.subarray(done, done + n), staged);
      done += n;
      if (staged + n === STRIPE_BYTES) this.writeAt(this.stripe);
    }
    this.offsetBytes += bytes.length;
  }

  /** `bytes` at flushedBytes, in writes of at most maxWriteBytes (writeSync may also write less). */
  private writeAt(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const want = Math.min(this.maxWriteBytes, bytes.length - done);
      done += writeSync(this.fd, bytes, done, want, this.flushedBytes + done);
    }
    this.flushedBytes += bytes.length;
  }
}
