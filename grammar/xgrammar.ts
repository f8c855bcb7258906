// Loads xgrammar's WebAssembly build (npm @mlc-ai/web-xgrammar), the grammar engine vLLM and SGLang use.
//
// Why not a plain `import`: the package's lib/index.js is a UMD bundle inside a `"type": "module"` package, so
// Node's ESM loader sees no exports and `require` refuses the file. Compiled as a CommonJS module (Node's own
// Module#_compile, which also gives the bundle the dynamic `import('module')` its Node branch needs) it works.
// The bundle also gets its own `console`: xgrammar reports a fatal error (an unsupported schema type, an EBNF
// syntax error) by printing it through `console.error`, bound when the WebAssembly starts, and then throwing a
// bare "Aborted()"; routing those lines to `onError` lets the caller say what was wrong.
import { readFileSync } from 'node:fs';
import { Module, createRequire } from 'node:module';
import { dirname } from 'node:path';
import type * as XGrammarTypes from '@mlc-ai/web-xgrammar';

export type XGrammar = typeof XGrammarTypes;

/** The parts of Node's CommonJS Module used here; not in @types/node's public surface. */
interface CommonJsModule {
  filename: string;
  paths: string[];
  exports: unknown;
  latentserveConsole?: Console;
  _compile(content: string, filename: string): void;
}

export function loadXGrammar(onError: (line: string) => void): XGrammar {
  const path = createRequire(import.meta.url).resolve('@mlc-ai/web-xgrammar');
  const ModuleClass = Module as unknown as {
    new (id: string): CommonJsModule;
    _nodeModulePaths(dir: string): string[];
  };
  const module = new ModuleClass(path);
  module.filename = path;
  module.paths = ModuleClass._nodeModulePaths(dirname(path));
  const sink = (...args: unknown[]): void => onError(args.map(String).join(' '));
  module.latentserveConsole = { ...globalThis.console, error: sink, warn: sink };
  module._compile(`const console = module.latentserveConsole;${readFileSync(path, 'utf8')}`, path);
  const xg = module.exports as XGrammar;
  if (typeof xg.GrammarCompiler?.createGrammarCompiler !== 'function')
    throw new Error(`${path}: not the xgrammar bundle expected`);
  return xg;
}
