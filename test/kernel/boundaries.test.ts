/**
 * Release boundaries (issue 9): each registered change is tested on both
 * sides of its release, with the rule and the two trees that bracket it
 * (see the change's `bracket` and docs/ARCHITECTURE.md "Release boundaries").
 * Expected values come from the rule stated in each test, not from the model.
 */
import { describe, expect, it } from "vitest";
import type { Pfn } from "../../lib/core/addr.js";
import { EBUSY, EINVAL, ENOMEM } from "../../lib/core/errno.js";
import { CMA_RANGES, cmaAlloc, cmaInitReservedMem } from "../../lib/mm/cma.js";
import { DMA_FROM_DEVICE } from "../../lib/core/dma-types.js";
import { createMachine } from "../../lib/platform/machine.js";
import type { Device } from "../../lib/platform/device.js";
import { sgTableFromEntries, type SgTable } from "../../lib/sg/scatterlist.js";
import { DMA_BIT_MASK } from "../../lib/core/arith.js";
import { iovaRanges } from "../../lib/iommu/iova.js";
import { loadPlatformProfile } from "../../lib/platform/profile.js";
import { CHANGE_VB2_DMABUF_SKIP_SYNC, vb2DcAlloc, vb2DcGetDmabuf, vb2DcImportDmabuf } from "../../lib/drivers/videobuf2-dma-contig.js";
import type { DmaBuf } from "../../lib/drivers/dma-buf.js";
import { ARM64_GENERIC_PFN_VALID } from "../../lib/mm/memory.js";
import { VMALLOC_HIGHMEM_ONLY_WITHOUT_DMA, ZONES_X86_64, gfpVmalloc32, gfpZone, vmallocPageGfp } from "../../lib/mm/gfp.js";
import {
  CHANGE_IOMMU_DMA_ALLOC_IOVA,
  CHANGE_IOMMU_DMA_APERTURE_CLAMP,
  CHANGE_IOMMU_DMA_BUS_DMA_LIMIT,
  CHANGE_IOMMU_DMA_PCI_32BIT_STICKY,
  CHANGE_IOMMU_DMA_PCI_SAC_FIRST,
  iommuDmaAllocIova,
  iommuDmaMapSg,
} from "../../lib/iommu/dma-iommu.js";
import { dmaMapSg, dmaMapSgtable } from "../../lib/dma/mapping.js";
import { CHANGE_ARM64_DCACHE_POC, CHANGE_ARM64_SYNC_CALLS_DCACHE_POC, CHANGE_DMA_MAP_PHYS, CHANGE_MAP_SG_ERRNO, kernelFunctionName } from "../../lib/kernel/api-changes.js";

const K = 1024;

describe("dma-map-sg-errno: v5.15 (absent in v5.14-rc5 lsk-legends/linux-5.14, present in v5.15.16 yashlala/fastswap-linux-5.16.16)", () => {
  // Rule: v5.14-rc5 drivers/iommu/dma-iommu.c:iommu_dma_map_sg returns 0 on every failure path and
  // kernel/dma/mapping.c:dma_map_sgtable turns a count <= 0 into -EINVAL; v5.15.16 returns -ENOMEM when
  // the IOVA allocation fails and dma_map_sgtable passes that on. dma_map_sg stays 0 in both.
  function exhausted(kernel: string): { dev: Device; sgt: SgTable } {
    const m = createMachine("mt8173-evb", { kernel });
    const dev = m.device("16020000.vcodec");
    dev.dmaMask = 0xfff; // limit pfn 0 is below start_pfn 1: no IOVA can be allocated
    return { dev, sgt: sgTableFromEntries([{ pfn: 0x50000 as Pfn, offset: 0, length: 8 * K }]) };
  }
  it("the change is at v5.15", () => {
    expect(CHANGE_MAP_SG_ERRNO.since).toBe("v5.15");
  });
  it("v5.14: iommu_dma_map_sg 0, dma_map_sgtable -EINVAL", () => {
    const a = exhausted("v5.14");
    expect(iommuDmaMapSg(a.dev, a.sgt.sgl, 1, DMA_FROM_DEVICE)).toBe(0);
    const b = exhausted("v5.14");
    expect(dmaMapSgtable(b.dev, b.sgt, DMA_FROM_DEVICE)).toBe(-EINVAL);
  });
  it("v5.15: iommu_dma_map_sg -ENOMEM, dma_map_sgtable -ENOMEM, dma_map_sg 0", () => {
    const a = exhausted("v5.15");
    expect(iommuDmaMapSg(a.dev, a.sgt.sgl, 1, DMA_FROM_DEVICE)).toBe(-ENOMEM);
    const b = exhausted("v5.15");
    expect(dmaMapSgtable(b.dev, b.sgt, DMA_FROM_DEVICE)).toBe(-ENOMEM);
    const c = exhausted("v5.15");
    expect(dmaMapSg(c.dev, c.sgt.sgl, 1, DMA_FROM_DEVICE)).toBe(0);
  });
});

describe("dma-map-phys: v6.18 (absent in v6.17.0 busysteve/linux-6.17.0-rust-ported-c, present in v6.18.2 gfunkmonk/linux-6.18.2)", () => {
  // Rule: v6.17.0 kernel/dma/mapping.c has dma_map_page_attrs calling dma_direct_map_page / iommu_dma_map_page;
  // v6.18.2 has dma_map_phys, dma_direct_map_phys and iommu_dma_map_phys (dma_map_page_attrs wraps dma_map_phys).
  it("the change is at v6.18", () => {
    expect(CHANGE_DMA_MAP_PHYS.since).toBe("v6.18");
  });
  it("v6.17 keeps the page names, v6.18 has the phys names", () => {
    const fns = ["dma_map_page_attrs", "dma_unmap_page_attrs", "dma_direct_map_page", "iommu_dma_map_page", "iommu_dma_unmap_page"] as const;
    expect(fns.map((f) => kernelFunctionName("v6.17", f))).toEqual(["dma_map_page_attrs", "dma_unmap_page_attrs", "dma_direct_map_page", "iommu_dma_map_page", "iommu_dma_unmap_page"]);
    expect(fns.map((f) => kernelFunctionName("v6.18", f))).toEqual(["dma_map_phys", "dma_unmap_phys", "dma_direct_map_phys", "iommu_dma_map_phys", "iommu_dma_unmap_phys"]);
  });
});

describe("iommu_dma_alloc_iova, one change per step (drivers/iommu/dma-iommu.c)", () => {
  // arm64-server: the nvme 0000:02:00.0 is a PCI device behind SMMUv3, 4 KiB granule, start_pfn 1,
  // aperture end 2^48 - 1 with force_aperture; the model's IOVA space ends at pfn 2^41 - 1 (addresses below 2^53).
  const PCI = "0000:02:00.0";
  function setup(kernel: string): { dev: Device; alloc: (bytes: number, limit: number, forcedac?: boolean) => number } {
    const m = createMachine("arm64-server", { kernel });
    const dev = m.device(PCI);
    const domain = dev.iommuDomain!;
    return { dev, alloc: (bytes, limit, forcedac = false) => iommuDmaAllocIova(domain, bytes, limit, dev, { forcedac }) as number };
  }
  const P = 4096;

  it("aperture clamp at v4.9 (absent in v4.7.4 calebwilliamsd/linux-4.7.4-casio, present in v4.9.0 pengdonglin137/linux-4.9, __alloc_iova)", () => {
    expect(CHANGE_IOMMU_DMA_APERTURE_CLAMP.since).toBe("v4.9");
    // 3 pages, size-aligned to 4 pages, top-down. v4.8: limit = the 64-bit mask, only the IOVA space bounds it:
    // pfn_lo = alignDown(2^41 - 3, 4) = 2^41 - 4 -> 2^53 - 16 KiB. v4.9: limit = aperture end 2^48 - 1:
    // pfn_lo = alignDown(2^36 - 3, 4) = 2^36 - 4 -> 2^48 - 16 KiB.
    expect(setup("v4.8").alloc(3 * P, DMA_BIT_MASK(64))).toBe(2 ** 53 - 16384);
    expect(setup("v4.9").alloc(3 * P, DMA_BIT_MASK(64))).toBe(2 ** 48 - 16384);
  });

  it("PCI below-4-GiB first attempt at v4.11 (absent in v4.10.17 pengdonglin137/linux-4.10.17, present in v4.11.0 HCLS/linux-4.11, __alloc_iova)", () => {
    expect(CHANGE_IOMMU_DMA_PCI_SAC_FIRST.since).toBe("v4.11");
    // v4.10: straight to the aperture: 2^48 - 16 KiB (as above). v4.11: first below DMA_BIT_MASK(32):
    // pfn_lo = alignDown(2^20 - 3, 4) = 2^20 - 4 -> 4 GiB - 16 KiB.
    expect(setup("v4.10").alloc(3 * P, DMA_BIT_MASK(64))).toBe(2 ** 48 - 16384);
    expect(setup("v4.11").alloc(3 * P, DMA_BIT_MASK(64))).toBe(2 ** 32 - 16384);
  });

  it("power-of-two rounding at v4.12 (absent in v4.11.0 HCLS/linux-4.11, present in v4.12.0 jason50123/linux-4.12, iommu_dma_alloc_iova)", () => {
    expect(CHANGE_IOMMU_DMA_ALLOC_IOVA.since).toBe("v4.12");
    // A 3-page allocation below 4 GiB, size-aligned at 4 pages in both: pfn_lo = 2^20 - 4. v4.11 (alloc_iova with
    // iova_align(size) >> shift) reserves 3 pages, 2^20 - 4 .. 2^20 - 2; v4.12 rounds iova_len 3 < 32 up to 4
    // (alloc_iova_fast) and reserves 2^20 - 4 .. 2^20 - 1.
    for (const [kernel, pfnHi] of [
      ["v4.11", 2 ** 20 - 2],
      ["v4.12", 2 ** 20 - 1],
    ] as const) {
      const s = setup(kernel);
      expect(s.alloc(3 * P, DMA_BIT_MASK(64))).toBe(2 ** 32 - 16384);
      expect(iovaRanges(s.dev.iommuDomain!.iovad!).map((r) => [r.pfnLo, r.pfnHi])).toEqual([[2 ** 20 - 4, pfnHi]]);
    }
  });

  it("bus DMA limit at v4.19 (absent in v4.18.0 wulmx/linux-4.18, present in v4.19.1 chens37/linux-4.19.1, iommu_dma_alloc_iova)", () => {
    expect(CHANGE_IOMMU_DMA_BUS_DMA_LIMIT.since).toBe("v4.19");
    // forcedac (no 32-bit attempt), 4 pages, bus limit 2^40 - 1. v4.18: the aperture bounds it: 2^48 - 16 KiB.
    // v4.19: limit = min(2^64 - 1, 2^40 - 1): pfn_lo = 2^28 - 4 -> 2^40 - 16 KiB.
    for (const [kernel, addr] of [
      ["v4.18", 2 ** 48 - 16384],
      ["v4.19", 2 ** 40 - 16384],
    ] as const) {
      const s = setup(kernel);
      s.dev.busDmaLimit = DMA_BIT_MASK(40);
      expect(s.alloc(4 * P, DMA_BIT_MASK(64), true)).toBe(addr);
    }
  });

  it("sticky PCI 32-bit workaround at v6.6 (791c2b17fb40; absent in v6.5.0 sndrzt/linux-6.5, present in v6.6.47 Salpadding/linux-6.6-strip and v6.8.0 vivo50kff/linux-6.8)", () => {
    expect(CHANGE_IOMMU_DMA_PCI_32BIT_STICKY.since).toBe("v6.6");
    // First a 4 GiB allocation (2^20 pages): it cannot fit below 4 GiB (pfns 1 .. 2^20 - 1), so the 32-bit attempt
    // fails and it lands size-aligned at the top of the aperture: pfn 2^36 - 2^20 -> 2^48 - 2^32.
    // Then one page. v6.5 tries below 4 GiB again on every call: pfn 2^20 - 1 -> 4 GiB - 4 KiB. v6.6 cleared
    // dev->iommu->pci_32bit_workaround after the failure ("Using 48-bit DMA addresses": bits_per(2^48 - 1) = 48)
    // and goes straight to the full limit: the highest free pfn below the first allocation, 2^36 - 2^20 - 1.
    for (const [kernel, second, notices] of [
      ["v6.5", 2 ** 32 - 4096, [] as string[]],
      ["v6.6", 2 ** 48 - 2 ** 32 - 4096, [`${PCI}: Using 48-bit DMA addresses`]],
    ] as const) {
      const s = setup(kernel);
      expect(s.alloc(2 ** 32, DMA_BIT_MASK(64))).toBe(2 ** 48 - 2 ** 32);
      expect(s.alloc(P, DMA_BIT_MASK(64))).toBe(second);
      expect(s.dev.trace.ofKind("dev_notice").map((e) => e.msg)).toEqual(notices);
    }
  });
});

describe("arm64 cache routine names", () => {
  it("dcache_{clean,inval}_poc from v5.14 (absent in v5.12.9 zhangyinjun/linux-5.12.9, present in v5.14.2 Kingdo777/linux-5.14.2-faascale-host, arch/arm64/mm/cache.S)", () => {
    // Rule: v5.12.9 cache.S names the routines __clean_dcache_area_poc / __inval_dcache_area behind the local labels
    // __dma_clean_area / __dma_inv_area (the model's names); v5.14.2 names them dcache_clean_poc / dcache_inval_poc.
    expect(CHANGE_ARM64_DCACHE_POC.since).toBe("v5.14");
    expect([kernelFunctionName("v5.13", "__dma_clean_area"), kernelFunctionName("v5.13", "__dma_inv_area")]).toEqual(["__dma_clean_area", "__dma_inv_area"]);
    expect([kernelFunctionName("v5.14", "__dma_clean_area"), kernelFunctionName("v5.14", "__dma_inv_area")]).toEqual(["dcache_clean_poc", "dcache_inval_poc"]);
  });
  it("arch_sync_dma_for_device calls dcache_clean_poc itself from v6.0 (7eacf1858bc8; absent in v5.19.0 yishangzhang/linux-5.19, present in v6.0-rc1 sun363587351/linux-6.0)", () => {
    // Rule: v5.19.0 arch/arm64/mm/dma-mapping.c:arch_sync_dma_for_device calls __dma_map_area; v6.0-rc1 calls dcache_clean_poc.
    expect(CHANGE_ARM64_SYNC_CALLS_DCACHE_POC.since).toBe("v6.0");
    expect(kernelFunctionName("v5.19", "__dma_map_area")).toBe("__dma_map_area");
    expect(kernelFunctionName("v6.0", "__dma_map_area")).toBe("dcache_clean_poc");
  });
});

describe("mm boundaries", () => {
  it("arm64 generic pfn_valid at v5.16 (3de360c3fdb3; absent in v5.15.16 yashlala/fastswap-linux-5.16.16, present in v5.17-rc5 dunli/linux-5.17)", () => {
    expect(ARM64_GENERIC_PFN_VALID.since).toBe("v5.16");
    // PXS3 with RAM cut to 0x80000000..0x11f000000: the last 128 MiB section (0x118000000..0x120000000,
    // SECTION_SIZE_BITS 27) is present but its top 16 MiB is a hole memblock does not know.
    // v5.15.16 arch/arm64/mm/init.c:pfn_valid ends in memblock_is_memory(): false for the hole.
    // v5.17-rc5 generic include/linux/mmzone.h:pfn_valid: true for every pfn of a present early section.
    const hole = 0x11f000000 / 4096;
    for (const [kernel, valid] of [
      ["v5.15", false],
      ["v5.16", true],
    ] as const) {
      const p = loadPlatformProfile("uniphier-pxs3");
      p.ram = [{ base: 0x80000000, size: 0x9f000000 }];
      expect(createMachine(p, { kernel }).mm.pfnValid(hole)).toBe(valid);
    }
  });
  it("vmalloc_32 on x86-64 leaves the bad DMA32|HIGHMEM mix at v4.13 (704b862f9efd; absent in v4.12.8 liuzq71/linux-4.12.8-nanopi-m3, present in v4.13.4 shizukanaskytree/linux-4.13.4)", () => {
    expect(VMALLOC_HIGHMEM_ONLY_WITHOUT_DMA.since).toBe("v4.13");
    // Rule: v4.12 mm/vmalloc.c:__vmalloc_area_node adds __GFP_HIGHMEM to every page allocation, so
    // vmalloc_32's GFP_DMA32 | GFP_KERNEL becomes DMA32|HIGHMEM (GFP_ZONE_BAD); v4.13 adds it only without GFP_DMA/GFP_DMA32.
    const x86_64 = { is64bit: true, zones: ZONES_X86_64 };
    expect(gfpZone(vmallocPageGfp("v4.12", gfpVmalloc32("v4.12", x86_64)), x86_64.zones).bad).toBe(true);
    const v413 = gfpZone(vmallocPageGfp("v4.13", gfpVmalloc32("v4.13", x86_64)), x86_64.zones);
    expect([v413.zone, v413.bad]).toEqual(["ZONE_DMA32", false]);
  });
});

describe("CMA failure code", () => {
  it("-EBUSY from cma_range_alloc from v6.17 (absent in v6.12.0 shilei-massclouds/linux-6.12, present in v6.17.0 busysteve/linux-6.17.0-rust-ported-c)", () => {
    // Rule: v6.12 mm/cma.c:cma_alloc leaves ret = -ENOMEM when no free run is found; v6.17 cma_range_alloc starts at
    // ret = -EBUSY and returns early when count > available_count. A 2048-page request on a 1024-page (4 MiB) area fails both ways.
    expect(CMA_RANGES.since).toBe("v6.17");
    for (const [kernel, err] of [
      ["v6.16", -ENOMEM],
      ["v6.17", -EBUSY],
    ] as const) {
      const c = cmaInitReservedMem({ kernel, base: 0x2c000000, size: 4 * 1048576 }).cma!;
      expect(cmaAlloc(c, 2048, 0).ret).toBe(err);
    }
  });
});

describe("videobuf2-dma-contig exporter map", () => {
  it("skips the CPU sync from v5.4 (absent in v5.3.1 github-lvbing/linux-5.3.1, present in v5.4.0 MrJu/linux-5.4, vb2_dc_dmabuf_ops_map)", () => {
    expect(CHANGE_VB2_DMABUF_SKIP_SYNC.since).toBe("v5.4");
    // Rule: v5.3.1 maps the attachment's table with plain dma_map_sg, so a non-coherent importer's dma_map_sg
    // does cache maintenance on the pages (page work); v5.4.0 passes DMA_ATTR_SKIP_CPU_SYNC: no page is touched.
    // MT8173: the vcodec at 16020000 exports a 64 KiB buffer, the (non-coherent) vcodec at 18002000 imports it.
    for (const [kernel, touches] of [
      ["v5.3", true],
      ["v5.4", false],
    ] as const) {
      const m = createMachine("mt8173-evb", { kernel });
      const buf = vb2DcAlloc(m.device("16020000.vcodec"), 65536)!;
      const r = vb2DcImportDmabuf(m.device("18002000.vcodec"), vb2DcGetDmabuf(buf) as DmaBuf);
      expect(r.ok).toBe(true);
      expect(r.ok && r.pageWork.length > 0).toBe(touches);
    }
  });
});
