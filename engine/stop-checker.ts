// Stop strings, matched on the generated text across token (and chunk) boundaries; never part of the output.
//
// Which match wins: the one that *ends* first in the text; among those ending at the same place, the longer one
// (it starts earlier). That is what a character-at-a-time check would find, so the result never depends on how
// the text happens to be split into tokens or chunks. E.g. stops ["abcd", "c"] on "abcd" stop at "c" (emit
// "ab"), and ["xab", "ab"] on "xab" stop at "xab" (emit "").

export interface StopResult {
  /** Text safe to show now: before the stop string when one was found. */
  readonly emit: string;
  /** The stop string found, or null. */
  readonly stop: string | null;
}

export class StopChecker {
  private readonly stops: readonly string[];
  /** Text not yet emitted: the longest suffix of the text so far that is a proper prefix of some stop string. */
  private held = '';
  private stopped = false;

  constructor(stops: readonly string[]) {
    // Empty stop strings would match everywhere; OpenAI ignores them.
    this.stops = [...new Set(stops.filter((s) => s.length > 0))];
  }

  /** Feeds newly decoded text. After a stop was found the request is over: further text is dropped. */
  push(text: string): StopResult {
    if (this.stopped) return { emit: '', stop: null };
    if (this.stops.length === 0) return { emit: text, stop: null };
    const buf = this.held + text;
    let bestEnd = Infinity;
    let bestStart = 0;
    let best: string | null = null;
    for (const stop of this.stops) {
      const at = buf.indexOf(stop);
      if (at < 0) continue;
      const end = at + stop.length;
      if (end < bestEnd || (end === bestEnd && at < bestStart)) {
        bestEnd = end;
        bestStart = at;
        best = stop;
      }
    }
    if (best !== null) {
      this.stopped = true;
      this.held = '';
      return { emit: buf.slice(0, bestStart), stop: best };
    }
    const keep = this.heldLength(buf);
    this.held = buf.slice(buf.length - keep);
    return { emit: buf.slice(0, buf.length - keep), stop: null };
  }

  /** At the end of generation without a stop: the held-back text. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `buf` that is a proper prefix of a stop string (0 if none). */
  private heldLength(buf: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let len = Math.min(stop.length - 1, buf.length); len > longest; len--) {
        if (buf.endsWith(stop.slice(0, len))) {
          longest = len;
          break;
        }
      }
    }
    return longest;
  }
}
