/**
 * Descriptors each IOMMU driver writes and clears (lib/iommu/io-pgtable.ts
 * iommuPteFormat): pteWrites / pteClears per iommu_map / iommu_unmap, per
 * driver and release. Every expected value is counted by hand from the
 * kernel rule written next to it (file and function named; the trees are
 * listed in lib/iommu/io-pgtable.ts).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Trace } from "../../lib/core/trace.js";
import { createIommu, iommuDomainAlloc, iommuDomainCounters, type IommuDomain } from "../../lib/iommu/domain.js";
import { CHANGE_AMD_IOMMU_GENERIC_PT, CHANGE_INTEL_IOMMU_GENERIC_PT, IOMMU_READ, IOMMU_WRITE, iommuMap, iommuPgsize, iommuPteFormat, iommuUnmap } from "../../lib/iommu/io-pgtable.js";
import { ModelConfigError } from "../../lib/core/errors.js";

const K = 1024;
const M = 1024 * K;
const G = 1024 * M;
const RW = IOMMU_READ + IOMMU_WRITE;

function domainOf(driver: string, kernel: string, opts: { granule?: number; pageSizes?: number[]; keep?: boolean } = {}): IommuDomain {
  const iommu = createIommu({ name: "u0", driver, granule: opts.granule ?? 4 * K, apertureBits: 48, ...(opts.pageSizes ? { pageSizes: opts.pageSizes } : {}) });
  return iommuDomainAlloc(iommu, "DMA", { kernel, trace: new Trace({ keepEvents: opts.keep ?? false }) });
}

/** Map then unmap one range: descriptors written, pages (IoPte entries, sizes), descriptors cleared, pages unmapped. */
function cycle(d: IommuDomain, iova: number, pa: number, size: number): { writes: number; pages: number[]; clears: number; unmappedPages: number } {
  const w0 = d.pgtable.pteWrites;
  const c0 = d.pgtable.pteClears;
  const u0 = d.pgtable.pagesUnmapped;
  expect(iommuMap(d, iova, pa, size, RW)).toBe(0);
  const pages: number[] = [];
  for (const p of d.pgtable.ptes.values()) if (p.iova >= iova && p.iova < iova + size) pages.push(p.size);
  expect(iommuUnmap(d, iova, size)).toBe(size);
  return { writes: d.pgtable.pteWrites - w0, pages: pages.sort((a, b) => a - b), clears: d.pgtable.pteClears - c0, unmappedPages: d.pgtable.pagesUnmapped - u0 };
}

const rep = (n: number, v: number): number[] => new Array<number>(n).fill(v);

describe("mtk-iommu: io-pgtable-arm-v7s (MT8173's M4U in every release of mtk_iommu.c)", () => {
  for (const kernel of ["v4.6", "v5.4", "v6.19"]) {
    it(`${kernel}: a 64 KiB large page is 16 entries written and 16 cleared; a 16 MiB supersection 16; a section and a small page 1`, () => {
      const d = domainOf("mtk-iommu", kernel);
      // __arm_v7s_map: num_entries = size >> ARM_V7S_LVL_SHIFT(lvl); a 64 KiB page lands at level 2 (4 KiB
      // entries): 64K >> 12 = 16 = ARM_V7S_CONT_PAGES, all set by arm_v7s_init_pte. __arm_v7s_unmap clears
      // the same num_entries for the same size.
      expect(cycle(d, 64 * K, 64 * K, 64 * K)).toEqual({ writes: 16, pages: [64 * K], clears: 16, unmappedPages: 1 });
      // 16 MiB at level 1 (1 MiB entries): 16M >> 20 = 16 entries, written and cleared.
      expect(cycle(d, 16 * M, 32 * M, 16 * M)).toEqual({ writes: 16, pages: [16 * M], clears: 16, unmappedPages: 1 });
      // 1 MiB at level 1: one entry; 4 KiB at level 2: one entry.
      expect(cycle(d, 1 * M, 3 * M, 1 * M)).toEqual({ writes: 1, pages: [1 * M], clears: 1, unmappedPages: 1 });
      expect(cycle(d, 4 * K, 8 * K, 4 * K)).toEqual({ writes: 1, pages: [4 * K], clears: 1, unmappedPages: 1 });
    });
  }
  it("128 KiB at a 128 KiB IOVA, PA 64 KiB aligned: two large pages, 32 entries each way", () => {
    const d = domainOf("mtk-iommu", "v6.19");
    expect(cycle(d, 128 * K, 64 * K, 128 * K)).toEqual({ writes: 32, pages: [64 * K, 64 * K], clears: 32, unmappedPages: 2 });
  });
  it("1 MiB of small pages (PA 4 KiB off) unmapped as one 1 MiB piece: 256 written, 1 cleared (the level-1 table entry)", () => {
    const d = domainOf("mtk-iommu", "v5.4");
    // map: PA 4K-aligned only, so iommu_pgsize gives 256 4 KiB pages, one entry each.
    // unmap: __iommu_unmap picks the size from the IOVA alone: 1 MiB; __arm_v7s_unmap at level 1 has
    // num_entries = 1, finds a table entry, zeroes it and frees the level-2 table without touching its entries.
    expect(cycle(d, 1 * M, 4 * K, 1 * M)).toEqual({ writes: 256, pages: rep(256, 4 * K), clears: 1, unmappedPages: 256 });
  });
});

describe("arm-smmu(-v3): io-pgtable-arm (LPAE), one descriptor per page or block", () => {
  for (const kernel of ["v4.4", "v5.4", "v6.19"]) {
    it(`${kernel}: a 2 MiB block 1/1; 2 MiB of 4 KiB pages (PA misaligned) 512 written, 1 cleared (the table entry)`, () => {
      const d = domainOf("arm-smmu-v3", kernel);
      expect(cycle(d, 2 * M, 4 * M, 2 * M)).toEqual({ writes: 1, pages: [2 * M], clears: 1, unmappedPages: 1 });
      // __arm_lpae_unmap with size == ARM_LPAE_BLOCK_SIZE(level 2) finds a table: one entry zeroed, the
      // table freed (v6.19 zeroes it twice, counted once).
      expect(cycle(d, 8 * M, 10 * M + 4 * K, 2 * M)).toEqual({ writes: 512, pages: rep(512, 4 * K), clears: 1, unmappedPages: 512 });
    });
  }
  it("64 KiB granule: a 512 MiB block is one descriptor; 1 MiB of 64 KiB pages 16 each way (unmap pieces are 64 KiB too)", () => {
    const d = domainOf("arm-smmu", "v5.4", { granule: 64 * K });
    expect(cycle(d, 512 * M, 1 * G, 512 * M)).toEqual({ writes: 1, pages: [512 * M], clears: 1, unmappedPages: 1 });
    expect(cycle(d, 2 * G, 3 * G, 1 * M)).toEqual({ writes: 16, pages: rep(16, 64 * K), clears: 16, unmappedPages: 16 });
  });
});

describe("exynos-sysmmu: 1 MiB section 1 lv1 entry, 64 KiB large page SPAGES_PER_LPAGE lv2 entries, 4 KiB 1", () => {
  for (const kernel of ["v4.4", "v5.4", "v6.19"]) {
    it(`${kernel}: 64 KiB = 16 written and cleared; 1 MiB = 1; 1 MiB of small pages clears all 256 (one page per exynos_iommu_unmap)`, () => {
      const d = domainOf("exynos-sysmmu", kernel);
      // lv2set_page writes SPAGES_PER_LPAGE = LPAGE_SIZE / SPAGE_SIZE = 16 entries; exynos_iommu_unmap memsets 16.
      expect(cycle(d, 64 * K, 64 * K, 64 * K)).toEqual({ writes: 16, pages: [64 * K], clears: 16, unmappedPages: 1 });
      // lv1set_section: one lv1 entry; unmap writes ZERO_LV2LINK into it: one.
      expect(cycle(d, 1 * M, 2 * M, 1 * M)).toEqual({ writes: 1, pages: [1 * M], clears: 1, unmappedPages: 1 });
      // exynos_iommu_unmap clears the entry at the IOVA and returns its size (SPAGE_SIZE), so the core
      // calls it 256 times for a 1 MiB range of small pages: 256 clears, no table entry.
      expect(cycle(d, 4 * M, 8 * M + 4 * K, 1 * M)).toEqual({ writes: 256, pages: rep(256, 4 * K), clears: 256, unmappedPages: 256 });
    });
  }
});

describe("amd-iommu (v1): PAGE_SIZE_PTE_COUNT(S) = 2^((log2 S - 12) mod 9) entries per page", () => {
  for (const kernel of ["v4.4", "v5.4", "v6.18", "v6.19"]) {
    it(`${kernel}: 8 KiB = 2 PTEs written and cleared; 1 MiB = 256; 2 MiB = 1; 4 MiB = 2`, () => {
      const d = domainOf("amd-iommu", kernel);
      // iommu_map_page (v5.4 amd_iommu.c): count = PAGE_SIZE_PTE_COUNT(page_size) entries set at
      // PAGE_SIZE_LEVEL; iommu_unmap_page zeroes PAGE_SIZE_PTE_COUNT(unmap_size) for the page fetch_pte finds.
      expect(cycle(d, 8 * K, 8 * K, 8 * K)).toEqual({ writes: 2, pages: [8 * K], clears: 2, unmappedPages: 1 });
      expect(cycle(d, 1 * M, 1 * M, 1 * M)).toEqual({ writes: 256, pages: [1 * M], clears: 256, unmappedPages: 1 });
      expect(cycle(d, 2 * M, 2 * M, 2 * M)).toEqual({ writes: 1, pages: [2 * M], clears: 1, unmappedPages: 1 });
      expect(cycle(d, 4 * M, 4 * M, 4 * M)).toEqual({ writes: 2, pages: [4 * M], clears: 2, unmappedPages: 1 });
    });
  }
  it("2 MiB of 4 KiB pages (PA 4 KiB off): 512 cleared through v6.18 (page by page); 513 in v6.19 (generic_pt also clears the covered table entry)", () => {
    // v6.18.2 iommu_v1_unmap_pages: fetch_pte per page, 1 entry each, tables kept: 512.
    expect(cycle(domainOf("amd-iommu", "v6.18"), 2 * M, 4 * M + 4 * K, 2 * M)).toMatchObject({ writes: 512, clears: 512 });
    // v6.19 __unmap_range: the 512 leaves, then the level-1 entry of the 2 MiB table the range covers whole: 513.
    expect(cycle(domainOf("amd-iommu", "v6.19"), 2 * M, 4 * M + 4 * K, 2 * M)).toMatchObject({ writes: 512, clears: 513 });
  });
});

describe("intel-iommu: __domain_mapping writes the hardware's pages; the profile says which super pages it has", () => {
  it("v5.4 (every power of two advertised): a 64 KiB piece is sixteen 4 KiB PTEs, written and cleared", () => {
    const d = domainOf("intel-iommu", "v5.4");
    // hardware_largepage_caps: 64 KiB is below 2 MiB, so level 1 (4 KiB PTEs): 16. intel_iommu_unmap ->
    // dma_pte_clear_level clears the 16 level-1 entries (no 2 MiB entry is covered whole).
    expect(cycle(d, 64 * K, 64 * K, 64 * K)).toEqual({ writes: 16, pages: rep(16, 4 * K), clears: 16, unmappedPages: 16 });
  });
  it("v5.4: a 2 MiB-aligned 2 MiB piece is one super page with 2 MiB support, 512 PTEs without (and one table entry cleared)", () => {
    expect(cycle(domainOf("intel-iommu", "v5.4", { pageSizes: [4 * K, 2 * M] }), 2 * M, 6 * M, 2 * M)).toEqual({ writes: 1, pages: [2 * M], clears: 1, unmappedPages: 1 });
    // [4K] only: 512 4 KiB PTEs; the unmap range covers the 2 MiB level-2 entry whole: dma_pte_clear_level
    // zeroes that entry and frees the table below: 1 clear.
    expect(cycle(domainOf("intel-iommu", "v5.4", { pageSizes: [4 * K] }), 2 * M, 6 * M, 2 * M)).toEqual({ writes: 512, pages: rep(512, 4 * K), clears: 1, unmappedPages: 512 });
  });
  it("v4.4: a 4 MiB piece is two 2 MiB super pages (2 and 2); 1 GiB with 1 GiB support one", () => {
    const d = domainOf("intel-iommu", "v4.4");
    expect(cycle(d, 4 * M, 4 * M, 4 * M)).toEqual({ writes: 2, pages: [2 * M, 2 * M], clears: 2, unmappedPages: 2 });
    expect(cycle(d, 1 * G, 2 * G, 1 * G)).toEqual({ writes: 1, pages: [1 * G], clears: 1, unmappedPages: 1 });
  });
  it("v5.15: pieces are the hardware's already; 4 MiB without super pages is 1024 PTEs, cleared as two 2 MiB table entries", () => {
    // pgsize_bitmap = SZ_4K: iommu_pgsize gives 4 KiB x 1024 (one run); __domain_mapping writes 1024 PTEs.
    // intel_iommu_unmap_pages unmaps the 4 MiB run as one range: two level-2 entries covered whole.
    const d = domainOf("intel-iommu", "v5.15", { pageSizes: [4 * K] });
    expect(cycle(d, 4 * M, 8 * M, 4 * M)).toEqual({ writes: 1024, pages: rep(1024, 4 * K), clears: 2, unmappedPages: 1024 });
  });
  it("v6.18 vs v6.19 (generic_pt): the same 4 MiB of 4 KiB PTEs clears 2 entries, then 1024 leaves + 2 table entries", () => {
    expect(cycle(domainOf("intel-iommu", "v6.18", { pageSizes: [4 * K] }), 4 * M, 8 * M, 4 * M).clears).toBe(2);
    expect(cycle(domainOf("intel-iommu", "v6.19", { pageSizes: [4 * K] }), 4 * M, 8 * M, 4 * M).clears).toBe(1024 + 2);
    // With 2 MiB super pages both releases write and clear two.
    for (const k of ["v6.18", "v6.19"]) expect(cycle(domainOf("intel-iommu", k), 4 * M, 8 * M, 4 * M)).toMatchObject({ writes: 2, clears: 2 });
  });
});

describe("events and counters", () => {
  it("the iommu_map / iommu_unmap events carry the descriptors (ptes) and the pages", () => {
    const d = domainOf("mtk-iommu", "v6.19", { keep: true });
    iommuMap(d, 64 * K, 64 * K, 128 * K, RW);
    iommuUnmap(d, 64 * K, 128 * K);
    const map = d.trace.ofKind("iommu_map")[0]!;
    const unmap = d.trace.ofKind("iommu_unmap")[0]!;
    expect([map.data["ptes"], map.data["pages"]]).toEqual([32, 2]);
    expect([unmap.data["ptes"], unmap.data["pages"]]).toEqual([32, 2]);
    expect(iommuDomainCounters(d)).toMatchObject({ pteWrites: 32, pteClears: 32, pagesUnmapped: 2 });
  });
  it("iommuPteFormat: the table levels per driver (a page takes its size over the largest level entry not above it)", () => {
    // v7s: level 1 entries map 1 MiB, level 2 entries 4 KiB (ARM_V7S_LVL_SHIFT 20 and 12).
    expect(iommuPteFormat("mtk-iommu", 4 * K, "v6.19", [4 * K, 64 * K, 1 * M, 16 * M]).levels).toEqual([4 * K, 1 * M]);
    // LPAE 16K granule: 16K x 2048^k (bits per level = granule shift - 3 = 11).
    expect(iommuPteFormat("arm-smmu-v3", 16 * K, "v6.19", []).levels).toEqual([16 * K, 32 * M, 64 * G, 128 * 1024 * G]);
    // AMD v1: 4K x 512^k (PM_LEVEL_SHIFT = 12 + 9 x level); a 256 KiB page is 2^(6 mod 9) = 64 level-0 entries.
    expect(iommuPteFormat("amd-iommu", 4 * K, "v5.4", []).levels.slice(0, 4)).toEqual([4 * K, 2 * M, 1 * G, 512 * G]);
    expect(cycle(domainOf("amd-iommu", "v5.4"), 256 * K, 256 * K, 256 * K)).toMatchObject({ writes: 64, clears: 64 });
    // A driver outside the table: one descriptor per page, cleared page by page, as before.
    expect(iommuPteFormat("rockchip-iommu", 4 * K, "v6.19", [4 * K])).toMatchObject({ levels: [4 * K], unmap: "pages", hwPages: null });
    expect(() => iommuPteFormat("amd-iommu", 4 * K, "six", [])).toThrow(/iommuPteFormat\(kernel\)/);
    expect(() => iommuPteFormat("arm-smmu", 0, "v6.19", [])).toThrow(/iommuPteFormat\(granule\)/);
    expect(() => iommuPteFormat("arm-smmu", 8 * K, "v6.19", [])).toThrow(/iommuPteFormat\(granule\)/);
    expect(() => iommuPteFormat("arm-smmu", 4 * K, "v6.19", [3000])).toThrow(ModelConfigError);
  });
  it("the two generic_pt changes switch at v6.19", () => {
    expect([CHANGE_AMD_IOMMU_GENERIC_PT.since, CHANGE_INTEL_IOMMU_GENERIC_PT.since]).toEqual(["v6.19", "v6.19"]);
    expect(iommuPteFormat("amd-iommu", 4 * K, "v6.18", []).unmap).toBe("pages");
    expect(iommuPteFormat("intel-iommu", 4 * K, "v6.18", [4 * K]).unmap).toBe("slots");
  });
});

describe("partial unmaps", () => {
  it("unmapping 4 KiB at the start of a v7s large page removes the whole page and counts its 16 entries", () => {
    // The kernel would split it (v5.4 arm_v7s_split_cont) or refuse (v6.19 "Unmap of a partial large IOPTE is not
    // allowed"); the model removes the page whole, as a block unmapped at its start, and counts what that clears.
    const d = domainOf("mtk-iommu", "v6.19");
    expect(iommuMap(d, 64 * K, 64 * K, 64 * K, RW)).toBe(0);
    expect(iommuUnmap(d, 64 * K, 4 * K)).toBe(64 * K);
    expect([d.pgtable.pteClears, d.pgtable.pagesUnmapped]).toEqual([16, 1]);
  });
});

describe("properties", () => {
  const drivers: Array<[string, string, number[] | undefined]> = [
    ["mtk-iommu", "v5.4", undefined],
    ["mtk-iommu", "v6.19", undefined],
    ["arm-smmu-v3", "v6.19", undefined],
    ["exynos-sysmmu", "v5.4", undefined],
    ["amd-iommu", "v5.4", undefined],
    ["amd-iommu", "v6.19", undefined],
    ["intel-iommu", "v5.4", undefined],
    ["intel-iommu", "v5.15", [4 * K, 2 * M]],
    ["intel-iommu", "v6.19", undefined],
  ];
  it("IOVA and PA equally offset in every page size: unmapping what was mapped clears exactly what was written", () => {
    // Then __iommu_unmap's IOVA-only sizes equal the map's sizes, every call clears a whole page, and no
    // table entry is covered whole above smaller pages.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: drivers.length - 1 }), fc.array(fc.record({ page: fc.integer({ min: 0, max: 4095 }), pages: fc.integer({ min: 1, max: 700 }) }), { minLength: 1, maxLength: 5 }), (di, maps) => {
        const [drv, kernel, ps] = drivers[di]!;
        const d = domainOf(drv, kernel, ps ? { pageSizes: ps } : {});
        const done: Array<[number, number]> = [];
        for (const { page, pages } of maps) {
          const iova = page * 16 * K;
          const size = pages * 4 * K;
          if (iommuMap(d, iova, iova + 4 * G, size, RW) === 0) done.push([iova, size]);
        }
        for (const [iova, size] of done) iommuUnmap(d, iova, size);
        expect(d.pgtable.ptes.size).toBe(0);
        expect(d.pgtable.pteClears).toBe(d.pgtable.pteWrites);
      }),
      { numRuns: 150 },
    );
  });
  it("per-page drivers (LPAE, v7s, intel-iommu before v5.15): one unmap of a range clears what the kernel's page-by-page calls clear", () => {
    // The kernel calls the driver once per page size iommu_pgsize picks from the IOVA alone; the model walks
    // runs of them. Unmap the same mapping once whole and once piece by piece (pieces computed here with
    // iommuPgsize(iova, iova)): the counts agree.
    fc.assert(
      fc.property(fc.constantFrom("mtk-iommu", "arm-smmu-v3", "intel-iommu"), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 1200 }), fc.integer({ min: 0, max: 300 }), (drv, page, pages, paShift) => {
        const iova = page * 64 * K;
        const size = pages * 4 * K;
        const pa = 1 * G + paShift * 4 * K;
        // intel-iommu at v5.4 without super pages: one intel_iommu_unmap per power-of-two piece in the kernel; the
        // model walks the range as one (iommuPteFormat's claim: the same clears).
        const [kernel, opts] = drv === "intel-iommu" ? ["v5.4", { pageSizes: [4 * K] }] : ["v6.19", {}];
        const a = domainOf(drv, kernel, opts);
        const b = domainOf(drv, kernel, opts);
        expect(iommuMap(a, iova, pa, size, RW)).toBe(0);
        expect(iommuMap(b, iova, pa, size, RW)).toBe(0);
        iommuUnmap(a, iova, size);
        let x = iova;
        while (x < iova + size) {
          const pg = iommuPgsize(b.pageSizes, x, x, iova + size - x);
          iommuUnmap(b, x, pg);
          x += pg;
        }
        expect(a.pgtable.pteClears).toBe(b.pgtable.pteClears);
      }),
      { numRuns: 150 },
    );
  });
});
