import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StopChecker } from './stop-checker.js';

/** Feeds `chunks`; returns everything emitted (plus flush when no stop was hit) and the stop found. */
function run(
  stops: readonly string[],
  chunks: readonly string[],
): { text: string; stop: string | null; emits: string[] } {
  const checker = new StopChecker(stops);
  const emits: string[] = [];
  for (const chunk of chunks) {
    const r = checker.push(chunk);
    emits.push(r.emit);
    if (r.stop !== null) return { text: emits.join(''), stop: r.stop, emits };
  }
  emits.push(checker.flush());
  return { text: emits.join(''), stop: null, emits };
}

/** The documented rule on the whole text at once: first end position, then the longest stop ending there. */
function reference(stops: readonly string[], text: string): { text: string; stop: string | null } {
  for (let end = 1; end <= text.length; end++) {
    const head = text.slice(0, end);
    const hits = stops.filter((s) => s.length > 0 && head.endsWith(s)).sort((a, b) => b.length - a.length);
    if (hits[0] !== undefined) return { text: text.slice(0, end - hits[0].length), stop: hits[0] };
  }
  return { text, stop: null };
}

test('a stop string split across pushes is found and cut', () => {
  const checker = new StopChecker(['lo w']);
  assert.deepEqual(checker.push('Hel'), { emit: 'He', stop: null });
  assert.deepEqual(checker.push('lo wor'), { emit: 'l', stop: 'lo w' });
  assert.deepEqual(checker.push('ld'), { emit: '', stop: null });
  assert.equal(checker.flush(), '');
});

test('held-back text is released once it can no longer begin a stop string', () => {
  const checker = new StopChecker(['</end>']);
  assert.deepEqual(checker.push('a </e'), { emit: 'a ', stop: null });
  assert.deepEqual(checker.push('n'), { emit: '', stop: null });
  assert.deepEqual(checker.push('x!'), { emit: '</enx!', stop: null });
  assert.deepEqual(checker.push('<'), { emit: '', stop: null });
  assert.equal(checker.flush(), '<');
});

test('stop at the very start emits nothing', () => {
  assert.deepEqual(run(['Hi'], ['Hi there']), { text: '', stop: 'Hi', emits: [''] });
  assert.deepEqual(run(['Hi'], ['H', 'i', ' there']), { text: '', stop: 'Hi', emits: ['', ''] });
});

test('with several stops the match that ends first wins; at the same end, the longer one', () => {
  assert.equal(run(['world', 'lo'], ['Hello world']).stop, 'lo');
  assert.equal(run(['abcd', 'c'], ['abcd']).stop, 'c');
  assert.equal(run(['abcd', 'c'], ['abcd']).text, 'ab');
  assert.deepEqual(run(['ab', 'xab'], ['zx', 'ab']).text, 'z');
  assert.equal(run(['ab', 'xab'], ['zxab']).stop, 'xab');
  assert.equal(run(['ab', 'xab'], ['zxa', 'b']).stop, 'xab');
});

test('empty stop strings are ignored, and no stops passes text straight through', () => {
  assert.deepEqual(run(['', 'zz'], ['ab', 'c']), { text: 'abc', stop: null, emits: ['ab', 'c', ''] });
  assert.deepEqual(run([], ['ab', 'c']), { text: 'abc', stop: null, emits: ['ab', 'c', ''] });
});

test('unicode stop strings and text', () => {
  assert.deepEqual(run(['日本'], ['naïve 日', '本語']), { text: 'naïve ', stop: '日本', emits: ['naïve ', ''] });
  assert.deepEqual(run(['🙂!'], ['a 🙂', '🙂', '!b']), { text: 'a 🙂', stop: '🙂!', emits: ['a ', '🙂', ''] });
  assert.deepEqual(run(['🙂!'], ['a 🙂', ' b']), { text: 'a 🙂 b', stop: null, emits: ['a ', '🙂 b', ''] });
});

test('after a stop, further text is dropped', () => {
  const checker = new StopChecker(['x']);
  assert.deepEqual(checker.push('axb'), { emit: 'a', stop: 'x' });
  assert.deepEqual(checker.push('more'), { emit: '', stop: null });
  assert.equal(checker.flush(), '');
});

const alphabet = fc.constantFrom('a', 'b', 'c', 'é', '🙂');
const word = (min: number, max: number): fc.Arbitrary<string> =>
  fc.array(alphabet, { minLength: min, maxLength: max }).map((cs) => cs.join(''));

test('property: output equals the whole-text rule whatever the chunking, and never contains a stop', () => {
  fc.assert(
    fc.property(fc.array(word(0, 4), { maxLength: 4 }), fc.array(word(0, 6), { maxLength: 12 }), (stops, chunks) => {
      const got = run(stops, chunks);
      const want = reference(stops, chunks.join(''));
      assert.equal(got.text, want.text);
      assert.equal(got.stop, want.stop);
      for (const s of stops) if (s !== '') assert.ok(!got.text.includes(s), `output ${got.text} contains ${s}`);
    }),
    { numRuns: 2000 },
  );
});

test('property: emitted + held is always the input so far (when no stop), and holds less than a stop', () => {
  fc.assert(
    fc.property(
      fc.array(word(1, 4), { minLength: 1, maxLength: 3 }),
      fc.array(word(0, 5), { maxLength: 10 }),
      (stops, chunks) => {
        const checker = new StopChecker(stops);
        const maxHeld = Math.max(...stops.map((s) => s.length)) - 1;
        let input = '';
        let emitted = '';
        for (const chunk of chunks) {
          input += chunk;
          const r = checker.push(chunk);
          emitted += r.emit;
          if (r.stop !== null) return;
          assert.ok(input.startsWith(emitted));
          assert.ok(input.length - emitted.length <= maxHeld, `holding ${input.length - emitted.length} > ${maxHeld}`);
        }
        assert.equal(emitted + checker.flush(), input);
      },
    ),
    { numRuns: 2000 },
  );
});
