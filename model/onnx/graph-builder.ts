// A small typed builder that emits ONNX bytes. Values are names; every op appends one NodeProto.
// Large weights go to an external-data file (see WeightFile) so models past protobuf's 2 GB limit work and
// ONNX Runtime memory-maps them.
import { encodeModelProto } from './onnx-proto.js';

export type Value = string & { readonly __brand: 'OnnxValue' };

/** onnx.TensorProto.DataType codes. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export type Dim = number | string;
export type AttrValue =
  | number
  | string
  | readonly number[]
  | { readonly float: number }
  | { readonly floats: readonly number[] }
  | { readonly tensor: InlineTensor };

export interface InlineTensor {
  readonly dataType: DataTypeCode;
  readonly dims: readonly number[];
  readonly bytes: Uint8Array;
}

/** Where an external initializer's bytes live. */
export interface ExternalRef {
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

interface OpOptions {
  readonly domain?: string;
  readonly outputs?: number;
  readonly name?: string;
}

export const MS_DOMAIN = 'com.microsoft';

export class GraphBuilder {
  private readonly nodes: Record<string, unknown>[] = [];
  private readonly initializers: Record<string, unknown>[] = [];
  private readonly inputs: Record<string, unknown>[] = [];
  private readonly outputs: Record<string, unknown>[] = [];
  private readonly names = new Set<string>();
  private readonly constCache = new Map<string, Value>();
  private counter = 0;

  constructor(private readonly opsets: Readonly<Record<string, number>> = { '': 21, [MS_DOMAIN]: 1 }) {}

  input(name: string, dataType: DataTypeCode, shape: readonly Dim[]): Value {
    this.inputs.push(valueInfo(this.claim(name), dataType, shape));
    return name as Value;
  }

  output(value: Value, dataType: DataTypeCode, shape: readonly Dim[], name?: string): Value {
    let out = value;
    if (name !== undefined && name !== value) out = this.op('Identity', [value], {}, { name })[0]!;
    this.outputs.push(valueInfo(out, dataType, shape));
    return out;
  }

  /** An initializer stored in the external data file. */
  external(name: string, dataType: DataTypeCode, dims: readonly number[], ref: ExternalRef): Value {
    this.initializers.push({
      name: this.claim(name),
      data_type: dataType,
      dims: [...dims],
      data_location: 1,
      external_data: [
        { key: 'location', value: ref.location },
        { key: 'offset', value: String(ref.offset) },
        { key: 'length', value: String(ref.length) },
      ],
    });
    return name as Value;
  }

  /** A small initializer stored inside the model proto. */
  inline(name: string, tensor: InlineTensor): Value {
    this.initializers.push({
      name: this.claim(name),
      data_type: tensor.dataType,
      dims: [...tensor.dims],
      raw_data: tensor.bytes,
    });
    return name as Value;
  }

  constFloat(values: readonly number[] | number, dims?: readonly number[]): Value {
    const arr = Float32Array.from(typeof values === 'number' ? [values] : values);
    return this.constant(
      DataType.FLOAT,
      dims ?? (typeof values === 'number' ? [] : [arr.length]),
      new Uint8Array(arr.buffer),
    );
  }

  constInt64(values: readonly number[] | number, dims?: readonly number[]): Value {
    const arr = BigInt64Array.from((typeof values === 'number' ? [values] : values).map((v) => BigInt(v)));
    return this.constant(
      DataType.INT64,
      dims ?? (typeof values === 'number' ? [] : [arr.length]),
      new Uint8Array(arr.buffer),
    );
  }

  private constant(dataType: DataTypeCode, dims: readonly number[], bytes: Uint8Array): Value {
    const key = `${dataType}|${dims.join(',')}|${Buffer.from(bytes).toString('base64')}`;
    const hit = this.constCache.get(key);
    if (hit !== undefined) return hit;
    const value = this.inline(this.fresh('const'), { dataType, dims, bytes });
    this.constCache.set(key, value);
    return value;
  }

  /** Appends one node; `null` inputs are ONNX's omitted optional inputs. */
  op(
    opType: string,
    inputs: readonly (Value | null)[],
    attrs: Readonly<Record<string, AttrValue>> = {},
    opts: OpOptions = {},
  ): Value[] {
    const count = opts.outputs ?? 1;
    const outs: Value[] = [];
    for (let i = 0; i < count; i++) {
      outs.push(this.claim(count === 1 && opts.name !== undefined ? opts.name : this.fresh(opType)) as Value);
    }
    this.nodes.push({
      op_type: opType,
      domain: opts.domain ?? '',
      name: this.fresh(`n_${opType}`),
      input: inputs.map((v) => v ?? ''),
      output: outs,
      attribute: Object.entries(attrs).map(([name, v]) => attribute(name, v)),
    });
    return outs;
  }

  /** Single-output op shorthand. */
  op1(
    opType: string,
    inputs: readonly (Value | null)[],
    attrs: Readonly<Record<string, AttrValue>> = {},
    domain?: string,
  ): Value {
    return this.op(opType, inputs, attrs, domain === undefined ? {} : { domain })[0]!;
  }

  build(graphName: string, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
    return encodeModelProto({
      ir_version: 10,
      producer_name: 'latentserve',
      opset_import: Object.entries(this.opsets).map(([domain, version]) => ({ domain, version })),
      metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }

  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`duplicate ONNX value name "${name}"`);
    this.names.add(name);
    return name;
  }
}

function valueInfo(name: string, dataType: DataTypeCode, shape: readonly Dim[]): Record<string, unknown> {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: dataType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue): Record<string, unknown> {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: use { float } for non-integer ${v}`);
    return { name, type: 2, i: v };
  }
  if (typeof v === 'string') return { name, type: 3, s: Buffer.from(v, 'utf8') };
  if (Array.isArray(v)) return { name, type: 7, ints: [...(v as readonly number[])] };
  if ('float' in v) return { name, type: 1, f: v.float };
  if ('floats' in v) return { name, type: 6, floats: [...v.floats] };
  if ('tensor' in v) {
    return { name, type: 4, t: { data_type: v.tensor.dataType, dims: [...v.tensor.dims], raw_data: v.tensor.bytes } };
  }
  throw new Error(`attribute ${name}: unsupported value`);
}
