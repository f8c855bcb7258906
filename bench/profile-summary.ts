// `npm run profile:summary -- FILE [--skip-runs N] [--top N]`: time per op type, nodes per run and dispatch gaps
// of an ONNX Runtime profile written by `serve --profile DIR` / `bench:model --profile DIR` (bench/ort-profile.ts).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatProfileSummary, summarizeProfile, type ProfileEvent } from './ort-profile.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'skip-runs': { type: 'string', default: '1' }, top: { type: 'string', default: '25' } },
});
if (positionals.length === 0) {
  process.stderr.write('usage: npm run profile:summary -- FILE.json [FILE.json …] [--skip-runs 1] [--top 25]\n');
  process.exit(2);
}
for (const file of positionals) {
  const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
  process.stdout.write(
    `${file}\n${formatProfileSummary(summarizeProfile(events, Number(values['skip-runs'])), Number(values.top))}\n`,
  );
}
