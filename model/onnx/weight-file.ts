// Appends initializer bytes to an external-data file next to the model. Offsets are page-aligned so ONNX Runtime
// can memory-map each tensor in place instead of copying it onto the heap.
import { closeSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import type { ExternalRef } from './graph-builder.js';

const ALIGN_BYTES = 4096;

export class WeightFile {
  private readonly fd: number;
  private offsetBytes = 0;
  readonly location: string;

  constructor(readonly path: string) {
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
    if (pad > 0) {
      writeSync(this.fd, new Uint8Array(pad));
      this.offsetBytes += pad;
    }
    const offset = this.offsetBytes;
    for (const part of parts) {
      const bytes = new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
      this.offsetBytes += bytes.length;
    }
    return { location: this.location, offset, length: this.offsetBytes - offset };
  }

  get sizeBytes(): number {
    return this.offsetBytes;
  }

  close(): void {
    closeSync(this.fd);
  }
}
