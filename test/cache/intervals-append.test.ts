/**
 * IntervalMap.set's append path (a write at or after the end of the last
 * run: extend it when adjacent with the same value, else a new run) against
 * a naive per-key array, for writes that mostly go forward (the page-by-page
 * device writes of notebook 04) mixed with writes inside the map.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IntervalMap } from "../../lib/cache/intervals.js";

const N = 400;

/** Maximal runs of the naive array (undefined = no run), merged by ===. */
function naiveRuns(ref: Array<number | undefined>): Array<{ start: number; end: number; value: number }> {
  const out: Array<{ start: number; end: number; value: number }> = [];
  for (let k = 0; k < N; k++) {
    const v = ref[k];
    if (v === undefined) continue;
    const last = out[out.length - 1];
    if (last && last.end === k && last.value === v) last.end = k + 1;
    else out.push({ start: k, end: k + 1, value: v });
  }
  return out;
}

describe("IntervalMap.set appends", () => {
  it("forward writes (adjacent, with gaps, same or new values) and a few back-writes give the naive runs", () => {
    const op = fc.record({ gap: fc.integer({ min: -30, max: 3 }), len: fc.integer({ min: 1, max: 9 }), value: fc.integer({ min: 0, max: 2 }) });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 80 }), (ops) => {
        const m = new IntervalMap<number>();
        const ref: Array<number | undefined> = new Array(N).fill(undefined);
        let cur = 0;
        for (const o of ops) {
          // gap >= 0: at or after the end of the last write; < 0: back inside the map
          const start = Math.max(0, Math.min(N - 10, cur + o.gap));
          const end = start + o.len;
          m.set(start, end, o.value);
          for (let k = start; k < end; k++) ref[k] = o.value;
          cur = Math.max(cur, end);
          expect(m.entries()).toEqual(naiveRuns(ref));
          for (const k of [start - 1, start, end - 1, end]) if (k >= 0 && k < N) expect(m.get(k)).toBe(ref[k]);
        }
      }),
      { numRuns: 300 },
    );
  });
  it("a page written after the last run with its value extends the run; with another value or a gap, one more run", () => {
    const m = new IntervalMap<number>();
    m.set(0, 64, 1);
    m.set(64, 128, 1); // adjacent, same value: one run [0, 128)
    m.set(128, 192, 2); // adjacent, new value: a second run
    m.set(200, 264, 2); // gap of 8 keys: a third run, not merged
    expect(m.entries()).toEqual([
      { start: 0, end: 128, value: 1 },
      { start: 128, end: 192, value: 2 },
      { start: 200, end: 264, value: 2 },
    ]);
  });
});
