// What every layer-emitting function needs: the builder, where weights come from, and where they go.
import { quantizeBlocks } from '../../quant/int-blocks.js';
import type { Value } from '../onnx/graph-builder.js';
import { DataType, GraphBuilder, MS_DOMAIN } from '../onnx/graph-builder.js';
import type { WeightFile } from '../onnx/weight-file.js';
import type { CompileOptions } from './compile-options.js';
import { weightBits } from './compile-options.js';

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
    readonly options: CompileOptions,
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

  /**
   * x [N, in] · Wᵀ for an HF Linear weight W [out, in]: Gemm on the float weight as shipped, or MatMulNBits on
   * its block-wise 8/4-bit codes (which stay quantized in memory) when compiling with --quant.
   */
  linear(x: Value, hfName: string): Value {
    const bits = weightBits(this.options.quant);
    if (bits === null) return this.floatLinear(x, hfName);
    const [rows, cols] = this.source.info(hfName).shape as [number, number];
    const q = quantizeBlocks(this.source.readFloat32(hfName), rows, cols, bits, this.options.quantBlockSize);
    const codes = this.g.external(`${hfName}.q${bits}`, DataType.UINT8, [rows, q.blocksPerRow, (q.blockSize * bits) / 8], this.file.append(q.data));
    const scales = this.g.external(`${hfName}.scales`, DataType.FLOAT, [rows, q.blocksPerRow], this.file.append(q.scales));
    return this.g.op1('MatMulNBits', [x, codes, scales], { K: cols, N: rows, bits, block_size: q.blockSize, accuracy_level: 4 }, MS_DOMAIN);
  }

  /** Always float32 (router gates decide expert choice and stay exact). */
  floatLinear(x: Value, hfName: string): Value {
    return this.g.op1('Gemm', [x, this.weight(hfName)], { transB: 1 });
  }

  /** A tensor whose bytes are produced lazily part by part (stacked experts), streamed to the weight file. */
  streamedBytes(name: string, dataType: typeof DataType.UINT8 | typeof DataType.FLOAT, dims: readonly number[], parts: Iterable<ArrayBufferView>): Value {
    const ref = this.file.appendParts(parts);
    const expectedBytes = dims.reduce((a, b) => a * b, 1) * (dataType === DataType.FLOAT ? 4 : 1);
    if (ref.length !== expectedBytes) throw new Error(`${name}: ${ref.length} bytes for shape [${dims.join(', ')}]`);
    return this.g.external(name, dataType, dims, ref);
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
