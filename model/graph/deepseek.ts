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
export function buildDeepseekGraph(
  config: ModelConfig,
  source: WeightSource,
  onnxPath: string,
  options: CompileOptions,
  onProgress?: (msg: string) => void,
  quantize: BlockQuantizer = quantizeBlocks,
): void {
  const g = new GraphBuilder();
  const file = new WeightFile(`${onnxPath}.data`);
  try {
    const ctx = new GraphContext(g, file, source, options, quantize);
    const rowWidth = latentRowWidth(config);
    const inputIds = g.input(STEP_INPUTS.inputIds, DataType.INT64, ['num_tokens']);
    const positions = g.input(STEP_INPUTS.positions, DataType.INT64, ['num_tokens']);
    g.input(STEP_INPUTS.queryLens, DataType.INT64, ['batch']); // part of the step contract; the mask needs only context_lens
    const contextLens = g.input(STEP_INPUTS.contextLens, DataType.INT64, ['batch']);
    const blockTable = g.input(STEP_INPUTS.blockTable, DataType.INT64, ['batch', 'max_blocks']);
    const padIndex = g.input(STEP_INPUTS.padIndex, DataType.INT64, ['batch', 'query_len']);
    const unpadIndex = g.input(STEP_INPUTS.unpadIndex, DataType.INT64, ['num_tokens']);
    const logitsIndices = g.input(STEP_INPUTS.logitsIndices, DataType.INT64, ['num_logits']);
    const pools: CachePool[] = [];
    for (let l = 0; l < config.numHiddenLayers; l++) pools.push(cachePool(g, l, rowWidth, options.kvCacheDtype));
    const io = attentionInputs(g, config, {
      positions,
      contextLens,
      blockTable,
      padIndex,
      unpadIndex,
      pool: pools[0]!.rows,
    });

    let x = g.op1('Gather', [ctx.weight('model.embed_tokens.weight'), inputIds], { axis: 0 }); // [N, hidden]
    for (let l = 0; l < config.numHiddenLayers; l++) {
      onProgress?.(`layer ${l + 1}/${config.numHiddenLayers}`);
      const prefix = `model.layers.${l}`;
      const cached = pools[l]!.gather(blockTable); // [B, maxBlocks·blockSize, rowWidth]
      const attn = mlaAttention(
        ctx,
        config,
        `${prefix}.self_attn`,
        ctx.rmsNorm(x, `${prefix}.input_layernorm.weight`, config.rmsNormEps),
        cached,
        io,
      );
      g.output(attn.latentRows, DataType.FLOAT, ['num_tokens', rowWidth], latentOutputName(l));
      x = g.op1('Add', [x, attn.out]);
      const h = ctx.rmsNorm(x, `${prefix}.post_attention_layernorm.weight`, config.rmsNormEps);
      const ffn =
        isMoeLayer(config, l) && config.moe !== null
          ? moeFeedForward(ctx, config, config.moe, `${prefix}.mlp`, h)
          : ctx.gatedMlp(h, `${prefix}.mlp`);
      x = g.op1('Add', [x, ffn]);
    }
    const last = ctx.rmsNorm(g.op1('Gather', [x, logitsIndices], { axis: 0 }), 'model.norm.weight', config.rmsNormEps);
    g.output(ctx.linear(last, 'lm_head.weight'), DataType.FLOAT, ['num_logits', config.vocabSize], LOGITS_OUTPUT);
    writeFileSync(
      onnxPath,
      g.build('deepseek', {
        'latentserve.row_width': String(rowWidth),
        'latentserve.quant': options.quant,
        'latentserve.kv_cache_dtype': options.kvCacheDtype,
      }),
    );
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
      const values = g.op1('Reshape', [
        g.op1('GatherElements', [g.constFloat([...E4M3_TABLE]), codes], { axis: 0 }),
        g.op1('Shape', [gathered]),
      ]);
      const rowScales = g.op1('Unsqueeze', [g.op1('Gather', [scales, bt], { axis: 0 }), g.constInt64([-1])]); // [B, maxBlocks, blockSize, 1]
      return flatten(g.op1('Mul', [values, rowScales]));
    },
  };
}

interface StepInputs {
  readonly positions: Value;
  readonly contextLens: Value;
  readonly blockTable: Value;
  readonly padIndex: Value;
  readonly unpadIndex: Value;
  readonly pool: Value;
}

/** The per-step values every layer shares: rope tables, where each token's key row goes, and the attention mask. */
function attentionInputs(g: GraphBuilder, config: ModelConfig, s: StepInputs): AttentionInputs {
  const { cos, sin } = ropeTables(g, config, s.positions); // [N, rope]
  const scalar = (v: Value): Value => g.op1('Squeeze', [v, g.constInt64([0])]);
  const zero = g.constInt64(0);
  const one = g.constInt64(1);
  const batchShape = g.op1('Shape', [s.padIndex]); // [2] = (B, T)
  const numQuery = g.op1('Shape', [s.padIndex], { start: 1, end: 2 }); // [1] = T
  const numKeys = g.op1('Mul', [
    g.op1('Shape', [s.blockTable], { start: 1, end: 2 }),
    g.op1('Shape', [s.pool], { start: 1, end: 2 }),
  ]); // [1] = S = maxBlocks·blockSize

  // New token t of sequence b sits at position contextLen[b] + t, and its row at that key slot: the block table
  // covers positions [0, contextLen + queryLen). A padding token's unpad slot is 0, so it writes token 0's row
  // to token 0's slot again (same index, same row: the scatter stays deterministic).
  const sequence = g.op1('Div', [s.unpadIndex, numQuery]); // [N]
  const keySlot = g.op1('Add', [
    g.op1('Gather', [s.contextLens, sequence], { axis: 0 }),
    g.op1('Mod', [s.unpadIndex, numQuery]),
  ]); // [N]
  const lastAxis = g.constInt64([-1]);
  const keySlots = g.op1(
    'Concat',
    [g.op1('Unsqueeze', [sequence, lastAxis]), g.op1('Unsqueeze', [keySlot, lastAxis])],
    { axis: 1 },
  ); // [N, 2]
  const keySlotRows = g.op1('Gather', [g.op1('Reshape', [s.padIndex, g.constInt64([-1])]), s.unpadIndex], { axis: 0 }); // [N]

  // Key slot j is visible to query t of sequence b iff j ≤ contextLen[b] + t (its cached tokens, then causally its
  // new ones; slots past its own tokens hold other rows and stay hidden).
  const slot = g.op1('Range', [zero, scalar(numKeys), one]); // [S]
  const lastVisible = g.op1('Add', [
    g.op1('Unsqueeze', [s.contextLens, lastAxis]),
    g.op1('Range', [zero, scalar(numQuery), one]),
  ]); // [B, T]
  const mask = g.op1('LessOrEqual', [slot, g.op1('Unsqueeze', [lastVisible, g.constInt64([2, 3])])]); // [B, T, 1, S]

  return {
    padIndex: s.padIndex,
    unpadIndex: s.unpadIndex,
    keySlots,
    keySlotRows,
    mask,
    scoreShape: g.op1('Concat', [batchShape, g.constInt64([config.numAttentionHeads]), numKeys], { axis: 0 }),
    scoreRowsShape: g.op1('Concat', [g.op1('Shape', [s.padIndex], { start: 0, end: 1 }), g.constInt64([-1]), numKeys], {
      axis: 0,
    }),
    cos,
    sin,
    qCos: g.op1('Unsqueeze', [cos, g.constInt64([1])]),
    qSin: g.op1('Unsqueeze', [sin, g.constInt64([1])]),
  };
}
