import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { ModelConfigError } from "../../lib/core/errors.js";
import { iotlbAccess, iotlbCreate, iotlbHolds, iotlbInvalidateAll, iotlbInvalidateRange, iotlbResetStats, iotlbStats } from "../../lib/iommu/iotlb.js";

// The IOTLB is a model with parameters (entries, policy), not kernel code:
// the expected values below follow from the documented policy.

const K4 = 4096;
const M2 = 2 * 1024 * 1024;

describe("lookups", () => {
  it("miss inserts the page, a second access to the same page hits; another page of a 2 MiB block hits its entry", () => {
    const t = iotlbCreate({ entries: 4 });
    expect(iotlbAccess(t, 0x1000, K4)).toBe("miss");
    expect(iotlbAccess(t, 0x1fff, K4)).toBe("hit");
    expect(iotlbAccess(t, 0x2000, K4)).toBe("miss");
    expect(iotlbAccess(t, 0x200000, M2)).toBe("miss");
    // 0x3FF000 lies in the 2 MiB page [0x200000, 0x400000).
    expect(iotlbAccess(t, 0x3ff000, M2)).toBe("hit");
    expect(iotlbStats(t)).toMatchObject({ hits: 2, misses: 3, evictions: 0 });
    expect(t.size).toBe(3);
  });

  it("LRU evicts the least recently used; FIFO the oldest inserted", () => {
    // Capacity 2: A, B, touch A, then C. LRU evicts B (A was touched); FIFO evicts A (inserted first).
    for (const [policy, gone, kept] of [["lru", 0x2000, 0x1000], ["fifo", 0x1000, 0x2000]] as const) {
      const t = iotlbCreate({ entries: 2, policy });
      iotlbAccess(t, 0x1000, K4);
      iotlbAccess(t, 0x2000, K4);
      iotlbAccess(t, 0x1000, K4);
      iotlbAccess(t, 0x3000, K4);
      expect(iotlbHolds(t, gone)).toBe(false);
      expect(iotlbHolds(t, kept)).toBe(true);
      expect(iotlbStats(t).evictions).toBe(1);
    }
  });

  it("an unmapped address: a held translation serves it (stale), else a fault; neither inserts", () => {
    const t = iotlbCreate({ entries: 2 });
    iotlbAccess(t, 0x5000, K4);
    expect(iotlbAccess(t, 0x5000, K4, false)).toBe("stale");
    expect(iotlbAccess(t, 0x9000, K4, false)).toBe("fault");
    expect(t.size).toBe(1);
    expect(iotlbStats(t)).toMatchObject({ hits: 0, misses: 1, staleHits: 1 });
  });
});

describe("invalidation", () => {
  it("a range drops every overlapping page and counts one command; all drops everything", () => {
    const t = iotlbCreate({ entries: 8 });
    for (const a of [0x1000, 0x2000, 0x3000, 0x4000]) iotlbAccess(t, a, K4);
    iotlbAccess(t, 0x200000, M2);
    // [0x2800, 0x3800) overlaps pages 0x2000 and 0x3000.
    expect(iotlbInvalidateRange(t, 0x2800, 0x1000)).toBe(2);
    expect(iotlbHolds(t, 0x2000)).toBe(false);
    expect(iotlbHolds(t, 0x1000)).toBe(true);
    // A 4 KiB range inside the 2 MiB page drops the whole 2 MiB entry.
    expect(iotlbInvalidateRange(t, 0x300000, K4)).toBe(1);
    expect(iotlbInvalidateAll(t)).toBe(2);
    expect(iotlbStats(t)).toMatchObject({ invalidateRange: 2, invalidateAll: 1, entriesInvalidated: 5 });
    iotlbResetStats(t);
    expect(iotlbStats(t)).toEqual({ hits: 0, misses: 0, staleHits: 0, evictions: 0, invalidateRange: 0, invalidateAll: 0, entriesInvalidated: 0 });
  });

  it("bad parameters are rejected", () => {
    expect(() => iotlbCreate({ entries: 0 })).toThrow(ModelConfigError);
    expect(() => iotlbCreate({ entries: 4, policy: "random" as never })).toThrow(ModelConfigError);
    const t = iotlbCreate({ entries: 4 });
    expect(() => iotlbAccess(t, 0x1000, 3000)).toThrow(ModelConfigError);
    expect(() => iotlbInvalidateRange(t, 0x1000, 0)).toThrow(ModelConfigError);
  });
});

describe("properties", () => {
  it("never holds more than its capacity; hits + misses = mapped accesses; a page just accessed is held", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.constantFrom("lru" as const, "fifo" as const),
        fc.array(fc.record({ page: fc.integer({ min: 0, max: 40 }), big: fc.boolean(), inval: fc.integer({ min: 0, max: 12 }) }), { maxLength: 300, size: "max" }),
        (entries, policy, ops) => {
          const t = iotlbCreate({ entries, policy });
          let accesses = 0;
          for (const op of ops) {
            if (op.inval === 0) iotlbInvalidateAll(t);
            else if (op.inval === 1) iotlbInvalidateRange(t, op.page * K4, K4);
            else {
              const ps = op.big ? M2 : K4;
              iotlbAccess(t, op.page * K4 * 64, ps);
              accesses++;
              expect(iotlbHolds(t, op.page * K4 * 64)).toBe(true);
            }
            expect(t.size).toBeLessThanOrEqual(entries);
          }
          const s = iotlbStats(t);
          expect(s.hits + s.misses).toBe(accesses);
        },
      ),
      { numRuns: 60, seed: 0x71b },
    );
  });
});
