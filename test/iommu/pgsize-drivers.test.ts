/**
 * Page sizes per IOMMU driver and release (lib/iommu/io-pgtable.ts
 * IOMMU_DRIVER_PGSIZES): the domain's pgsize_bitmap and the pages and PTE
 * counts of iommu_map for aligned and unaligned ranges. Every expected count
 * is worked out by hand from iommu_pgsize's rule (greatest supported size
 * that fits the rest and divides both the IOVA and the physical address) and
 * the driver's descriptors per page (test/iommu/pte-descriptors.test.ts has
 * the per-driver rules, map and unmap).
 */
import { describe, expect, it } from "vitest";
import { ModelConfigError } from "../../lib/core/errors.js";
import { Trace } from "../../lib/core/trace.js";
import { createIommu, iommuDomainAlloc, type IommuDomain } from "../../lib/iommu/domain.js";
import { IOMMU_READ, IOMMU_WRITE, checkIommuPgsizes, iommuMap } from "../../lib/iommu/io-pgtable.js";

const K = 1024;
const M = 1024 * 1024;
const G = 1024 * M;
const RW = IOMMU_READ + IOMMU_WRITE;

function domainOf(driver: string, granule: number, kernel: string, pageSizes?: number[]): IommuDomain {
  const iommu = createIommu({ name: "u0", driver, granule, apertureBits: 48, ...(pageSizes ? { pageSizes } : {}) });
  return iommuDomainAlloc(iommu, "DMA", { kernel, trace: new Trace({ keepEvents: false }) });
}

/** PTEs written by one iommu_map call, and their sizes. */
function mapCount(d: IommuDomain, iova: number, paddr: number, size: number): { writes: number; sizes: number[] } {
  const before = d.pgtable.pteWrites;
  expect(iommuMap(d, iova, paddr, size, RW)).toBe(0);
  const sizes: number[] = [];
  for (const p of d.pgtable.ptes.values()) if (p.iova >= iova && p.iova < iova + size) sizes.push(p.size);
  return { writes: d.pgtable.pteWrites - before, sizes: sizes.sort((a, b) => a - b) };
}

describe("ARM SMMU (io-pgtable-arm LPAE): the granule's block sizes", () => {
  it("4K granule: 4K|2M|1G; a 2 MiB-aligned 4 MiB map is two 2 MiB PTEs, 4 KiB off in PA it is 1024 4 KiB PTEs", () => {
    const d = domainOf("arm-smmu-v3", 4 * K, "v6.19");
    expect(d.pageSizes).toEqual([4 * K, 2 * M, 1 * G]);
    expect(mapCount(d, 2 * M, 6 * M, 4 * M)).toEqual({ writes: 2, sizes: [2 * M, 2 * M] });
    // PA 2M + 4K: only 4 KiB divides it; 4 MiB / 4 KiB = 1024.
    expect(mapCount(d, 64 * M, 2 * M + 4 * K, 4 * M).writes).toBe(1024);
    // IOVA 1 GiB, PA 3 GiB, 1 GiB + 2 MiB + 4 KiB: 1G, then 2M, then 4K = 3 PTEs.
    expect(mapCount(d, 1 * G, 3 * G, 1 * G + 2 * M + 4 * K)).toEqual({ writes: 3, sizes: [4 * K, 2 * M, 1 * G] });
  });
  it("16K granule: 16K|32M; 64 MiB at 32 MiB alignment is two PTEs, 2 MiB is 128 16 KiB PTEs (no 2 MiB block)", () => {
    const d = domainOf("arm-smmu-v3", 16 * K, "v5.4");
    expect(d.pageSizes).toEqual([16 * K, 32 * M]);
    expect(mapCount(d, 32 * M, 32 * M, 64 * M).writes).toBe(2);
    expect(mapCount(d, 2 * G, 2 * G, 2 * M).writes).toBe((2 * M) / (16 * K));
  });
  it("64K granule: 64K|512M; 1 GiB at 512 MiB alignment is two PTEs; arm-smmu (v2) has the same groups", () => {
    const d = domainOf("arm-smmu", 64 * K, "v4.4");
    expect(d.pageSizes).toEqual([64 * K, 512 * M]);
    expect(mapCount(d, 512 * M, 1 * G, 1 * G).writes).toBe(2);
  });
  it("no contiguous-hint 64 KiB page with a 4K granule (io-pgtable-arm has no ARM_LPAE_PTE_CONT): 64 KiB is sixteen 4 KiB PTEs", () => {
    const d = domainOf("arm-smmu-v3", 4 * K, "v6.19");
    expect(mapCount(d, 64 * K, 64 * K, 64 * K).writes).toBe(16);
  });
  it("rejects a granule the driver cannot run with and page sizes that disagree", () => {
    expect(() => checkIommuPgsizes({ name: "s", driver: "arm-smmu-v3", granule: 8 * K })).toThrow(/iommus\(s\)\.granule/);
    expect(() => checkIommuPgsizes({ name: "s", driver: "arm-smmu-v3", granule: 4 * K, pageSizes: [4 * K, 2 * M] })).toThrow(/iommus\(s\)\.pageSizes/);
    expect(() => checkIommuPgsizes({ name: "s", driver: "arm-smmu-v3", granule: 4 * K, pageSizes: [4 * K, 2 * M] })).toThrow(ModelConfigError);
    expect(checkIommuPgsizes({ name: "s", driver: "arm-smmu-v3", granule: 16 * K, pageSizes: [32 * M, 16 * K] })).toEqual([16 * K, 32 * M]);
  });
});

describe("MediaTek M4U (io-pgtable-arm-v7s): 4K|64K|1M|16M", () => {
  it("a 1 MiB-aligned 2 MiB map is two 1 MiB sections; 64 KiB-aligned 128 KiB is two 64 KiB large pages; 16 MiB at 16 MiB is one supersection", () => {
    // Descriptors: v7s writes size >> ARM_V7S_LVL_SHIFT(lvl) entries per page: a section 1, a large page
    // or a supersection 16 (ARM_V7S_CONT_PAGES copies), a small page 1.
    const d = domainOf("mtk-iommu", 4 * K, "v5.4");
    expect(d.pageSizes).toEqual([4 * K, 64 * K, 1 * M, 16 * M]);
    expect(mapCount(d, 1 * M, 5 * M, 2 * M)).toEqual({ writes: 2, sizes: [1 * M, 1 * M] });
    expect(mapCount(d, 64 * K, 64 * K, 128 * K)).toEqual({ writes: 2 * 16, sizes: [64 * K, 64 * K] });
    expect(mapCount(d, 16 * M, 32 * M, 16 * M)).toEqual({ writes: 16, sizes: [16 * M] });
    // IOVA = PA = 64 MiB + 960 KiB, 1 MiB + 64 KiB: 960 KiB is a multiple of 64 KiB but not of 1 MiB, so a 64 KiB
    // page first; then 65 MiB is 1 MiB-aligned with 1 MiB left: one 1 MiB page. 16 + 1 descriptors.
    expect(mapCount(d, 64 * M + 960 * K, 64 * M + 960 * K, 64 * K + 1 * M)).toEqual({ writes: 16 + 1, sizes: [64 * K, 1 * M] });
  });
});

describe("Exynos System MMU: 4K|64K|1M, no 16 MiB", () => {
  it("16 MiB at 16 MiB alignment is sixteen 1 MiB sections (one lv1 entry each); a profile listing 16M is rejected naming the field", () => {
    const d = domainOf("exynos-sysmmu", 4 * K, "v4.4");
    expect(d.pageSizes).toEqual([4 * K, 64 * K, 1 * M]);
    expect(mapCount(d, 16 * M, 16 * M, 16 * M).writes).toBe(16);
    expect(() => createIommu({ name: "sysmmu", driver: "exynos-sysmmu", granule: 4 * K, pageSizes: [4 * K, 64 * K, 1 * M, 16 * M], apertureBits: 32 })).toThrow(/iommus\(sysmmu\)\.pageSizes/);
  });
});

describe("Intel VT-d per release", () => {
  it("v5.14: INTEL_IOMMU_PGSIZES (every power of two from 4 KiB): a 4 MiB piece is written as two 2 MiB super pages, 12 KiB (8K + 4K pieces) as three 4 KiB PTEs", () => {
    const d = domainOf("intel-iommu", 4 * K, "v5.14");
    expect(d.pageSizes[0]).toBe(4 * K);
    expect(d.pageSizes).toContain(8 * K);
    expect(d.pageSizes).toContain(4 * M);
    // iommu_pgsize gives one 4 MiB piece; __domain_mapping writes the hardware's pages (default 4K|2M|1G):
    // both addresses 2 MiB aligned and 4 MiB left -> 2 MiB super pages, 2 of them.
    expect(mapCount(d, 4 * M, 4 * M, 4 * M)).toEqual({ writes: 2, sizes: [2 * M, 2 * M] });
    // pieces 8K at 0 and 4K at 8K; the 8 KiB piece is below 2 MiB, so 4 KiB PTEs: 2 + 1.
    expect(mapCount(d, 0, 0, 12 * K)).toEqual({ writes: 3, sizes: [4 * K, 4 * K, 4 * K] });
  });
  it("v5.15: 4K plus the hardware's super pages: 4 MiB at 4 MiB is two 2 MiB PTEs, 12 KiB is three 4 KiB; no super pages: 1024", () => {
    const d = domainOf("intel-iommu", 4 * K, "v5.15");
    expect(d.pageSizes).toEqual([4 * K, 2 * M, 1 * G]);
    expect(mapCount(d, 4 * M, 4 * M, 4 * M)).toEqual({ writes: 2, sizes: [2 * M, 2 * M] });
    expect(mapCount(d, 0, 0, 12 * K).writes).toBe(3);
    const small = domainOf("intel-iommu", 4 * K, "v6.19", [4 * K]);
    expect(small.pageSizes).toEqual([4 * K]);
    expect(mapCount(small, 4 * M, 4 * M, 4 * M).writes).toBe(1024);
    // The same hardware at v5.4 still advertises every power of two.
    expect(domainOf("intel-iommu", 4 * K, "v5.4", [4 * K]).pageSizes).toContain(4 * M);
  });
  it("rejects hardware sizes that are not a prefix of 4K, 2M, 1G", () => {
    expect(() => checkIommuPgsizes({ name: "dmar", driver: "intel-iommu", granule: 4 * K, pageSizes: [4 * K, 1 * G] })).toThrow(/iommus\(dmar\)\.pageSizes/);
    expect(() => checkIommuPgsizes({ name: "dmar", driver: "intel-iommu", granule: 64 * K })).toThrow(/iommus\(dmar\)\.granule/);
  });
});

describe("AMD IOMMU v1: every power of two from 4 KiB except 512 GiB", () => {
  it("12 KiB at 0 is 8K + 4K; 1 TiB at 1 TiB is one page; 512 GiB at 512 GiB is two 256 GiB pages", () => {
    // Descriptors per page: 2^((log2 size - 12) mod 9) entries at level (log2 size - 12) / 9
    // (PAGE_SIZE_PTE_COUNT / PAGE_SIZE_LEVEL; generic_pt amdv1pt_install_leaf_entry in v6.19).
    const d = domainOf("amd-iommu", 4 * K, "v6.19");
    expect(d.pageSizes).toContain(8 * K);
    expect(d.pageSizes).not.toContain(512 * G);
    // 8 KiB: 2^(1 mod 9) = 2 entries; 4 KiB: 1.
    expect(mapCount(d, 0, 0, 12 * K)).toEqual({ writes: 2 + 1, sizes: [4 * K, 8 * K] });
    // 1 TiB = 2^40: 2^(28 mod 9) = 2 entries of the 512 GiB level.
    expect(mapCount(d, 1024 * G, 1024 * G, 1024 * G)).toEqual({ writes: 2, sizes: [1024 * G] });
    // 256 GiB = 2^38: 2^(26 mod 9) = 2^8 = 256 entries of the 1 GiB level, twice.
    expect(mapCount(d, 512 * G, 512 * G, 512 * G)).toEqual({ writes: 2 * 256, sizes: [256 * G, 256 * G] });
  });
});

describe("a driver outside the table", () => {
  it("needs pageSizes and uses them as given", () => {
    expect(() => checkIommuPgsizes({ name: "x", driver: "rockchip-iommu", granule: 4 * K })).toThrow(/iommus\(x\)\.pageSizes/);
    expect(domainOf("rockchip-iommu", 4 * K, "v6.19", [4 * K]).pageSizes).toEqual([4 * K]);
  });
});
