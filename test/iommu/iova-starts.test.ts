import { describe, it, expect } from "vitest";
import { createPrng } from "../../lib/core/prng.js";
import { IOVA_ANCHOR, allocIova, freeIova, initIovaDomain, iovaRanges, putIovaDomain, reserveIova, type IovaDomain } from "../../lib/iommu/iova.js";
import { StartTable } from "../../lib/iommu/iova-blocks.js";

// Once enabled (iovaDomainInitRcaches does it), the block index keeps a
// pfn_lo -> pfn_hi table of its ranges beside the blocks (the rcache free
// checks read it instead of searching). Expected value: the
// ranges the blocks hold (iovaRanges walks the blocks, not the map) plus the anchor.
function expectStartsMatchBlocks(d: IovaDomain): void {
  const want = new Map<number, number>([[IOVA_ANCHOR, IOVA_ANCHOR]]);
  for (const r of iovaRanges(d)) want.set(r.pfnLo, r.pfnHi);
  expect(new Map(d._ix.starts!.entries())).toEqual(want);
}

describe("IovaBlockIndex.starts follows the blocks", () => {
  for (const kernel of ["v4.14", "v5.4", "v6.19"]) {
    it(`${kernel}: random alloc / free / reserve (reserve grows ranges down), splits and merges`, () => {
      const rng = createPrng(7);
      const d = initIovaDomain(4096, 1, { kernel });
      const live: number[] = [];
      expect(d._ix.starts).toBeNull();
      for (let step = 0; step < 3000; step++) {
        // Enabled half-way: built from the ranges held, then kept.
        if (step === 1500) d._ix.enableStarts();
        const op = rng.nextInt(10);
        if (op < 5 || live.length === 0) {
          const r = allocIova(d, 1 + rng.nextInt(40), 0xfffff, rng.nextInt(2) === 0);
          if (r) live.push(r.pfnLo);
        } else if (op < 9) {
          const i = rng.nextInt(live.length);
          expect(freeIova(d, live[i]!)).not.toBeNull();
          live[i] = live[live.length - 1]!;
          live.pop();
        } else {
          // Reserve over a random window: overlapped ranges grow down to its start or it is inserted.
          const lo = 1 + rng.nextInt(0xff000);
          const r = reserveIova(d, lo, lo + rng.nextInt(64));
          // Rebuild the live list from the blocks (every range but the one just reserved may be freed).
          live.length = 0;
          for (const x of iovaRanges(d)) if (x.pfnLo !== r.pfnLo) live.push(x.pfnLo);
        }
        if (step >= 1500 && step % 97 === 0) expectStartsMatchBlocks(d);
      }
      expectStartsMatchBlocks(d);
      putIovaDomain(d);
      expect(d._ix.starts!.size).toBe(0);
    });
  }
});

// The start table itself against a reference: a Map of entries and a Set of
// marked pfns (the marks are a set of pfns of their own: removing an entry
// keeps its pfn marked, a new entry at a marked pfn is marked). Keys: aligned
// small pfns (many share a residue modulo small primes), pfns above 2^32,
// pfns just below 2^53 (the slot arithmetic's edge) and the anchor, 2^64.
describe("StartTable = Map of entries + Set of marks", () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: random set / delete / mark / unmark (good and stale hints) / clear, through growth and shrink`, () => {
      const rng = createPrng(seed);
      const t = new StartTable();
      const ref = new Map<number, number>();
      const marks = new Set<number>();
      const pool: number[] = [IOVA_ANCHOR, 2 ** 53 - 1, 2 ** 53 - 2, 2 ** 53 - 61, 2 ** 32, 2 ** 32 + 64, 0];
      for (let i = 0; i < 600; i++) pool.push(64 * (1 + rng.nextInt(4000)));
      for (let i = 0; i < 200; i++) pool.push(2 ** 40 + 4096 * rng.nextInt(1000));
      const pick = (): number => pool[rng.nextInt(pool.length)]!;
      let hint = -1;
      let grew = 0;
      let shrank = 0;
      for (let step = 0; step < 20000; step++) {
        const cap0 = t.cap;
        // Phases: mostly inserts, then mostly deletes (the table grows then shrinks), and so on.
        const growing = Math.floor(step / 2500) % 2 === 0;
        // Cumulative weights (of 100) of set, delete, mark; the rest unmark.
        const [wSet, wDel, wMark] = growing ? [45, 70, 82] : [1, 81, 86];
        const op = rng.nextInt(100);
        const p = pick();
        if (op < wSet) {
          // pfn_hi >= pfn_lo and below 2^53 (the anchor's is the anchor).
          const hi = p === IOVA_ANCHOR ? p : Math.min(p + rng.nextInt(64), 2 ** 53 - 1);
          t.set(p, hi);
          ref.set(p, hi);
        } else if (op < wDel) {
          expect(t.delete(p)).toBe(ref.delete(p));
        } else if (op < wMark) {
          // What the rcaches do: mark an unmarked entry through the slot find() gave.
          const s = t.find(p);
          expect(s >= 0).toBe(ref.has(p));
          if (s >= 0 && !t.markedAt(s)) {
            t.markSlot(s);
            marks.add(p);
            hint = s;
          }
        } else {
          // Unmark with the last slot seen (right, stale or for another pfn) or none.
          const h = rng.nextInt(3) === 0 ? -1 : hint;
          expect(t.unmark(p, h)).toBe(marks.delete(p));
        }
        if (step === 12_345) {
          // clear (put_iova_domain): entries go, marks stay.
          t.clear();
          ref.clear();
        }
        if (t.cap > cap0) grew++;
        if (t.cap < cap0 && ref.size > 0) shrank++;
        if (t.size !== ref.size || t.markCount !== marks.size) expect([step, t.size, t.markCount]).toEqual([step, ref.size, marks.size]);
        // Load at most 1/2, and at least 1/16 once past the smallest table (61 slots).
        if (t.size * 2 > t.cap || (t.cap > 61 && t.size * 16 < t.cap)) expect([step, t.size, t.cap]).toBe("a load in [1/16, 1/2]");
        if (step % 250 === 0) {
          expect(new Map(t.entries())).toEqual(ref);
          expect(pool.map((q) => [t.hiOf(q), t.hasMark(q)])).toEqual(pool.map((q) => [ref.has(q) ? ref.get(q)! : -1, marks.has(q)]));
        }
      }
      expect(grew).toBeGreaterThan(3);
      expect(shrank).toBeGreaterThan(1);
    });
  }
});
