import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { EBUSY, EINVAL, ENOMEM } from "../../lib/core/errno.js";
import { KernelOops, ModelConfigError } from "../../lib/core/errors.js";
import {
  cmaAlloc,
  cmaAvailablePages,
  cmaGetBase,
  cmaGetSize,
  cmaInitReservedMem,
  cmaLargestFreeRun,
  cmaMarkBusy,
  cmaMinAlignment,
  cmaRelease,
  type Cma,
} from "../../lib/mm/cma.js";

const MiB = 1048576;

function area(o: { base: number; size: number; kernel?: string; orderPerBit?: number; minAlignment?: number }): Cma {
  const r = cmaInitReservedMem({ kernel: o.kernel ?? "v6.19", ...o });
  if (!r.cma) throw new Error(`init failed ${r.ret}`);
  return r.cma;
}

// Rules (mm/cma.c, v5.4.6 / v6.19): mask = 2^(align - order_per_bit) - 1, offset =
// (base_pfn mod 2^align) >> order_per_bit, first fit with bitmap_find_next_zero_area_off,
// retry after -EBUSY at bitmap_no + mask + 1.
describe("cma_alloc placement", () => {
  it("hand-computed placements in a 64 MiB area at 0x2c000000", () => {
    const c = area({ base: 0x2c000000, size: 64 * MiB });
    // base_pfn = 0x2c000000 / 4096 = 180224, count = 64 MiB / 4 KiB = 16384.
    expect(c.basePfn).toBe(180224);
    expect(c.count).toBe(16384);
    expect(cmaGetBase(c)).toBe(0x2c000000);
    expect(cmaGetSize(c)).toBe(64 * MiB);
    expect(cmaAlloc(c, 1, 0).pfn).toBe(180224);
    // align order 2: mask 3, offset 180224 mod 4 = 0; first zero bit 1 -> aligned up to 4.
    expect(cmaAlloc(c, 3, 2).pfn).toBe(180228);
    // align 0: bit 1 is free.
    expect(cmaAlloc(c, 2, 0).pfn).toBe(180225);
    expect(cmaAvailablePages(c)).toBe(16384 - 6);
  });

  it("alignment is in absolute pfns (the offset term)", () => {
    // base pfn 180225 (odd): with align 2 the first candidate index i must make 180225 + i a multiple of 4: i = 3.
    const c = area({ base: 0x2c001000, size: 64 * 4096, minAlignment: 4096 });
    const r = cmaAlloc(c, 4, 2);
    expect(r.pfn).toBe(180228);
    expect(r.pfn! % 4).toBe(0);
  });

  it("order_per_bit 2: counts round up to whole bits", () => {
    const c = area({ base: 0x40000000, size: 4 * MiB, orderPerBit: 2 });
    // 1024 pages, 256 bits. 5 pages -> ceil(5/4) = 2 bits at bit 0; the next request starts at bit 2 = pfn + 8.
    expect(c.bitmap.length).toBe(256);
    const a = cmaAlloc(c, 5, 0);
    expect(a.pfn).toBe(0x40000);
    expect(cmaAlloc(c, 1, 0).pfn).toBe(0x40000 + 8);
  });

  it("a busy page makes alloc_contig_range return -EBUSY and the search moves on by mask + 1", () => {
    const c = area({ base: 0x2c000000, size: 4 * MiB });
    cmaMarkBusy(c, 180224 + 1, 1);
    // count 4, align 2 (mask 3): bit 0 busy -> retry from 0 + 3 + 1 = 4.
    const r = cmaAlloc(c, 4, 2);
    expect(r.pfn).toBe(180228);
    expect(r.busyRetries).toEqual([180224]);
    expect(r.tries).toBe(2);
    // the busy candidate's bits were cleared again: a 1-page request takes bit 0.
    expect(cmaAlloc(c, 1, 0).pfn).toBe(180224);
  });

  it("fragmentation: 512 free pages but no 512-page run -> null (-ENOMEM before v6.17, -EBUSY from v6.17)", () => {
    for (const [kernel, err] of [["v5.4", -ENOMEM], ["v6.19", -EBUSY]] as const) {
      const c = area({ base: 0x2c000000, size: 4 * MiB, kernel });
      // 1024 pages; four 256-page buffers aligned to order 8 (mask 255) at +0, +256, +512, +768.
      const p = [0, 1, 2, 3].map(() => cmaAlloc(c, 256, 8).pfn);
      expect(p).toEqual([180224, 180480, 180736, 180992]);
      expect(cmaRelease(c, 180224, 256)).toBe(true);
      expect(cmaRelease(c, 180736, 256)).toBe(true);
      expect(cmaAvailablePages(c)).toBe(512);
      expect(cmaLargestFreeRun(c)).toBe(256);
      const r = cmaAlloc(c, 512, 0);
      expect(r.pfn).toBeNull();
      expect(r.ret).toBe(err);
    }
  });

  it("requests larger than the area and count 0 return null", () => {
    const c = area({ base: 0x2c000000, size: 4 * MiB });
    expect(cmaAlloc(c, 1025, 0).pfn).toBeNull();
    expect(cmaAlloc(c, 0, 0).pfn).toBeNull();
    expect(cmaAvailablePages(c)).toBe(1024);
  });
});

describe("cma_release and cma_init_reserved_mem", () => {
  it("outside the area -> false; past the end: misuse before v5.17, false from v5.17", () => {
    const old = area({ base: 0x2c000000, size: 4 * MiB, kernel: "v5.10" });
    const neu = area({ base: 0x2c000000, size: 4 * MiB, kernel: "v5.17" });
    for (const c of [old, neu]) {
      cmaAlloc(c, 1024, 0);
      expect(cmaRelease(c, 1, 1)).toBe(false);
    }
    expect(() => cmaRelease(old, 180224 + 1000, 100)).toThrow(ModelConfigError);
    expect(cmaRelease(neu, 180224 + 1000, 100)).toBe(false);
    expect(cmaAvailablePages(neu)).toBe(0);
  });

  it("releasing pages that are not allocated oopses, area unchanged", () => {
    const c = area({ base: 0x2c000000, size: 4 * MiB });
    cmaAlloc(c, 2, 0);
    expect(() => cmaRelease(c, 180224, 3)).toThrow(KernelOops);
    expect(cmaAvailablePages(c)).toBe(1022);
  });

  it("-EINVAL for size 0 or a base/size not aligned to the minimum alignment", () => {
    expect(cmaInitReservedMem({ kernel: "v5.4", base: 0x2c000000, size: 0 }).ret).toBe(-EINVAL);
    expect(cmaInitReservedMem({ kernel: "v5.4", base: 0x2c100000, size: 4 * MiB }).ret).toBe(-EINVAL);
    expect(cmaInitReservedMem({ kernel: "v5.4", base: 0x2c000000, size: 6 * MiB }).ret).toBe(-EINVAL);
    expect(() => cmaInitReservedMem({ kernel: "v5.4", base: -1, size: 4 * MiB })).toThrow(ModelConfigError);
  });

  it("minimum alignment: 4 MiB with MAX_ORDER 11; v5.19+ only pageblock (2 MiB for pageblock_order 9)", () => {
    // PAGE_SIZE << max(MAX_ORDER - 1, pageblock_order) = 4096 << 10 = 4 MiB.
    expect(cmaMinAlignment("v5.4")).toBe(4 * MiB);
    expect(cmaMinAlignment("v5.17", 4096, 9, 11)).toBe(4 * MiB);
    // 4096 * 2^9 = 2 MiB.
    expect(cmaMinAlignment("v5.19", 4096, 9)).toBe(2 * MiB);
  });
});

describe("properties", () => {
  it("allocations never overlap, are aligned, and release restores the area", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ count: fc.integer({ min: 1, max: 200 }), align: fc.integer({ min: 0, max: 9 }), free: fc.boolean() }), { maxLength: 40 }),
        fc.integer({ min: 0, max: 2 }),
        (ops, opb) => {
          const c = area({ base: 0x2c000000, size: 4 * MiB, orderPerBit: opb });
          const live: Array<{ pfn: number; count: number }> = [];
          for (const o of ops) {
            if (o.free && live.length) {
              const l = live.shift()!;
              expect(cmaRelease(c, l.pfn, l.count)).toBe(true);
              continue;
            }
            const r = cmaAlloc(c, o.count, o.align);
            if (r.pfn === null) continue;
            expect(r.pfn % 2 ** Math.max(o.align, 0)).toBe(0);
            expect(r.pfn >= 180224 && r.pfn + o.count <= 180224 + 1024).toBe(true);
            const span = Math.ceil(o.count / 2 ** opb) * 2 ** opb;
            for (const l of live) {
              const lspan = Math.ceil(l.count / 2 ** opb) * 2 ** opb;
              expect(r.pfn + span <= l.pfn || l.pfn + lspan <= r.pfn).toBe(true);
            }
            live.push({ pfn: r.pfn, count: o.count });
          }
          expect(cmaAvailablePages(c)).toBe(1024 - live.reduce((s, l) => s + l.count, 0));
          for (const l of live) cmaRelease(c, l.pfn, l.count);
          expect(cmaAvailablePages(c)).toBe(1024);
          expect(cmaAlloc(c, 1024, 0).pfn).toBe(180224);
        },
      ),
      { seed: 7, numRuns: 150 },
    );
  });
});
