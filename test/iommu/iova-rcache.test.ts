import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { ModelConfigError } from "../../lib/core/errors.js";
import { findIova, freeIova, initIovaDomain, iovaRanges, reserveIova, type IovaDomain } from "../../lib/iommu/iova.js";
import {
  IOVA_RANGE_CACHE_MAX_SIZE,
  MAX_GLOBAL_MAGS,
  allocIovaFast,
  freeCpuCachedIovas,
  freeGlobalCachedIovas,
  freeIovaFast,
  iovaDepotWork,
  iovaDomainInitRcaches,
  iovaMagSize,
  iovaRcacheContents,
  iovaRcacheStats,
  orderBase2,
} from "../../lib/iommu/iova-rcache.js";

// The per-CPU IOVA rcaches of drivers/iommu/iova.c (issue 12). Granule 4096:
// dma_32bit_pfn = 2^32 / 4096 = 0x100000, so limits below it are "32-bit".
// Every expected value is worked out in the comments from the kernel rules
// listed in lib/iommu/iova-rcache.ts's header.

const G = 4096;

function dom(kernel: string, cpus: number): IovaDomain {
  const d = initIovaDomain(G, 1, { kernel });
  iovaDomainInitRcaches(d, { cpus });
  return d;
}

/** pfns of one magazine, index 0 first. */
function mag(d: IovaDomain, order: number, where: "loaded" | "prev" | "depot", cpu: number, index = 0): number[] {
  return iovaRcacheContents(d)
    .filter((c) => c.order === order && c.where === where && (where === "depot" ? c.index === index : c.cpu === cpu))
    .map((c) => c.pfn);
}

describe("constants per release", () => {
  it("IOVA_MAG_SIZE is 128 through v5.19 and 127 from v6.0; orders 0..5 cached; depot 32 until v6.6", () => {
    expect(iovaMagSize("v4.7")).toBe(128);
    expect(iovaMagSize("v5.4")).toBe(128);
    expect(iovaMagSize("v5.19")).toBe(128);
    expect(iovaMagSize("v6.0")).toBe(127);
    expect(iovaMagSize("v6.19")).toBe(127);
    expect(IOVA_RANGE_CACHE_MAX_SIZE).toBe(6);
    expect(MAX_GLOBAL_MAGS).toBe(32);
  });
  it("order_base_2 is ceil(log2 n)", () => {
    // 1 -> 0, 2 -> 1, 3 and 4 -> 2, 5..8 -> 3, 32 -> 5, 33 -> 6.
    expect([1, 2, 3, 4, 5, 8, 9, 32, 33].map(orderBase2)).toEqual([0, 1, 2, 2, 3, 3, 4, 5, 6]);
  });
  it("no rcaches before v4.7; one set per domain", () => {
    const d = initIovaDomain(G, 1, { kernel: "v4.6" });
    expect(() => iovaDomainInitRcaches(d, { cpus: 1 })).toThrow(ModelConfigError);
    expect(d.rcaches).toBeUndefined();
    const e = dom("v4.7", 1);
    expect(() => iovaDomainInitRcaches(e, { cpus: 1 })).toThrow(ModelConfigError);
    expect(() => iovaDomainInitRcaches(initIovaDomain(G, 1), { cpus: 0 })).toThrow(ModelConfigError);
  });
});

describe("fast path: a freed range comes back from the CPU's magazine", () => {
  it("v6.19: alloc, free, alloc again returns the same pfn without touching the rbtree", () => {
    const d = dom("v6.19", 1);
    // Empty caches: alloc_iova(1, 0xFFFFF) puts the first range at the top, 0xFFFFF.
    expect(allocIovaFast(d, 1, 0xfffff, true, 0)).toBe(0xfffff);
    freeIovaFast(d, 0xfffff, 1, 0);
    expect(mag(d, 0, "loaded", 0)).toEqual([0xfffff]);
    expect(d.count).toBe(1); // still in the rbtree while cached
    expect(allocIovaFast(d, 1, 0xfffff, true, 0)).toBe(0xfffff);
    expect(d.count).toBe(1);
    expect(d.rcaches!.cachedCount).toBe(0);
  });

  it("sizes above 32 pages (order 6) bypass the caches", () => {
    const d = dom("v6.19", 1);
    // 33 pages, size-aligned to 64: alignDown(0x100000 - 33, 64) = 0xFFFC0.
    const pfn = allocIovaFast(d, 33, 0xfffff, true, 0);
    expect(pfn).toBe(0xfffc0);
    freeIovaFast(d, pfn, 33, 0);
    expect(d.count).toBe(0);
    expect(d.rcaches!.cachedCount).toBe(0);
  });

  it("per-CPU: a pfn freed on CPU 1 is not seen by CPU 0's fast path", () => {
    const d = dom("v6.19", 2);
    const a = allocIovaFast(d, 1, 0xfffff, true, 0); // 0xFFFFF
    freeIovaFast(d, a, 1, 1);
    // CPU 0: loaded and prev empty, depot empty: alloc_iova from cached32_node (0xFFFFF) down: 0xFFFFE.
    expect(allocIovaFast(d, 1, 0xfffff, true, 0)).toBe(0xffffe);
    expect(allocIovaFast(d, 1, 0xfffff, true, 1)).toBe(0xfffff);
  });
});

describe("size rounding: inside alloc_iova_fast from v5.17, the caller's job before", () => {
  it("v6.19 rounds 3 pages to 4; v5.4 allocates 3", () => {
    // v6.19: size 3 -> 4, alignDown(0x100000 - 4, 4) = 0xFFFFC, range [0xFFFFC, 0xFFFFF].
    const n = dom("v6.19", 1);
    expect(allocIovaFast(n, 3, 0xfffff, true, 0)).toBe(0xffffc);
    expect(findIova(n, 0xffffc)).toEqual({ pfnLo: 0xffffc, pfnHi: 0xfffff });
    // v5.4: size 3 stays 3, aligned to roundup_pow_of_two(3) = 4: alignDown(0x100000 - 3, 4) = 0xFFFFC, range [0xFFFFC, 0xFFFFE].
    const o = dom("v5.4", 1);
    expect(allocIovaFast(o, 3, 0xfffff, true, 0)).toBe(0xffffc);
    expect(findIova(o, 0xffffc)).toEqual({ pfnLo: 0xffffc, pfnHi: 0xffffe });
  });

  it("v5.15 (before the move) and v5.17 (after) on both sides", () => {
    const before = dom("v5.15", 1);
    allocIovaFast(before, 5, 0xfffff, true, 0);
    // 5 pages aligned to 8: alignDown(0x100000 - 5, 8) = 0xFFFF8, range of 5.
    expect(iovaRanges(before)).toEqual([{ pfnLo: 0xffff8, pfnHi: 0xffffc }]);
    const after = dom("v5.17", 1);
    allocIovaFast(after, 5, 0xfffff, true, 0);
    // 5 -> 8: range [0xFFFF8, 0xFFFFF].
    expect(iovaRanges(after)).toEqual([{ pfnLo: 0xffff8, pfnHi: 0xfffff }]);
  });

  it("v5.4 with an unrounded caller: a cached 3-page range handed to a 4-page request overlaps a later allocation", () => {
    // Why dma-iommu rounds before v5.17. CPU 1: X = 0xFFFFF (1 page). CPU 0: a 3-page range,
    // alignDown(0xFFFFF - 3, 4) = 0xFFFFC, i.e. [0xFFFFC, 0xFFFFE]; free_iova_fast(pfn, 3) files it
    // under order 2. X goes back to the rbtree (freeCpuCachedIovas(1)); freeing X, at or above
    // cached32_node, moves cached32_node to X's successor, the anchor. A 4-page request on CPU 0 takes
    // 0xFFFFC from the order-2 magazine and uses [0xFFFFC, 0xFFFFF]; the next 1-page alloc_iova walks
    // down from the anchor with top 0x100000 and finds 0xFFFFF free: the same pfn twice.
    const d = dom("v5.4", 2);
    expect(allocIovaFast(d, 1, 0xfffff, true, 1)).toBe(0xfffff);
    const a = allocIovaFast(d, 3, 0xfffff, true, 0);
    expect(a).toBe(0xffffc);
    expect(findIova(d, a)).toEqual({ pfnLo: 0xffffc, pfnHi: 0xffffe });
    freeIovaFast(d, 0xfffff, 1, 1);
    freeIovaFast(d, a, 3, 0);
    freeCpuCachedIovas(d, 1);
    expect(allocIovaFast(d, 4, 0xfffff, true, 0)).toBe(0xffffc);
    expect(findIova(d, 0xfffff)).toBeNull();
    expect(allocIovaFast(d, 1, 0xfffff, true, 0)).toBe(0xfffff);
    // From v5.17 the same calls cannot collide: the 3-page request is rounded to 4 and the range is [0xFFFFC, 0xFFFFF].
    const n = dom("v5.17", 2);
    allocIovaFast(n, 1, 0xfffff, true, 1);
    expect(allocIovaFast(n, 3, 0xfffff, true, 0)).toBe(0xffff8);
    expect(findIova(n, 0xffff8)).toEqual({ pfnLo: 0xffff8, pfnHi: 0xffffb });
  });
});

describe("magazines: loaded, prev, depot (v6.19: 127 pfns, unbounded depot)", () => {
  function fill(d: IovaDomain, n: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(allocIovaFast(d, 1, 0xfffff, true, 0));
    return out;
  }

  it("pushes fill loaded, swap to prev when full, then send loaded to the depot", () => {
    const d = dom("v6.19", 1);
    // 255 one-page ranges: 0xFFFFF down to 0xFFFFF - 254 = 0xFFF01.
    const pfns = fill(d, 255);
    expect(pfns[0]).toBe(0xfffff);
    expect(pfns[254]).toBe(0xfff01);
    for (const p of pfns) freeIovaFast(d, p, 1, 0);
    // pushes 1..127 fill A (loaded); push 128: A full, B (prev) empty: swap, B loaded;
    // pushes 128..254 fill B; push 255: both full: B to the depot, new C loaded with pfns[254].
    const [s0] = iovaRcacheStats(d);
    expect(s0!.cpu[0]).toEqual({ loaded: 1, prev: 127 });
    expect(s0!.depotMags).toBe(1);
    expect(s0!.workPending).toBe(true);
    expect(mag(d, 0, "loaded", 0)).toEqual([pfns[254]]);
    expect(mag(d, 0, "prev", 0)).toEqual(pfns.slice(0, 127));
    expect(mag(d, 0, "depot", -1, 0)).toEqual(pfns.slice(127, 254));
    expect(d.rcaches!.cachedCount).toBe(255);
    expect(d.count).toBe(255);
  });

  it("pops: loaded first, then swap with prev, then load the depot's top magazine", () => {
    const d = dom("v6.19", 1);
    const pfns = fill(d, 255);
    for (const p of pfns) freeIovaFast(d, p, 1, 0);
    // loaded [pfns[254]] pops first.
    expect(allocIovaFast(d, 1, 0xfffff, true, 0)).toBe(pfns[254]);
    // loaded empty, prev A full: swap; pop A's top, pfns[126].
    expect(allocIovaFast(d, 1, 0xfffff, true, 0)).toBe(pfns[126]);
    expect(iovaRcacheStats(d)[0]!.cpu[0]).toEqual({ loaded: 126, prev: 0 });
    for (let i = 0; i < 126; i++) allocIovaFast(d, 1, 0xfffff, true, 0);
    // both empty: the depot's magazine B replaces loaded; pop its top, pfns[253].
    expect(allocIovaFast(d, 1, 0xfffff, true, 0)).toBe(pfns[253]);
    expect(iovaRcacheStats(d)[0]!.depotMags).toBe(0);
    expect(iovaRcacheStats(d)[0]!.cpu[0]).toEqual({ loaded: 126, prev: 0 });
  });

  it("v6.19 depot work frees one magazine while the depot holds more magazines than CPUs", () => {
    const d = dom("v6.19", 1);
    // 382 frees: 127 (A) + 127 (B) + 127 (C) + 1: depot [B, C], loaded [x], prev A.
    const pfns = fill(d, 382);
    for (const p of pfns) freeIovaFast(d, p, 1, 0);
    expect(iovaRcacheStats(d)[0]!.depotMags).toBe(2);
    // 2 > 1 CPU: pop the top (C = pfns[254..380]), give its 127 pfns back, reschedule.
    expect(iovaDepotWork(d, 0)).toBe(127);
    expect(d.count).toBe(382 - 127);
    expect(findIova(d, pfns[300]!)).toBeNull();
    expect(findIova(d, pfns[200]!)).not.toBeNull();
    expect(iovaRcacheStats(d)[0]!.workPending).toBe(true);
    // 1 > 1 is false: nothing freed, the work stops.
    expect(iovaDepotWork(d, 0)).toBe(0);
    expect(iovaRcacheStats(d)[0]!.workPending).toBe(false);
    expect(iovaRcacheStats(d)[0]!.depotMags).toBe(1);
  });

  it("v6.6 and before: no depot work; v5.4 magazines hold 128 and the depot stops at 32", () => {
    expect(() => iovaDepotWork(dom("v6.6", 1), 0)).toThrow(ModelConfigError);
    const d = dom("v5.4", 1);
    // Pushes 1..128 fill A; push 129 swaps (B loaded); 129..256 fill B. From then on push
    // 256 + 128k + 1 (k = 0, 1, ..) finds both full and moves loaded out: move k carries pushes
    // 128(k+1)+1 .. 128(k+2), i.e. indices 128(k+1) .. 128(k+2) - 1. With n = 256 + 33 * 128 + 1 = 4481
    // pushes there are 34 moves (k = 0..33): k = 0..31 fill the depot (32), k = 32 and 33 find it full
    // and their pfns (indices 4224..4479) go back to the rbtree. Left: loaded [index 4480], prev A.
    const n = 256 + 33 * 128 + 1;
    const pfns: number[] = [];
    for (let i = 0; i < n; i++) pfns.push(allocIovaFast(d, 1, 0xfffff, true, 0));
    for (const p of pfns) freeIovaFast(d, p, 1, 0);
    const s = iovaRcacheStats(d)[0]!;
    expect(s.depotMags).toBe(32);
    expect(s.workPending).toBe(false);
    expect(s.cpu[0]).toEqual({ loaded: 1, prev: 128 });
    expect(s.cached).toBe(1 + 128 + 32 * 128);
    expect(d.count).toBe(n - 2 * 128);
    expect(findIova(d, pfns[4224]!)).toBeNull();
    expect(findIova(d, pfns[4479]!)).toBeNull();
    expect(findIova(d, pfns[4223]!)).not.toBeNull();
    expect(findIova(d, pfns[4480]!)).not.toBeNull();
  });
});

describe("the limit check of the pop, per release", () => {
  // Three one-page ranges at 0xEFFFF, 0x7FFFF, 0x3FFFF (limits 0xEFFFF, 0x7FFFF, 0x3FFFF; each lands at
  // its limit: v6.19 walks down from cached32_node, the previous range, which lies above; v4.14 never
  // uses cached32_node since no limit equals pfn_32bit 0xFFFFF), freed in the order 0x3FFFF, 0xEFFFF,
  // 0x7FFFF: the magazine is [0x3FFFF, 0xEFFFF, 0x7FFFF] (top last).
  function setup(kernel: string): IovaDomain {
    const d = dom(kernel, 1);
    expect(allocIovaFast(d, 1, 0xeffff, true, 0)).toBe(0xeffff);
    expect(allocIovaFast(d, 1, 0x7ffff, true, 0)).toBe(0x7ffff);
    expect(allocIovaFast(d, 1, 0x3ffff, true, 0)).toBe(0x3ffff);
    for (const p of [0x3ffff, 0xeffff, 0x7ffff]) freeIovaFast(d, p, 1, 0);
    expect(mag(d, 0, "loaded", 0)).toEqual([0x3ffff, 0xeffff, 0x7ffff]);
    return d;
  }

  it("v4.15+ (v6.19): scan from the top for pfn <= limit + 1 - size, swap it with the last", () => {
    const d = setup("v6.19");
    // limit 0x8FFFF: bound 0x90000 - 1 = 0x8FFFF; top 0x7FFFF fits: popped.
    expect(allocIovaFast(d, 1, 0x8ffff, true, 0)).toBe(0x7ffff);
    expect(mag(d, 0, "loaded", 0)).toEqual([0x3ffff, 0xeffff]);
    // top 0xEFFFF > bound; index 0 0x3FFFF fits: it is taken and the last (0xEFFFF) moves into its slot.
    expect(allocIovaFast(d, 1, 0x8ffff, true, 0)).toBe(0x3ffff);
    expect(mag(d, 0, "loaded", 0)).toEqual([0xeffff]);
    // nothing fits: rbtree. cached32_node is [0x3FFFF] (last inserted); the walk below it: 0x3FFFE.
    expect(allocIovaFast(d, 1, 0x8ffff, true, 0)).toBe(0x3fffe);
    expect(mag(d, 0, "loaded", 0)).toEqual([0xeffff]);
  });

  it("v4.14: only the top pfn is tried, refused when >= limit_pfn", () => {
    const d = setup("v4.14");
    // top 0x7FFFF < 0x8FFFF: popped.
    expect(allocIovaFast(d, 1, 0x8ffff, true, 0)).toBe(0x7ffff);
    // top 0xEFFFF >= 0x8FFFF: refused although 0x3FFFF would fit; the magazine is unchanged. alloc_iova
    // (no cached32_node: it walks from the top, limit + 1 = 0x90000) finds 0x8FFFF.
    const before = d.count;
    expect(allocIovaFast(d, 1, 0x8ffff, true, 0)).toBe(0x8ffff);
    expect(d.count).toBe(before + 1);
    expect(mag(d, 0, "loaded", 0)).toEqual([0x3ffff, 0xeffff]);
  });

  it("v4.14 hands out a cached range that ends above the limit; v4.15 refuses it", () => {
    // A 4-page range at 0xFFFFC (alignDown(0x100000 - 4, 4)); cached; a request with limit 0xFFFFD.
    for (const [kernel, expectHit] of [["v4.14", true], ["v4.15", false]] as const) {
      const d = dom(kernel, 1);
      expect(allocIovaFast(d, 4, 0xfffff, true, 0)).toBe(0xffffc);
      freeIovaFast(d, 0xffffc, 4, 0);
      const p = allocIovaFast(d, 4, 0xffffd, true, 0);
      // v4.14: 0xFFFFC < 0xFFFFD, taken: [0xFFFFC, 0xFFFFF] ends 2 pfns above the limit.
      // v4.15: bound 0xFFFFE - 4 = 0xFFFFA < 0xFFFFC: refused; alloc_iova walks down from cached32_node
      // [0xFFFFC, 0xFFFFF] (still allocated): alignDown(0xFFFFC - 4, 4) = 0xFFFF8.
      expect(p).toBe(expectHit ? 0xffffc : 0xffff8);
    }
  });

  it("a failed pop keeps the prev/loaded swap", () => {
    const d = dom("v6.19", 1);
    // 128 ranges freed: A full (127 pfns, 0xFFFFF .. 0xFFF81), then swap: loaded B = [0xFFF80], prev A.
    const pfns: number[] = [];
    for (let i = 0; i < 128; i++) pfns.push(allocIovaFast(d, 1, 0xfffff, true, 0));
    for (const p of pfns) freeIovaFast(d, p, 1, 0);
    allocIovaFast(d, 1, 0xfffff, true, 0); // pops 0xFFF80 from B
    expect(iovaRcacheStats(d)[0]!.cpu[0]).toEqual({ loaded: 0, prev: 127 });
    // limit 0xFFF7F: nothing cached fits (all >= 0xFFF81), but the swap happens first and stays.
    const p = allocIovaFast(d, 1, 0xfff7f, true, 0);
    expect(p).toBeLessThanOrEqual(0xfff7f);
    expect(iovaRcacheStats(d)[0]!.cpu[0]).toEqual({ loaded: 127, prev: 0 });
  });
});

describe("flush on failure", () => {
  it("flush_rcache gives other CPUs' magazines back and retries; false returns 0 (v4.15+)", () => {
    // Domain pfns 1..8 under limit 8: eight one-page ranges fill it (8 down to 1).
    const d = dom("v6.19", 2);
    for (let i = 0; i < 8; i++) expect(allocIovaFast(d, 1, 8, true, 0)).toBe(8 - i);
    freeIovaFast(d, 8, 1, 1); // cached on CPU 1
    expect(allocIovaFast(d, 1, 8, false, 0)).toBe(0);
    expect(d.rcaches!.cachedCount).toBe(1);
    // With the flush: CPU 1's pfn 8 goes back to the rbtree; the retry finds it.
    expect(allocIovaFast(d, 1, 8, true, 0)).toBe(8);
    expect(d.rcaches!.cachedCount).toBe(0);
  });

  it("before v4.15 the flush always happens: false is rejected", () => {
    const d = dom("v4.14", 1);
    expect(() => allocIovaFast(d, 1, 8, false, 0)).toThrow(ModelConfigError);
    expect(d.count).toBe(0);
  });

  it("the depot is flushed on failure from v5.11, not in v5.10", () => {
    // pfns 1..300 under limit 300, 300 one-page ranges: 300 down to 1. Free the first 257 (300 .. 44) on
    // CPU 1 (magazines of 128): A = 300..173, B = 172..45, then B goes to the depot and loaded = [44].
    // CPU 1 takes back 129: 44, then A (swapped in) from its top: 173, 174, .., 300. Left cached: the
    // depot magazine B (45..172). The rbtree has no free pfn. A 2-page request (order 1, empty cache)
    // fails in alloc_iova; the flush frees the (empty) CPU magazines and, from v5.11, the depot:
    // B's pfns are freed index 0 upwards (172 first, which moves cached32_node from [1] to its
    // successor [173]; the others lie below it). The retry walks down from [173]:
    // alignDown(173 - 2, 2) = 170.
    for (const [kernel, expected] of [["v5.10", 0], ["v5.11", 170]] as const) {
      const d = dom(kernel, 2);
      const pfns: number[] = [];
      for (let i = 0; i < 300; i++) pfns.push(allocIovaFast(d, 1, 300, true, 1));
      expect(pfns[0]).toBe(300);
      expect(pfns[299]).toBe(1);
      for (let i = 0; i < 257; i++) freeIovaFast(d, pfns[i]!, 1, 1);
      for (let i = 0; i < 129; i++) allocIovaFast(d, 1, 300, true, 1);
      expect(iovaRcacheStats(d)[0]!.depotMags).toBe(1);
      expect(mag(d, 0, "depot", -1, 0)[0]).toBe(172);
      expect(allocIovaFast(d, 2, 300, true, 0)).toBe(expected);
      expect(d.rcaches!.cachedCount).toBe(expected ? 0 : 128);
    }
  });

  it("freeGlobalCachedIovas exists from v5.11; freeCpuCachedIovas empties one CPU", () => {
    expect(() => freeGlobalCachedIovas(dom("v5.10", 1))).toThrow(ModelConfigError);
    const d = dom("v6.19", 2);
    const a = allocIovaFast(d, 1, 0xfffff, true, 0);
    const b = allocIovaFast(d, 2, 0xfffff, true, 0);
    freeIovaFast(d, a, 1, 0);
    freeIovaFast(d, b, 2, 1);
    freeCpuCachedIovas(d, 0);
    expect(findIova(d, a)).toBeNull();
    expect(findIova(d, b)).not.toBeNull();
    expect(d.rcaches!.cachedCount).toBe(1);
  });
});

describe("misuse is rejected before any change", () => {
  it("double free, a pfn inside a range, a size of another order, a bad CPU", () => {
    const d = dom("v6.19", 2);
    const a = allocIovaFast(d, 4, 0xfffff, true, 0);
    expect(() => freeIovaFast(d, a + 1, 4, 0)).toThrow(ModelConfigError);
    expect(() => freeIovaFast(d, a, 8, 0)).toThrow(ModelConfigError);
    expect(() => freeIovaFast(d, a, 4, 2)).toThrow(ModelConfigError);
    expect(() => allocIovaFast(d, 1, 0xfffff, true, -1)).toThrow(ModelConfigError);
    expect(d.rcaches!.cachedCount).toBe(0);
    freeIovaFast(d, a, 3, 0); // order 2, like the 4-page range
    expect(() => freeIovaFast(d, a, 4, 1)).toThrow(ModelConfigError);
    expect(d.rcaches!.cachedCount).toBe(1);
  });
});

describe("misuse: which check fires, and nothing changes", () => {
  /** The field of the ModelConfigError `f` throws (the check that fired). */
  function field(f: () => unknown): string {
    try {
      f();
    } catch (e) {
      if (e instanceof ModelConfigError) return e.field;
      throw e;
    }
    return "no error";
  }
  /** Everything a rejected call must leave as it was. */
  function state(d: IovaDomain): string {
    return JSON.stringify([iovaRanges(d), iovaRcacheContents(d), d.rcaches!.cachedCount]);
  }

  it("allocIovaFast: each bad argument names itself, checked in the order domain, limitPfn, size, flushRcache, cpu", () => {
    const d = dom("v6.19", 2);
    const a = allocIovaFast(d, 4, 0xfffff, true, 0);
    freeIovaFast(d, a, 4, 0);
    const before = state(d);
    const bad: Array<[() => unknown, string]> = [
      [() => allocIovaFast({} as IovaDomain, 4, 0xfffff, true, 0), "allocIovaFast(iovad)"],
      [() => allocIovaFast(initIovaDomain(G, 1), 4, 0xfffff, true, 0), "allocIovaFast(iovad)"], // no rcaches
      [() => allocIovaFast(d, 4, 0, true, 0), "allocIovaFast(limitPfn)"], // below start_pfn 1
      [() => allocIovaFast(d, 4, 0.5, true, 0), "allocIovaFast(limitPfn)"],
      [() => allocIovaFast(d, 0, 0xfffff, true, 0), "allocIovaFast(size)"],
      [() => allocIovaFast(d, 2.5, 0xfffff, true, 0), "allocIovaFast(size)"],
      [() => allocIovaFast(d, 4, 0xfffff, "yes" as unknown as boolean, 0), "allocIovaFast(flushRcache)"],
      [() => allocIovaFast(d, 4, 0xfffff, true, 2), "allocIovaFast(cpu)"], // CPUs 0 and 1
      [() => allocIovaFast(d, 4, 0xfffff, true, -1), "allocIovaFast(cpu)"],
      [() => allocIovaFast(d, 0, -1, true, 9), "allocIovaFast(limitPfn)"], // the first bad one wins
    ];
    for (const [f, want] of bad) expect(field(f)).toBe(want);
    // Before v4.15 there is no flush_rcache argument: false is refused.
    const old = dom("v4.14", 1);
    expect(field(() => allocIovaFast(old, 4, 0xfffff, false, 0))).toBe("allocIovaFast(flushRcache)");
    expect(state(d)).toBe(before);
  });

  it("freeIovaFast: each misuse names itself, checked in the order domain, cpu, size, pfn, start, cached, order", () => {
    const d = dom("v6.19", 2);
    // Empty caches: 4 pages at the top, 0x100000 - 4 = 0xFFFFC; then 40 pages (size-aligned to 64) below it,
    // alignDown(0xFFFFC - 40, 64) = alignDown(0xFFFD4, 64) = 0xFFFC0.
    const a = allocIovaFast(d, 4, 0xfffff, true, 0);
    const b = allocIovaFast(d, 40, 0xfffff, true, 0);
    expect([a, b]).toEqual([0xffffc, 0xfffc0]);
    const c = allocIovaFast(d, 1, 0xfffff, true, 0);
    freeIovaFast(d, c, 1, 1); // cached on CPU 1
    const before = state(d);
    const bad: Array<[() => unknown, string]> = [
      [() => freeIovaFast({} as IovaDomain, a, 4, 0), "freeIovaFast(iovad)"],
      [() => freeIovaFast(d, a, 4, 2), "freeIovaFast(cpu)"],
      [() => freeIovaFast(d, a, 0, 0), "freeIovaFast(size)"],
      [() => freeIovaFast(d, -1, 4, 0), "freeIovaFast(pfn)"],
      [() => freeIovaFast(d, a + 1, 4, 0), "freeIovaFast(pfn)"], // inside the range, not its start
      [() => freeIovaFast(d, 0x12345, 4, 0), "freeIovaFast(pfn)"], // no range there
      [() => freeIovaFast(d, c, 1, 0), "freeIovaFast(pfn)"], // already cached (on the other CPU): a double free
      [() => freeIovaFast(d, a, 8, 0), "freeIovaFast(size)"], // order 3, the range has 4 pages (order 2)
      [() => freeIovaFast(d, a, 1, 0), "freeIovaFast(size)"], // order 0
      [() => freeIovaFast(d, b, 32, 0), "freeIovaFast(size)"], // order 5, the range has 40 pages (order 6)
    ];
    for (const [f, want] of bad) expect(field(f)).toBe(want);
    expect(state(d)).toBe(before);
    // 3 pages for the 4-page range: same order (2), accepted; 64 for the 40-page range: order 6, freed to the rbtree.
    freeIovaFast(d, a, 3, 0);
    freeIovaFast(d, b, 64, 0);
    expect(iovaRcacheContents(d).map((x) => x.pfn).sort((x, y) => x - y)).toEqual([a, c].sort((x, y) => x - y));
    expect(findIova(d, b)).toBeNull();
  });

  it("double frees are caught after magazines moved to the depot, the start table grew and shrank, and slot hints went stale", () => {
    const d = dom("v6.19", 1);
    // 600 one-page ranges: the start table grows several times while they are allocated.
    const pfns: number[] = [];
    for (let i = 0; i < 600; i++) pfns.push(allocIovaFast(d, 1, 0xfffff, true, 0));
    // Free the first 300: 127 fill loaded, 127 prev, then loaded goes to the depot (v6.19), 46 in the new loaded.
    for (let i = 0; i < 300; i++) freeIovaFast(d, pfns[i]!, 1, 0);
    expect(d.rcaches!.cachedCount).toBe(300);
    // Free the other 300 to the rbtree directly: the table shrinks, the cached entries move slots (their hints go stale).
    for (let i = 300; i < 600; i++) freeIova(d, pfns[i]!);
    for (let i = 0; i < 300; i++) expect(field(() => freeIovaFast(d, pfns[i]!, 1, 0))).toBe("freeIovaFast(pfn)");
    // Every cached pfn comes back once, then the caches are empty and the pfns can be freed again.
    const back = new Set<number>();
    for (let i = 0; i < 300; i++) back.add(allocIovaFast(d, 1, 0xfffff, true, 0));
    expect(back).toEqual(new Set(pfns.slice(0, 300)));
    expect(d.rcaches!.cachedCount).toBe(0);
    for (const p of back) freeIovaFast(d, p, 1, 0);
    expect(d.rcaches!.cachedCount).toBe(300);
  });

  it("a cached pfn stays cached whatever happens to its range (the cached set is a set of pfns in magazines)", () => {
    const d = dom("v6.19", 1);
    // 4 pages at 0xFFFFC, cached.
    const a = allocIovaFast(d, 4, 0xfffff, true, 0);
    freeIovaFast(d, a, 4, 0);
    // reserve_iova over [a - 2, a]: the cached range grows down to a - 2 (never up); a is still in the magazine.
    expect(reserveIova(d, a - 2, a)).toEqual({ pfnLo: a - 2, pfnHi: a + 3 });
    expect(d.rcaches!._cached.has(a)).toBe(true);
    expect(d.rcaches!._cached.has(a - 2)).toBe(false);
    // The grown range [a - 2, a + 3] (6 pages, order 3) is not cached: it can be freed with a 6-page size.
    freeIovaFast(d, a - 2, 6, 0);
    expect(d.rcaches!.cachedCount).toBe(2);
    expect(iovaRcacheContents(d).map((x) => [x.pfn, x.order])).toEqual([[a, 2], [a - 2, 3]]);
  });
});

// --- properties

type Op =
  | { kind: "alloc"; size: number; limit: number; cpu: number; flush: boolean }
  | { kind: "free"; pick: number; cpu: number }
  | { kind: "flushCpu"; cpu: number }
  | { kind: "depotWork"; order: number };

function opArb(cpus: number): fc.Arbitrary<Op> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant("alloc" as const), size: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 40 })), limit: fc.constantFrom(400, 700, 1023, 2047), cpu: fc.integer({ min: 0, max: cpus - 1 }), flush: fc.boolean() }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat(), cpu: fc.integer({ min: 0, max: cpus - 1 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("flushCpu" as const), cpu: fc.integer({ min: 0, max: cpus - 1 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("depotWork" as const), order: fc.integer({ min: 0, max: 5 }) }) },
  );
}

function roundPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Run ops; after each, check: live (handed-out) ranges never overlap, each is
 * exactly an rbtree range that lies under its request's limit (v4.15+), and
 * rbtree ranges = live + cached, each cached pfn the start of a range of its order.
 */
function runOps(kernel: string, cpus: number, ops: Op[], every = 1): number {
  let maxDepot = 0;
  let step = 0;
  const d = dom(kernel, cpus);
  const callerRounds = kernel !== "v6.19"; // dma-iommu rounds before v5.17; alloc_iova_fast does from v5.17
  const live: Array<{ pfn: number; size: number; len: number }> = [];
  for (const op of ops) {
    if (op.kind === "alloc") {
      const size = callerRounds && op.size < 32 ? roundPow2(op.size) : op.size;
      const len = size < 32 ? roundPow2(size) : size;
      const pfn = allocIovaFast(d, size, op.limit, kernel === "v4.14" ? true : op.flush, op.cpu);
      if (pfn) {
        // v4.14 can exceed the limit (top-only pop check, and the v4.10 cached32 walk): not checked there.
        if (kernel !== "v4.14") expect(pfn + len - 1).toBeLessThanOrEqual(op.limit);
        live.push({ pfn, size: op.size, len });
      }
    } else if (op.kind === "free") {
      if (!live.length) continue;
      const i = op.pick % live.length;
      const x = live[i]!;
      live[i] = live[live.length - 1]!;
      live.pop();
      freeIovaFast(d, x.pfn, callerRounds && x.size < 32 ? roundPow2(x.size) : x.size, op.cpu);
    } else if (op.kind === "flushCpu") {
      freeCpuCachedIovas(d, op.cpu);
    } else if (kernel === "v6.19") {
      iovaDepotWork(d, op.order);
    }
    step++;
    if (step % every !== 0 && step !== ops.length) continue;
    for (const st of iovaRcacheStats(d)) maxDepot = Math.max(maxDepot, st.depotMags);
    // Accounting: every rbtree range is live or cached, exactly once.
    const cached = iovaRcacheContents(d);
    expect(d.count).toBe(live.length + cached.length);
    const starts = new Map<number, number>();
    for (const r of iovaRanges(d)) starts.set(r.pfnLo, r.pfnHi - r.pfnLo + 1);
    const seen = new Set<number>();
    for (const l of live) {
      expect(starts.get(l.pfn)).toBe(l.len);
      expect(seen.has(l.pfn)).toBe(false);
      seen.add(l.pfn);
    }
    for (const c of cached) {
      const n = starts.get(c.pfn);
      expect(n).toBeDefined();
      expect(orderBase2(n!)).toBe(c.order);
      expect(seen.has(c.pfn)).toBe(false);
      seen.add(c.pfn);
    }
    // No overlap among handed-out ranges (they are disjoint rbtree ranges; checked directly too).
    const sorted = live.map((l) => [l.pfn, l.pfn + l.len - 1] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]![0]).toBeGreaterThan(sorted[i - 1]![1]);
  }
  return maxDepot;
}

describe("properties: no overlap, exact accounting", () => {
  for (const [kernel, cpus, seed] of [["v6.19", 3, 0x7c01], ["v5.4", 2, 0x7c02], ["v5.11", 2, 0x7c03], ["v4.14", 2, 0x7c04]] as const) {
    it(`${kernel}, ${cpus} CPUs: handed-out ranges are disjoint rbtree ranges under their limit; rbtree = live + cached`, () => {
      fc.assert(
        fc.property(fc.array(opArb(cpus), { minLength: 1, maxLength: 250, size: "max" }), (ops) => {
          runOps(kernel, cpus, ops);
        }),
        { numRuns: 15, seed },
      );
    });
  }
});

describe("properties: long single-CPU runs that reach the depot", () => {
  // Sizes 1..2 only, up to 3000 ops on one CPU: magazines fill, the depot is used (and, in v5.4, overflows
  // back into the rbtree only after 32 + 2 magazines, which these runs do not reach; v6.19 trims by work).
  // Bursts: k allocations of one size, or k frees in a row (what a driver's ring refill and completion do).
  const burst = fc.oneof(
    fc.record({ n: fc.integer({ min: 1, max: 500 }), size: fc.integer({ min: 1, max: 2 }), flush: fc.boolean() }).map(({ n, size, flush }) =>
      Array.from({ length: n }, (): Op => ({ kind: "alloc", size, limit: 4095, cpu: 0, flush })),
    ),
    fc.record({ n: fc.integer({ min: 1, max: 500 }), pick: fc.nat() }).map(({ n, pick }) =>
      Array.from({ length: n }, (_, i): Op => ({ kind: "free", pick: pick + i, cpu: 0 })),
    ),
    fc.integer({ min: 0, max: 1 }).map((order): Op[] => [{ kind: "depotWork", order }]),
  );
  const small = fc.array(burst, { minLength: 5, maxLength: 10, size: "max" }).map((bs) => bs.flat());
  for (const [kernel, seed] of [["v6.19", 0x7d01], ["v5.4", 0x7d02]] as const) {
    it(`${kernel}: the same invariants over long runs (checked every 50 ops), and the depot is reached`, () => {
      let depot = 0;
      fc.assert(
        fc.property(small, (ops) => {
          depot = Math.max(depot, runOps(kernel, 1, ops, 50));
        }),
        { numRuns: 4, seed },
      );
      expect(depot).toBeGreaterThan(0);
    });
  }
});

