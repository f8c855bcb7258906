// Streaming safetensors writer: the header is fixed up front from the tensor shapes, then each tensor's bytes are
// appended in declaration order, so a checkpoint larger than memory can be written chunk by chunk.
//
// File layout:
//   [u64 LE headerBytes][JSON header, space-padded to a multiple of 8][tensor 0 bytes][tensor 1 bytes]...
//   header = {"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
//   data_offsets are relative to the first byte after the header and follow declaration order.
// Each tensor has its own dtype (a checkpoint mixes them: DeepSeek-V3's FP8 release stores F8_E4M3 weights next to
// F32 scale_inv and BF16 norms); a declaration without one takes the writer's default.

import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { encodeE4M3 } from '../quant/index.js';

export type SafetensorsDtype = 'F32' | 'BF16' | 'F8_E4M3';

export interface TensorDecl {
  name: string;
  shape: readonly number[];
  /** Defaults to the writer's dtype. */
  dtype?: SafetensorsDtype;
}

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { F32: 4, BF16: 2, F8_E4M3: 1 };

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

/** float32 bit pattern → bfloat16 bit pattern, rounding to nearest with ties to even; NaN stays a quiet NaN. */
export function f32BitsToBf16Bits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x0040) & 0xffff;
  const roundingBias = 0x7fff + ((bits >>> 16) & 1);
  return ((bits + roundingBias) >>> 16) & 0xffff;
}

export function bf16BitsToF32(bits: number): number {
  const scratch = new Uint32Array([bits << 16]);
  return new Float32Array(scratch.buffer)[0] ?? Number.NaN;
}

/** Encodes the JSON header (with its 8-byte length prefix) for `tensors` stored in that order. */
export function encodeSafetensorsHeader(
  tensors: readonly TensorDecl[],
  defaultDtype: SafetensorsDtype,
  metadata: Readonly<Record<string, string>>,
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offsetBytes = 0;
  for (const tensor of tensors) {
    if (tensor.name in header) throw new Error(`duplicate tensor name ${tensor.name}`);
    const dtype = tensor.dtype ?? defaultDtype;
    const sizeBytes = elementCount(tensor.shape) * BYTES_PER_ELEMENT[dtype];
    header[tensor.name] = { dtype, shape: [...tensor.shape], data_offsets: [offsetBytes, offsetBytes + sizeBytes] };
    offsetBytes += sizeBytes;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  // Padding keeps the tensor data 8-byte aligned for readers that map the file.
  const paddedLength = Math.ceil(json.length / 8) * 8;
  const out = Buffer.alloc(8 + paddedLength, 0x20);
  out.writeBigUInt64LE(BigInt(paddedLength), 0);
  json.copy(out, 8);
  return out;
}

export class SafetensorsWriter {
  private nextTensor = 0;
  // BF16 / F8 conversion target, grown on demand and reused across chunks.
  private scratch = new Uint8Array(0);

  private constructor(
    private readonly file: FileHandle,
    private readonly tensors: readonly TensorDecl[],
    private readonly dtype: SafetensorsDtype,
  ) {}

  static async create(
    path: string,
    tensors: readonly TensorDecl[],
    dtype: SafetensorsDtype,
    metadata: Readonly<Record<string, string>> = {},
  ): Promise<SafetensorsWriter> {
    // Float32Array bytes are written as-is, which is only right on little-endian hosts.
    if (endianness() !== 'LE') throw new Error('safetensors writer requires a little-endian host');
    const header = encodeSafetensorsHeader(tensors, dtype, metadata);
    const file = await open(path, 'w');
    try {
      await file.write(header);
    } catch (error) {
      await file.close();
      throw error;
    }
    return new SafetensorsWriter(file, tensors, dtype);
  }

  /**
   * Writes the next declared tensor from F32 chunks, converted to its dtype (F8_E4M3 values are encoded as they
   * are, unscaled, saturating at ±448). Each chunk is consumed before the iterator is resumed, so a generator may
   * refill one reused Float32Array for every chunk.
   */
  async writeTensor(name: string, chunks: Iterable<Float32Array>): Promise<void> {
    const dtype = this.next(name).dtype ?? this.dtype;
    await this.writeBytes(name, chunks, (chunk) => this.encode(chunk, dtype), BYTES_PER_ELEMENT[dtype]);
  }

  /** Writes the next declared tensor from chunks already in its dtype's little-endian bytes (e.g. E4M3 codes). */
  async writeTensorBytes(name: string, chunks: Iterable<Uint8Array>): Promise<void> {
    this.next(name);
    await this.writeBytes(name, chunks, (chunk) => chunk, 1);
  }

  async close(): Promise<void> {
    await this.file.close();
    if (this.nextTensor !== this.tensors.length) {
      throw new Error(`safetensors file closed after ${this.nextTensor} of ${this.tensors.length} tensors`);
    }
  }

  private next(name: string): TensorDecl {
    const decl = this.tensors[this.nextTensor];
    if (decl === undefined || decl.name !== name) {
      throw new Error(`tensor ${name} written out of order: expected ${decl?.name ?? 'no more tensors'}`);
    }
    return decl;
  }

  /** Streams the next tensor's chunks, each turned into bytes by `toBytes` (`unitBytes` bytes per chunk element). */
  private async writeBytes<Chunk extends { length: number }>(
    name: string,
    chunks: Iterable<Chunk>,
    toBytes: (chunk: Chunk) => Uint8Array,
    unitBytes: number,
  ): Promise<void> {
    const decl = this.next(name);
    const expectedBytes = elementCount(decl.shape) * BYTES_PER_ELEMENT[decl.dtype ?? this.dtype];
    let writtenBytes = 0;
    for (const chunk of chunks) {
      writtenBytes += chunk.length * unitBytes;
      if (writtenBytes > expectedBytes) throw new Error(`tensor ${name}: more than ${expectedBytes} bytes supplied`);
      await this.file.write(toBytes(chunk));
    }
    if (writtenBytes !== expectedBytes)
      throw new Error(`tensor ${name}: ${writtenBytes} of ${expectedBytes} bytes supplied`);
    this.nextTensor++;
  }

  private encode(chunk: Float32Array, dtype: SafetensorsDtype): Uint8Array {
    if (dtype === 'F32') return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const outBytes = chunk.length * BYTES_PER_ELEMENT[dtype];
    if (this.scratch.byteLength < outBytes)
      this.scratch = new Uint8Array(Math.max(outBytes, 2 * this.scratch.byteLength));
    if (dtype === 'F8_E4M3') {
      for (let i = 0; i < chunk.length; i++) this.scratch[i] = encodeE4M3(chunk[i] ?? 0);
      return this.scratch.subarray(0, outBytes);
    }
    const bits = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length);
    const out = new Uint16Array(this.scratch.buffer, 0, chunk.length);
    for (let i = 0; i < chunk.length; i++) out[i] = f32BitsToBf16Bits(bits[i] ?? 0);
    return this.scratch.subarray(0, outBytes);
  }
}
