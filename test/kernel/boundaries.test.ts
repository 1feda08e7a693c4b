/**
 * Release boundaries (issue 9): each registered change is tested on both
 * sides of its release, with the rule and the two trees that bracket it
 * (see the change's `bracket` and docs/ARCHITECTURE.md "Release boundaries").
 * Expected values come from the rule stated in each test, not from the model.
 */
import { describe, expect, it } from "vitest";
import type { Pfn } from "../../lib/core/addr.js";
import { EINVAL, ENOMEM } from "../../lib/core/errno.js";
import { DMA_FROM_DEVICE } from "../../lib/core/dma-types.js";
import { createMachine } from "../../lib/platform/machine.js";
import type { Device } from "../../lib/platform/device.js";
import { sgTableFromEntries, type SgTable } from "../../lib/sg/scatterlist.js";
import { iommuDmaMapSg } from "../../lib/iommu/dma-iommu.js";
import { dmaMapSg, dmaMapSgtable } from "../../lib/dma/mapping.js";
import { CHANGE_DMA_MAP_PHYS, CHANGE_MAP_SG_ERRNO, kernelFunctionName } from "../../lib/kernel/api-changes.js";

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
