import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createMachine } from "../../lib/platform/machine.js";
import { loadPlatformProfile } from "../../lib/platform/profile.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { GFP_DMA, GFP_DMA32, GFP_KERNEL, __GFP_HIGHMEM, gfp } from "../../lib/mm/gfp.js";
import { NR_PAGE_ORDERS, allocPages, buddyOf, fragment, freePages, maxOrderOf } from "../../lib/mm/page-alloc.js";
import { pageSourceOf } from "../../lib/mm/page-source.js";

const MiB = 2 ** 20;

/** An x86-64 PC with `ram` banks (bytes), otherwise the case-04 profile. */
function pc(ram: Array<{ base: number; size: number }>, kernel = "v6.19") {
  const p = loadPlatformProfile("x86-64-pc-8g");
  return createMachine({ ...p, ram, mmio: [] }, { kernel });
}

// A 64 MiB machine. x86-64 zones: ZONE_DMA [0, 16M), ZONE_DMA32 [16M, 64M).
// Managed pages: RAM minus [0, 1M) (firmware) and [16M, 48M) (kernel image + early allocations):
// ZONE_DMA  pfns 256..4095  (3840 pages): blocks 256 (order 8), 512 (order 9), 1024/2048/3072 (order 10);
// ZONE_DMA32 pfns 12288..16383 (4096 pages): four order-10 blocks at 12288, 13312, 14336, 15360.
const small = () => pc([{ base: 0, size: 64 * MiB }]);

describe("buddy allocator: initial free lists", () => {
  it("cuts managed memory into maximal aligned blocks per zone", () => {
    const b = buddyOf(small());
    expect(NR_PAGE_ORDERS).toBe(11);
    expect(b.zones.map((z) => z.name)).toEqual(["ZONE_DMA", "ZONE_DMA32"]);
    expect(b.zone("ZONE_DMA")!.buddyinfo()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]);
    expect(b.zone("ZONE_DMA")!.freePages).toBe(3840);
    expect(b.zone("ZONE_DMA32")!.buddyinfo()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
    expect(b.zone("ZONE_DMA")!.isFreeHead(256, 8)).toBe(true);
    expect(b.zone("ZONE_DMA")!.isFreeHead(512, 9)).toBe(true);
  });

  it("names the order bound per release: MAX_ORDER 11 exclusive before v6.4, 10 inclusive after, MAX_PAGE_ORDER from v6.8", () => {
    expect(maxOrderOf("v5.4")).toEqual({ name: "MAX_ORDER", value: 11, inclusive: false });
    expect(maxOrderOf("v6.4")).toEqual({ name: "MAX_ORDER", value: 10, inclusive: true });
    expect(maxOrderOf("v6.19")).toEqual({ name: "MAX_PAGE_ORDER", value: 10, inclusive: true });
  });
});

describe("buddy allocator: split and merge by hand", () => {
  it("an order-0 request splits the lowest order-10 block and keeps its lowest page", () => {
    const m = small();
    const b = buddyOf(m);
    // GFP_KERNEL -> ZONE_NORMAL, absent here: the zonelist starts at ZONE_DMA32.
    const p = allocPages(m, GFP_KERNEL, 0);
    expect(p).toBe(12288);
    // expand(): the upper halves 12289 (o0), 12290 (o1), 12292 (o2), ..., 12800 (o9) go back.
    expect(b.zone("ZONE_DMA32")!.buddyinfo()).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3]);
    for (let o = 0; o < 10; o++) expect(b.zone("ZONE_DMA32")!.isFreeHead(12288 + 2 ** o, o)).toBe(true);
    // The next order-1 request takes the order-1 block 12290 without splitting.
    expect(allocPages(m, GFP_KERNEL, 1)).toBe(12290);
    // Freeing both merges everything back into one order-10 block at 12288.
    freePages(m, 12290, 1);
    freePages(m, 12288, 0);
    expect(b.zone("ZONE_DMA32")!.buddyinfo()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
  });

  it("buddies merge only with their own buddy (pfn with bit `order` flipped)", () => {
    const m = small();
    const b = buddyOf(m);
    const a = allocPages(m, GFP_KERNEL, 0)!; // 12288
    const c = allocPages(m, GFP_KERNEL, 0)!; // 12289
    const d = allocPages(m, GFP_KERNEL, 0)!; // 12290 (from the order-1 block 12290)
    expect([a, c, d]).toEqual([12288, 12289, 12290]);
    freePages(m, a, 0);
    freePages(m, d, 0);
    // 12288's buddy 12289 is allocated, 12290's buddy 12291 is free: 12290 merges to an order-1 block.
    const z = b.zone("ZONE_DMA32")!;
    expect(z.isFreeHead(12288, 0)).toBe(true);
    expect(z.isFreeHead(12290, 1)).toBe(true);
    freePages(m, c, 0);
    expect(z.buddyinfo()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
  });
});

describe("zonelist fallback", () => {
  it("falls from ZONE_DMA32 to ZONE_DMA when DMA32 is exhausted", () => {
    const m = small();
    const b = buddyOf(m);
    for (let i = 0; i < 4; i++) expect(b.allocExplain(GFP_DMA32, 10).zone).toBe("ZONE_DMA32");
    const r = b.allocExplain(GFP_DMA32, 10);
    expect(r.zone).toBe("ZONE_DMA");
    expect(r.pfn).toBe(1024);
    expect(r.zonelist).toEqual(["ZONE_DMA32", "ZONE_DMA"]);
  });

  it("never falls upwards: GFP_DMA fails when ZONE_DMA is empty although DMA32 is free", () => {
    const m = small();
    const b = buddyOf(m);
    // ZONE_DMA: 3 order-10 blocks, 1 order-9, 1 order-8.
    for (let i = 0; i < 3; i++) expect(allocPages(m, GFP_DMA, 10)).not.toBeNull();
    expect(allocPages(m, GFP_DMA, 9)).toBe(512);
    expect(allocPages(m, GFP_DMA, 8)).toBe(256);
    expect(allocPages(m, GFP_DMA, 0)).toBeNull();
    expect(b.zone("ZONE_DMA32")!.freePages).toBe(4096);
  });

  it("GFP_KERNEL on 8 GiB takes ZONE_NORMAL first: the first page is at 4 GiB (above 2^32)", () => {
    const m = createMachine("x86-64-pc-8g", { kernel: "v6.19" });
    const r = buddyOf(m).allocExplain(GFP_KERNEL, 0);
    expect(r.zone).toBe("ZONE_NORMAL");
    expect(r.pfn! * 4096).toBe(2 ** 32);
    expect(r.zonelist).toEqual(["ZONE_NORMAL", "ZONE_DMA32", "ZONE_DMA"]);
  });

  it("GFP_DMA32 | __GFP_HIGHMEM is GFP_ZONE_BAD: zone 0 (ZONE_DMA) without CONFIG_DEBUG_VM", () => {
    const m = small();
    const r = buddyOf(m).allocExplain(gfp(GFP_DMA32, __GFP_HIGHMEM), 0);
    expect(r.badZoneCombination).toBe(true);
    expect(r.preferred).toBe("ZONE_DMA");
    expect(r.pfn).toBe(256);
    expect(m.trace.events().some((e) => e.kind === "gfp_zone_bad")).toBe(true);
  });
});

describe("exhaustion and bad input", () => {
  it("returns null when every zone is exhausted and for orders above 10", () => {
    const m = small();
    // 4096 + 3840 = 7936 managed pages
    let n = 0;
    while (allocPages(m, GFP_KERNEL, 0) !== null) n++;
    expect(n).toBe(7936);
    expect(buddyOf(small()).alloc(GFP_KERNEL, 11)).toBeNull();
  });

  it("rejects a double free and a wrong order with the model unchanged", () => {
    const m = small();
    const b = buddyOf(m);
    const p = allocPages(m, GFP_KERNEL, 2)!;
    const before = b.freePageCount();
    expect(() => freePages(m, p, 1)).toThrow(ModelConfigError);
    expect(() => freePages(m, p + 1, 0)).toThrow(ModelConfigError);
    expect(b.freePageCount()).toBe(before);
    freePages(m, p, 2);
    expect(() => freePages(m, p, 2)).toThrow(ModelConfigError);
    expect(b.freePageCount()).toBe(before + 4);
  });

  it("rejects a bad fragmentation fraction with the model unchanged", () => {
    const m = small();
    const b = buddyOf(m);
    const before = b.zones.map((z) => z.buddyinfo());
    expect(() => fragment(m, 1, 1)).toThrow(ModelConfigError);
    expect(() => fragment(m, 1, -0.1)).toThrow(ModelConfigError);
    expect(b.zones.map((z) => z.buddyinfo())).toEqual(before);
  });
});

describe("fragmentation", () => {
  it("is deterministic per seed and keeps free + used = managed", () => {
    const a = fragment(small(), 42, 0.3);
    const b = fragment(small(), 42, 0.3);
    const c = fragment(small(), 43, 0.3);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const m = small();
    const pinned = fragment(m, 42, 0.3);
    const al = buddyOf(m);
    expect(al.freePageCount() + al.usedPages()).toBe(7936);
    expect(al.usedPages()).toBe(pinned.length);
    // roughly 30 % of 7936 pages (binomial, sd ~ 41): a wide band
    expect(pinned.length).toBeGreaterThan(2000);
    expect(pinned.length).toBeLessThan(2800);
    // scattered: large blocks are rare afterwards
    expect(al.zone("ZONE_DMA32")!.buddyinfo()[10]).toBe(0);
  });
});

describe("freed means free (property)", () => {
  it("random alloc/free sequences keep blocks disjoint and restore the free lists", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 4 }), fc.nat()), { maxLength: 60 }), (ops) => {
        const m = small();
        const b = buddyOf(m);
        const initial = b.zones.map((z) => z.buddyinfo());
        const live: Array<[number, number]> = [];
        for (const [doAlloc, order, pick] of ops) {
          if (doAlloc || live.length === 0) {
            const p = allocPages(m, GFP_KERNEL, order);
            if (p !== null) {
              for (const [q, o] of live) expect(p + 2 ** order <= q || q + 2 ** o <= p).toBe(true);
              live.push([p, order]);
            }
          } else {
            const [q, o] = live.splice(pick % live.length, 1)[0]!;
            freePages(m, q, o);
            for (let i = 0; i < 2 ** o; i++) expect(b.isFree(q + i)).toBe(true);
          }
          expect(b.freePageCount() + b.usedPages()).toBe(7936);
        }
        for (const [q, o] of live) freePages(m, q, o);
        expect(b.zones.map((z) => z.buddyinfo())).toEqual(initial);
      }),
      { numRuns: 60 },
    );
  });
});

describe("page source delegation", () => {
  it("once the buddy allocator exists, the page source draws from it", () => {
    const m = small();
    const b = buddyOf(m);
    const src = pageSourceOf(m.mm);
    // physLimit 0xffffffff: the highest zone ending at or below it is ZONE_DMA32 (ends at 64 MiB).
    const p = src.alloc(0, 0xffffffff)!;
    expect(p).toBe(12288);
    expect(b.isAllocatedHead(12288)).toBe(true);
    src.free(p);
    expect(b.isFree(12288)).toBe(true);
  });
});
