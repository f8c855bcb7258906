// Constrained decoding in the step loop, on the FakeExecutor with a scripted grammar backend: masks hold every
// sampled token, EOS ends a finished grammar, a grammar worker busy compiling never holds up free requests, and
// matchers are released when requests end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GrammarBackend, MatcherId, StepMasks } from '../grammar/grammar-service.js';
import type { GrammarSpec } from '../grammar/spec.js';
import { LatentEngine, type TokenizerLike } from './engine.js';
import { FakeExecutor } from './fake-executor.js';
import { DEFAULT_SAMPLING, type EngineRequest, type TokenEvent } from './types.js';

const VOCAB = 64;
const EOS = 1;
const WORDS = Math.ceil(VOCAB / 32);
const tokenizer: TokenizerLike = {
  eosTokenIds: [EOS],
  decode: (ids) => ids.map((t) => String.fromCharCode(97 + (t % 26))).join(''),
};
const SPEC: GrammarSpec = { kind: 'regex', pattern: 'scripted' };

/** Allows `allowed(matcher, accepted so far)`; `hold` keeps step answers back until `release()`. */
class ScriptedGrammar implements GrammarBackend {
  compiling = false;
  hold = false;
  readonly accepted = new Map<MatcherId, number[]>();
  readonly closed: MatcherId[] = [];
  steps = 0;
  private next = 0;
  private held: (() => void)[] = [];

  constructor(private readonly allowed: (accepted: readonly number[]) => readonly number[]) {}

  open(): MatcherId {
    const id = this.next++ as MatcherId;
    this.accepted.set(id, []);
    return id;
  }

  close(id: MatcherId): void {
    this.closed.push(id);
  }

  async step(accepts: readonly (readonly [MatcherId, number])[], fills: readonly MatcherId[]): Promise<StepMasks> {
    this.steps++;
    for (const [id, token] of accepts) this.accepted.get(id)!.push(token);
    const masks = new Int32Array(fills.length * WORDS);
    fills.forEach((id, f) => {
      for (const t of this.allowed(this.accepted.get(id)!)) masks[f * WORDS + (t >> 5)]! |= 1 << (t & 31);
    });
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    return { masks, words: WORDS, rejected: new Set(), missing: new Set() };
  }

  release(): void {
    this.hold = false;
    for (const resolve of this.held.splice(0)) resolve();
  }
}

function setup(grammar: GrammarBackend) {
  const executor = new FakeExecutor({ vocabSize: VOCAB, numBlocks: 64, blockSize: 4, reserved: 2 });
  const engine = new LatentEngine(
    executor,
    tokenizer,
    { maxNumSeqs: 8, maxNumBatchedTokens: 32, maxWaiting: 8, maxModelLen: 256, enablePrefixCaching: true },
    {},
    undefined,
    grammar,
  );
  return { engine, executor };
}

const request = (id: string, over: Partial<EngineRequest> = {}): EngineRequest => ({
  id,
  promptIds: [5, 6, 7],
  maxTokens: 6,
  sampling: { ...DEFAULT_SAMPLING, temperature: 1, seed: 3 },
  stop: [],
  stopTokenIds: [],
  ignoreEos: true,
  logprobs: 3,
  promptLogprobs: null,
  ...over,
});

async function collect(events: AsyncIterable<TokenEvent>, onToken?: () => void) {
  const tokens: number[] = [];
  let finish: Extract<TokenEvent, { type: 'finish' }> | null = null;
  for await (const e of events) {
    if (e.type === 'delta') {
      tokens.push(...e.tokenIds);
      if (e.tokenIds.length > 0) onToken?.();
    } else finish = e;
  }
  return { tokens, finish: finish! };
}

describe('LatentEngine with a grammar', () => {
  it('every sampled token is one the mask allows, and tokens reach the matcher in order', async () => {
    const grammar = new ScriptedGrammar((acc) => (acc.length % 2 === 0 ? [10, 11, 12] : [20]));
    const { engine } = setup(grammar);
    const out = await collect(engine.submit(request('c', { grammar: SPEC })));
    assert.equal(out.tokens.length, 6);
    out.tokens.forEach((t, i) => assert.ok(i % 2 === 0 ? [10, 11, 12].includes(t) : t === 20, `token ${i} = ${t}`));
    assert.deepEqual(
      grammar.accepted.get(0 as MatcherId),
      out.tokens.slice(0, -1),
      'each token is accepted before the next mask',
    );
    assert.deepEqual(grammar.closed, [0], 'the matcher is released when the request ends');
    assert.equal(engine.stats().cacheBlocksUsed, 0);
  });

  it('logprobs come from the masked distribution: alternatives are allowed tokens only', async () => {
    const { engine } = setup(new ScriptedGrammar(() => [30, 31]));
    const events: TokenEvent[] = [];
    for await (const e of engine.submit(request('l', { grammar: SPEC, maxTokens: 3 }))) events.push(e);
    for (const e of events) {
      if (e.type !== 'delta' || e.logprobs === null) continue;
      for (const entry of e.logprobs) {
        const finite = entry.top.filter((alt) => Number.isFinite(alt.logprob));
        assert.ok(finite.every((alt) => alt.id === 30 || alt.id === 31));
        assert.ok(Math.abs(finite.reduce((sum, alt) => sum + Math.exp(alt.logprob), 0) - 1) < 1e-5);
      }
    }
  });

  it('a finished grammar (only EOS allowed) ends the request with stop, even with ignore_eos', async () => {
    const { engine } = setup(new ScriptedGrammar((acc) => (acc.length < 2 ? [40] : [EOS])));
    const out = await collect(engine.submit(request('e', { grammar: SPEC, maxTokens: 50, ignoreEos: true })));
    assert.deepEqual(out.tokens, [40, 40, EOS]);
    assert.equal(out.finish.reason, 'stop');
  });

  it('while the grammar worker is busy compiling, free requests keep getting tokens; the constrained one resumes after', {
    timeout: 10_000,
  }, async () => {
    const grammar = new ScriptedGrammar(() => [50]);
    const { engine } = setup(grammar);
    grammar.compiling = true;
    grammar.hold = true;
    let freeTokensWhileHeld = 0;
    let constrainedTokens = 0;
    const constrained = collect(engine.submit(request('c', { grammar: SPEC, maxTokens: 4 })), () => {
      constrainedTokens++;
    });
    const free = await collect(engine.submit(request('f', { maxTokens: 12 })), () => {
      if (grammar.hold) freeTokensWhileHeld++;
    });
    assert.equal(free.tokens.length, 12);
    assert.equal(freeTokensWhileHeld, 12, 'the free request finished while the masks were held');
    assert.equal(constrainedTokens, 0, 'the constrained request waited for its mask');
    grammar.compiling = false;
    grammar.release();
    const done = await constrained;
    assert.deepEqual(done.tokens, [50, 50, 50, 50]);
    assert.equal(engine.stats().cacheBlocksUsed, 0);
  });

  it('an engine without a grammar backend refuses constrained requests', () => {
    const executor = new FakeExecutor({ vocabSize: VOCAB, numBlocks: 8, blockSize: 4, reserved: 2 });
    const engine = new LatentEngine(executor, tokenizer, {
      maxNumSeqs: 2,
      maxNumBatchedTokens: 8,
      maxWaiting: 2,
      maxModelLen: 32,
      enablePrefixCaching: false,
    });
    assert.throws(() => engine.submit(request('x', { grammar: SPEC })), /structured output is unavailable/);
  });
});
