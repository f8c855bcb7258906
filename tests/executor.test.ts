// The executor worker: batching sequences into one step changes nothing, a bad step fails alone, and a CUDA
// request on a machine without the CUDA provider falls back to CPU with exactly one warning line.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { BlockId, ForwardInputs, SequenceSlice } from '../model/executor/types.js';
import { stepLogits } from '../model/executor/types.js';
import type { LoadedModel } from '../model/load.js';
import { loadModel } from '../model/load.js';
import { fixtureDir, loadReference, tempCacheDir } from './helpers/fixtures.js';

const BLOCK_SIZE = 8;

interface Seq {
  ids: number[];
  blocks: BlockId[];
}

/** One step prefilling each sequence completely, returning logits of every token of every sequence. */
function prefillStep(seqs: Seq[]): ForwardInputs {
  const slices: SequenceSlice[] = seqs.map((s) => ({ queryLen: s.ids.length, contextLen: 0, blockTable: s.blocks }));
  const positions = seqs.flatMap((s) => s.ids.map((_, i) => i));
  const slots = seqs.flatMap((s) =>
    s.ids.map((_, i) => s.blocks[Math.floor(i / BLOCK_SIZE)]! * BLOCK_SIZE + (i % BLOCK_SIZE)),
  );
  const total = positions.length;
  return {
    tokenIds: Int32Array.from(seqs.flatMap((s) => s.ids)),
    positions: Int32Array.from(positions),
    seqs: slices,
    slotMapping: Int32Array.from(slots),
    logitsIndices: Int32Array.from({ length: total }, (_, i) => i),
  };
}

const blocks = (...ids: number[]): BlockId[] => ids as BlockId[];

describe('executor', () => {
  const cacheDir = tempCacheDir();
  let model: LoadedModel;
  const prompts = loadReference('deepseek-v3-tiny-b').prompts;
  const short = prompts.find((p) => p.name === 'short7')!.fed_ids;
  const chat = prompts.find((p) => p.name === 'chat40')!.fed_ids;
  before(async () => {
    model = await loadModel(fixtureDir('deepseek-v3-tiny-b'), { cacheDir, blockSize: BLOCK_SIZE, numBlocks: 32 });
  });
  after(async () => {
    await model.executor.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('sequences batched into one padded step give the logits each gives alone', async () => {
    const a: Seq = { ids: short, blocks: blocks(0, 1, 2) };
    const b: Seq = { ids: chat, blocks: blocks(10, 11, 12, 13, 14, 15, 16) };
    const alone = [
      ...stepLogits(await model.executor.step(prefillStep([a]))),
      ...stepLogits(await model.executor.step(prefillStep([b]))),
    ];
    const together = stepLogits(await model.executor.step(prefillStep([a, b])));
    assert.equal(together.length, alone.length);
    let maxDiff = 0;
    together.forEach((v, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - alone[i]!));
    });
    assert.ok(maxDiff < 1e-4, `max difference ${maxDiff}`);
  });

  it("decode reads earlier steps' rows through the block table", async () => {
    const ids = short;
    const seqBlocks = blocks(5, 3, 20); // deliberately non-contiguous
    const full = stepLogits(await model.executor.step(prefillStep([{ ids, blocks: seqBlocks }])));
    const vocab = model.executor.vocabSize;
    const split = ids.length - 1;
    await model.executor.step(prefillStep([{ ids: ids.slice(0, split), blocks: seqBlocks }]));
    const pos = split;
    const logits = stepLogits(
      await model.executor.step({
        tokenIds: Int32Array.of(ids[pos]!),
        positions: Int32Array.of(pos),
        seqs: [{ queryLen: 1, contextLen: split, blockTable: seqBlocks }],
        slotMapping: Int32Array.of(seqBlocks[Math.floor(pos / BLOCK_SIZE)]! * BLOCK_SIZE + (pos % BLOCK_SIZE)),
        logitsIndices: Int32Array.of(0),
      }),
    );
    const want = full.subarray(pos * vocab, (pos + 1) * vocab);
    logits.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-4, `logit ${i}: ${v} vs ${want[i]}`));
  });

  it('rows copied into another block before a step (slotCopies) are read like the rows computed there', async () => {
    const vocab = model.executor.vocabSize;
    const full = stepLogits(
      await model.executor.step(prefillStep([{ ids: chat, blocks: blocks(6, 7, 8, 9, 21, 22, 23) }])),
    );
    // Blocks 6 and 7 shared, then the sequence's own blocks; the first 5 rows of block 8 are copied into its first.
    const cached = 2 * BLOCK_SIZE + 5;
    const rest = chat.slice(cached);
    const continueOn = (table: BlockId[], slotCopies?: Int32Array): ForwardInputs => ({
      tokenIds: Int32Array.from(rest),
      positions: Int32Array.from(rest, (_, i) => cached + i),
      seqs: [{ queryLen: rest.length, contextLen: cached, blockTable: table }],
      slotMapping: Int32Array.from(rest, (_, i) => {
        const p = cached + i;
        return table[Math.floor(p / BLOCK_SIZE)]! * BLOCK_SIZE + (p % BLOCK_SIZE);
      }),
      logitsIndices: Int32Array.from(rest, (_, i) => i),
      ...(slotCopies === undefined ? {} : { slotCopies }),
    });
    const copied = stepLogits(
      await model.executor.step(
        continueOn(blocks(6, 7, 24, 25, 26, 27, 31), Int32Array.of(8 * BLOCK_SIZE, 24 * BLOCK_SIZE, 5)),
      ),
    );
    let maxDiff = 0;
    copied.forEach((v, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - full[cached * vocab + i]!));
    });
    assert.ok(maxDiff < 1e-4, `max difference ${maxDiff}`);
    // Without the copy the first own block holds other rows (zeros here): the logits differ.
    const uncopied = stepLogits(await model.executor.step(continueOn(blocks(6, 7, 28, 29, 30, 0, 1))));
    assert.ok(
      uncopied.some((v, i) => Math.abs(v - full[cached * vocab + i]!) > 1e-3),
      'the copied rows mattered',
    );
  });

  it('a mixed step (one sequence decoding, another continuing a chunk, both on cached rows) gives the logits of full prefills', async () => {
    const vocab = model.executor.vocabSize;
    const a: Seq = { ids: short, blocks: blocks(4, 6, 2) };
    const b: Seq = { ids: chat.slice(0, 25), blocks: blocks(21, 17, 30, 9) };
    const fullA = stepLogits(await model.executor.step(prefillStep([a])));
    const fullB = stepLogits(await model.executor.step(prefillStep([b])));
    const cachedA = a.ids.length - 1; // a decodes its last token
    const cachedB = 19; // b feeds its last 6 tokens on 19 cached (its key slots cross a block boundary)
    await model.executor.step(
      prefillStep([
        { ids: a.ids.slice(0, cachedA), blocks: a.blocks },
        { ids: b.ids.slice(0, cachedB), blocks: b.blocks },
      ]),
    );
    const slot = (s: Seq, pos: number): number =>
      s.blocks[Math.floor(pos / BLOCK_SIZE)]! * BLOCK_SIZE + (pos % BLOCK_SIZE);
    const newB = b.ids.length - cachedB;
    const logits = stepLogits(
      await model.executor.step({
        tokenIds: Int32Array.from([a.ids[cachedA]!, ...b.ids.slice(cachedB)]),
        positions: Int32Array.from([cachedA, ...Array.from({ length: newB }, (_, t) => cachedB + t)]),
        seqs: [
          { queryLen: 1, contextLen: cachedA, blockTable: a.blocks },
          { queryLen: newB, contextLen: cachedB, blockTable: b.blocks },
        ],
        slotMapping: Int32Array.from([
          slot(a, cachedA),
          ...Array.from({ length: newB }, (_, t) => slot(b, cachedB + t)),
        ]),
        logitsIndices: Int32Array.from({ length: 1 + newB }, (_, i) => i),
      }),
    );
    const want = [...fullA.subarray(cachedA * vocab), ...fullB.subarray(cachedB * vocab)];
    assert.equal(logits.length, want.length);
    let maxDiff = 0;
    logits.forEach((v, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - want[i]!));
    });
    assert.ok(maxDiff < 1e-4, `max difference ${maxDiff}`);
  });

  it('a step with an invalid block fails alone; the next step still runs', async () => {
    const bad = prefillStep([{ ids: [0, 5], blocks: blocks(999) }]);
    await assert.rejects(model.executor.step(bad), /block 999 outside the cache's 32 blocks/);
    const ok = await model.executor.step(prefillStep([{ ids: [0, 5], blocks: blocks(0) }]));
    assert.equal(stepLogits(ok).length, 2 * model.executor.vocabSize);
  });
});

describe('shape buckets', () => {
  it('a bucketed step (padding tokens, sequences, blocks and logits rows) returns the logits of the plain step', async () => {
    const cacheDir = tempCacheDir();
    const plain = await loadModel(fixtureDir('deepseek-v3-tiny-b'), {
      cacheDir,
      blockSize: BLOCK_SIZE,
      numBlocks: 32,
      memory: { shapeBuckets: false },
    });
    const bucketed = await loadModel(fixtureDir('deepseek-v3-tiny-b'), {
      cacheDir,
      blockSize: BLOCK_SIZE,
      numBlocks: 32,
      memory: { shapeBuckets: true },
    });
    try {
      const prompts = loadReference('deepseek-v3-tiny-b').prompts;
      const chat = prompts.find((p) => p.name === 'chat40')!.fed_ids;
      // Nine sequences (B 9 → 10) of 1–5 tokens (N 25 → 28), one with 9 blocks (→ 10); every token's logits (R 25 → 28).
      const seqs: Seq[] = Array.from({ length: 9 }, (_, i) => ({
        ids: chat.slice(i, i + 1 + (i % 5)),
        blocks: i === 0 ? blocks(...Array.from({ length: 9 }, (_, j) => 20 + j)) : blocks(i),
      }));
      const want = stepLogits(await plain.executor.step(prefillStep(seqs)));
      const got = stepLogits(await bucketed.executor.step(prefillStep(seqs)));
      assert.equal(got.length, want.length);
      let maxDiff = 0;
      got.forEach((v, i) => {
        maxDiff = Math.max(maxDiff, Math.abs(v - want[i]!));
      });
      assert.ok(maxDiff < 1e-4, `max difference ${maxDiff}`);
      assert.equal(bucketed.executor.numShapesSeen, 1);
      assert.equal(bucketed.executor.numSizesSeen, 5);
      // N 28; B 10 × max_blocks 10; × T 5.
      assert.deepEqual(bucketed.executor.largestStep, { tokens: 28, gathered: 100, attention: 500 });
    } finally {
      await plain.executor.close();
      await bucketed.executor.close();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('--device cuda without the CUDA provider', () => {
  it('falls back to CPU with one warning line', async () => {
    const cacheDir = tempCacheDir();
    const warnings: string[] = [];
    const model = await loadModel(fixtureDir('deepseek-v2-tiny'), {
      cacheDir,
      device: 'cuda',
      numBlocks: 4,
      warn: (l) => warnings.push(l),
    });
    try {
      assert.equal(model.executor.device, 'cpu');
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /^warning: CUDA execution provider unavailable \(.+\); running on CPU$/);
      assert.ok(!warnings[0]!.includes('\n'));
    } finally {
      await model.executor.close();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
