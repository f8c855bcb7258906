// Reads a model's weight file once, front to back, before ONNX Runtime maps it. Pages the kernel reads ahead
// sequentially are cached as large folios where the file system supports them (ext4 on Linux 6.16+), and ORT's
// mapping of the file then gets huge pages; the same pages faulted in at random by the first steps would come in
// 4 KiB at a time. Pages already cached are left as they are (a read does not re-form them), so this pays after a
// restart, and costs a read from the page cache otherwise. Files too large to cache comfortably are skipped.
import { open, stat } from 'node:fs/promises';
import { totalmem } from 'node:os';

const CHUNK_BYTES = 8 << 20;

export interface Prefetched {
  readonly bytes: number;
  readonly ms: number;
}

/** Reads `path` sequentially, unless it is over `maxFraction` of the machine's memory (then null). */
export async function prefetchFile(path: string, maxFraction = 0.5): Promise<Prefetched | null> {
  const size = await stat(path).then(
    (s) => s.size,
    () => null, // no such file (a model without external weights): nothing to read
  );
  if (size === null || size > maxFraction * totalmem()) return null;
  const started = performance.now();
  const file = await open(path, 'r');
  try {
    const buffer = new Uint8Array(CHUNK_BYTES);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await file.read(buffer, 0, CHUNK_BYTES, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return { bytes: done, ms: performance.now() - started };
  } finally {
    await file.close();
  }
}
