import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { ModelConfigError } from "../../lib/core/errors.js";
import {
  IOVA_ANCHOR,
  allocIova,
  findIova,
  freeIova,
  initIovaDomain,
  iovaAlign,
  iovaAlignDown,
  iovaDmaAddr,
  iovaMask,
  iovaOffset,
  iovaPfn,
  iovaRanges,
  iovaShift,
  iovaSize,
  putIovaDomain,
  reserveIova,
  type IovaDomain,
  type IovaRange,
} from "../../lib/iommu/iova.js";
import { RefIovaDomain } from "./iova-reference.js";

// Kernel rules used below (drivers/iommu/iova.c, v6.19):
// - alloc_iova passes limit = limit_pfn + 1 down; the walk's top at node N is
//   min(limit, N.pfn_lo) and its candidate (top - size) & ~(2^fls(size-1) - 1).
// - dma_32bit_pfn = 2^32 / granule; with granule 4096 that is 2^20 = 0x100000.

const G4K = 4096;
const DMA32_4K = 2 ** 32 / 4096; // 0x100000

function r(pfnLo: number, pfnHi: number): IovaRange {
  return { pfnLo, pfnHi };
}

function state(d: IovaDomain) {
  return {
    ranges: iovaRanges(d),
    cached: d.cachedNode,
    cached32: d.cached32Node,
    max32: d.max32AllocSize,
    count: d.count,
  };
}

describe("initIovaDomain", () => {
  it("records granule, start pfn, dma_32bit_pfn, cached nodes at the anchor, max32_alloc_size", () => {
    const d = initIovaDomain(G4K, 1);
    expect(d.granule).toBe(4096);
    expect(d.startPfn).toBe(1);
    // 1UL << (32 - iova_shift) with iova_shift = 12: 2^20.
    expect(d.dma32PfnLimit).toBe(0x100000);
    expect(d.max32AllocSize).toBe(0x100000);
    expect(d.anchor).toEqual(r(IOVA_ANCHOR, IOVA_ANCHOR));
    expect(d.cachedNode).toEqual(d.anchor);
    expect(d.cached32Node).toEqual(d.anchor);
    expect(d.count).toBe(0);
    expect(iovaRanges(d)).toEqual([]);
    // 64 KiB granule: 2^32 / 2^16 = 2^16.
    expect(initIovaDomain(65536, 1).dma32PfnLimit).toBe(65536);
  });
});

describe("allocIova placement", () => {
  it("allocates top-down below the limit", () => {
    const d = initIovaDomain(G4K, 1);
    // First alloc: start node is the anchor; top = min(0x100000, anchor) = 0x100000; 0x100000 - 1.
    expect(allocIova(d, 1, 0xfffff, false)).toEqual(r(0xfffff, 0xfffff));
    expect(d.cached32Node).toEqual(r(0xfffff, 0xfffff)); // pfn_hi < 2^20: cached32 updated
    expect(d.cachedNode.pfnLo).toBe(IOVA_ANCHOR);
    // Next starts at cached32 [0xfffff]: top 0xfffff, 0xfffff - 2 = 0xffffd.
    expect(allocIova(d, 2, 0xfffff, false)).toEqual(r(0xffffd, 0xffffe));
    expect(allocIova(d, 3, 0xfffff, false)).toEqual(r(0xffffa, 0xffffc));
    expect(findIova(d, 0xffffb)).toEqual(r(0xffffa, 0xffffc));
    expect(findIova(d, 0xffff9)).toBeNull();
  });

  it("aligns a size-aligned request to roundup_pow_of_two(size)", () => {
    const d = initIovaDomain(G4K, 1);
    expect(allocIova(d, 1, 0xfffff, true)).toEqual(r(0xfffff, 0xfffff));
    // size 3: fls(2) = 2, align 4. top 0xfffff: 0xfffff - 3 = 0xffffc, already a multiple of 4.
    expect(allocIova(d, 3, 0xfffff, true)).toEqual(r(0xffffc, 0xffffe));
    // top 0xffffc: 0xffffc - 3 = 0xffff9, down to a multiple of 4: 0xffff8. Leaves 0xffffb free.
    expect(allocIova(d, 3, 0xfffff, true)).toEqual(r(0xffff8, 0xffffa));
    expect(findIova(d, 0xffffb)).toBeNull();
    // size 5: fls(4) = 3, align 8. top 0xffff8: 0xffff3 down to 8: 0xffff0.
    expect(allocIova(d, 5, 0xfffff, true)).toEqual(r(0xffff0, 0xffff4));
    // size 64: fls(63) = 6, align 64 = 0x40. top 0xffff0: 0xffff0 - 0x40 = 0xfffb0 = 0xfff80 + 0x30,
    // down to a multiple of 0x40: 0xfff80.
    expect(allocIova(d, 64, 0xfffff, true)).toEqual(r(0xfff80, 0xfffbf));
  });

  it("places exactly above 2^32 and near 2^40 (no 32-bit truncation)", () => {
    const d = initIovaDomain(G4K, 1);
    // limit = 2^40 + 6; (2^40 + 6 - 8) = 2^40 - 2, down to a multiple of 8: 2^40 - 8.
    expect(allocIova(d, 8, 2 ** 40 + 5, true)).toEqual(r(2 ** 40 - 8, 2 ** 40 - 1));
    expect(d.cachedNode).toEqual(r(2 ** 40 - 8, 2 ** 40 - 1)); // pfn_hi >= 2^20: cached_node
    expect(d.cached32Node.pfnLo).toBe(IOVA_ANCHOR);
    // Unaligned size 3 with limit_pfn 2^40 + 2^33 + 7: limit 2^40 + 2^33 + 8, minus 3.
    // The start node is cached_node (2^40 - 8), whose pfn_hi is below the limit: the first
    // pass walks below it (top 2^40 - 8) and succeeds there: 2^40 - 8 - 3 = 2^40 - 11.
    expect(allocIova(d, 3, 2 ** 40 + 2 ** 33 + 7, false)).toEqual(r(2 ** 40 - 11, 2 ** 40 - 9));
    // size 2^33 aligned (align 2^33) below limit 2^41 - 1 + 1 = 2^41 (start is cached_node 2^40 - 11,
    // top 2^40 - 11, (2^40 - 11 - 2^33) rounded down to 2^33: 2^40 - 2 * 2^33).
    expect(allocIova(d, 2 ** 33, 2 ** 41 - 1, true)).toEqual(r(2 ** 40 - 2 ** 34, 2 ** 40 - 2 ** 33 - 1));
    expect(findIova(d, 2 ** 40 - 2 ** 33 - 1)).toEqual(r(2 ** 40 - 2 ** 34, 2 ** 40 - 2 ** 33 - 1));
    expect(iovaDmaAddr(d, r(2 ** 40 - 8, 2 ** 40 - 1))).toBe((2 ** 40 - 8) * 4096);
  });

  it("starts from the cached node, below higher free space, and retries from the top when that fails", () => {
    const d = initIovaDomain(G4K, 1);
    // limit_pfn 63 -> limit 64; size 8 aligned: 64 - 8 = 56.
    expect(allocIova(d, 8, 63, true)).toEqual(r(56, 63));
    // Now limit 0x100000 but the start node is cached32 = [56,63]: top 56 -> 48, NOT the top of the space.
    expect(allocIova(d, 8, 0xfffff, true)).toEqual(r(48, 55));
    // The walk keeps going down: 40, 32, 24, 16, 8.
    for (const lo of [40, 32, 24, 16, 8]) expect(allocIova(d, 8, 0xfffff, true)).toEqual(r(lo, lo + 7));
    expect(d.cached32Node).toEqual(r(8, 15));
    // First pass: top 8, 8 - 8 = 0 < start_pfn 1 -> fails. retry_pfn = cached32.pfn_hi = 15 < limit:
    // retry from the top with low = 16: 0x100000 - 8 = 0xffff8.
    expect(allocIova(d, 8, 0xfffff, true)).toEqual(r(0xffff8, 0xfffff));
    expect(d.cached32Node).toEqual(r(0xffff8, 0xfffff));
    expect(d.max32AllocSize).toBe(DMA32_4K); // success: untouched
  });

  it("moves cached32_node to the successor on a free at or above it, and leaves it on a free below", () => {
    const d = initIovaDomain(G4K, 1);
    allocIova(d, 8, 63, true); // [56,63]
    for (let i = 0; i < 6; i++) allocIova(d, 8, 0xfffff, true); // [48..55] ... [8..15]
    expect(d.cached32Node).toEqual(r(8, 15));
    // Free [40,47]: pfn_hi < 2^20 and pfn_lo 40 >= cached32.pfn_lo 8 -> cached32 = rb_next = [48,55].
    expect(freeIova(d, 40)).toEqual(r(40, 47));
    expect(d.cached32Node).toEqual(r(48, 55));
    // Next alloc starts at [48,55]: top 48 -> 40, above [32,39]: the hole is reused.
    expect(allocIova(d, 8, 0xfffff, true)).toEqual(r(40, 47));
    expect(d.cached32Node).toEqual(r(40, 47));
    // Free [8,15], below cached32 [40,47]: pfn_lo 8 < 40, not the cached node -> cached32 stays.
    expect(freeIova(d, 12)).toEqual(r(8, 15)); // any pfn inside the range frees it
    expect(d.cached32Node).toEqual(r(40, 47));
    // Walk from [40,47]: 32 (hits [32,39]), 24 (hits [24,31]), 16 (hits [16,23]), then 8 with nothing below.
    expect(allocIova(d, 8, 0xfffff, true)).toEqual(r(8, 15));
    // Freeing the cached32 node itself moves it to its successor.
    expect(freeIova(d, 8)).toEqual(r(8, 15));
    expect(d.cached32Node).toEqual(r(16, 23));
    // cached_node (anchor) has pfn_lo 2^64 > 8: untouched.
    expect(d.cachedNode.pfnLo).toBe(IOVA_ANCHOR);
  });

  it("moves cached_node on a free at or above it (64-bit side)", () => {
    const d = initIovaDomain(G4K, 1);
    const L = 2 ** 36 - 1; // limit 2^36
    expect(allocIova(d, 16, L, true)).toEqual(r(2 ** 36 - 16, 2 ** 36 - 1));
    expect(allocIova(d, 16, L, true)).toEqual(r(2 ** 36 - 32, 2 ** 36 - 17));
    expect(d.cachedNode).toEqual(r(2 ** 36 - 32, 2 ** 36 - 17));
    // Free the upper one: pfn_lo 2^36 - 16 >= cached pfn_lo -> cached_node = rb_next = anchor.
    freeIova(d, 2 ** 36 - 16);
    expect(d.cachedNode.pfnLo).toBe(IOVA_ANCHOR);
    // pfn_lo >= 2^20: max32_alloc_size not reset (it was never lowered anyway); cached32 untouched.
    expect(d.cached32Node.pfnLo).toBe(IOVA_ANCHOR);
    expect(allocIova(d, 16, L, true)).toEqual(r(2 ** 36 - 16, 2 ** 36 - 1));
  });

  it("fails fast through max32_alloc_size and resets it on a free below 4 GiB", () => {
    const d = initIovaDomain(G4K, 1);
    // limit_pfn 15 -> limit 16: size 8 at 16 - 8 = 8.
    expect(allocIova(d, 8, 15, true)).toEqual(r(8, 15));
    // Next size 8: top 8 -> 0 < 1 fails; retry_pfn = 15 < 16, retry with low 16: the gap below
    // the limit is [16,15] (empty) and below [8,15] nothing >= 16: fails. max32 = 8.
    expect(allocIova(d, 8, 15, true)).toBeNull();
    expect(d.max32AllocSize).toBe(8);
    // size 4 < 8: searched. Start cached32 [8,15]: top 8 -> 4.
    expect(allocIova(d, 4, 15, true)).toEqual(r(4, 7));
    // size 8 >= max32 with limit 0x100000 <= dma_32bit_pfn: fails at once although 2^20 pfns are free.
    const before = state(d);
    expect(allocIova(d, 8, 0xfffff, true)).toBeNull();
    expect(state(d)).toEqual(before);
    // A limit above 4 GiB is not subject to the fast fail: limit 2^40, 2^40 - 8.
    expect(allocIova(d, 8, 2 ** 40 - 1, true)).toEqual(r(2 ** 40 - 8, 2 ** 40 - 1));
    // Freeing a range whose pfn_lo is below 2^20 resets max32_alloc_size to dma_32bit_pfn.
    freeIova(d, 4); // frees [4,7]; it was cached32, which moves to rb_next = [8,15]
    expect(d.max32AllocSize).toBe(DMA32_4K);
    expect(d.cached32Node).toEqual(r(8, 15));
    // Walk from [8,15] fails (top 8 -> 0); retry_pfn 15 < 0x100000: retry from the top.
    expect(allocIova(d, 8, 0xfffff, true)).toEqual(r(0xffff8, 0xfffff));
  });

  it("a failure lowers max32_alloc_size even for a limit above 4 GiB (kernel quirk)", () => {
    const d = initIovaDomain(G4K, 1);
    // start_pfn 1, but limit 2^36 cannot hold 2^36 pfns (only 2^36 - 1 above pfn 0).
    expect(allocIova(d, 2 ** 36, 2 ** 36 - 1, false)).toBeNull();
    expect(d.max32AllocSize).toBe(2 ** 36);
  });

  it("returns null when the window is exhausted, and reuses freed pfns", () => {
    const d = initIovaDomain(G4K, 1);
    // pfns 1..4 below limit_pfn 4.
    expect([1, 2, 3, 4].map(() => allocIova(d, 1, 4, false))).toEqual([r(4, 4), r(3, 3), r(2, 2), r(1, 1)]);
    const ranges = iovaRanges(d);
    expect(allocIova(d, 1, 4, false)).toBeNull();
    expect(iovaRanges(d)).toEqual(ranges);
    expect(d.max32AllocSize).toBe(1); // max32_alloc_size = size on failure
    expect(allocIova(d, 1, 4, false)).toBeNull(); // now the fast fail
    freeIova(d, 3); // pfn_lo 3 < 2^20 resets max32
    expect(allocIova(d, 1, 4, false)).toEqual(r(3, 3));
  });

  it("freeing a pfn that is not allocated does nothing", () => {
    const d = initIovaDomain(G4K, 1);
    allocIova(d, 4, 0xfffff, true); // [0xffffc, 0xfffff]
    const before = state(d);
    expect(freeIova(d, 0xffffb)).toBeNull();
    expect(freeIova(d, 2 ** 45)).toBeNull();
    expect(state(d)).toEqual(before);
  });
});

describe("reserveIova", () => {
  it("keeps a reserved range out of allocations", () => {
    const d = initIovaDomain(G4K, 1);
    expect(reserveIova(d, 0x100, 0x1ff)).toEqual(r(0x100, 0x1ff));
    // Reserving touches no cached node.
    expect(d.cached32Node.pfnLo).toBe(IOVA_ANCHOR);
    // limit 0x210: the gap below it is [0x200, 0x20f]; 0x210 - 16 = 0x200 > 0x1ff.
    expect(allocIova(d, 16, 0x20f, true)).toEqual(r(0x200, 0x20f));
    // From cached32 [0x200..]: 0x1f0 falls inside the reservation; below it: 0x100 - 16 = 0xf0.
    expect(allocIova(d, 16, 0x20f, true)).toEqual(r(0xf0, 0xff));
  });

  it("merges overlapping requests the way reserve_iova does", () => {
    const d = initIovaDomain(G4K, 1);
    reserveIova(d, 0x100, 0x1ff);
    allocIova(d, 16, 0x20f, true); // [0x200, 0x20f]
    allocIova(d, 16, 0x20f, true); // [0xf0, 0xff]
    // [0x180, 0x2ff]: overlaps [0x100,0x1ff] -> rest starts at 0x200; overlaps [0x200,0x20f] -> rest
    // starts at 0x210; the anchor does not overlap -> insert [0x210, 0x2ff].
    expect(reserveIova(d, 0x180, 0x2ff)).toEqual(r(0x210, 0x2ff));
    expect(iovaRanges(d)).toEqual([r(0xf0, 0xff), r(0x100, 0x1ff), r(0x200, 0x20f), r(0x210, 0x2ff)]);
    // [0x50, 0xf5]: overlaps [0xf0, 0xff] which grows down to 0x50 and covers the rest: returned.
    expect(reserveIova(d, 0x50, 0xf5)).toEqual(r(0x50, 0xff));
    // Inside an existing range: returned unchanged.
    expect(reserveIova(d, 0x120, 0x130)).toEqual(r(0x100, 0x1ff));
    // Below start_pfn is allowed; touching [0x50..] from below grows it again.
    expect(reserveIova(d, 0, 0x60)).toEqual(r(0, 0xff));
    expect(iovaRanges(d)).toEqual([r(0, 0xff), r(0x100, 0x1ff), r(0x200, 0x20f), r(0x210, 0x2ff)]);
    // The grown allocation is freed whole by any pfn in it.
    expect(freeIova(d, 0xf0)).toEqual(r(0, 0xff));
    // A request far above everything is inserted on its own, above 2^40 too.
    expect(reserveIova(d, 2 ** 40, 2 ** 40 + 5)).toEqual(r(2 ** 40, 2 ** 40 + 5));
    expect(findIova(d, 2 ** 40 + 5)).toEqual(r(2 ** 40, 2 ** 40 + 5));
  });

  it("an allocation walks around a reservation in the middle of the window", () => {
    const d = initIovaDomain(G4K, 1);
    reserveIova(d, 0xfe000, 0xfefff); // e.g. an MSI window below 4 GiB
    // 4096 pfns aligned to 4096: top 0x100000 -> 0xff000, above 0xfefff.
    expect(allocIova(d, 4096, 0xfffff, true)).toEqual(r(0xff000, 0xfffff));
    // Next: top 0xff000 -> 0xfe000, inside the reservation; top 0xfe000 -> 0xfd000.
    expect(allocIova(d, 4096, 0xfffff, true)).toEqual(r(0xfd000, 0xfdfff));
  });
});

describe("helpers of include/linux/iova.h", () => {
  it("shift, mask, offset, align, pfn, size work above 2^32", () => {
    const d = initIovaDomain(G4K, 1);
    expect(iovaShift(d)).toBe(12);
    expect(iovaMask(d)).toBe(0xfff);
    expect(iovaOffset(d, 2 ** 40 + 0x123)).toBe(0x123);
    expect(iovaAlign(d, 2 ** 40 + 1)).toBe(2 ** 40 + 4096);
    expect(iovaAlignDown(d, 2 ** 40 + 4095)).toBe(2 ** 40);
    expect(iovaPfn(d, 2 ** 44 + 4096 * 3 + 7)).toBe(2 ** 32 + 3);
    expect(iovaDmaAddr(d, r(2 ** 32 + 3, 2 ** 32 + 3))).toBe(2 ** 44 + 3 * 4096);
    expect(iovaSize(r(2 ** 40, 2 ** 40 + 9))).toBe(10);
    expect(iovaShift(initIovaDomain(65536, 1))).toBe(16);
  });
});

describe("bad input", () => {
  function expectConfigError(f: () => unknown, field: string) {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelConfigError);
    expect((err as ModelConfigError).field).toBe(field);
  }

  it("rejects a bad granule or start pfn", () => {
    expectConfigError(() => initIovaDomain(3000, 1), "initIovaDomain(granule)");
    expectConfigError(() => initIovaDomain(0, 1), "initIovaDomain(granule)");
    expectConfigError(() => initIovaDomain(2 ** 17, 1), "initIovaDomain(granule)");
    expectConfigError(() => initIovaDomain(4096, 0), "initIovaDomain(startPfn)");
    expectConfigError(() => initIovaDomain(4096, 1.5), "initIovaDomain(startPfn)");
    expectConfigError(() => initIovaDomain(4096, 2 ** 41), "initIovaDomain(startPfn)"); // max pfn 2^41 - 1
    expect(() => initIovaDomain(4096, 2 ** 41 - 1)).not.toThrow();
  });

  it("rejects bad allocations, frees, reserves, with the domain unchanged", () => {
    const d = initIovaDomain(G4K, 16);
    allocIova(d, 8, 0xfffff, true);
    allocIova(d, 8, 2 ** 40, true);
    reserveIova(d, 0x1000, 0x1fff);
    const before = state(d);
    expectConfigError(() => allocIova(d, 0, 0xfffff, true), "allocIova(size)");
    expectConfigError(() => allocIova(d, 2.5, 0xfffff, true), "allocIova(size)");
    expectConfigError(() => allocIova(d, -1, 0xfffff, true), "allocIova(size)");
    expectConfigError(() => allocIova(d, Number.NaN, 0xfffff, true), "allocIova(size)");
    // Domain: pfns 16 .. 2^41 - 1, so at most 2^41 - 16 pfns.
    expectConfigError(() => allocIova(d, 2 ** 41 - 15, 2 ** 41 - 1, false), "allocIova(size)");
    expectConfigError(() => allocIova(d, 8, 15, true), "allocIova(limitPfn)"); // below start_pfn 16
    expectConfigError(() => allocIova(d, 8, 2 ** 41, true), "allocIova(limitPfn)"); // above max pfn
    expectConfigError(() => allocIova(d, 8, 1e6 + 0.5, true), "allocIova(limitPfn)");
    expectConfigError(() => allocIova(d, 8, 0xfffff, 1 as unknown as boolean), "allocIova(sizeAligned)");
    expectConfigError(() => freeIova(d, -1), "freeIova(pfn)");
    expectConfigError(() => freeIova(d, 0.5), "freeIova(pfn)");
    expectConfigError(() => findIova(d, 2 ** 53), "findIova(pfn)");
    expectConfigError(() => reserveIova(d, 10, 9), "reserveIova(pfnHi)");
    expectConfigError(() => reserveIova(d, -1, 9), "reserveIova(pfnLo)");
    expectConfigError(() => reserveIova(d, 0, 2 ** 41), "reserveIova(pfnHi)");
    expectConfigError(() => iovaOffset(d, -5), "iovaOffset(iova)");
    expect(state(d)).toEqual(before);
    // The error message names the allowed range.
    expect(() => allocIova(d, 0, 0xfffff, true)).toThrow(/expected an integer in \[1, /);
  });

  it("rejects use after putIovaDomain", () => {
    const d = initIovaDomain(G4K, 1);
    allocIova(d, 8, 0xfffff, true);
    putIovaDomain(d);
    expect(d.isPut).toBe(true);
    expect(d.count).toBe(0);
    expectConfigError(() => allocIova(d, 8, 0xfffff, true), "allocIova(iovad)");
    expectConfigError(() => freeIova(d, 0xffff8), "freeIova(iovad)");
    expectConfigError(() => putIovaDomain(d), "putIovaDomain(iovad)");
  });
});

// ---------------------------------------------------------------------------
// Properties: the model against the literal linear walk, and invariants.

type Op =
  | { kind: "alloc"; size: number; limit: number; aligned: boolean }
  | { kind: "free"; pick: number; stray: boolean }
  | { kind: "reserve"; lo: number; len: number };

/**
 * Operations on a domain whose dma_32bit_pfn is small enough to fill: granule
 * 65536 gives dma_32bit_pfn = 2^16. `base` shifts everything (start_pfn and
 * limits) to exercise large pfns. Limits mix a small window, the 4 GiB edge
 * and above it.
 */
function opArb(base: number, dma32: number): fc.Arbitrary<Op> {
  const window = [fc.integer({ min: base + 1, max: base + 300 }), fc.integer({ min: base + 1, max: base + 4000 })];
  // Limits right around dma_32bit_pfn, when that is inside the domain.
  const edge = dma32 - 40 > base ? [fc.integer({ min: dma32 - 40, max: dma32 + 40 })] : [];
  const limits = fc.oneof(...window, ...edge);
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant("alloc" as const), size: fc.integer({ min: 1, max: 70 }), limit: limits, aligned: fc.boolean() }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat(), stray: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("reserve" as const), lo: fc.integer({ min: Math.max(0, base - 5), max: base + 400 }), len: fc.integer({ min: 1, max: 40 }) }) },
  );
}

function checkInvariants(d: IovaDomain): void {
  const rs = iovaRanges(d);
  expect(rs.length).toBe(d.count);
  for (let i = 0; i < rs.length; i++) {
    expect(rs[i]!.pfnLo).toBeLessThanOrEqual(rs[i]!.pfnHi);
    if (i > 0) expect(rs[i]!.pfnLo).toBeGreaterThan(rs[i - 1]!.pfnHi); // sorted, no overlap
  }
}

function runAgainstReference(base: number, granule: number, ops: Op[]): void {
  const start = base + 1;
  const d = initIovaDomain(granule, start);
  const ref = new RefIovaDomain(granule, start);
  const live: IovaRange[] = [];
  for (const op of ops) {
    if (op.kind === "alloc") {
      const got = allocIova(d, op.size, op.limit, op.aligned);
      const want = ref.alloc(op.size, op.limit, op.aligned);
      expect(got).toEqual(want === null ? null : r(want.pfnLo, want.pfnHi));
      if (got !== null) {
        // Inside [start_pfn, limit_pfn], of the right size, size-aligned when asked.
        expect(got.pfnLo).toBeGreaterThanOrEqual(start);
        expect(got.pfnHi).toBeLessThanOrEqual(op.limit);
        expect(iovaSize(got)).toBe(op.size);
        if (op.aligned) {
          let a = 1;
          while (a < op.size) a *= 2; // roundup_pow_of_two(size)
          expect(got.pfnLo % a).toBe(0);
        }
        live.push(got);
      }
    } else if (op.kind === "free") {
      let pfn: number;
      if (op.stray || live.length === 0) pfn = base + (op.pick % 500);
      else {
        const i = op.pick % live.length;
        pfn = live[i]!.pfnLo;
        live[i] = live[live.length - 1]!;
        live.pop();
      }
      const got = freeIova(d, pfn);
      const want = ref.free(pfn);
      expect(got).toEqual(want === null ? null : r(want.pfnLo, want.pfnHi));
      expect(findIova(d, pfn)).toBeNull(); // freed means free
      if (got !== null) for (let p = got.pfnLo; p <= got.pfnHi; p += Math.max(1, Math.floor(iovaSize(got) / 7))) expect(findIova(d, p)).toBeNull();
    } else {
      const got = reserveIova(d, op.lo, op.lo + op.len - 1);
      const want = ref.reserve(op.lo, op.lo + op.len - 1);
      expect(got).toEqual(r(want.pfnLo, want.pfnHi));
    }
    expect(iovaRanges(d)).toEqual(ref.ranges());
    expect(d.cachedNode).toEqual(r(ref.cachedNode.pfnLo, ref.cachedNode.pfnHi));
    expect(d.cached32Node).toEqual(r(ref.cached32Node.pfnLo, ref.cached32Node.pfnHi));
    expect(d.max32AllocSize).toBe(ref.max32AllocSize);
  }
  checkInvariants(d);
}

describe("model equals the kernel's linear walk, op by op", () => {
  it("small pfns, 64 KiB granule (dma_32bit_pfn = 2^16)", () => {
    fc.assert(
      fc.property(fc.array(opArb(0, 65536), { minLength: 1, maxLength: 300, size: "max" }), (ops) => runAgainstReference(0, 65536, ops)),
      { numRuns: 150, seed: 0x5eed },
    );
  });

  it("small pfns, 4 KiB granule, limits around the 2^20 edge", () => {
    fc.assert(
      fc.property(fc.array(opArb(0, 2 ** 20), { minLength: 1, maxLength: 300, size: "max" }), (ops) => runAgainstReference(0, 4096, ops)),
      { numRuns: 100, seed: 0x1234 },
    );
  });

  it("pfns near 2^40 (above 2^32: no truncation)", () => {
    const base = 2 ** 40 - 1000;
    fc.assert(
      fc.property(fc.array(opArb(base, 2 ** 20), { minLength: 1, maxLength: 300, size: "max" }), (ops) => runAgainstReference(base, 4096, ops)),
      { numRuns: 100, seed: 0x40 },
    );
  });

  it("a dense steady-state run like the benchmark (size-aligned 1..64, fixed limit)", () => {
    // The benchmark's shape at a smaller scale: 400 warm-up allocations, then free/alloc pairs.
    let x = 0x12345678;
    const next = () => {
      // A plain LCG is enough here (the benchmark uses xorshift32).
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return x;
    };
    const d = initIovaDomain(4096, 1);
    const ref = new RefIovaDomain(4096, 1);
    const live: number[] = [];
    for (let op = 0; op < 6000; op++) {
      if (op >= 400 && (op - 400) % 2 === 0) {
        const i = next() % live.length;
        expect(freeIova(d, live[i]!)).toEqual(ref.free(live[i]!));
        live[i] = live[live.length - 1]!;
        live.pop();
      } else {
        const size = 1 + (next() % 64);
        const got = allocIova(d, size, 0x7fff, true); // limit 2^15: fills up, exercises failures
        const want = ref.alloc(size, 0x7fff, true);
        expect(got).toEqual(want === null ? null : r(want.pfnLo, want.pfnHi));
        if (got !== null) live.push(got.pfnLo);
      }
      expect(d.cached32Node).toEqual(r(ref.cached32Node.pfnLo, ref.cached32Node.pfnHi));
      expect(d.max32AllocSize).toBe(ref.max32AllocSize);
    }
    expect(iovaRanges(d)).toEqual(ref.ranges());
    checkInvariants(d);
  });
});
