// The grammar worker: owns one xgrammar instance (tokenizer info, compiler, compiled grammars, one matcher per
// constrained request). xgrammar's WebAssembly runs synchronously, so compiling a large schema here never blocks
// the HTTP thread or the engine's step loop; masks are filled here while the model step runs.
import { parentPort, workerData } from 'node:worker_threads';
import { LRUCache } from 'lru-cache';
import type { GrammarReply, GrammarRequest, GrammarWorkerInit } from './protocol.js';
import { type GrammarSpec, type Json, grammarKey } from './spec.js';
import { type XGrammar, loadXGrammar } from './xgrammar.js';

type CompiledGrammar = InstanceType<XGrammar['CompiledGrammar']>;
type GrammarCompiler = Awaited<ReturnType<XGrammar['GrammarCompiler']['createGrammarCompiler']>>;
type GrammarMatcher = Awaited<ReturnType<XGrammar['GrammarMatcher']['createGrammarMatcher']>>;

const init = workerData as GrammarWorkerInit;
const port = parentPort;
if (port === null) throw new Error('grammar worker must run in a worker_thread');

function reply(msg: GrammarReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

/** xgrammar prints "[FATAL] /path/file.cc:123: what went wrong" before aborting; keep "what went wrong". */
let fatalLines: string[] = [];
const xg = loadXGrammar((line) => {
  const fatal = /\[FATAL\][^:]*:\d+: (.*)/s.exec(line);
  if (fatal !== null) fatalLines.push(fatal[1]!.trim());
});

/** Whitespace xgrammar allows between JSON tokens: formatted output fits, endless runs of blanks do not. */
const MAX_JSON_WHITESPACE = 16;

class CompileFailure extends Error {
  /** The WebAssembly instance faulted (e.g. out of bounds) rather than refusing the grammar with a reason. */
  constructor(
    message: string,
    readonly broken: boolean,
  ) {
    super(message);
  }
}

class GrammarHost {
  private readonly cache: LRUCache<string, CompiledGrammar>;
  private readonly matchers = new Map<number, GrammarMatcher>();

  constructor(
    private readonly compiler: GrammarCompiler,
    readonly words: number,
  ) {
    this.cache = new LRUCache({ max: Math.max(1, init.cacheSize), dispose: (grammar) => grammar.dispose() });
  }

  /** The compiled grammar for `spec`, compiling it on a miss; throws with xgrammar's own reason. */
  async compiled(spec: GrammarSpec): Promise<CompiledGrammar> {
    const key = grammarKey(spec);
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    fatalLines = [];
    let grammar: CompiledGrammar;
    try {
      grammar = await this.compile(spec);
    } catch (err) {
      // A C++ exception reaches JavaScript as a bare number; xgrammar's printed reason is the useful part.
      const reason = err instanceof Error ? err.message : `xgrammar internal error ${String(err)}`;
      throw new CompileFailure(
        fatalLines[0] ?? reason,
        fatalLines.length === 0 && (err as Error | undefined)?.name === 'RuntimeError',
      );
    }
    this.cache.set(key, grammar);
    return grammar;
  }

  async open(matcher: number, spec: GrammarSpec): Promise<void> {
    const grammar = await this.compiled(spec);
    this.matchers.set(matcher, await xg.GrammarMatcher.createGrammarMatcher(grammar, [...init.stopTokenIds]));
  }

  close(matcher: number): void {
    this.matchers.get(matcher)?.dispose();
    this.matchers.delete(matcher);
  }

  async step(
    accepts: Int32Array,
    fills: Int32Array,
  ): Promise<{ masks: Int32Array; rejected: Int32Array; missing: Int32Array }> {
    const rejected: number[] = [];
    const missing: number[] = [];
    for (let i = 0; i + 1 < accepts.length; i += 2) {
      const matcher = this.matchers.get(accepts[i]!);
      if (matcher !== undefined && !matcher.acceptToken(accepts[i + 1]!)) rejected.push(accepts[i]!);
    }
    const masks = new Int32Array(fills.length * this.words);
    for (let f = 0; f < fills.length; f++) {
      const matcher = this.matchers.get(fills[f]!);
      if (matcher === undefined) missing.push(fills[f]!);
      else masks.set(await matcher.getNextTokenBitmask(), f * this.words);
    }
    return { masks, rejected: Int32Array.from(rejected), missing: Int32Array.from(missing) };
  }

  private compile(spec: GrammarSpec): Promise<CompiledGrammar> {
    switch (spec.kind) {
      case 'json_object':
        return this.compiler.compileJSONSchema(
          '{"type": "object"}',
          true,
          undefined,
          undefined,
          false,
          MAX_JSON_WHITESPACE,
        );
      case 'json_schema':
        return this.compiler.compileJSONSchema(
          JSON.stringify(spec.schema),
          true,
          undefined,
          undefined,
          true,
          MAX_JSON_WHITESPACE,
        );
      case 'ebnf':
        return this.compiler.compileGrammar(spec.grammar);
      case 'regex':
        return this.compiler.compileStructuralTag({
          type: 'structural_tag',
          format: { type: 'regex', pattern: spec.pattern },
        });
      case 'structural_tag':
        return boundWhitespace(spec.tag).then((tag) => this.compiler.compileStructuralTag(JSON.stringify(tag)));
    }
  }
}

/**
 * A structural tag's `json_schema` contents allow unbounded whitespace between JSON tokens (the format has no
 * option for it); the same schema as an EBNF `grammar` content, converted with the bound the other JSON
 * constraints use, keeps tool-call arguments from running on in blanks.
 */
async function boundWhitespace(node: Json): Promise<Json> {
  if (Array.isArray(node)) return Promise.all(node.map(boundWhitespace));
  if (node === null || typeof node !== 'object') return node;
  if (node['type'] === 'json_schema' && node['json_schema'] !== undefined) {
    const grammar = await xg.Grammar.fromJSONSchema(
      JSON.stringify(node['json_schema']),
      true,
      undefined,
      undefined,
      true,
      MAX_JSON_WHITESPACE,
    );
    try {
      return { type: 'grammar', grammar: grammar.toString() };
    } finally {
      grammar.dispose();
    }
  }
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) out[key] = await boundWhitespace(value);
  return out;
}

async function start(): Promise<GrammarHost> {
  const info = await xg.TokenizerInfo.createTokenizerInfo(
    [...init.encodedVocab],
    init.vocabType,
    false,
    init.vocabSize,
    [...init.stopTokenIds],
  );
  const compiler = await xg.GrammarCompiler.createGrammarCompiler(info, false);
  return new GrammarHost(compiler, Math.ceil(init.vocabSize / 32));
}

async function handle(host: GrammarHost, msg: GrammarRequest): Promise<void> {
  switch (msg.kind) {
    case 'compile': {
      const t0 = performance.now();
      try {
        await host.compiled(msg.spec);
        reply({ kind: 'compiled', id: msg.id, ms: performance.now() - t0 });
      } catch (err) {
        reply({
          kind: 'compile-failed',
          id: msg.id,
          message: (err as Error).message,
          broken: err instanceof CompileFailure && err.broken,
        });
      }
      return;
    }
    case 'open':
      // The service compiled the spec first; should this still fail, the matcher is reported missing at its step.
      await host.open(msg.matcher, msg.spec).catch(() => {});
      return;
    case 'close':
      host.close(msg.matcher);
      return;
    case 'step': {
      const t0 = performance.now();
      try {
        const { masks, rejected, missing } = await host.step(msg.accepts, msg.fills);
        reply({ kind: 'masks', id: msg.id, masks, rejected, missing, ms: performance.now() - t0 }, [
          masks.buffer as ArrayBuffer,
        ]);
      } catch (err) {
        reply({ kind: 'step-failed', id: msg.id, message: (err as Error).message });
      }
    }
  }
}

// Messages are handled one at a time, in arrival order, even though xgrammar's API is promise-shaped.
let queue: Promise<void> = Promise.resolve();
start().then(
  (host) => {
    port.on('message', (msg: GrammarRequest) => {
      queue = queue.then(() => handle(host, msg));
    });
    reply({ kind: 'ready', words: host.words });
  },
  (err: unknown) => reply({ kind: 'init-failed', message: err instanceof Error ? err.message : String(err) }),
);
