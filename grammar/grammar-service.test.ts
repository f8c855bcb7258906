import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GrammarCompileError, GrammarService, type MatcherId } from './grammar-service.js';
import type { GrammarSpec } from './spec.js';

// A raw vocabulary: one character per token, plus EOS.
const VOCAB = ['a', 'b', 'c', 'd', '{', '}', '"', ':', ',', '0', '1', ' ', '<eos>'];
const EOS = VOCAB.length - 1;
const id = (t: string): number => VOCAB.indexOf(t);

function allowed(masks: Int32Array, words: number, fill: number): string[] {
  const out: string[] = [];
  for (let t = 0; t < VOCAB.length; t++) if ((masks[fill * words + (t >> 5)]! >>> (t & 31)) & 1) out.push(VOCAB[t]!);
  return out;
}

/** Hundreds of milliseconds to compile here: properties whose patterns repeat alternations. */
const SLOW: GrammarSpec = {
  kind: 'json_schema',
  schema: {
    type: 'object',
    properties: Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [
        `p${i}`,
        { type: 'string', pattern: `^(a|b){${i % 7},${(i % 7) + 3}}c?$` },
      ]),
    ),
  },
};

let service: GrammarService;
const warnings: string[] = [];
before(async () => {
  service = new GrammarService({
    encodedVocab: VOCAB,
    vocabType: 'raw',
    vocabSize: VOCAB.length,
    stopTokenIds: [EOS],
    cacheSize: 4,
    compileTimeoutMs: 30_000,
    warn: (l) => warnings.push(l),
  });
  await service.start();
});
after(() => service.shutdown());

test('masks follow the grammar step by step; EOS only once it is complete', async () => {
  const spec: GrammarSpec = { kind: 'regex', pattern: 'ab*c' };
  await service.compile(spec);
  const m = service.open(spec);
  let r = await service.step([], [m]);
  assert.deepEqual(allowed(r.masks, r.words, 0), ['a']);
  r = await service.step([[m, id('a')]], [m]);
  assert.deepEqual(allowed(r.masks, r.words, 0), ['b', 'c']);
  r = await service.step([[m, id('c')]], [m]);
  assert.deepEqual(allowed(r.masks, r.words, 0), ['<eos>']);
  const refused = await service.step([[m, id('a')]], [m]);
  assert.ok(refused.rejected.has(m), 'a token the grammar cannot take is reported');
  service.close(m);
});

test('a compile over the time limit fails alone: the worker is replaced and live matchers replay their tokens', async (t) => {
  // A 1 ms limit that any compile() exceeds; open() compiles inside the worker, without the limit.
  const hasty = new GrammarService({
    encodedVocab: VOCAB,
    vocabType: 'raw',
    vocabSize: VOCAB.length,
    stopTokenIds: [EOS],
    cacheSize: 4,
    compileTimeoutMs: 1,
    warn: (l) => warnings.push(l),
  });
  t.after(() => hasty.shutdown());
  await hasty.start();
  const spec: GrammarSpec = { kind: 'ebnf', grammar: 'root ::= "a" ("b" | "d")* "c"' };
  const m: MatcherId = hasty.open(spec);
  const before = await hasty.step(
    [
      [m, id('a')],
      [m, id('d')],
    ],
    [m],
  );
  assert.deepEqual(allowed(before.masks, before.words, 0), ['b', 'c', 'd']);
  await assert.rejects(hasty.compile(SLOW), (err: unknown) => err instanceof GrammarCompileError && err.timedOut);
  assert.ok(warnings.some((w) => /restarting the grammar worker/.test(w)));
  assert.equal(hasty.stats.restarts, 1);
  // The new worker reopened the matcher and replayed "ad": after one more "d", still b, c or d; after "c", EOS.
  const r = await hasty.step([[m, id('d')]], [m]);
  assert.equal(r.missing.size, 0);
  assert.deepEqual(allowed(r.masks, r.words, 0), ['b', 'c', 'd']);
  const end = await hasty.step([[m, id('c')]], [m]);
  assert.deepEqual(allowed(end.masks, end.words, 0), ['<eos>']);
});

test("a grammar that does not compile is a GrammarCompileError with xgrammar's reason; the service keeps serving", async () => {
  await assert.rejects(
    service.compile({ kind: 'ebnf', grammar: 'root ::= "a" |' }),
    (err: unknown) => err instanceof GrammarCompileError && !err.timedOut && /EBNF|Expect/.test(err.message),
  );
  await assert.rejects(service.compile({ kind: 'json_schema', schema: { type: 'strin' } }), /Unsupported type|strin/);
  const spec: GrammarSpec = { kind: 'regex', pattern: 'd+' };
  await service.compile(spec);
  const m = service.open(spec);
  const r = await service.step([], [m]);
  assert.deepEqual(allowed(r.masks, r.words, 0), ['d']);
});
