/**
 * Zero-length mappings on dma-direct, as each release maps them.
 *
 * Kernel rules (trees: hxb-gt/linux-5.4.6, matankalina/linux-6.19.10-fork):
 * - no size check: kernel/dma/direct.c:dma_direct_map_sg (v5.4.6, v6.19)
 *   maps every entry with sg->length, 0 included (v5.4.6 through
 *   dma_direct_map_page, v6.19 through kernel/dma/direct.h:dma_direct_map_phys),
 *   and sets sg_dma_len = sg->length = 0;
 * - include/linux/dma-direct.h:dma_capable (v5.4.6, v6.19): end = addr + size - 1
 *   in dma_addr_t, so size 0 at address 0 wraps to 2^64 - 1 (not capable,
 *   bounced) while size 0 at mask + 1 gives end = mask (capable);
 * - a bounce of 0 bytes takes 0 slots and BUGs: v5.4.6
 *   kernel/dma/swiotlb.c:swiotlb_tbl_map_single BUG_ON(!nslots) with
 *   nslots = ALIGN(alloc_size, IO_TLB_SIZE) >> IO_TLB_SHIFT = 0; v6.19
 *   kernel/dma/swiotlb.c:swiotlb_search_pool_area BUG_ON(!nslots) with
 *   nslots = nr_slots(mapping_size + offset) = 0 (no min_align_mask);
 * - no swiotlb pool: v5.4.6 swiotlb_map "Cannot do DMA to address" (swiotlb=noforce),
 *   v6.19 dma_direct_map_phys "DMA addr ... overflow": DMA_MAPPING_ERROR, and
 *   dma_direct_map_sg unmaps what it mapped and returns 0 (v5.4.6) / -EIO (v6.19);
 * - dma-debug: kernel/dma/debug.c:debug_dma_map_page (v5.4.6) /
 *   debug_dma_map_phys (v6.19) record an entry of size 0; check_unmap reports
 *   an unmap whose size differs ("different size").
 */
import { describe, expect, it } from "vitest";
import * as L from "../../lib/index.js";
import { snapshot } from "../fuzz/snapshot.js";

const KERNELS = ["v5.4", "v6.19"] as const;

describe("zero-length scatterlist entries and pages on dma-direct", () => {
  for (const kernel of KERNELS) {
    it(`${kernel}: a zero-length sg entry is mapped with dma_length 0 (coherent x86 device)`, () => {
      const m = L.createMachine("x86-64-pc", { kernel });
      L.enableDmaDebug(m);
      const dev = m.device("0000:00:1a.0");
      const sgt = L.sgTableFromEntries([{ pfn: 0x100 as L.Pfn, offset: 0, length: 4096 }, { pfn: 0x102 as L.Pfn, offset: 16, length: 0 }]);
      expect(L.dmaMapSg(dev, sgt.sgl, 2, L.DMA_TO_DEVICE)).toBe(2);
      // x86 phys_to_dma is the identity: 0x102 * 4096 + 16 = 0x102010; end = 0x10200f <= 0xffffffff (capable, no bounce)
      expect(sgt.sgl[1]!.dmaAddress).toBe(0x102010);
      expect(sgt.sgl[1]!.dmaLength).toBe(0);
      expect(L.activeMappings(m).map((a) => [a.dmaAddr, a.size, a.bounced])).toEqual([[0x100000, 4096, false], [0x102010, 0, false]]);
      L.dmaUnmapSg(dev, sgt.sgl, 2, L.DMA_TO_DEVICE);
      expect(L.activeMappings(m)).toEqual([]);
      expect(L.dmaDebugOf(m)!.reports).toEqual([]);
    });

    it(`${kernel}: size 0 at mask + 1 is dma_capable (end = mask), size 1 there bounces`, () => {
      const m = L.createMachine("x86-64-pc", { kernel });
      const dev = m.device("0000:00:1a.0"); // 32-bit mask
      const h0 = L.dmaMapPage(dev, 0x100000, 0, 0, L.DMA_TO_DEVICE); // phys 2^32
      expect(h0).toBe(2 ** 32);
      expect(L.activeMappings(m)[0]!.bounced).toBe(false);
      const h1 = L.dmaMapPage(dev, 0x100000, 0, 1, L.DMA_TO_DEVICE); // end = 2^32 > mask: bounced
      expect(h1).not.toBe(2 ** 32);
      expect(L.activeMappings(m)[1]!.bounced).toBe(true);
      L.dmaUnmapPage(dev, h0, 0, L.DMA_TO_DEVICE);
      L.dmaUnmapPage(dev, h1, 1, L.DMA_TO_DEVICE);
      expect(L.activeMappings(m)).toEqual([]);
      expect(L.swiotlbUsed(L.swiotlbOf(m)!)).toBe(0);
    });

    it(`${kernel}: size 0 at address 0 is not dma_capable and the 0-slot bounce is the kernel's BUG`, () => {
      const m = L.createMachine("x86-64-pc", { kernel, swiotlb: { size: 2 ** 20 } });
      const dev = m.device("0000:00:1a.0");
      const mem = L.swiotlbOf(m)!;
      L.activeMappings(m); // the streaming state exists before the snapshot
      const before = snapshot([mem, m.dmaStreaming]);
      expect(() => L.dmaMapPage(dev, 0, 0, 0, L.DMA_TO_DEVICE)).toThrow(L.KernelOops);
      expect(m.trace.ofKind("oops").map((e) => e.fn)).toEqual([kernel === "v5.4" ? "swiotlb_tbl_map_single" : "swiotlb_search_pool_area"]);
      expect(snapshot([mem, m.dmaStreaming])).toBe(before);
    });

    it(`${kernel}: swiotlb=force and a zero-length entry: BUG in the slot search`, () => {
      const m = L.createMachine("x86-64-pc", { kernel, swiotlb: { force: true, size: 2 ** 20 } });
      const dev = m.device("0000:00:1a.0");
      expect(() => L.dmaMapPage(dev, 0x100, 8, 0, L.DMA_FROM_DEVICE)).toThrow(/BUG_ON\(!nslots\)/);
      expect(L.swiotlbUsed(L.swiotlbOf(m)!)).toBe(0);
    });

    it(`${kernel}: no swiotlb pool: the zero-length entry at address 0 fails the whole map_sg, nothing stays mapped`, () => {
      const m = L.createMachine("x86-64-pc", { kernel, swiotlb: { noforce: true } });
      const dev = m.device("0000:00:1a.0");
      const sgt = L.sgTableFromEntries([{ pfn: 0x100 as L.Pfn, offset: 0, length: 4096 }, { pfn: 0 as L.Pfn, offset: 0, length: 0 }]);
      // dma_direct_map_sg out_unmap: 0 before v5.15 (v5.4.6), -EIO (-5) from v5.15 (v6.19);
      // dma_map_sg_attrs returns 0 for either (v6.19 kernel/dma/mapping.c turns a negative result into 0)
      expect(L.dmaDirectMapSg(dev, sgt.sgl, 2, L.DMA_TO_DEVICE)).toBe(kernel === "v5.4" ? 0 : -5);
      expect(L.activeMappings(m)).toEqual([]);
      expect(L.dmaMapSg(dev, sgt.sgl, 2, L.DMA_TO_DEVICE)).toBe(0);
      expect(L.activeMappings(m)).toEqual([]);
      expect(L.dmaMappingError(L.dmaMapPage(dev, 0, 0, 0, L.DMA_TO_DEVICE))).toBe(true);
    });

    it(`${kernel}: dma-debug keeps a size-0 entry: unmap with size 0 is clean, with another size "different size"`, () => {
      const m = L.createMachine("x86-64-pc", { kernel });
      L.enableDmaDebug(m);
      const dev = m.device("0000:00:1a.0");
      const a = L.dmaMapPage(dev, 0x100, 0, 0, L.DMA_TO_DEVICE);
      L.dmaMappingErrorFor(dev, a);
      const b = L.dmaMapPage(dev, 0x200, 0, 0, L.DMA_TO_DEVICE);
      L.dmaMappingErrorFor(dev, b);
      L.dmaUnmapPage(dev, a, 0, L.DMA_TO_DEVICE);
      expect(L.dmaDebugOf(m)!.reports).toEqual([]);
      L.dmaUnmapPage(dev, b, 4096, L.DMA_TO_DEVICE);
      expect(L.dmaDebugOf(m)!.reports.map((r) => r.id)).toEqual(["free-wrong-size"]);
    });
  }

  it("a non-coherent device: 0 bytes that would be synced are refused (the arch's empty-range maintenance still touches a line), with DMA_ATTR_SKIP_CPU_SYNC mapped", () => {
    const m = L.createMachine("bcm2836-rpi-2-b", { kernel: "v6.19" });
    const dev = m.device("3f980000.usb");
    const before = snapshot(m);
    expect(() => L.dmaMapPage(dev, 0x100, 8, 0, L.DMA_TO_DEVICE)).toThrow(/size/);
    const sgt = L.sgTableFromEntries([{ pfn: 0x100 as L.Pfn, offset: 0, length: 4096 }, { pfn: 0x102 as L.Pfn, offset: 0, length: 0 }]);
    expect(() => L.dmaMapSg(dev, sgt.sgl, 2, L.DMA_TO_DEVICE)).toThrow(L.ModelConfigError);
    expect(snapshot(m)).toBe(before);
    const h = L.dmaMapPageAttrs(dev, 0x100, 8, 0, L.DMA_TO_DEVICE, L.DMA_ATTR_SKIP_CPU_SYNC);
    expect(L.dmaMappingError(h)).toBe(false);
    L.dmaUnmapPageAttrs(dev, h, 0, L.DMA_TO_DEVICE, L.DMA_ATTR_SKIP_CPU_SYNC);
    expect(L.activeMappings(m)).toEqual([]);
  });

  it("iommu-dma: size 0 is refused with the argument named (not modelled there)", () => {
    const m = L.createMachine("mt8173-evb", { kernel: "v6.19" });
    const dev = m.device("16020000.vcodec");
    const before = snapshot(m);
    expect(() => L.dmaMapPage(dev, 0x50000, 0, 0, L.DMA_TO_DEVICE)).toThrow(/dmaMapPage\(size\)/);
    expect(snapshot(m)).toBe(before);
  });
});
