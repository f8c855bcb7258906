#!/usr/bin/env node
// Composition root: `latentserve serve | complete | convert | eval | synth`.
import { BENCH_USAGE, runBench } from './cli/bench.js';
import { COMPLETE_USAGE, runComplete } from './cli/complete.js';
import { UsageError } from './cli/options.js';
import { CONVERT_USAGE, runConvert } from './cli/convert.js';
import { EVAL_USAGE, runEval } from './cli/eval.js';
import { SERVE_USAGE, runServe } from './cli/serve.js';
import { SYNTH_USAGE, runSynth } from './cli/synth.js';

const USAGE = `usage:
  ${SERVE_USAGE}
  ${COMPLETE_USAGE}
  ${CONVERT_USAGE}
  ${EVAL_USAGE}
  ${SYNTH_USAGE}
  ${BENCH_USAGE}`;

interface Command {
  readonly run: (argv: string[]) => Promise<void>;
  readonly usage: string;
}

const commands: Record<string, Command> = {
  serve: { run: runServe, usage: SERVE_USAGE },
  complete: { run: runComplete, usage: COMPLETE_USAGE },
  convert: { run: runConvert, usage: CONVERT_USAGE },
  eval: { run: runEval, usage: EVAL_USAGE },
  synth: { run: runSynth, usage: SYNTH_USAGE },
  bench: { run: runBench, usage: BENCH_USAGE },
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  const cmd = commands[command];
  if (cmd === undefined) {
    process.stderr.write(`latentserve: unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage:\n  ${cmd.usage}\n`);
    return 0;
  }
  try {
    await cmd.run(rest);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`latentserve ${command}: ${(err as Error).message}\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`latentserve ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
