// The whole DeepSeek-V2/V3 step graph. One graph serves prefill, decode and mixed batches. The step's N new
// tokens are ragged (sequences back to back): embeddings, projections, MoE and lm_head run on exactly those N
// rows. Attention alone works per sequence: it gathers a padded [B, T] view through pad_index, attends to the
// sequence's cached latent rows (through its block table) and causally to its own new tokens, and scatters back
// through unpad_index.
//
// Its inputs and outputs (names, shapes, dtypes) are listed once, in io.ts.
import { writeFileSync } from 'node:fs';
import type { ModelConfig } from '../config.js';
import { isMoeLayer, latentRowWidth } from '../config.js';
import type { Value } from '../onnx/graph-builder.js';
import { DataType, GraphBuilder } from '../onnx/graph-builder.js';
import { WeightFile } from '../onnx/weight-file.js';
import { E4M3_TABLE } from '../../quant/e4m3.js';
import { quantizeBlocks, type BlockQuantizer } from '../../quant/int-blocks.js';
import type { CompileOptions, KvCacheDtype } from './compile-options.js';
import type { WeightSource } from './context.js';
import { GraphContext } from './context.js';
import { cacheInputName, cacheScaleInputName, latentOutputName, LOGITS_OUTPUT, STEP_INPUTS } from './io.js';
import type { AttentionInputs } from './mla.js';
import { mlaAttention } from './mla.js';
import { moeFeedForward } from './moe.js';
import { ropeTables } from './rope.js';


/** Writes the step graph to `onnxPath` and its weights to `onnxPath + '.data'`. */
export function buildDeepseekGraph(config: ModelConfig, source: WeightSource, onnxPath: string, options: CompileOptions, onProgress?: (msg: string) => void, quantize: BlockQuantizer = quantizeBlocks): void {
  const g = new GraphBuilder();
  const file = new WeightFile(`${onnxPath}.data`);
  try {
    const ctx = new GraphContext(g, file, source, options, quantize);
    const rowWidth = latentRowWidth(config);
    const inputIds = g.input(STEP_INPUTS.inputIds, DataType.INT64, ['num_tokens']);
    const positions = g.input(STEP_INPUTS.positions, DataType.INT64, ['num_tokens']);
    const queryLens = g.input(STEP_INPUTS.queryLens, DataType.INT64, ['batch']);
    const contextLens = g.input(STEP_INPUTS.contextLens, DataType.INT64, ['batch']);
    const blockTable = g.input(STEP_INPUTS.blockTable, DataType.INT64, ['batch', 'max_blocks']);
    const padIndex = g.input(STEP_INPUTS.padIndex, DataType.INT64, ['batch', 'query_len']);
    const unpadIndex = g.input(STEP_INPUTS.unpadIndex, DataType.INT64, ['num_tokens']);
    const logitsIndices = g.input(STEP_INPUTS.logitsIndices, DataType.INT64, ['num_logits']);
    const pools: CachePool[] = [];
    for (let l = 0; l < config.numHiddenLayers; l++) pools.push(cachePool(g, l, rowWidth, options.kvCacheDtype));
    const io = attentionInputs(g, config, { positions, queryLens, contextLens, blockTable, padIndex, unpadIndex, pool: pools[0]!.rows });

    let x = g.op1('Gather', [ctx.weight('model.embed_tokens.weight'), inputIds], { axis: 0 }); // [N, hidden]
    for (let l = 0; l < config.numHiddenLayers; l++) {
      onProgress?.(`layer ${l + 1}/${config.numHiddenLayers}`);
      const prefix = `model.layers.${l}`;
      const cached = pools[l]!.gather(blockTable); // [B, maxBlocks·blockSize, rowWidth]
      const attn = mlaAttention(ctx, config, `${prefix}.self_attn`, ctx.rmsNorm(x, `${prefix}.input_layernorm.weight`, config.rmsNormEps), cached, io);
      g.output(attn.latentRows, DataType.FLOAT, ['num_tokens', rowWidth], latentOutputName(l));
      x = g.op1('Add', [x, attn.out]);
      const h = ctx.rmsNorm(x, `${prefix}.post_attention_layernorm.weight`, config.rmsNormEps);
      const ffn = isMoeLayer(config, l) && config.moe !== null
        ? moeFeedForward(ctx, config, config.moe, `${prefix}.mlp`, h)
        : ctx.gatedMlp(h, `${prefix}.mlp`);
      x = g.op1('Add', [x, ffn]);
    }
    const last = ctx.rmsNorm(g.op1('Gather', [x, logitsIndices], { axis: 0 }), 'model.norm.weight', config.rmsNormEps);
    g.output(ctx.linear(last, 'lm_head.weight'), DataType.FLOAT, ['num_logits', config.vocabSize], LOGITS_OUTPUT);
    writeFileSync(onnxPath, g.build('deepseek', {
      'latentserve.row_width': String(rowWidth),
      'latentserve.quant': options.quant,
      'latentserve.kv_cache_dtype': options.kvCacheDtype,
    }));
  } finally {
    file.close();
  }
}

/** One layer's cache pool input(s) and how to read a batch's blocks from it as float rows. */
interface CachePool {
  /** [numBlocks, blockSize, rowWidth]: float32 rows, or E4M3 codes. */
  readonly rows: Value;
  gather(blockTable: Value): Value;
}

function cachePool(g: GraphBuilder, layer: number, rowWidth: number, dtype: KvCacheDtype): CachePool {
  const flatten = (v: Value): Value => g.op1('Reshape', [v, g.constInt64([0, -1, rowWidth])]);
  if (dtype === 'fp32') {
    const rows = g.input(cacheInputName(layer), DataType.FLOAT, ['num_blocks', 'block_size', rowWidth]);
    return { rows, gather: (bt) => flatten(g.op1('Gather', [rows, bt], { axis: 0 })) };
  }
  // E4M3 codes decoded through a 256-entry table (Node cannot pass float8 tensors, and ONNX Runtime 1.30 has no
  // BitCast), times each row's scale. The lookup is GatherElements over the flattened codes: ONNX Runtime's Gather
  // copies each 4-byte element with its own memcpy and measured 3× slower (1.3 vs 0.4 ms for 128 rows of 288).
  const rows = g.input(cacheInputName(layer), DataType.UINT8, ['num_blocks', 'block_size', rowWidth]);
  const scales = g.input(cacheScaleInputName(layer), DataType.FLOAT, ['num_blocks', 'block_size']);
  return {
    rows,
    gather: (bt) => {
      const gathered = g.op1('Gather', [rows, bt], { axis: 0 }); // [B, maxBlocks, blockSize, rowWidth] uint8
      const codes = g.op1('Reshape', [g.op1('Cast', [gathered], { to: DataType.INT32 }), g.constInt64([-1])]);
      const values = g.op1('Reshape', [g.op1('GatherElements', [g.constFloat([...E4M3_TABLE]), codes], { axis: 0 }), g.op1('Shape', [gathered])]);
      const rowScales = g.op1('Unsqueeze', [g.op1('Gather', [scales, bt], { axis: 0 }), g.constInt64([-1])]); // [B, maxBlocks, blockSize, 1]
      return flatten(g.op1('Mul', [values, rowScales]));
    },
  };
}

interface StepInputs {
  readonly positions: Value;
  readonly queryLens: Value;
  readonly contextLens: Value;
  readonly blockTable: Value;
  readonly padIndex: Value;
  readonly unpadIndex: Value;
  readonly pool: Value;
}

/** The per-step values every layer shares: shapes, rope tables and the attention mask. */
function attentionInputs(g: GraphBuilder, config: ModelConfig, s: StepInputs): AttentionInputs {
  const batchShape = g.op1('Shape', [s.padIndex]); // [B, T]
  const { cos, sin } = ropeTables(g, config, s.positions); // [N, rope]
  const padded = (v: Value): Value => g.op1('Gather', [v, s.padIndex], { axis: 0 }); // [N, ...] → [B, T, ...]
  const positions = padded(s.positions); // [B, T]
  const headAxis = g.constInt64([1]);

  const scalar = (v: Value): Value => g.op1('Squeeze', [v, g.constInt64([0])]);
  const zero = g.constInt64(0);
  const one = g.constInt64(1);
  const numQuery = g.op1('Shape', [s.padIndex], { start: 1, end: 2 }); // [1] = T
  const numCached = g.op1('Mul', [g.op1('Shape', [s.blockTable], { start: 1, end: 2 }), g.op1('Shape', [s.pool], { start: 1, end: 2 })]); // [1] = maxBlocks·blockSize

  // Cached slot j of row b is visible iff j < context_lens[b] (all cached tokens precede the new ones).
  const slot = g.op1('Unsqueeze', [g.op1('Range', [zero, scalar(numCached), one]), g.constInt64([0])]); // [1, S_cached]
  const cachedVisible = g.op1('Less', [slot, g.op1('Unsqueeze', [s.contextLens, g.constInt64([1])])]); // [B, S_cached]
  const cachedMask = g.op1('Expand', [g.op1('Unsqueeze', [cachedVisible, g.constInt64([1])]), g.op1('Concat', [batchShape, numCached], { axis: 0 })]); // [B, T, S_cached]
  // New token j is visible to new token t iff j is a real token and pos[j] ≤ pos[t].
  const col = g.op1('Unsqueeze', [g.op1('Range', [zero, scalar(numQuery), one]), g.constInt64([0])]); // [1, T]
  const real = g.op1('Less', [col, g.op1('Unsqueeze', [s.queryLens, g.constInt64([1])])]); // [B, T]
  const causal = g.op1('LessOrEqual', [g.op1('Unsqueeze', [positions, g.constInt64([1])]), g.op1('Unsqueeze', [positions, g.constInt64([2])])]); // [B, T(query), T(key)]
  const newMask = g.op1('And', [causal, g.op1('Unsqueeze', [real, g.constInt64([1])])]);
  const mask = g.op1('Unsqueeze', [g.op1('Concat', [cachedMask, newMask], { axis: 2 }), g.constInt64([1])]); // [B, 1, T, S]

  return {
    batchShape,
    padIndex: s.padIndex,
    unpadIndex: s.unpadIndex,
    mask,
    qCos: g.op1('Unsqueeze', [padded(cos), headAxis]),
    qSin: g.op1('Unsqueeze', [padded(sin), headAxis]),
    kCos: cos,
    kSin: sin,
  };
}
