/**
 * The memory model: pfn_valid and page lookups at region edges, the memmap,
 * zones, virt_to_page on vmalloc addresses, vmalloc/ioremap/memremap placement.
 * Expected values are hand computations from the kernel rules cited per test.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createMachine } from "../../lib/platform/machine.js";
import { fmtVirtAddr, type Pfn } from "../../lib/core/addr.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { ioremap, memremap, vmallocPages, vunmapAny } from "../../lib/mm/remap.js";
import { getCountOrderLong } from "../../lib/mm/vmalloc.js";

const va = (x: number) => fmtVirtAddr(x, 48);
const pxs3 = (kernel: string) => createMachine("uniphier-pxs3", { kernel });

describe("pfn_valid at region edges (PXS3: RAM 0x80000000..0x120000000, secure-memory 0x81000000+16M no-map, encbuffer 0xb0000000+128M no-map)", () => {
  it("v5.4 arm64 pfn_valid = memblock_is_map_memory: false for no-map, holes, MMIO", () => {
    const mm = pxs3("v5.4").mm;
    const cases: Array<[number, boolean]> = [
      [0x7ffff, false], // last pfn below RAM
      [0x80000, true], // first RAM pfn
      [0x80fff, true], // last pfn before secure-memory
      [0x81000, false], // first no-map pfn
      [0x81fff, false], // last no-map pfn of secure-memory (0x81000000 + 0x1000000 = 0x82000000)
      [0x82000, true],
      [0xaffff, true], // last pfn before the pool
      [0xb0000, false], // pool start
      [0xb7fff, false], // pool end - 1 (0xb0000000 + 0x8000000 = 0xb8000000)
      [0xb8000, true],
      [0x11ffff, true], // last RAM pfn
      [0x120000, false], // first pfn after RAM
      [0x54000, false], // MMIO
    ];
    for (const [pfn, want] of cases) expect([pfn, mm.pfnValid(pfn)]).toEqual([pfn, want]);
  });

  it("v6.19 generic SPARSEMEM pfn_valid: every pfn of a present 128M section is valid, no-map included", () => {
    const mm = pxs3("v6.19").mm;
    expect(mm.sectionSize).toBe(2 ** 27);
    expect(mm.pfnValid(0xb0000)).toBe(true);
    expect(mm.pfnValid(0x81000)).toBe(true);
    // 0x120000000 / 2^27 = section 36; RAM's last section is 35
    expect(mm.pfnValid(0x120000)).toBe(false);
    // 0x7ffff is in section 15 (0x78000000..0x7fffffff), no RAM there
    expect(mm.pfnValid(0x7ffff)).toBe(false);
  });

  it("v5.4: the vmemmap is populated per 1 GiB section, so no-map pfns inside RAM still have struct page memory", () => {
    const mm = pxs3("v5.4").mm;
    expect(mm.sectionSize).toBe(2 ** 30);
    expect(mm.hasMemmap(0xb0000)).toBe(true);
    expect(mm.hasMemmap(0x54000)).toBe(false); // MMIO section 1 (0x40000000..0x7fffffff) has no RAM
    expect(mm.hasMemmap(0x800090000)).toBe(false);
  });

  it("pfnToPage / pageToPfn round trip; the struct page address is vmemmap + (pfn - PHYS_OFFSET pfn) * 64", () => {
    const mm = pxs3("v6.19").mm;
    const page = mm.pfnToPage(0xb0000);
    expect(mm.pageToPfn(page)).toBe(0xb0000);
    // VMEMMAP_START 0xfffffdffc0000000 + (0xb0000 - 0x80000) * 64 = + 0xc00000
    expect(page.addressText).toBe("0xfffffdffc0c00000");
    expect(mm.pageToPhys(page)).toBe(0xb0000000);
    expect(() => mm.pfnToPage(-1)).toThrow(ModelConfigError);
  });

  it("property: pageFromAddress inverts pageAddressOf for every RAM pfn", () => {
    const mm = pxs3("v5.4").mm;
    fc.assert(
      fc.property(fc.integer({ min: 0x80000, max: 0x11ffff }), (pfn) => {
        expect(mm.pageFromAddress(mm.pageAddressOf(pfn))!.pfn).toBe(pfn);
      }),
    );
  });
});

describe("virt_to_page on a vmalloc address gives the wrong page", () => {
  it("v5.4: vmemmap + (va - PAGE_OFFSET)/PAGE_SIZE * 64 wraps past 2^64: pointer 0x0000000000200000, pfn 0x800090000, no memmap", () => {
    const m = pxs3("v5.4");
    // the codec pool's memremap: first fit at VMALLOC_START 0xffff800010000000
    const pool = m.device("codec");
    expect(m.mm.regions().length).toBeGreaterThan(0);
    expect(va(pool.dmaMem!.virtBase)).toBe("0xffff800010000000");
    const page = m.mm.virtToPage(pool.dmaMem!.virtBase);
    // idx = 0x800010000000 / 4096 = 0x800010000; 0xfffffdffffe00000 + idx*64 (0x20000400000) = 2^64 + 0x200000
    expect(page.addressText).toBe("0x0000000000200000");
    // page_to_pfn = idx + memstart_pfn (0x80000)
    expect(page.pfn).toBe(0x800090000);
    expect(page.hasMemmap).toBe(false);
    // the page that really backs it:
    expect(m.mm.vmallocToPage(pool.dmaMem!.virtBase)!.pfn).toBe(0xb0000);
  });

  it("v4.19: (va & ~PAGE_OFFSET) lands on a real, unrelated RAM page", () => {
    const m = pxs3("v4.19");
    const base = m.device("codec").dmaMem!.virtBase;
    expect(va(base)).toBe("0xffff000008000000");
    const page = m.mm.virtToPage(base);
    // 0xffff000008000000 & 0x00007fffffffffff = 0x8000000 -> 0x8000 pages past PHYS_OFFSET 0x80000000
    expect(page.pfn).toBe(0x88000);
    expect(page.hasMemmap && page.valid).toBe(true);
  });

  it("for linear-map addresses virt_to_page is right on every release", () => {
    for (const k of ["v4.19", "v5.4", "v6.19"]) {
      const mm = pxs3(k).mm;
      fc.assert(
        fc.property(fc.integer({ min: 0x82000, max: 0xaffff }), (pfn) => {
          expect(mm.virtToPage(mm.linearAddress(pfn * 4096)).pfn).toBe(pfn);
        }),
        { numRuns: 100 },
      );
    }
  });

  it("isVmallocAddr / translate / hasLinearAlias", () => {
    const m = pxs3("v5.4");
    const base = m.device("codec").dmaMem!.virtBase;
    expect(m.mm.isVmallocAddr(base)).toBe(true);
    expect(m.mm.isVmallocAddr(m.mm.linearAddress(0x90000000))).toBe(false);
    expect(m.mm.translate(base + 0x1234)!.pa).toBe(0xb0001234);
    expect(m.mm.hasLinearAlias(0xb0000000)).toBe(false);
    expect(m.mm.translate(m.mm.linearAddress(0xb0000000))).toBeNull(); // no-map: not in the linear map
    expect(m.mm.hasLinearAlias(0x90000000)).toBe(true);
    expect(m.mm.hasLinearAlias(0x54000000)).toBe(false); // MMIO
  });
});

describe("zones (limits only)", () => {
  it("arm64 v5.4: ZONE_DMA32 up to 4 GiB, ZONE_NORMAL above; v5.5+ adds ZONE_DMA below 1 GiB (empty here)", () => {
    expect(pxs3("v5.4").mm.zones()).toEqual([
      { name: "ZONE_DMA32", start: 0x80000000, end: 0x100000000 },
      { name: "ZONE_NORMAL", start: 0x100000000, end: 0x120000000 },
    ]);
    expect(pxs3("v5.10").mm.zones().map((z) => z.name)).toEqual(["ZONE_DMA32", "ZONE_NORMAL"]);
    expect(pxs3("v5.10").mm.zoneOf(0x110000000)).toBe("ZONE_NORMAL");
  });
  it("arm 3G/1G: HIGHMEM above the 0x70000000 lowmem limit", () => {
    const mm = createMachine("exynos5422-odroidxu4", { kernel: "v4.11" }).mm;
    expect(mm.zoneOf(0x6fffffff)).toBe("ZONE_NORMAL");
    expect(mm.zoneOf(0x70000000)).toBe("ZONE_HIGHMEM");
    expect(mm.hasLinearAlias(0x70000000)).toBe(false);
  });
});

describe("vmalloc space allocator (alloc_vmap_area: first fit from VMALLOC_START, guard page)", () => {
  it("two 8K areas: the second starts after the first's 8K + 4K guard; a freed hole is reused", () => {
    const m = pxs3("v6.19");
    const mm = m.mm;
    const start = mm.vmapSpace.list().at(-1)!; // the codec pool's memremap, created at init
    const afterPool = start.start + start.size;
    const a = vmallocPages(mm, 8192, [0x90000 as Pfn, 0x90001 as Pfn])!;
    const b = vmallocPages(mm, 8192, [0x90002 as Pfn, 0x90003 as Pfn])!;
    expect(a).toBe(afterPool);
    expect(b).toBe(afterPool + 0x3000);
    vunmapAny(mm, a);
    const c = vmallocPages(mm, 4096, [0x90010 as Pfn])!;
    expect(c).toBe(a); // 4K + guard fits the 12K hole
    expect(mm.translate(b + 4096)!.pa).toBe(0x90003000);
    expect(mm.translate(b + 8192)).toBeNull(); // the guard page
  });

  it("ioremap aligns to 2^get_count_order(size) (arm64 IOREMAP_MAX_ORDER = 30) and keeps the page offset", () => {
    const mm = pxs3("v6.19").mm;
    expect(getCountOrderLong(0x100000)).toBe(20);
    expect(getCountOrderLong(0x100001)).toBe(21);
    const pool = mm.vmapSpace.list()[0]!; // 128M pool at VMALLOC_START (0xffff800080000000), 128M + 4K
    const io = ioremap(mm, 0x54006010, 0x100000)!; // 1M + the 0x10 offset -> 0x100010 bytes -> order 21 (2M)
    const expectStart = Math.ceil((pool.start + pool.size) / 0x200000) * 0x200000;
    expect(io).toBe(expectStart + 0x10);
    // RAM with a linear alias is refused on arm64 ("ioremap on RAM")
    expect(ioremap(mm, 0x90000000, 4096)).toBeNull();
  });

  it("memremap: WB on System RAM -> linear map; WC on System RAM refused; a no-map range -> vmalloc space; mixed refused", () => {
    const mm = pxs3("v5.4").mm;
    const n = mm.vmapSpace.list().length;
    const wb = memremap(mm, 0x90000000, 0x1000, "MEMREMAP_WB");
    expect(wb.how).toBe("linear-map (try_ram_remap)");
    expect(va(wb.addr!)).toBe("0xffff000010000000");
    expect(memremap(mm, 0x90000000, 0x1000, "MEMREMAP_WC").addr).toBeNull();
    expect(memremap(mm, 0xafff0000, 0x20000, "MEMREMAP_WB").how).toBe("refused: mixed range");
    expect(mm.vmapSpace.list().length).toBe(n);
    const nm = memremap(mm, 0x81000000, 0x1000, "MEMREMAP_WB");
    expect(mm.isVmallocAddr(nm.addr!)).toBe(true);
    expect(mm.vmapSpace.list().length).toBe(n + 1);
  });

  it("rejected calls leave the vm areas unchanged", () => {
    const mm = pxs3("v5.4").mm;
    const before = mm.vmapSpace.list().map((a) => [a.start, a.size]);
    expect(() => memremap(mm, 0x81000000, 0, "MEMREMAP_WB")).toThrow(ModelConfigError);
    expect(() => vmallocPages(mm, 8192, [1 as Pfn])).toThrow(ModelConfigError);
    expect(() => mm.vmapSpace.free(12345)).toThrow(ModelConfigError);
    expect(mm.vmapSpace.list().map((a) => [a.start, a.size])).toEqual(before);
  });
});

describe("vmalloc / vfree and the free-function API", () => {
  it("vmalloc takes single pages lowest-first (RAM above the first 16 MiB, outside reserved regions) and vfree returns them", async () => {
    const { vmalloc, vfree } = await import("../../lib/mm/remap.js");
    const { pageSourceOf } = await import("../../lib/mm/page-source.js");
    const { pfnValid, pfnToPage, pageToPfn, virtToPage, vmallocToPage, isVmallocAddr } = await import("../../lib/mm/memory.js");
    const m = pxs3("v6.19");
    const a = vmalloc(m.mm, 3 * 4096 - 100)!; // PAGE_ALIGN -> 3 pages
    expect(isVmallocAddr(m, a)).toBe(true);
    // 0x81000000 (= RAM base + 16M) is secure-memory (no-map) up to 0x82000000: first page 0x82000
    expect(vmallocToPage(m, a)!.pfn).toBe(0x82000);
    expect(vmallocToPage(m, a + 2 * 4096)!.pfn).toBe(0x82002);
    expect(vmallocToPage(m, a + 3 * 4096)).toBeNull(); // guard page
    expect(pageSourceOf(m.mm).usedPages()).toBe(3);
    // virt_to_page of the vmalloc address is not that page (v6.19: (va - PAGE_OFFSET) / 4096 pages into the vmemmap)
    expect(virtToPage(m, a).pfn).not.toBe(0x82000);
    expect(pfnValid(m, 0x82000)).toBe(true);
    expect(pageToPfn(m, pfnToPage(m, 0x82000))).toBe(0x82000);
    expect(() => vfree(m.mm, a + 4096)).toThrow(ModelConfigError);
    vfree(m.mm, a);
    expect(pageSourceOf(m.mm).usedPages()).toBe(0);
    expect(vmallocToPage(m, a)).toBeNull();
  });
});
