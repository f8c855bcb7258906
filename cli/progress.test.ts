import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressBar } from './progress.js';

const progress = (fraction: number, elapsedMs: number) => ({
  tensorsDone: Math.round(fraction * 100),
  tensorsTotal: 100,
  bytesDone: fraction * 4e9,
  bytesTotal: 4e9,
  elapsedMs,
});

test('off a terminal: one line per tenth (or per 30 s), layer messages folded in, other messages passed through', () => {
  const out: string[] = [];
  const bar = new ProgressBar('compile', { isTTY: false, write: (t: string) => out.push(t) });
  bar.update('layer 1/27');
  bar.update('compiling X');
  for (let i = 1; i <= 100; i++) bar.compile(progress(i / 100, 2000 + i * 10));
  bar.finish();
  assert.equal(out[0], 'compiling X\n');
  const lines = out.slice(1);
  assert.equal(lines.length, 11, lines.join('')); // the first report, then one per tenth
  assert.match(lines.at(-1)!, /^compile 100\/100 tensors, 4\.00\/4\.00 GB, [\d.]+ GB\/s, ETA 0 s\n$/);
  assert.match(lines[1]!, /^compile 10\/100 tensors, 0\.40\/4\.00 GB, 0\.19 GB\/s, ETA 19 s\n$/);
});

test('on a terminal: the bar is redrawn in place and ends with a newline', () => {
  const out: string[] = [];
  const bar = new ProgressBar('compile', { isTTY: true, write: (t: string) => out.push(t) });
  bar.compile(progress(0.5, 500)); // under a second: not shown yet
  assert.deepEqual(out, []);
  bar.compile(progress(0.5, 2000));
  assert.match(out[0]!, /^\r\[#{15} {15}\] compile 50\/100 tensors, 2\.00\/4\.00 GB, 1\.00 GB\/s, ETA 2 s/);
  bar.finish();
  assert.equal(out.at(-1), '\n');
});
