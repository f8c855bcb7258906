// What every layer-emitting function needs: the builder, where weights come from, and where they go.
import { quantizeBlocks, type BlockQuantizer } from '../../quant/int-blocks.js';
import { channelsFromRowBlocks } from '../../quant/int8-channels.js';
import type { Value } from '../onnx/graph-builder.js';
import { DataType, GraphBuilder, MS_DOMAIN } from '../onnx/graph-builder.js';
import type { WeightFile } from '../onnx/weight-file.js';
import type { CompileOptions } from './compile-options.js';
import { isW8a8, weightBits } from './compile-options.js';

/** Read access to checkpoint tensors by HuggingFace name (SafetensorsCheckpoint satisfies it). */
export interface WeightSource {
  has(name: string): boolean;
  readFloat32(name: string): Float32Array;
  info(name: string): { readonly shape: readonly number[] };
}

/** Rows scaled to max |x| = 1 and the maxima that restore them (w8a8 inputs; see unitRows). */
export interface UnitRows {
  readonly unit: Value;
  /** [M, 1] */
  readonly scale: Value;
}

export class GraphContext {
  private readonly unitRowsOf = new Map<Value, UnitRows>();

  constructor(
    readonly g: GraphBuilder,
    private readonly file: WeightFile,
    readonly source: WeightSource,
    readonly options: CompileOptions,
    /** quantizeBlocks, or a BlockQuantizePool's (same bytes, on several threads). */
    private readonly quantize: BlockQuantizer = quantizeBlocks,
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
   * x [N, in] · Wᵀ for an HF Linear weight W [out, in]: Gemm on the float weight as shipped, MatMulNBits on its
   * block-wise 8/4-bit codes (which stay quantized in memory) with --quant int8|int4, or DynamicQuantizeMatMul on
   * per-channel int8 codes with --quant w8a8.
   */
  linear(x: Value, hfName: string, input: LinearInput = 'rows'): Value {
    const [rows, cols] = this.source.info(hfName).shape as [number, number];
    return this.linearOf(x, hfName, this.source.readFloat32(hfName), rows, cols, input);
  }

  /**
   * x · Wᵀ for a weight W [rows, cols] built in JS (fused gate/up, one routed expert); named `name`. With w8a8,
   * `input` 'unit-rows' says x's rows are already unitRows(·).unit: the product is returned without their scale,
   * which the caller restores (the routed experts fold it into their mixing weights).
   */
  linearOf(x: Value, name: string, data: Float32Array, rows: number, cols: number, input: LinearInput = 'rows'): Value {
    const bits = weightBits(this.options.quant);
    if (bits === null) return this.g.op1('Gemm', [x, this.tensor(name, data, [rows, cols])], { transB: 1 });
    if (isW8a8(this.options.quant)) {
      if (input === 'unit-rows') return this.channelLinear(x, name, data, rows, cols);
      const { unit, scale } = this.unitRows(x);
      return this.g.op1('Mul', [this.channelLinear(unit, name, data, rows, cols), scale]);
    }
    const q = this.quantize(data, rows, cols, bits, this.options.quantBlockSize);
    const codes = this.g.external(
      `${name}.q${bits}`,
      DataType.UINT8,
      [rows, q.blocksPerRow, (q.blockSize * bits) / 8],
      this.file.append(q.data),
    );
    const scales = this.g.external(
      `${name}.scales`,
      DataType.FLOAT,
      [rows, q.blocksPerRow],
      this.file.append(q.scales),
    );
    return this.g.op1(
      'MatMulNBits',
      [x, codes, scales],
      { K: cols, N: rows, bits, block_size: q.blockSize, accuracy_level: 4 },
      MS_DOMAIN,
    );
  }

  /**
   * x's rows divided by their own max |x| (at least 1e-30), and those maxima [M, 1]: every row then reaches ±1 and
   * DynamicQuantizeMatMul's per-tensor uint8 range lies within [−1, 1], so it quantizes each row about as finely
   * as a per-row quantizer would. Built once per value (q and kv projections share their input's, as do shared and
   * routed experts). x must have a row: on an empty input ONNX Runtime 1.30's ReduceMax keeps the reduced axis's
   * length (and TopK, the other way to a row max, dies with SIGFPE), so a routed expert's slice (empty when no
   * token chose it) is never passed here; sortedExperts normalizes before slicing.
   */
  unitRows(x: Value): UnitRows {
    const known = this.unitRowsOf.get(x);
    if (known !== undefined) return known;
    const { g } = this;
    const scale = g.op1('Max', [
      g.op1('ReduceMax', [g.op1('Abs', [x]), g.constInt64([-1])], { keepdims: 1 }),
      g.constFloat([1e-30]),
    ]);
    const rows = { unit: g.op1('Div', [x, scale]), scale };
    this.unitRowsOf.set(x, rows);
    return rows;
  }

  /** unit · Wᵀ on per-channel int8 W (quant/int8-channels.ts) through the u8s8 integer GEMM. */
  private channelLinear(unit: Value, name: string, data: Float32Array, rows: number, cols: number): Value {
    const q = channelsFromRowBlocks(this.quantize(data, rows, cols, 8, cols));
    const codes = this.g.external(`${name}.i8`, DataType.INT8, [cols, rows], this.file.append(q.codes));
    const scales = this.g.external(`${name}.channel_scales`, DataType.FLOAT, [rows], this.file.append(q.scales));
    return this.g.op1('DynamicQuantizeMatMul', [unit, codes, scales], {}, MS_DOMAIN);
  }

  /** Always float32 (router gates decide expert choice and stay exact). */
  floatLinear(x: Value, hfName: string): Value {
    return this.g.op1('Gemm', [x, this.weight(hfName)], { transB: 1 });
  }

  /** RMSNorm over the last axis, x · rsqrt(mean(x²) + eps) · w, as ONNX Runtime's one-kernel SimplifiedLayerNormalization. */
  rmsNorm(x: Value, hfName: string, eps: number): Value {
    return this.g.op1('SimplifiedLayerNormalization', [x, this.weight(hfName)], { axis: -1, epsilon: { float: eps } });
  }

  silu(x: Value): Value {
    return this.g.op1('Mul', [x, this.g.op1('Sigmoid', [x])]);
  }

  /**
   * The gated MLP of dense layers and shared experts: down(silu(gate(x)) · up(x)), x [N, hidden]. gate and up run
   * as one product over their stacked rows (one weight read, one kernel call).
   */
  gatedMlp(x: Value, prefix: string): Value {
    const { product, inter } = this.gateUpLinear(x, prefix);
    return this.linear(this.swiglu(product, inter), `${prefix}.down_proj.weight`);
  }

  /** x · [gate; up]ᵀ: `prefix`'s gate_proj and up_proj as one product [M, 2·inter] (one weight read, one kernel). */
  gateUpLinear(x: Value, prefix: string, input: LinearInput = 'rows'): { product: Value; inter: number } {
    const { product, widths } = this.stackedLinear(
      x,
      [`${prefix}.gate_proj.weight`, `${prefix}.up_proj.weight`],
      `${prefix}.gate_up_proj.weight`,
      input,
    );
    return { product, inter: widths[0]! };
  }

  /**
   * x · [W_1; …; W_n]ᵀ for HF Linear weights sharing x (same input width): one product over their stacked rows,
   * named `name` (one weight read, one kernel call), [M, Σ widths]; `widths` are the W_i's output widths, in order.
   */
  stackedLinear(
    x: Value,
    hfNames: readonly string[],
    name: string,
    input: LinearInput = 'rows',
  ): { product: Value; widths: number[] } {
    const shapes = hfNames.map((n) => this.source.info(n).shape as [number, number]);
    const cols = shapes[0]![1];
    for (const [i, [, c]] of shapes.entries())
      if (c !== cols) throw new Error(`${hfNames[i]}: ${c} input columns, ${hfNames[0]} has ${cols}`);
    const widths = shapes.map(([rows]) => rows);
    const stacked = stackRows(hfNames.map((n) => this.source.readFloat32(n)));
    const rows = widths.reduce((a, b) => a + b, 0);
    return { product: this.linearOf(x, name, stacked, rows, cols, input), widths };
  }

  /** silu(gate) · up for gateUp [M, 2·inter] = [gate | up] along the last axis. */
  swiglu(gateUp: Value, inter: number): Value {
    const [gate, up] = this.g.op('Split', [gateUp, this.g.constInt64([inter, inter])], { axis: -1 }, { outputs: 2 });
    return this.g.op1('Mul', [this.silu(gate!), up!]);
  }
}

/** What a linear layer's input rows are: plain, or (w8a8) already divided by their max |x| (GraphContext.unitRows). */
export type LinearInput = 'rows' | 'unit-rows';

/** The rows of each matrix in turn (row-major matrices with the same column count). */
function stackRows(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
