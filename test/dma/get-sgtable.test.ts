/**
 * dma_get_sgtable per release and path (kernel/dma/mapping.c v5.4.6
 * dma_common_get_sgtable; kernel/dma/direct.c v6.19 dma_direct_get_sgtable,
 * 34dc0ea6bc96; kernel/dma/ops_helpers.c v6.19; arch/arm/mm/dma-mapping.c
 * v4.4.1 / v4.19.1 arm_dma_get_sgtable) and dma_mmap.
 */
import { describe, expect, it } from "vitest";
import { createMachine } from "../../lib/platform/machine.js";
import { loadPlatformProfile, type PlatformProfile } from "../../lib/platform/profile.js";
import { ENXIO } from "../../lib/core/errno.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { createSgTable } from "../../lib/sg/scatterlist.js";
import { devCoherentNopageEntries, dmaAllocCoherent, dmaGetSgtable, dmaMmapAttrs, getSgtablePaths } from "../../lib/dma/mapping.js";

function pxs3(kernel: string, edit?: (p: PlatformProfile) => void) {
  const p = loadPlatformProfile("uniphier-pxs3");
  if (edit) edit(p);
  return createMachine(p, { kernel });
}

describe("dma-direct, buffer from the PXS3 codec pool (phys 0xb0000000, memremapped into vmalloc space)", () => {
  it("v5.4, coherent device: virt_to_page(cpu_addr) -> pfn 0x800090000, a page without memmap; still returns 0", () => {
    const m = pxs3("v5.4");
    const codec = m.device("codec");
    const b = dmaAllocCoherent(codec, 1048576)!;
    const sgt = createSgTable();
    expect(dmaGetSgtable(codec, sgt, b.cpuAddr, b.dmaHandle, b.size)).toBe(0);
    expect(sgt.origNents).toBe(1);
    // cpu 0xffff800010000000: (va - PAGE_OFFSET) / 4096 = 0x800010000, + memstart pfn 0x80000
    expect(sgt.sgl[0]!.pfn).toBe(0x800090000);
    expect(sgt.sgl[0]!.length).toBe(1048576); // PAGE_ALIGN(size)
    expect(sgt.sgl[0]!.offset).toBe(0);
    expect(m.mm.pfnToPage(sgt.sgl[0]!.pfn!).hasMemmap).toBe(false);
    expect(getSgtablePaths.get(sgt)!.path).toContain("virt_to_page");
  });

  it("v4.19 (arm64_swiotlb_dma_ops, __swiotlb_get_sgtable): the page of dma_to_phys(handle), pfn 0xb0000, unchecked, coherent or not", () => {
    for (const coherent of [true, false]) {
      const m = pxs3("v4.19", (p) => (p.devices[0]!.dmaCoherent = coherent));
      const codec = m.device("codec");
      const b = dmaAllocCoherent(codec, 4096)!;
      const sgt = createSgTable();
      expect(dmaGetSgtable(codec, sgt, b.cpuAddr, b.dmaHandle, b.size)).toBe(0);
      expect(sgt.sgl[0]!.pfn).toBe(0xb0000);
      expect(getSgtablePaths.get(sgt)!.path).toContain("__swiotlb_get_sgtable");
    }
  });

  it("v4.20 non-coherent: arch_dma_coherent_to_pfn without a pfn_valid check (pfn 0xb0000, returns 0); v5.3 adds the check (-ENXIO)", () => {
    // v5.2.1 kernel/dma/mapping.c:dma_common_get_sgtable uses the pfn unchecked; v5.3.1 returns -ENXIO when !pfn_valid.
    for (const [k, ret] of [["v4.20", 0], ["v5.2", 0], ["v5.3", -ENXIO]] as const) {
      const m = pxs3(k, (p) => (p.devices[0]!.dmaCoherent = false));
      const codec = m.device("codec");
      const b = dmaAllocCoherent(codec, 4096)!;
      const sgt = createSgTable();
      expect(dmaGetSgtable(codec, sgt, b.cpuAddr, b.dmaHandle, b.size)).toBe(ret);
      if (ret === 0) expect(sgt.sgl[0]!.pfn).toBe(0xb0000);
    }
  });

  it("v4.20, coherent device: the masked address names the RAM page 0x88000 (a wrong, valid page)", () => {
    const m = pxs3("v4.20");
    const codec = m.device("codec");
    const b = dmaAllocCoherent(codec, 4096)!;
    const sgt = createSgTable();
    expect(dmaGetSgtable(codec, sgt, b.cpuAddr, b.dmaHandle, b.size)).toBe(0);
    // 0xffff000008000000 & ~0xffff800000000000 = 0x8000000 -> pfn 0x80000 + 0x8000
    expect(sgt.sgl[0]!.pfn).toBe(0x88000);
  });

  it("v5.4, non-coherent device: arch_dma_coherent_to_pfn + pfn_valid -> -ENXIO, table untouched", () => {
    const m = pxs3("v5.4", (p) => (p.devices[0]!.dmaCoherent = false));
    const codec = m.device("codec");
    const b = dmaAllocCoherent(codec, 4096)!;
    const sgt = createSgTable();
    expect(dmaGetSgtable(codec, sgt, b.cpuAddr, b.dmaHandle, b.size)).toBe(-ENXIO);
    expect(sgt).toEqual(createSgTable());
  });

  it("v5.5+ (34dc0ea6bc96): page from the DMA address, no pfn_valid check, coherent or not", () => {
    for (const [k, coherent, valid] of [["v5.5", true, false], ["v5.10", false, false], ["v6.19", true, true]] as const) {
      const m = pxs3(k, (p) => (p.devices[0]!.dmaCoherent = coherent));
      const codec = m.device("codec");
      const b = dmaAllocCoherent(codec, 8192)!;
      const sgt = createSgTable();
      expect(dmaGetSgtable(codec, sgt, b.cpuAddr, b.dmaHandle, b.size)).toBe(0);
      expect(sgt.sgl[0]!.pfn).toBe(0xb0000);
      // pfn_valid(no-map) is false on arm64 until the generic pfn_valid (v5.15)
      expect(m.mm.pfnToPage(0xb0000).valid).toBe(valid);
    }
  });

  it("what-if: Russell King's pfn_valid check gives -ENXIO where pfn_valid is false, and nothing on v6.19 arm64", () => {
    const m = pxs3("v5.10");
    const b = dmaAllocCoherent(m.device("codec"), 4096)!;
    expect(dmaGetSgtable(m.device("codec"), createSgTable(), b.cpuAddr, b.dmaHandle, 4096, { forcePfnValidCheck: true })).toBe(-ENXIO);
    const n = pxs3("v6.19");
    const c = dmaAllocCoherent(n.device("codec"), 4096)!;
    expect(dmaGetSgtable(n.device("codec"), createSgTable(), c.cpuAddr, c.dmaHandle, 4096, { forcePfnValidCheck: true })).toBe(0);
  });

  it("the 2017 RFC variant: a pool buffer gives a tagged page-less entry carrying the handle", () => {
    const m = pxs3("v5.4");
    const b = dmaAllocCoherent(m.device("codec"), 4096)!;
    const sgt = createSgTable();
    expect(dmaGetSgtable(m.device("codec"), sgt, b.cpuAddr, b.dmaHandle, 4096, { rfcDevCoherentNopage: true })).toBe(0);
    expect(sgt.sgl[0]!.pfn).toBeNull();
    expect(sgt.sgl[0]!.dmaAddress).toBe(0xb0000000);
    expect(devCoherentNopageEntries.has(sgt.sgl[0]!)).toBe(true);
  });

  it("rejects size 0 before any change", () => {
    const m = pxs3("v6.19");
    const b = dmaAllocCoherent(m.device("codec"), 4096)!;
    const sgt = createSgTable();
    expect(() => dmaGetSgtable(m.device("codec"), sgt, b.cpuAddr, b.dmaHandle, 0)).toThrow(ModelConfigError);
    expect(sgt).toEqual(createSgTable());
  });
});

describe("32-bit ARM legacy arm_dma_get_sgtable (Exynos5422 MFC pool mfc_left, assumed at 0x6dc00000)", () => {
  it("v4.4.1: pfn from the handle, no check; v4.11+ (Russell King): -ENXIO; v6.0+: dma-direct, no check", () => {
    // Boundaries: the pfn_valid check is absent in v4.10.17 (pengdonglin137/linux-4.10.17) and present in
    // v4.11.0 (HCLS/linux-4.11) arch/arm/mm/dma-mapping.c:arm_dma_get_sgtable; arm_dma_ops are still used in
    // v5.19.0 (yishangzhang/linux-5.19) and gone in v6.0-rc1 (sun363587351/linux-6.0, ae626eb97376).
    const get = (k: string) => {
      const m = createMachine("exynos5422-odroidxu4", { kernel: k });
      const mfc = m.device("mfc");
      const b = dmaAllocCoherent(mfc, 4096)!;
      const sgt = createSgTable();
      return { ret: dmaGetSgtable(mfc, sgt, b.cpuAddr, b.dmaHandle, 4096), sgt, m };
    };
    const v44 = get("v4.4");
    expect(v44.ret).toBe(0);
    expect(v44.sgt.sgl[0]!.pfn).toBe(0x6dc00);
    expect(v44.m.mm.pfnValid(0x6dc00)).toBe(false); // no-map: memblock_is_map_memory false
    expect(v44.m.mm.hasMemmap(0x6dc00)).toBe(true); // FLATMEM mem_map spans the hole
    expect(get("v4.10").ret).toBe(0);
    expect(get("v4.11").ret).toBe(-ENXIO);
    expect(get("v4.19").ret).toBe(-ENXIO);
    expect(get("v5.19").ret).toBe(-ENXIO); // still arm_dma_get_sgtable
    const v60 = get("v6.0");
    expect(v60.ret).toBe(0);
    expect(getSgtablePaths.get(v60.sgt)!.path).toBe("dma_direct_get_sgtable: page from the DMA address");
  });
});

describe("ops helpers (iommu-dma device, non-coherent, remapped buffer)", () => {
  const withIommu = (k: string) =>
    pxs3(k, (p) => {
      p.iommus = [{ name: "smmu", driver: "arm-smmu-v3", granule: 4096, pageSizes: [4096, 2097152, 1073741824], apertureBits: 32, strict: true }];
      p.devices[1]!.iommu = "smmu";
      p.devices[1]!.dmaCoherent = false;
    });
  // Updated when iommu_dma_alloc / iommu_dma_get_sgtable were modelled: the old expectation (v5.13
  // virt_to_page of the vmalloc address) encoded a shortcut that sent iommu-dma devices through the
  // generic ops helper. iommu-dma has its own get_sgtable on every release (arm64 __iommu_get_sgtable
  // in v4.4.1, drivers/iommu/dma-iommu.c iommu_dma_get_sgtable in v5.4.6 and v6.19): a buffer from
  // iommu_dma_alloc_remap keeps its page array in the vm area (dma_common_pages_remap), and the table
  // is built from that array with sg_alloc_table_from_pages, so v5.13 and v5.14 both give the real pages.
  it("v5.13 and v5.14: iommu_dma_get_sgtable builds the table from the remap's page array (the real pages)", () => {
    for (const k of ["v5.13", "v5.14"]) {
      const m = withIommu(k);
      const disp = m.device("display");
      const b = dmaAllocCoherent(disp, 8192)!;
      expect(m.mm.isVmallocAddr(b.cpuAddr)).toBe(true);
      const sgt = createSgTable();
      expect(dmaGetSgtable(disp, sgt, b.cpuAddr, b.dmaHandle, 8192)).toBe(0);
      // Walk the table: every page it names is the page the CPU mapping reaches (page-table walk).
      let off = 0;
      for (const e of sgt.sgl.slice(0, sgt.origNents)) {
        for (let p = 0; p < e.length / 4096; p++) expect(e.pfn! + p).toBe(m.mm.translate(b.cpuAddr + off + p * 4096)!.pa / 4096);
        off += e.length;
      }
      expect(off).toBe(8192);
      expect(getSgtablePaths.get(sgt)!.path).toBe("iommu_dma_get_sgtable: page array (dma_common_find_pages)");
    }
  });
});

describe("dma_mmap", () => {
  it("the per-device pool is tried first on every release: pfn = pool pfn + offset", () => {
    for (const k of ["v5.4", "v6.19"]) {
      const m = pxs3(k, (p) => (p.devices[0]!.dmaCoherent = false));
      const codec = m.device("codec");
      dmaAllocCoherent(codec, 4096);
      const b = dmaAllocCoherent(codec, 8192)!; // pageno 2
      expect(dmaMmapAttrs(codec, b.cpuAddr, b.dmaHandle, 8192)).toEqual({ ret: 0, pfn: 0xb0002, path: "dma_mmap_from_dev_coherent" });
      expect(dmaMmapAttrs(codec, b.cpuAddr, b.dmaHandle, 8192, 3).ret).toBe(-ENXIO); // 3 pages > 2
    }
  });
  it("v5.4 coherent non-pool buffer: page_to_pfn(virt_to_page(cpu_addr)); v6.19: PHYS_PFN(dma_to_phys(handle))", () => {
    const m = pxs3("v5.4");
    const b = dmaAllocCoherent(m.device("display"), 4096)!; // linear-map buffer at 0x82000000
    expect(dmaMmapAttrs(m.device("display"), b.cpuAddr, b.dmaHandle, 4096).pfn).toBe(0x82000);
  });
});
