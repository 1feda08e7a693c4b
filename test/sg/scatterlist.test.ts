import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Pfn } from "../../lib/core/addr.js";
import { EINVAL, ENOMEM } from "../../lib/core/errno.js";
import { KernelOops, ModelConfigError } from "../../lib/core/errors.js";
import {
  createSgAppendTable,
  createSgTable,
  forEachSgtableDmaSg,
  forEachSgtableSg,
  sgAllocAppendTableFromPages,
  sgAllocTableFromPages,
  sgAllocTableFromPagesSegment,
  sgFreeTable,
  sgPhys,
  sgTableFromEntries,
} from "../../lib/sg/scatterlist.js";

const P = 4096;
const pf = (xs: number[]) => xs as Pfn[];

describe("sg_alloc_table_from_pages (lib/scatterlist.c rules)", () => {
  it("merges physically contiguous pages into one entry per run", () => {
    // pfns 100,101,102 are one run (3 pages = 12288 bytes), 200,201 another (8192 bytes).
    const sgt = createSgTable();
    expect(sgAllocTableFromPages(sgt, pf([100, 101, 102, 200, 201]), 5, 0, 5 * P)).toBe(0);
    expect(sgt.origNents).toBe(2);
    expect(sgt.nents).toBe(2);
    expect(sgt.sgl.map((s) => [s.pfn, s.offset, s.length])).toEqual([
      [100, 0, 12288],
      [200, 0, 8192],
    ]);
    expect(sgt.sgl[1]!.isLast).toBe(true);
  });

  it("applies the offset to the first chunk and cuts the last chunk to size", () => {
    // Two separate pages, offset 512, size 4096: first chunk = 4096 - 512 = 3584 bytes,
    // then size left = 4096 - 3584 = 512 bytes in the second page.
    const sgt = createSgTable();
    expect(sgAllocTableFromPages(sgt, pf([100, 300]), 2, 512, 4096)).toBe(0);
    expect(sgt.sgl.map((s) => [s.offset, s.length])).toEqual([
      [512, 3584],
      [0, 512],
    ]);
    expect(sgPhys(sgt.sgl[0]!)).toBe(100 * P + 512);
  });

  it("cuts runs at max_segment, rounded down to PAGE_SIZE", () => {
    // 16 contiguous pages; max_segment 20000 -> 16384 (4 pages): chunks of 4 pages.
    const pfns = pf(Array.from({ length: 16 }, (_, i) => 1000 + i));
    for (const max of [16384, 20000]) {
      const sgt = createSgTable();
      expect(sgAllocTableFromPagesSegment(sgt, pfns, 16, 0, 16 * P, max)).toBe(0);
      expect(sgt.sgl.map((s) => s.length)).toEqual([16384, 16384, 16384, 16384]);
      expect(sgt.sgl.map((s) => s.pfn)).toEqual([1000, 1004, 1008, 1012]);
    }
  });

  it("returns -EINVAL for max_segment below PAGE_SIZE and leaves the table empty", () => {
    const sgt = createSgTable();
    expect(sgAllocTableFromPagesSegment(sgt, pf([1, 2]), 2, 0, 2 * P, 4095)).toBe(-EINVAL);
    expect(sgt).toEqual({ sgl: [], nents: 0, origNents: 0 });
  });

  it("returns -ENOMEM when the entry allocation fails", () => {
    const sgt = createSgTable();
    expect(sgAllocTableFromPages(sgt, pf([1, 5]), 2, 0, 2 * P, { failAfterAllocs: 0 })).toBe(-ENOMEM);
    expect(sgt.origNents).toBe(0);
  });

  it("rejects bad arguments with ModelConfigError before changing anything", () => {
    const sgt = createSgTable();
    expect(() => sgAllocTableFromPages(sgt, pf([1]), 2, 0, P)).toThrow(ModelConfigError);
    expect(() => sgAllocTableFromPages(sgt, pf([1]), 1, -1, P)).toThrow(ModelConfigError);
    expect(() => sgAllocTableFromPages(sgt, pf([1]), 1, 0, P, { pageSize: 3000 })).toThrow(ModelConfigError);
    expect(sgt).toEqual({ sgl: [], nents: 0, origNents: 0 });
  });

  it("handles physical addresses above 4 GiB exactly", () => {
    // pfn 0x200000 is 8 GiB; pfn 0x1_0000_0000 is 16 TiB.
    const sgt = createSgTable();
    expect(sgAllocTableFromPages(sgt, pf([0x200000, 0x200001, 0x100000000]), 3, 0, 3 * P)).toBe(0);
    expect(sgPhys(sgt.sgl[0]!)).toBe(8 * 2 ** 30);
    expect(sgt.sgl[0]!.length).toBe(8192);
    expect(sgPhys(sgt.sgl[1]!)).toBe(2 ** 32 * P);
  });
});

describe("sg_alloc_append_table_from_pages", () => {
  it("merges the appended pages into the previous entry while within max_segment", () => {
    const t = createSgAppendTable();
    expect(sgAllocAppendTableFromPages(t, pf([100, 101]), 2, 0, 2 * P, 0xffffffff, 2)).toBe(0);
    expect(sgAllocAppendTableFromPages(t, pf([102, 103]), 2, 0, 2 * P, 0xffffffff, 0)).toBe(0);
    // 4 contiguous pages in one entry: 16384 bytes.
    expect(t.sgt.nents).toBe(1);
    expect(t.sgt.sgl[0]!.length).toBe(16384);
    expect(t.sgt.sgl[0]!.isLast).toBe(true);
  });

  it("stops merging at max_segment and starts a new entry", () => {
    const t = createSgAppendTable();
    expect(sgAllocAppendTableFromPages(t, pf([100, 101]), 2, 0, 2 * P, 8192, 2)).toBe(0);
    expect(sgAllocAppendTableFromPages(t, pf([102, 103]), 2, 0, 2 * P, 8192, 0)).toBe(0);
    // The previous entry is already 8192 = max_segment: 102,103 form a second entry.
    expect(t.sgt.sgl.slice(0, t.sgt.nents).map((s) => [s.pfn, s.length])).toEqual([
      [100, 8192],
      [102, 8192],
    ]);
  });

  it("refuses a non-zero offset when appending (-EINVAL)", () => {
    const t = createSgAppendTable();
    expect(sgAllocAppendTableFromPages(t, pf([100]), 1, 0, P, 0xffffffff, 1)).toBe(0);
    expect(sgAllocAppendTableFromPages(t, pf([200]), 1, 8, P, 0xffffffff, 0)).toBe(-EINVAL);
  });

  it("counts entry slots as get_next_sg allocates them (chaining past 128)", () => {
    // 129 separate pages: the first array has min(129, 128) = 128 slots; entry 127 would be the
    // array's last slot while 2 entries are still needed, so a new array of min(2, 128) = 2 slots
    // is chained: total_nents = 128 + 2 - 1 = 129 = orig_nents.
    const t = createSgAppendTable();
    const pfns = pf(Array.from({ length: 129 }, (_, i) => 10 * i + 1));
    expect(sgAllocAppendTableFromPages(t, pfns, 129, 0, 129 * P, 0xffffffff, 0)).toBe(0);
    expect(t.sgt.origNents).toBe(129);
    expect(t.totalNents).toBe(129);
  });

  it("restores the previous entry's length when the allocation fails", () => {
    const t = createSgAppendTable();
    expect(sgAllocAppendTableFromPages(t, pf([100]), 1, 0, P, 0xffffffff, 5)).toBe(0);
    // 101 merges into the entry (length 8192), then 300 needs a slot: the first array had
    // min(1 + 5, 128) = 6 slots, so no allocation is needed and the call succeeds.
    expect(sgAllocAppendTableFromPages(t, pf([101, 300]), 2, 0, 2 * P, 0xffffffff, 0, { failAfterAllocs: 0 })).toBe(0);
    expect(t.sgt.sgl[0]!.length).toBe(8192);
    // 400 alone with left_pages 1: an array of min(1 + 1, 128) = 2 slots. Appending 401, 900, 950:
    // 401 merges (entry 8192 bytes), then 900 and 950 are 2 chunks; slot 1 is the array's last and
    // 2 entries are needed, so a new array is required, and its allocation fails: the entry goes
    // back to 4096 bytes.
    const u = createSgAppendTable();
    expect(sgAllocAppendTableFromPages(u, pf([400]), 1, 0, P, 0xffffffff, 1)).toBe(0);
    expect(sgAllocAppendTableFromPages(u, pf([401, 900, 950]), 3, 0, 3 * P, 0xffffffff, 0, { failAfterAllocs: 0 })).toBe(-ENOMEM);
    expect(u.sgt.sgl[0]!.length).toBe(4096);
  });
});

describe("iteration and accessors", () => {
  it("for_each_sgtable_sg walks orig_nents, for_each_sgtable_dma_sg walks nents", () => {
    const sgt = sgTableFromEntries([
      { pfn: 1 as Pfn, offset: 0, length: P },
      { pfn: 3 as Pfn, offset: 0, length: P },
      { pfn: 5 as Pfn, offset: 0, length: P },
    ]);
    sgt.nents = 1; // as after a map that merged everything into one DMA segment
    let cpu = 0;
    let dma = 0;
    forEachSgtableSg(sgt, () => cpu++);
    forEachSgtableDmaSg(sgt, () => dma++);
    expect([cpu, dma]).toEqual([3, 1]);
  });

  it("sg_phys of a page-less entry is a modelled oops", () => {
    const sgt = sgTableFromEntries([{ pfn: null, offset: 0, length: P }]);
    expect(() => sgPhys(sgt.sgl[0]!)).toThrow(KernelOops);
  });

  it("sg_free_table empties the table", () => {
    const sgt = createSgTable();
    sgAllocTableFromPages(sgt, pf([7]), 1, 0, P);
    sgFreeTable(sgt);
    expect(sgt).toEqual({ sgl: [], nents: 0, origNents: 0 });
  });
});

describe("properties", () => {
  it("entries cover exactly size bytes, each entry is one physically contiguous run within max_segment", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 4095 }),
        fc.constantFrom(4096, 8192, 16384, 0xffffffff),
        (runs, offset, maxSeg) => {
          // Build pfn runs separated by gaps.
          const pfns: number[] = [];
          let next = 1000;
          for (const r of runs) {
            for (let i = 0; i < r; i++) pfns.push(next + i);
            next += r + 3;
          }
          const size = pfns.length * P - offset;
          const sgt = createSgTable();
          expect(sgAllocTableFromPagesSegment(sgt, pf(pfns), pfns.length, offset, size, maxSeg)).toBe(0);
          let total = 0;
          const maxBytes = Math.floor(maxSeg / P) * P;
          sgt.sgl.forEach((s, i) => {
            total += s.length;
            expect(s.offset + s.length).toBeLessThanOrEqual(maxBytes + (i === 0 ? offset : 0));
            // Pages of the entry are consecutive pfns in the input.
            const first = pfns.indexOf(s.pfn!);
            const pages = Math.ceil((s.offset + s.length) / P);
            for (let k = 1; k < pages; k++) expect(pfns[first + k]).toBe(s.pfn! + k);
          });
          expect(total).toBe(size);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("sg_alloc_table_from_pages: odd and invalid inputs (issue 10 item 3, issue 9)", () => {
  it("size smaller than the pages cover: size wraps as an unsigned long, later entries get whole pages, a warning is traced", async () => {
    // lib/scatterlist.c (v6.19, same arithmetic in v4.4): entry i gets min(size, chunk),
    // then size -= chunk (unsigned long). pfns 10, 20, 30 are three chunks of 4096.
    // size 5000: entry 0 = min(5000, 4096) = 4096, size = 904;
    // entry 1 = min(904, 4096) = 904, size = 904 - 4096 wraps to 2^64 - 3192;
    // entry 2 = min(2^64 - 3192, 4096) = 4096.
    const { Trace } = await import("../../lib/core/trace.js");
    const trace = new Trace();
    const sgt = createSgTable();
    expect(sgAllocTableFromPages(sgt, pf([10, 20, 30]), 3, 0, 5000, { trace })).toBe(0);
    expect(sgt.sgl.map((s) => s.length)).toEqual([4096, 904, 4096]);
    const w = trace.events().filter((e) => e.kind === "sg_size_wrapped");
    expect(w).toHaveLength(1);
    expect(w[0]!.level).toBe("warn");
  });

  it("a size that ends inside the last chunk is ordinary use: no wrap, no warning", async () => {
    const { Trace } = await import("../../lib/core/trace.js");
    const trace = new Trace();
    const sgt = createSgTable();
    // Two chunks: 4096 then min(5000 - 4096, 4096) = 904.
    expect(sgAllocTableFromPages(sgt, pf([10, 20]), 2, 0, 5000, { trace })).toBe(0);
    expect(sgt.sgl.map((s) => s.length)).toEqual([4096, 904]);
    expect(trace.events().filter((e) => e.kind === "sg_size_wrapped")).toHaveLength(0);
  });

  it("nPages = 0 is an input the kernel cannot take (it reads pages[0]): a clear error, table unchanged", () => {
    const sgt = createSgTable();
    expect(() => sgAllocTableFromPages(sgt, pf([10]), 0, 0, 4096)).toThrow(/nPages/);
    expect(() => sgAllocTableFromPages(sgt, pf([]), 0, 0, 0)).toThrow(/pfns/);
    expect(sgt).toEqual(createSgTable());
    const app = createSgAppendTable();
    expect(sgAllocAppendTableFromPages(app, pf([10, 11]), 2, 0, 8192, 0xffffffff, 1)).toBe(0);
    const before = JSON.stringify(app);
    expect(() => sgAllocAppendTableFromPages(app, pf([12]), 0, 0, 0, 0xffffffff, 0)).toThrow(ModelConfigError);
    expect(JSON.stringify(app)).toBe(before);
  });

  it("append mode, size wrap does not throw half-way: the previous entry and the slots are as the kernel leaves them", () => {
    // First call: pfns 10, 11 (one chunk of 8192), more pages to come.
    const app = createSgAppendTable();
    expect(sgAllocAppendTableFromPages(app, pf([10, 11]), 2, 0, 8192, 0xffffffff, 2)).toBe(0);
    // Second call: pfn 12 continues the previous entry (merged whole, size untouched),
    // then 40 and 50 are two chunks; size 100: entry = min(100, 4096) = 100, size wraps,
    // last entry = 4096.
    expect(sgAllocAppendTableFromPages(app, pf([12, 40, 50]), 3, 0, 100, 0xffffffff, 0)).toBe(0);
    expect(app.sgt.sgl.slice(0, app.sgt.nents).map((s) => [s.pfn, s.length])).toEqual([
      [10, 12288],
      [40, 100],
      [50, 4096],
    ]);
  });
});
