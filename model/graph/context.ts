// What every layer-emitting function needs: the builder, where weights come from, and where they go.
import type { Value } from '../onnx/graph-builder.js';
import { DataType, GraphBuilder } from '../onnx/graph-builder.js';
import type { WeightFile } from '../onnx/weight-file.js';

/** Read access to checkpoint tensors by HuggingFace name (SafetensorsCheckpoint satisfies it). */
export interface WeightSource {
  has(name: string): boolean;
  readFloat32(name: string): Float32Array;
  info(name: string): { readonly shape: readonly number[] };
}

export class GraphContext {
  constructor(
    readonly g: GraphBuilder,
    private readonly file: WeightFile,
    readonly source: WeightSource,
  ) {}

  /** A checkpoint tensor as an external float32 initializer, with its checkpoint shape. */
  weight(hfName: string): Value {
    return this.tensor(hfName, this.source.readFloat32(hfName), this.source.info(hfName).shape);
  }

  /** A derived tensor (already rearranged in JS) as an external float32 initializer. */
  tensor(name: string, data: Float32Array, dims: readonly number[]): Value {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (data.length !== expected) throw new Error(`${name}: ${data.length} values for shape [${dims.join(', ')}]`);
    return this.g.external(name, DataType.FLOAT, dims, this.file.append(data));
  }

  /** A tensor whose bytes are produced lazily part by part (e.g. stacked experts), streamed to the file. */
  streamedTensor(name: string, dims: readonly number[], parts: Iterable<Float32Array>): Value {
    const ref = this.file.appendParts(parts);
    const expectedBytes = dims.reduce((a, b) => a * b, 1) * 4;
    if (ref.length !== expectedBytes) throw new Error(`${name}: ${ref.length} bytes for shape [${dims.join(', ')}]`);
    return this.g.external(name, DataType.FLOAT, dims, ref);
  }

  /** x [N, in] · Wᵀ for an HF Linear weight W [out, in] (stored as shipped; Gemm transposes). */
  linear(x: Value, hfName: string): Value {
    return this.g.op1('Gemm', [x, this.weight(hfName)], { transB: 1 });
  }

  /** RMSNorm over the last axis: x · rsqrt(mean(x²) + eps) · w. */
  rmsNorm(x: Value, hfName: string, eps: number): Value {
    const { g } = this;
    const meanSquare = g.op1('ReduceMean', [g.op1('Mul', [x, x]), g.constInt64([-1])], { keepdims: 1 });
    const rms = g.op1('Sqrt', [g.op1('Add', [meanSquare, g.constFloat(eps)])]);
    return g.op1('Mul', [g.op1('Div', [x, rms]), this.weight(hfName)]);
  }

  silu(x: Value): Value {
    return this.g.op1('Mul', [x, this.g.op1('Sigmoid', [x])]);
  }

  /** The gated MLP of dense layers and shared experts: down(silu(gate(x)) · up(x)). x [N, hidden]. */
  gatedMlp(x: Value, prefix: string): Value {
    const gate = this.silu(this.linear(x, `${prefix}.gate_proj.weight`));
    const up = this.linear(x, `${prefix}.up_proj.weight`);
    return this.linear(this.g.op1('Mul', [gate, up]), `${prefix}.down_proj.weight`);
  }
}
