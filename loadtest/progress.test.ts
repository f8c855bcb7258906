import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressBar, renderProgress } from './progress.js';

describe('progress', () => {
  it('renders the ended fraction, requests in flight and failures', () => {
    assert.equal(
      renderProgress('c=4', { total: 8, completed: 3, failed: 1, inFlight: 4, elapsedMs: 1234 }, 8),
      'c=4 ████░░░░ 4/8 (4 in flight 1 failed) 1.2s',
    );
  });

  it('prints a line per quarter when not on a terminal, then the final state', () => {
    const lines: string[] = [];
    const bar = new ProgressBar({ write: (t: string) => lines.push(t) }, 'x');
    for (let done = 0; done <= 8; done++)
      bar.update({ total: 8, completed: done, failed: 0, inFlight: 0, elapsedMs: done * 100 });
    bar.finish();
    assert.equal(lines.length, 5); // 0, 1/4, 2/4, 3/4 and the finish
    assert.match(lines.at(-1)!, /8\/8/);
  });
});
