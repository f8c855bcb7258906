// Lazy reader for HuggingFace safetensors checkpoints: only the JSON headers are parsed at open, and each
// tensor's bytes are read on demand with a positioned read, so a 600 GB checkpoint never enters the JS heap.
//
// File layout (all little-endian):
//   [u64 headerBytes][headerBytes of JSON][data ...]
//   header: { "<name>": { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { string: string } }
//   data_offsets are relative to the first data byte (8 + headerBytes).
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';

export type SafetensorsDtype =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'F8_E4M3'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U8'
  | 'BOOL';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Path of the shard holding the tensor. */
  readonly file: string;
  /** Absolute position of the first byte in `file`. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

const INDEX_FILE = 'model.safetensors.index.json';
// The format caps headers at 100 MB; a larger length means a corrupt or non-safetensors file.
const MAX_HEADER_BYTES = 100_000_000;
// Node's readSync takes lengths that fit an int32, so big tensors (V3's 3.7 GB float32 embedding) are read in
// chunks of at most this many bytes.
export const MAX_READ_BYTES = 1 << 30;

export interface OpenOptions {
  /** Upper bound on one readSync (tests use a few bytes to exercise the chunking). */
  readonly maxReadBytes?: number;
}

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPE_BYTES, value);
}

function isNonNegativeInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Converts IEEE binary16 bit patterns to float32 exactly (subnormals, ±inf, NaN payloads included). */
export function halfToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = (h & 0x8000) << 16;
    const exp = h & 0x7c00;
    const mant = h & 0x03ff;
    if (exp === 0x7c00) outBits[i] = sign | 0x7f800000 | (mant << 13);
    // Rebias the exponent from 15 to 127: (127 - 15) << 23 = 0x38000000.
    else if (exp !== 0) outBits[i] = sign | (((exp | mant) << 13) + 0x38000000);
    // Zero and subnormals: mant × 2^-24 is exactly representable in float32.
    else out[i] = (sign !== 0 ? -mant : mant) * 2 ** -24;
  }
  return out;
}

/** Converts bfloat16 bit patterns to float32 exactly: bf16 is the top half of an f32. */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}

interface ParsedShard {
  readonly tensors: TensorInfo[];
  readonly metadata: Record<string, string>;
}

/** The header JSON object and where the data section starts. */
function readHeader(fd: number, file: string): { header: object; dataStart: number; dataBytes: number } {
  const fileBytes = fstatSync(fd).size;
  if (fileBytes < 8) throw new Error(`${file}: not a safetensors file (${fileBytes} bytes, too short for a header)`);
  const lengthBuf = Buffer.alloc(8);
  readSync(fd, lengthBuf, 0, 8, 0);
  const headerBytes = lengthBuf.readBigUInt64LE(0);
  if (headerBytes > BigInt(Math.min(MAX_HEADER_BYTES, fileBytes - 8))) {
    throw new Error(`${file}: corrupt safetensors header length ${headerBytes} (file is ${fileBytes} bytes)`);
  }
  const headerBuf = Buffer.alloc(Number(headerBytes));
  readSync(fd, headerBuf, 0, headerBuf.length, 8);
  let header: unknown;
  try {
    header = JSON.parse(headerBuf.toString('utf8'));
  } catch (err) {
    throw new Error(`${file}: safetensors header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error(`${file}: safetensors header is not a JSON object`);
  }
  const dataStart = 8 + headerBuf.length;
  return { header, dataStart, dataBytes: fileBytes - dataStart };
}

/** Validates one header entry against the data section it must lie in. */
function parseEntry(name: string, entry: unknown, file: string, dataStart: number, dataBytes: number): TensorInfo {
  const bad = (why: string): Error => new Error(`${file}: tensor "${name}": ${why}`);
  const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as Record<string, unknown>;
  if (!isDtype(dtype)) throw bad(`unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInt)) throw bad(`invalid shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInt)) {
    throw bad(`invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataBytes)
    throw bad(`data_offsets [${begin}, ${end}] outside the ${dataBytes} data bytes of the file`);
  const expectedBytes = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  if (end - begin !== expectedBytes) {
    throw bad(`holds ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${expectedBytes}`);
  }
  return {
    name,
    dtype,
    shape: Object.freeze([...shape]),
    file,
    byteOffset: dataStart + begin,
    byteLength: end - begin,
  };
}

/** Reads and validates one shard's header; tensors come back in file order. */
function parseShard(fd: number, file: string): ParsedShard {
  const { header, dataStart, dataBytes } = readHeader(fd, file);
  const tensors: TensorInfo[] = [];
  const metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name !== '__metadata__') {
      tensors.push(parseEntry(name, entry, file, dataStart, dataBytes));
      continue;
    }
    if (typeof entry !== 'object' || entry === null) throw new Error(`${file}: __metadata__ is not a JSON object`);
    for (const [key, value] of Object.entries(entry)) {
      if (typeof value !== 'string') throw new Error(`${file}: __metadata__ value for "${key}" is not a string`);
      metadata[key] = value;
    }
  }
  // Overlapping tensors would alias each other's bytes; the format forbids it, so it signals corruption.
  tensors.sort((a, b) => a.byteOffset - b.byteOffset);
  for (let i = 1; i < tensors.length; i++) {
    const prev = tensors[i - 1]!;
    const cur = tensors[i]!;
    if (cur.byteOffset < prev.byteOffset + prev.byteLength) {
      throw new Error(`${file}: tensors "${prev.name}" and "${cur.name}" overlap`);
    }
  }
  return { tensors, metadata };
}

/** Shard file names for a folder: from the index's weight_map if present, else every *.safetensors file. */
function listShards(dir: string): { shards: string[]; weightMap: Record<string, string> | null } {
  if (!existsSync(dir)) throw new Error(`checkpoint folder ${dir} does not exist`);
  const indexPath = join(dir, INDEX_FILE);
  if (existsSync(indexPath)) {
    let index: unknown;
    try {
      index = JSON.parse(readFileSync(indexPath, 'utf8'));
    } catch (err) {
      throw new Error(`${indexPath}: not valid JSON (${(err as Error).message})`);
    }
    const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
    if (
      typeof weightMap !== 'object' ||
      weightMap === null ||
      Array.isArray(weightMap) ||
      !Object.values(weightMap).every((v) => typeof v === 'string')
    ) {
      throw new Error(`${indexPath}: missing or invalid "weight_map" (expected tensor name → shard file)`);
    }
    const map = weightMap as Record<string, string>;
    return { shards: [...new Set(Object.values(map))].sort(), weightMap: map };
  }
  const shards = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort();
  if (shards.length === 0) throw new Error(`no *.safetensors files or ${INDEX_FILE} in ${dir}`);
  return { shards, weightMap: null };
}

/** A checkpoint folder opened for random access; holds one fd per shard until close(). */
export class SafetensorsCheckpoint {
  private readonly fds = new Map<string, number>();
  private readonly tensors = new Map<string, TensorInfo>();
  private readonly meta: Record<string, string> = {};
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly maxReadBytes: number,
  ) {}

  static open(dir: string, opts: OpenOptions = {}): SafetensorsCheckpoint {
    // Typed-array views below reinterpret file bytes in host order; safetensors is little-endian.
    if (endianness() !== 'LE') throw new Error('safetensors reading needs a little-endian host');
    const maxReadBytes = opts.maxReadBytes ?? MAX_READ_BYTES;
    if (!Number.isSafeInteger(maxReadBytes) || maxReadBytes < 1 || maxReadBytes > 0x7fffffff) {
      throw new RangeError(`maxReadBytes must be an integer in [1, 2^31 - 1], got ${maxReadBytes}`);
    }
    const ckpt = new SafetensorsCheckpoint(dir, maxReadBytes);
    try {
      ckpt.load();
    } catch (err) {
      ckpt.close();
      throw err;
    }
    return ckpt;
  }

  private load(): void {
    const { shards, weightMap } = listShards(this.dir);
    const shardOf = new Map<string, string>();
    for (const shard of shards) {
      const file = join(this.dir, shard);
      if (!existsSync(file)) throw new Error(`shard ${file} (listed in ${INDEX_FILE}) does not exist`);
      const fd = openSync(file, 'r');
      this.fds.set(file, fd);
      const parsed = parseShard(fd, file);
      Object.assign(this.meta, parsed.metadata);
      for (const info of parsed.tensors) {
        const other = this.tensors.get(info.name);
        if (other) throw new Error(`tensor "${info.name}" appears in both ${other.file} and ${file}`);
        this.tensors.set(info.name, info);
        shardOf.set(info.name, shard);
      }
    }
    for (const [name, shard] of Object.entries(weightMap ?? {})) {
      if (shardOf.get(name) !== shard) {
        throw new Error(
          `${INDEX_FILE} in ${this.dir} maps tensor "${name}" to ${shard}, but that shard does not hold it`,
        );
      }
    }
  }

  /** Tensor names, ordered by shard and then by position in the shard. */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new Error(`tensor "${name}" not found in ${this.dir}`);
    return info;
  }

  /** Exactly the tensor's bytes, in a fresh (hence aligned) buffer. */
  readRaw(name: string): Uint8Array {
    const info = this.info(name);
    if (this.closed) throw new Error(`checkpoint ${this.dir} is closed`);
    const fd = this.fds.get(info.file)!;
    const out = new Uint8Array(info.byteLength);
    let done = 0;
    while (done < info.byteLength) {
      const want = Math.min(this.maxReadBytes, info.byteLength - done);
      const got = readSync(fd, out, done, want, info.byteOffset + done);
      if (got === 0) throw new Error(`${info.file}: unexpected end of file reading tensor "${name}"`);
      done += got;
    }
    return out;
  }

  /** The tensor as float32; exact for F32/F16/BF16, rounded to nearest for F64. */
  readFloat32(name: string): Float32Array {
    const { dtype, file } = this.info(name);
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16' && dtype !== 'F64') {
      throw new Error(`tensor "${name}" in ${file} has dtype ${dtype}, which is not a float type readable as float32`);
    }
    const raw = this.readRaw(name);
    switch (dtype) {
      case 'F32':
        return new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
      case 'F16':
        return halfToFloat32(new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2));
      case 'BF16':
        return bfloat16ToFloat32(new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2));
      case 'F64':
        return Float32Array.from(new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8));
    }
  }

  /** `__metadata__` of all shards merged (later shards win on key clashes). */
  metadata(): Record<string, string> {
    return { ...this.meta };
  }

  /** Releases the shard file descriptors; further reads throw. Safe to call twice. */
  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    this.closed = true;
  }
}
