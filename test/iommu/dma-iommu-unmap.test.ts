import { describe, expect, it } from "vitest";
import { createMachine } from "../../lib/platform/machine.js";
import { iommuDmaMapPage, iommuDmaUnmapPage, iommuDmaMapSg, iommuDmaUnmapSg, CHANGE_IOMMU_DMA_SIZED_UNMAP } from "../../lib/iommu/dma-iommu.js";
import { iommuIovaToPhys } from "../../lib/iommu/io-pgtable.js";
import { iovaRanges } from "../../lib/iommu/iova.js";
import { sgTableFromEntries } from "../../lib/sg/scatterlist.js";
import { DMA_TO_DEVICE } from "../../lib/core/dma-types.js";
import type { Pfn } from "../../lib/core/addr.js";

// Rule (drivers/iommu/dma-iommu.c:__iommu_dma_unmap):
// - v4.4.1 .. v4.11.0 (HCLS/linux-4.11): no size argument; find_iova(dma_addr >> shift) gives the
//   allocation and iova_size(iova) granules are unmapped from the handle's granule, then the whole
//   allocation is freed. iommu_dma_unmap_page/_sg ignore size/nents.
// - v4.12.0 (jason50123/linux-4.12) on: the caller's size (plus the in-granule offset), aligned to the
//   granule, is unmapped and freed.
const DEC = "16020000.vcodec";
const PHYS = 0x50000000;
const PG = 4096;

function mapThreePages(kernel: string) {
  const m = createMachine("mt8173-evb", { kernel });
  const dev = m.device(DEC);
  const dom = dev.iommuDomain!;
  const h = iommuDmaMapPage(dev, PHYS, 3 * PG, DMA_TO_DEVICE) as number;
  // Three 4 KiB granules mapped: handle, +4K, +8K point at PHYS, +4K, +8K.
  expect([0, 1, 2].map((i) => iommuIovaToPhys(dom, h + i * PG))).toEqual([PHYS, PHYS + PG, PHYS + 2 * PG]);
  return { m, dev, dom, h };
}

describe(`__iommu_dma_unmap size (${CHANGE_IOMMU_DMA_SIZED_UNMAP.id}, ${CHANGE_IOMMU_DMA_SIZED_UNMAP.since})`, () => {
  it("v4.4: unmapping 3 mapped pages with size 4096 tears down all three (the allocation's size wins)", () => {
    const { dev, dom, h } = mapThreePages("v4.4");
    const ptesBefore = dom.pgtable.ptes.size;
    const n = iommuDmaUnmapPage(dev, h, PG, DMA_TO_DEVICE);
    expect(n).toBe(3 * PG);
    expect([0, 1, 2].map((i) => iommuIovaToPhys(dom, h + i * PG))).toEqual([null, null, null]);
    expect(dom.pgtable.ptes.size).toBe(ptesBefore - 3);
    expect(iovaRanges(dom.iovad!).length).toBe(0);
  });

  it("v4.4: a handle one granule into the allocation unmaps iova_size granules from there (past the end), WARNs, frees the allocation, and leaves granule 0 mapped", () => {
    const { dev, dom, h } = mapThreePages("v4.4");
    // find_iova(pfn of h + 4K) = the 3-granule allocation; iommu_unmap(h + 4K, 3 * 4K) clears granules 1 and 2,
    // stops at the unmapped granule 3: 8 KiB unmapped, size > 0 left -> WARN_ON; __free_iova frees all 3 granules.
    expect(iommuDmaUnmapPage(dev, h + PG, PG, DMA_TO_DEVICE)).toBe(2 * PG);
    expect([0, 1, 2].map((i) => iommuIovaToPhys(dom, h + i * PG))).toEqual([PHYS, null, null]);
    expect(iovaRanges(dom.iovad!).length).toBe(0);
    expect(dev.trace.events().some((e) => e.fn === "__iommu_dma_unmap" && e.level === "warn")).toBe(true);
  });

  it("v4.11 (last release without the size): same whole-allocation unmap", () => {
    const { dev, dom, h } = mapThreePages("v4.11");
    expect(iommuDmaUnmapPage(dev, h, PG, DMA_TO_DEVICE)).toBe(3 * PG);
    expect([0, 1, 2].map((i) => iommuIovaToPhys(dom, h + i * PG))).toEqual([null, null, null]);
  });

  it("v4.12: the caller's size is honoured, so a too-small unmap leaves the other two PTEs live", () => {
    const { dev, dom, h } = mapThreePages("v4.12");
    expect(iommuDmaUnmapPage(dev, h, PG, DMA_TO_DEVICE)).toBe(PG);
    // iova_align(4096 + 0) = one granule unmapped; granules 2 and 3 still translate.
    expect([0, 1, 2].map((i) => iommuIovaToPhys(dom, h + i * PG))).toEqual([null, PHYS + PG, PHYS + 2 * PG]);
  });

  it("v4.4 unmap_sg ignores nents: the whole IOVA allocation of a 2-entry list goes with nents = 1", () => {
    const m = createMachine("mt8173-evb", { kernel: "v4.4" });
    const dev = m.device(DEC);
    const dom = dev.iommuDomain!;
    const sgt = sgTableFromEntries([
      { pfn: (PHYS / PG) as Pfn, offset: 0, length: PG },
      { pfn: ((PHYS + 0x100000) / PG) as Pfn, offset: 0, length: PG },
    ]);
    expect(iommuDmaMapSg(dev, sgt.sgl, 2, DMA_TO_DEVICE)).toBe(2);
    const a0 = sgt.sgl[0]!.dmaAddress as number;
    const a1 = sgt.sgl[1]!.dmaAddress as number;
    // v4.4 padding: entry 1 (4K) is at +4K, the allocation covers 2 granules.
    expect(a1 - a0).toBe(PG);
    iommuDmaUnmapSg(dev, sgt.sgl, 1, DMA_TO_DEVICE);
    expect([iommuIovaToPhys(dom, a0), iommuIovaToPhys(dom, a1)]).toEqual([null, null]);
    expect(iovaRanges(dom.iovad!).length).toBe(0);
  });
});
