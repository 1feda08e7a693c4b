import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { IntervalMap } from "../../lib/cache/intervals.js";

describe("IntervalMap", () => {
  it("sets, overwrites and merges runs", () => {
    const m = new IntervalMap<number>();
    m.set(0, 100, 1);
    m.set(100, 200, 1); // adjacent equal value: one run
    expect(m.size).toBe(1);
    m.set(50, 60, 2); // splits into 3
    expect(m.entries()).toEqual([
      { start: 0, end: 50, value: 1 },
      { start: 50, end: 60, value: 2 },
      { start: 60, end: 200, value: 1 },
    ]);
    m.set(50, 60, 1); // back to one run
    expect(m.size).toBe(1);
    expect(m.get(199)).toBe(1);
    expect(m.get(200)).toBeUndefined();
  });

  it("works with keys above 2^32", () => {
    const m = new IntervalMap<string>();
    const base = 2 ** 40;
    m.set(base, base + 10, "a");
    expect(m.get(base + 9)).toBe("a");
    expect(m.get(base + 10)).toBeUndefined();
    expect(m.pieces(base - 2, base + 12)).toEqual([
      { start: base - 2, end: base, value: undefined },
      { start: base, end: base + 10, value: "a" },
      { start: base + 10, end: base + 12, value: undefined },
    ]);
  });

  it("rejects an empty range without changing anything", () => {
    const m = new IntervalMap<number>();
    m.set(0, 10, 1);
    expect(() => m.set(5, 5, 2)).toThrow(/end/);
    expect(m.entries()).toEqual([{ start: 0, end: 10, value: 1 }]);
  });

  it("agrees with a per-key array under random writes (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 3 })), { maxLength: 40 }), (ops) => {
        const m = new IntervalMap<number>();
        const ref: Array<number | undefined> = new Array(80).fill(undefined);
        for (const [s, len, v] of ops) {
          m.set(s, s + len, v);
          for (let k = s; k < s + len; k++) ref[k] = v;
        }
        for (let k = 0; k < 80; k++) expect(m.get(k)).toBe(ref[k]);
        // runs are maximal: no two adjacent runs with the same value
        const e = m.entries();
        for (let i = 1; i < e.length; i++) expect(e[i - 1]!.end === e[i]!.start && e[i - 1]!.value === e[i]!.value).toBe(false);
      }),
    );
  });
});
