/**
 * IntervalMap.set's in-place paths (lib/cache/intervals.ts): a write that
 * extends the run ending at its start, absorbs the run starting at its end,
 * lies inside a run (same value: no change; another value: three pieces),
 * or replaces many runs at once. Expected contents come from a naive
 * per-key array in each test, and the expected runs from scanning that
 * array for maximal stretches of one value.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { IntervalMap } from "../../lib/cache/intervals.js";

type Ref = Array<number | undefined>;

/** Maximal runs of equal defined values in `ref`, keys offset by `base`. */
function naiveRuns(ref: Ref, base: number): Array<{ start: number; end: number; value: number }> {
  const out: Array<{ start: number; end: number; value: number }> = [];
  let k = 0;
  while (k < ref.length) {
    const v = ref[k];
    if (v === undefined) {
      k++;
      continue;
    }
    let e = k + 1;
    while (e < ref.length && ref[e] === v) e++;
    out.push({ start: base + k, end: base + e, value: v });
    k = e;
  }
  return out;
}

function check(m: IntervalMap<number>, ref: Ref, base: number): void {
  expect(m.entries()).toEqual(naiveRuns(ref, base));
  for (let k = 0; k < ref.length; k++) expect(m.get(base + k)).toBe(ref[k]);
  expect(m.get(base - 1)).toBeUndefined();
  expect(m.get(base + ref.length)).toBeUndefined();
}

describe("IntervalMap: adjacent and in-run writes", () => {
  it("each branch, by hand", () => {
    const m = new IntervalMap<number>();
    m.set(10, 11, 1);
    m.set(11, 12, 1); // extends [10,11) to [10,12)
    m.set(12, 14, 1); // and again
    expect(m.entries()).toEqual([{ start: 10, end: 14, value: 1 }]);
    m.set(20, 22, 2);
    m.set(18, 20, 2); // absorbs [20,22) on its right
    expect(m.entries()).toEqual([
      { start: 10, end: 14, value: 1 },
      { start: 18, end: 22, value: 2 },
    ]);
    m.set(14, 18, 1); // extends the left run, touches [18,22) of another value
    expect(m.entries()).toEqual([
      { start: 10, end: 18, value: 1 },
      { start: 18, end: 22, value: 2 },
    ]);
    m.set(12, 13, 1); // inside a run, same value: no change
    expect(m.size).toBe(2);
    m.set(12, 13, 3); // inside a run, another value: three pieces
    expect(m.entries()).toEqual([
      { start: 10, end: 12, value: 1 },
      { start: 12, end: 13, value: 3 },
      { start: 13, end: 18, value: 1 },
      { start: 18, end: 22, value: 2 },
    ]);
    m.set(13, 18, 3); // extends [12,13) over all of [13,18)
    expect(m.entries()).toEqual([
      { start: 10, end: 12, value: 1 },
      { start: 12, end: 18, value: 3 },
      { start: 18, end: 22, value: 2 },
    ]);
    m.set(11, 19, 2); // straddles both ends; merges with [18,22) (value 2)
    expect(m.entries()).toEqual([
      { start: 10, end: 11, value: 1 },
      { start: 11, end: 22, value: 2 },
    ]);
    m.set(0, 30, 4); // replaces everything
    expect(m.entries()).toEqual([{ start: 0, end: 30, value: 4 }]);
  });

  it("line-by-line sweeps agree with a per-key array, keys above 2^32 (property)", () => {
    const base = 2 ** 40 + 3;
    const N = 96;
    // A sweep: `count` consecutive writes of `len` keys from `start`, the value
    // changing every `every` writes (every = 0: one value for the whole sweep).
    const sweep = fc.record({
      start: fc.integer({ min: 0, max: N - 1 }),
      len: fc.integer({ min: 1, max: 4 }),
      count: fc.integer({ min: 1, max: 40 }),
      every: fc.integer({ min: 0, max: 8 }),
      value: fc.integer({ min: 0, max: 3 }),
      down: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(sweep, { maxLength: 12 }), (sweeps) => {
        const m = new IntervalMap<number>();
        const ref: Ref = new Array(N).fill(undefined);
        for (const s of sweeps) {
          for (let w = 0; w < s.count; w++) {
            const v = s.every === 0 ? s.value : (s.value + Math.floor(w / s.every)) % 4;
            const a = s.down ? s.start - (w + 1) * s.len : s.start + w * s.len;
            const lo = Math.max(0, a);
            const hi = Math.min(N, a + s.len);
            if (hi <= lo) break;
            m.set(base + lo, base + hi, v);
            for (let k = lo; k < hi; k++) ref[k] = v;
          }
          check(m, ref, base);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("random writes of any length, including over many runs, agree with a per-key array (property)", () => {
    const N = 64;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: N - 1 }), fc.integer({ min: 1, max: N }), fc.integer({ min: 0, max: 2 })), { maxLength: 60 }),
        (ops) => {
          const m = new IntervalMap<number>();
          const ref: Ref = new Array(N).fill(undefined);
          for (const [s, len, v] of ops) {
            const e = Math.min(N, s + len);
            m.set(s, e, v);
            for (let k = s; k < e; k++) ref[k] = v;
            check(m, ref, 0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
