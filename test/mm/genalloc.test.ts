import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { KernelOops, ModelConfigError } from "../../lib/core/errors.js";
import {
  bitmapFindNextZeroAreaOff,
  genPoolAddVirt,
  genPoolAlloc,
  genPoolAvail,
  genPoolCreate,
  genPoolFree,
  genPoolHasAddr,
  genPoolSetAlgo,
  genPoolSize,
  genPoolVirtToPhys,
} from "../../lib/mm/genalloc.js";

const K = 1024;
const PAGE = 4096;

// Rules used for the hand computations (lib/genalloc.c, lib/bitmap.c, v5.4.6 and v6.19):
//  - nbits = ceil(size / granule); the chunk's avail drops by nbits * granule.
//  - first_fit: lowest run of nbits free granules.
//  - first_fit_order_align: lowest free run whose start bit (from the chunk start)
//    is a multiple of roundup_pow_of_two(nbits).
//  - chunks are added at the list head: the newest chunk is searched first.

function atomicPool(virt: number, phys: number, size: number) {
  const p = genPoolCreate(12);
  genPoolAddVirt(p, virt, phys, size);
  genPoolSetAlgo(p, "gen_pool_first_fit_order_align");
  return p;
}

describe("gen_pool_first_fit_order_align placements (the DMA atomic pools)", () => {
  it("256 KiB pool of 4 KiB granules: hand-computed placements", () => {
    const base = 0xffc00000;
    const p = atomicPool(base, 0x2fc00000, 256 * K);
    expect(genPoolSize(p)).toBe(262144);
    expect(genPoolAvail(p)).toBe(262144);
    // 1 page: bit 0.
    expect(genPoolAlloc(p, PAGE)).toBe(base);
    // 3 pages: roundup_pow_of_two(3) = 4, lowest free multiple of 4 is bit 4 (bits 1..3 are free but unaligned).
    expect(genPoolAlloc(p, 3 * PAGE)).toBe(base + 4 * PAGE);
    // 1 page: lowest free bit is 1.
    expect(genPoolAlloc(p, PAGE)).toBe(base + 1 * PAGE);
    // 2 pages: multiple of 2, bits 2,3 free -> bit 2.
    expect(genPoolAlloc(p, 2 * PAGE)).toBe(base + 2 * PAGE);
    // only 3 granules taken for the 3-page request: bit 7 is free, 1 page goes there.
    expect(genPoolAlloc(p, PAGE)).toBe(base + 7 * PAGE);
    // used: 1 + 3 + 1 + 2 + 1 = 8 pages = 32 KiB.
    expect(genPoolAvail(p)).toBe(262144 - 8 * PAGE);
    // a 5000-byte request takes 2 granules (ceil(5000/4096) = 2) at bit 8.
    expect(genPoolAlloc(p, 5000)).toBe(base + 8 * PAGE);
    expect(genPoolAvail(p)).toBe(262144 - 10 * PAGE);
    expect(genPoolVirtToPhys(p, base + 8 * PAGE + 123)).toBe(0x2fc00000 + 8 * PAGE + 123);
  });

  it("alignment is from the chunk start, not from address 0", () => {
    // chunk starts at an odd page: 0x1000. A 2-page request lands on bit 0 = 0x1000 (not 8K-aligned).
    const p = atomicPool(0x1000, 0x80001000, 16 * PAGE);
    expect(genPoolAlloc(p, 2 * PAGE)).toBe(0x1000);
  });

  it("fragmentation: enough free bytes but no aligned run -> 0", () => {
    const p = atomicPool(0x100000, 0x100000, 8 * PAGE);
    // take all 8 single pages, then free bits 1, 2, 5, 6 (two runs of 2, each starting at an odd bit... 1 and 5).
    const a: number[] = [];
    for (let i = 0; i < 8; i++) a.push(genPoolAlloc(p, PAGE));
    expect(a).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => 0x100000 + i * PAGE));
    for (const i of [1, 2, 5, 6]) genPoolFree(p, 0x100000 + i * PAGE, PAGE);
    expect(genPoolAvail(p)).toBe(4 * PAGE);
    // 2 pages need a start bit that is a multiple of 2: free runs start at 1 and 5 -> bits 1,2: 1 is odd, 2 is even but 3 used.
    expect(genPoolAlloc(p, 2 * PAGE)).toBe(0);
    // first fit (no alignment) finds bit 1.
    expect(genPoolAlloc(p, 2 * PAGE, "gen_pool_first_fit")).toBe(0x100000 + 1 * PAGE);
  });

  it("newest chunk first (list_add_rcu at the head)", () => {
    const p = genPoolCreate(12);
    genPoolAddVirt(p, 0x10000, 0x10000, 4 * PAGE);
    genPoolAddVirt(p, 0x40000, 0x40000, 4 * PAGE);
    expect(genPoolAlloc(p, PAGE)).toBe(0x40000);
    // the newest is full after 3 more pages, then the older one is used.
    genPoolAlloc(p, 3 * PAGE);
    expect(genPoolAlloc(p, PAGE)).toBe(0x10000);
    expect(genPoolSize(p)).toBe(8 * PAGE);
  });

  it("a request larger than a chunk's avail skips the chunk (unrounded size vs avail)", () => {
    const p = genPoolCreate(12);
    // 4 granules + 100 bytes: avail 16484, bitmap 4 bits.
    genPoolAddVirt(p, 0x10000, 0x10000, 4 * PAGE + 100);
    expect(genPoolAvail(p)).toBe(16484);
    // 16484 bytes <= avail, but it needs ceil(16484/4096) = 5 bits > 4: the algorithm fails -> 0.
    expect(genPoolAlloc(p, 16484)).toBe(0);
    expect(genPoolAlloc(p, 4 * PAGE)).toBe(0x10000);
    expect(genPoolAvail(p)).toBe(100);
  });

  it("size 0 returns 0 and changes nothing", () => {
    const p = atomicPool(0x10000, 0, 4 * PAGE);
    expect(genPoolAlloc(p, 0)).toBe(0);
    expect(genPoolAvail(p)).toBe(4 * PAGE);
  });

  it("works above 2^32", () => {
    const base = 2 ** 40;
    const p = atomicPool(base, 2 ** 36, 64 * PAGE);
    expect(genPoolAlloc(p, 3 * PAGE)).toBe(base);
    expect(genPoolAlloc(p, 8 * PAGE)).toBe(base + 8 * PAGE);
    expect(genPoolVirtToPhys(p, base + 8 * PAGE)).toBe(2 ** 36 + 8 * PAGE);
    expect(genPoolVirtToPhys(p, base - 1)).toBe(-1);
  });
});

describe("gen_pool_free and misuse", () => {
  it("double free and foreign addresses BUG (KernelOops), pool unchanged", () => {
    const p = atomicPool(0x10000, 0, 4 * PAGE);
    const a = genPoolAlloc(p, PAGE);
    genPoolFree(p, a, PAGE);
    expect(() => genPoolFree(p, a, PAGE)).toThrow(KernelOops);
    expect(() => genPoolFree(p, 0x90000, PAGE)).toThrow(KernelOops);
    expect(() => genPoolFree(p, 0x10000 + 3 * PAGE, 2 * PAGE)).toThrow(KernelOops);
    expect(genPoolAvail(p)).toBe(4 * PAGE);
  });

  it("bad input names the field", () => {
    expect(() => genPoolCreate(-1)).toThrow(/minAllocOrder/);
    const p = genPoolCreate(12);
    expect(() => genPoolAddVirt(p, 0, 0, PAGE)).toThrow(ModelConfigError);
    expect(() => genPoolAddVirt(p, 0x1000, 0, 0)).toThrow(/size/);
    genPoolAddVirt(p, 0x10000, 0, 4 * PAGE);
    expect(() => genPoolAddVirt(p, 0x12000, 0, 4 * PAGE)).toThrow(/overlapping/);
    expect(() => genPoolAlloc(p, -1)).toThrow(ModelConfigError);
    expect(() => genPoolSetAlgo(p, "gen_pool_best_fit" as never)).toThrow(ModelConfigError);
    expect(genPoolSize(p)).toBe(4 * PAGE);
  });

  it("gen_pool_has_addr needs the whole range inside one chunk", () => {
    const p = atomicPool(0x10000, 0, 4 * PAGE);
    expect(genPoolHasAddr(p, 0x10000, 4 * PAGE)).toBe(true);
    expect(genPoolHasAddr(p, 0x10000, 4 * PAGE + 1)).toBe(false);
    expect(genPoolHasAddr(p, 0xf000, PAGE)).toBe(false);
  });
});

describe("bitmap_find_next_zero_area_off", () => {
  it("hand examples with mask and offset", () => {
    const m = new Uint8Array(16);
    m[0] = 1;
    // mask 3 (align 4), offset 0: first zero is 1 -> aligned to 4.
    expect(bitmapFindNextZeroAreaOff(m, 16, 0, 2, 3, 0)).toBe(4);
    // offset 1: index such that index + 1 is a multiple of 4: from 1, ALIGN(2,4) - 1 = 3.
    expect(bitmapFindNextZeroAreaOff(m, 16, 0, 2, 3, 1)).toBe(3);
    // no room: returns index + nr > size.
    expect(bitmapFindNextZeroAreaOff(m, 16, 0, 16, 0, 0)).toBe(17);
  });
});

describe("properties", () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant("alloc" as const), pages: fc.integer({ min: 1, max: 9 }), extra: fc.integer({ min: 0, max: 4095 }) }),
    fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }),
  );
  it("never overlapping, inside a chunk, avail exact, free restores", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.boolean(), (ops, orderAlign) => {
        const p = genPoolCreate(12);
        genPoolAddVirt(p, 0x100000, 0x40000000, 32 * PAGE);
        genPoolAddVirt(p, 0x400000, 0x50000000, 16 * PAGE);
        if (orderAlign) genPoolSetAlgo(p, "gen_pool_first_fit_order_align");
        const total = 48 * PAGE;
        const live: Array<{ addr: number; size: number; granules: number }> = [];
        for (const o of ops) {
          if (o.kind === "alloc") {
            const size = (o.pages - 1) * PAGE + o.extra + 1;
            const granules = Math.ceil(size / PAGE);
            const a = genPoolAlloc(p, size);
            if (a === 0) continue;
            const inFirst = a >= 0x100000 && a + granules * PAGE <= 0x100000 + 32 * PAGE;
            const inSecond = a >= 0x400000 && a + granules * PAGE <= 0x400000 + 16 * PAGE;
            expect(inFirst || inSecond).toBe(true);
            if (orderAlign) {
              const base = inFirst ? 0x100000 : 0x400000;
              let pow = 1;
              while (pow < granules) pow *= 2;
              expect(((a - base) / PAGE) % pow).toBe(0);
            }
            for (const l of live) {
              expect(a + granules * PAGE <= l.addr || l.addr + l.granules * PAGE <= a).toBe(true);
            }
            live.push({ addr: a, size, granules });
          } else if (live.length) {
            const [l] = live.splice(o.pick % live.length, 1);
            genPoolFree(p, l!.addr, l!.size);
          }
          const used = live.reduce((s, l) => s + l.granules * PAGE, 0);
          expect(genPoolAvail(p)).toBe(total - used);
        }
        for (const l of live) genPoolFree(p, l.addr, l.size);
        expect(genPoolAvail(p)).toBe(total);
        expect(genPoolAlloc(p, 32 * PAGE)).toBe(0x100000);
      }),
      { seed: 3, numRuns: 200 },
    );
  });
});
