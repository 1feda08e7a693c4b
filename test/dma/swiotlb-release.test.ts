/**
 * Releasing bounce slots from an address inside a mapping.
 *
 * Rules (kernel/dma/swiotlb.c):
 * - v6.19 swiotlb_release_slots: index = slot of (tlb_addr - offset),
 *   moved back by that slot's pad_slots; nslots = nr_slots(alloc_size of
 *   THAT slot + offset). Map time stores in each slot the bytes left from it
 *   to the end of the allocation: an 8 KiB mapping at slot 0 records 8192,
 *   6144, 4096, 2048. An unmap at handle + 2048 frees slots 1..3 (6144 /
 *   2048 = 3); slot 0 stays in use.
 * - v5.4.6 swiotlb_tbl_unmap_single (reached from dma_direct_unmap_page with
 *   alloc_size = the unmap's size): frees ALIGN(2048, 2048) / 2048 = 1 slot
 *   from the slot of handle + 2048; slots 0, 2, 3 stay in use.
 * - dma-debug (kernel/dma/debug.c check_unmap): handle + 2048 is no entry:
 *   "device driver tries to free DMA memory it has not allocated".
 * - A later unmap of the real handle would make the kernel free slots that
 *   are already free (used count below the slots in use): the model refuses
 *   it with a ModelConfigError and changes nothing.
 */
import { describe, expect, it } from "vitest";
import { createMachine } from "../../lib/platform/machine.js";
import { dmaMapPage, dmaUnmapPage } from "../../lib/dma/mapping.js";
import { swiotlbOf, swiotlbUsed } from "../../lib/dma/swiotlb.js";
import { enableDmaDebug } from "../../lib/dma/debug.js";
import { activeMappings } from "../../lib/dma/state.js";
import { DMA_TO_DEVICE } from "../../lib/core/dma-types.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import type { DmaAddr } from "../../lib/core/addr.js";

describe("unmap at an address inside a bounced 8 KiB mapping", () => {
  for (const [kernel, freed] of [["v6.19", 3], ["v5.4", 1]] as const) {
    it(`${kernel}: frees ${freed} slot(s) as the release computes them, dma-debug reports it, the pool never goes wrong`, () => {
      const m = createMachine("x86-64-pc", { kernel, swiotlb: { force: true } });
      const dev = m.device("0000:00:1a.0");
      enableDmaDebug(m);
      const h = dmaMapPage(dev, 0x100, 0, 8192, DMA_TO_DEVICE); // phys 1 MiB, 4 slots of 2 KiB
      const mem = swiotlbOf(m)!;
      expect(swiotlbUsed(mem)).toBe(4);
      dmaUnmapPage(dev, (h + 2048) as DmaAddr, 2048, DMA_TO_DEVICE);
      expect(swiotlbUsed(mem)).toBe(4 - freed);
      const dbg = m.trace.events().filter((e) => e.fn === "dma_debug" && e.msg.includes("has not allocated"));
      expect(dbg).toHaveLength(1);
      // the real handle: its release would cover freed slots; refused, nothing changes
      const before = JSON.stringify({ list: Array.from(mem.defpool.list.slice(0, 8)), used: swiotlbUsed(mem), n: activeMappings(m).length });
      expect(() => dmaUnmapPage(dev, h, 8192, DMA_TO_DEVICE)).toThrow(ModelConfigError);
      expect(() => dmaUnmapPage(dev, h, 8192, DMA_TO_DEVICE)).toThrow(/tlbAddr/);
      const after = JSON.stringify({ list: Array.from(mem.defpool.list.slice(0, 8)), used: swiotlbUsed(mem), n: activeMappings(m).length });
      expect(after).toBe(before);
      expect(swiotlbUsed(mem)).toBeGreaterThanOrEqual(0);
      // a second unmap at the freed address: its slot is free (a double unmap), refused
      expect(() => dmaUnmapPage(dev, (h + 2048) as DmaAddr, 2048, DMA_TO_DEVICE)).toThrow(ModelConfigError);
      expect(swiotlbUsed(mem)).toBe(4 - freed);
    });
  }
});

describe("iommu-dma: unmaps that would leave the IOVA allocator and the page table disagreeing are refused", () => {
  // v6.19 __iommu_dma_unmap: unmaps iova_align(size + offset) from the granule of the handle and frees that
  // many granules (free_iova_fast). mt8173-evb vcodec: 4 KiB granule; top-down allocation from 0xffffffff.
  it("an address inside a live 2-granule mapping, and a size spanning 3 granules at its handle", async () => {
    const { createMachine: cm } = await import("../../lib/platform/machine.js");
    const { iommuActiveMappings } = await import("../../lib/iommu/dma-iommu.js");
    const m = cm("mt8173-evb", { kernel: "v6.19" });
    const dev = m.device("16020000.vcodec");
    const h = dmaMapPage(dev, 0x50000, 0, 4097, DMA_TO_DEVICE); // 2 granules
    const mapped = dev.iommuDomain!.pgtable.mappedBytes;
    expect(mapped).toBe(8192);
    expect(() => dmaUnmapPage(dev, (h + 4096) as DmaAddr, 4096, DMA_TO_DEVICE)).toThrow(/dmaUnmapPage\(addr\)/);
    expect(() => dmaUnmapPage(dev, h, 8193, DMA_TO_DEVICE)).toThrow(/dmaUnmapPage\(size\)/);
    expect(dev.iommuDomain!.pgtable.mappedBytes).toBe(8192);
    // 8000 bytes: still 2 granules, the span the kernel frees is the mapped one (dma-debug reports the size)
    dmaUnmapPage(dev, h, 8000, DMA_TO_DEVICE);
    expect(iommuActiveMappings(dev)).toEqual([]);
    expect(dev.iommuDomain!.pgtable.mappedBytes).toBe(0);
  });
});
