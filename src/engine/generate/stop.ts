// Stop strings over streamed text, with the semantics of OpenAI's and vLLM's `stop`: generation
// ends at the first stop string and the output ends just before it (the stop string itself is
// not emitted). Text arrives as decoded deltas, so a stop string can straddle deltas; the
// matcher holds back any tail that could still grow into one and emits the rest immediately.
//
// Generation stops as soon as any stop string is complete, as in vLLM, so no token is generated
// only to resolve which stop string matched. Unlike vLLM, which takes the first stop string in
// list order, the cut is at the completed occurrence that starts earliest, so the emitted text
// never contains a complete stop string. (A longer stop string that began earlier but is still
// incomplete at that moment does not count: stop strings ["<", "x<y"] over the deltas "x<", "y"
// stop at "<" and emit "x".)

import { fail } from '../../core/errors.js';

export class StopStringMatcher {
  private readonly stops: readonly string[];
  private held = '';
  private done = false;
  private hit: string | undefined;

  constructor(stops: readonly string[]) {
    for (const s of stops)
      if (typeof s !== 'string' || s.length === 0)
        fail(
          'E_SAMPLING_OPTION',
          `invalid stop string ${JSON.stringify(s)}: stop strings must be non-empty text`,
          'remove empty entries from the stop list',
        );
    this.stops = [...stops];
  }

  /** True once a stop string has been seen; later pushes emit nothing. */
  get stopped(): boolean {
    return this.done;
  }

  /** The stop string that ended generation (the first in list order among those starting earliest). */
  get matched(): string | undefined {
    return this.hit;
  }

  /**
   * Feeds newly decoded text. Returns the text that is now safe to show and whether a stop
   * string was found; text that could be the start of a stop string is held back until a later
   * delta decides it (or `flush` releases it at the end of generation).
   */
  push(delta: string): { emit: string; stopped: boolean } {
    if (this.done) return { emit: '', stopped: true };
    if (this.stops.length === 0) return { emit: delta, stopped: false };
    const buf = this.held + delta;
    let at = -1;
    for (const s of this.stops) {
      const p = buf.indexOf(s);
      if (p >= 0 && (at < 0 || p < at)) {
        at = p;
        this.hit = s;
      }
    }
    if (at >= 0) {
      this.done = true;
      this.held = '';
      return { emit: buf.slice(0, at), stopped: true };
    }
    // Everything before the longest tail that is a proper prefix of some stop string is safe:
    // a stop string starting earlier would have that longer tail as its prefix.
    const keep = this.longestPartialMatch(buf);
    this.held = keep > 0 ? buf.slice(buf.length - keep) : '';
    return { emit: keep > 0 ? buf.slice(0, buf.length - keep) : buf, stopped: false };
  }

  /** Ends the stream: returns the held-back text (empty after a stop) and clears it. */
  flush(): string {
    const t = this.held;
    this.held = '';
    return t;
  }

  private longestPartialMatch(buf: string): number {
    const n = buf.length;
    let best = 0;
    for (const s of this.stops) {
      for (let len = Math.min(n, s.length - 1); len > best; len--) {
        let j = 0;
        while (j < len && buf.charCodeAt(n - len + j) === s.charCodeAt(j)) j++;
        if (j === len) {
          best = len;
          break;
        }
      }
    }
    return best;
  }
}
