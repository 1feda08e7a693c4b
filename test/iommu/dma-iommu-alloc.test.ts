/**
 * dma_alloc_attrs for a device behind an IOMMU DMA domain: iommu_dma_alloc
 * (drivers/iommu/dma-iommu.c, v6.19; v5.4.6; arm64 __iommu_alloc_attrs v4.4.1),
 * iommu_dma_free, iommu_dma_get_sgtable and iommu_dma_mmap.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import type { VirtAddr } from "../../lib/core/addr.js";
import { ENXIO } from "../../lib/core/errno.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { DMA_ATTR_ALLOC_SINGLE_PAGES, DMA_ATTR_FORCE_CONTIGUOUS } from "../../lib/core/dma-types.js";
import { createMachine, type Machine } from "../../lib/platform/machine.js";
import { pageSourceOf } from "../../lib/mm/page-source.js";
import { cpuRead } from "../../lib/model/actions.js";
import { createSgTable } from "../../lib/sg/scatterlist.js";
import { dmaAllocAttrs, dmaAllocCoherent, dmaFreeCoherent, dmaGetSgtable, dmaMmapAttrs, getSgtablePaths } from "../../lib/dma/mapping.js";
import { iommuDmaAlloc, iommuDmaFindAlloc, iommuDmaFree, iommuDmaGetSgtable, type IommuCoherentBuffer } from "../../lib/iommu/dma-iommu-alloc.js";
import { iommuDeviceRead } from "../../lib/iommu/dma-iommu.js";
import { iommuIovaToPhys } from "../../lib/iommu/io-pgtable.js";
import { iovaRanges } from "../../lib/iommu/iova.js";
import { iovaRangesInUse } from "../../lib/iommu/iova-rcache.js";

const DEC = "16020000.vcodec";
const PS = 4096;

function mt8173(kernel = "v6.19"): Machine {
  return createMachine("mt8173-evb", { kernel });
}

function mt8173Coherent(kernel = "v6.19"): Machine {
  const p = JSON.parse(readFileSync("data/platforms/mt8173-evb.json", "utf8"));
  p.id = "mt8173-coherent";
  for (const d of p.devices) d.dmaCoherent = true;
  return createMachine(p, { kernel });
}

/** Every page of the buffer: contiguous in IOVA space, and the CPU mapping reaches the same pages. */
function checkPlacement(m: Machine, b: IommuCoherentBuffer): void {
  const dom = m.device(DEC).iommuDomain!;
  for (let i = 0; i < b.pages.length; i++) {
    expect(iommuIovaToPhys(dom, b.dmaHandle + i * PS)).toBe(b.pages[i]! * PS);
    expect(m.mm.translate(b.cpuAddr + i * PS)!.pa).toBe(b.pages[i]! * PS);
  }
}

describe("iommu_dma_alloc_remap (blocking, no DMA_ATTR_FORCE_CONTIGUOUS)", () => {
  it("12388 bytes: 4 single pages, one IOVA range below the coherent mask, a vmalloc-space CPU address", () => {
    const m = mt8173();
    const dev = m.device(DEC);
    const b = dmaAllocCoherent(dev, 3 * PS + 100) as IommuCoherentBuffer;
    // PAGE_ALIGN(12388) / 4096 = 4 pages. The M4U's page sizes are 4K/64K/1M/16M: orders 0, 4, 8
    // (16M = order 12 > MAX_PAGE_ORDER 10); with 4 pages left only order 0 fits (2^4 = 16 > 4).
    expect(b.path).toBe("iommu_dma_alloc_remap");
    expect(b.pages.length).toBe(4);
    // IOVA: 4 pages (a power of two already), size-aligned, top-down below DMA_BIT_MASK(32):
    // pfn alignDown(0x100000 - 4, 4) = 0xffffc -> 0xffffc000; last byte 0xffffffff <= the mask.
    expect(b.dmaHandle).toBe(0xffffc000);
    expect(b.dmaHandle + 4 * PS - 1).toBeLessThanOrEqual(dev.coherentDmaMask);
    expect(m.mm.isVmallocAddr(b.cpuAddr)).toBe(true);
    expect(b.how).toBe("remap");
    // dma_pgprot for a non-coherent arm64 device: Normal-NC ("wc").
    expect(m.mm.translate(b.cpuAddr)!.prot).toBe("wc");
    checkPlacement(m, b);
  });

  it("a coherent device also gets a remapped (vmalloc) buffer on this path, mapped cacheable", () => {
    const m = mt8173Coherent();
    const b = dmaAllocCoherent(m.device(DEC), 8192) as IommuCoherentBuffer;
    expect(b.path).toBe("iommu_dma_alloc_remap");
    expect(m.mm.isVmallocAddr(b.cpuAddr)).toBe(true);
    expect(m.mm.translate(b.cpuAddr)!.prot).toBe("normal");
    checkPlacement(m, b);
  });

  it("128 KiB: 64 KiB blocks (order 4) first, each naturally aligned, mapped with 64 KiB IOMMU pages", () => {
    const m = mt8173();
    const dev = m.device(DEC);
    const before = dev.iommuDomain!.pgtable.pteWrites;
    const b = iommuDmaAlloc(dev, 128 * 1024)!;
    // 32 pages: the largest usable order is 4 (64K; order 8 = 256 pages > 32): two blocks of 16 pages.
    expect(b.pages.length).toBe(32);
    for (const blk of [0, 16]) {
      expect(b.pages[blk]! % 16).toBe(0);
      for (let i = 1; i < 16; i++) expect(b.pages[blk + i]).toBe(b.pages[blk]! + i);
    }
    // IOVA: 32 pages, size-aligned: alignDown(0x100000 - 32, 32) = 0xfffe0 -> 0xfffe0000 (128K aligned).
    expect(b.dmaHandle).toBe(0xfffe0000);
    // iommu_map_sg (v5.0+ physical merging): each 64K run is 64K-aligned in IOVA and physical
    // space, so iommu_pgsize picks 64K pages: 2 pages, and io-pgtable-arm-v7s writes a 64K large
    // page as 16 level-2 entries (ARM_V7S_CONT_PAGES, arm_v7s_init_pte): 2 x 16 = 32 PTE writes.
    expect(dev.iommuDomain!.pgtable.pteWrites - before).toBe(2 * 16);
    expect([...dev.iommuDomain!.pgtable.ptes.values()].filter((p) => p.iova >= b.dmaHandle && p.iova < b.dmaHandle + 128 * 1024).map((p) => p.size)).toEqual([65536, 65536]);
    checkPlacement(m, b);
  });

  it("DMA_ATTR_ALLOC_SINGLE_PAGES: only order-0 pages", () => {
    const m = mt8173();
    const b = dmaAllocAttrs(m.device(DEC), 64 * 1024, DMA_ATTR_ALLOC_SINGLE_PAGES) as IommuCoherentBuffer;
    expect(b.pages.length).toBe(16);
    checkPlacement(m, b);
  });

  it("the buffer is zeroed and, after arch_dma_prep_coherent, the device and the NC CPU mapping see the same data (no hazard)", () => {
    const m = mt8173();
    const dev = m.device(DEC);
    const b = dmaAllocCoherent(dev, 4096)!;
    const cpu = cpuRead(m, b.cpuAddr, 4096);
    const devSees = iommuDeviceRead(dev, b.dmaHandle, 4096)!;
    // The zeroing (a CPU write through the cacheable linear alias) reached memory: arch_dma_prep_coherent
    // cleaned it, so the uncached (Normal-NC) CPU mapping and the non-snooping device both see the CPU's token.
    expect(cpu.every((r) => r.label.startsWith("cpu:"))).toBe(true);
    expect(cpu.map((r) => r.label)).toEqual(devSees.map((r) => r.label));
    expect(m.cpuCache.hazards).toEqual([]);
  });
});

describe("DMA_ATTR_FORCE_CONTIGUOUS: iommu_dma_alloc_pages + __iommu_dma_map", () => {
  it("non-coherent: one physically contiguous block, remapped in vmalloc space; IOVA below the coherent mask", () => {
    const m = mt8173();
    const dev = m.device(DEC);
    const b = dmaAllocAttrs(dev, 8192, DMA_ATTR_FORCE_CONTIGUOUS) as IommuCoherentBuffer;
    expect(b.path).toBe("iommu_dma_alloc_pages");
    expect(b.pages[1]).toBe(b.pages[0]! + 1);
    expect(b.pages[0]! % 2).toBe(0); // get_order(8192) = 1: an order-1 block
    // __iommu_dma_map: 2 pages, size-aligned top-down: 0xffffe000.
    expect(b.dmaHandle).toBe(0xffffe000);
    expect(m.mm.isVmallocAddr(b.cpuAddr)).toBe(true);
    checkPlacement(m, b);
  });

  it("coherent: the linear-map address of the block (page_address)", () => {
    const m = mt8173Coherent();
    const b = dmaAllocAttrs(m.device(DEC), 8192, DMA_ATTR_FORCE_CONTIGUOUS) as IommuCoherentBuffer;
    expect(b.how).toBe("linear-map");
    expect(b.cpuAddr).toBe(m.mm.linearAddress(b.pages[0]! * PS));
    checkPlacement(m, b);
  });

  it("a non-blocking request from a coherent device takes the contiguous path", () => {
    const m = mt8173Coherent();
    const b = iommuDmaAlloc(m.device(DEC), 4096, 0, { blocking: false })!;
    expect(b.path).toBe("iommu_dma_alloc_pages");
  });
});

describe("iommu_dma_free", () => {
  it("unmaps the IOVA, removes the vmalloc mapping and gives the pages back; the next allocation reuses the IOVA", () => {
    const m = mt8173();
    const dev = m.device(DEC);
    const used0 = pageSourceOf(m.mm).usedPages();
    const b = dmaAllocCoherent(dev, 20000)!;
    expect(pageSourceOf(m.mm).usedPages() - used0).toBe(5); // PAGE_ALIGN(20000) / 4096 = 5 single pages
    dmaFreeCoherent(dev, 20000, b.cpuAddr, b.dmaHandle);
    expect(iommuIovaToPhys(dev.iommuDomain!, b.dmaHandle)).toBeNull();
    expect(iovaRangesInUse(dev.iommuDomain!.iovad!)).toEqual([]); // freed: gone, or parked in an rcache magazine (v4.12+ free_iova_fast)
    expect(m.mm.translate(b.cpuAddr)).toBeNull();
    expect(pageSourceOf(m.mm).usedPages()).toBe(used0);
    expect(iommuDmaFindAlloc(dev, b.cpuAddr)).toBeNull();
    const c = dmaAllocCoherent(dev, 20000)!;
    expect(c.dmaHandle).toBe(b.dmaHandle);
  });

  it("a wrong handle, size or CPU address is rejected before anything changes", () => {
    const m = mt8173();
    const dev = m.device(DEC);
    const b = dmaAllocCoherent(dev, 8192)!;
    const snap = () => [pageSourceOf(m.mm).usedPages(), dev.iommuDomain!.pgtable.ptes.size, iovaRanges(dev.iommuDomain!.iovad!).length, m.mm.translate(b.cpuAddr)?.pa, m.trace.length];
    const before = snap();
    expect(() => dmaFreeCoherent(dev, 8192, b.cpuAddr, (b.dmaHandle + 4096) as never)).toThrow(ModelConfigError);
    expect(() => dmaFreeCoherent(dev, 3 * 4096, b.cpuAddr, b.dmaHandle)).toThrow(/size/);
    expect(() => iommuDmaFree(dev, 8192, (b.cpuAddr + 4096) as VirtAddr, b.dmaHandle)).toThrow(/cpuAddr/);
    expect(snap()).toEqual(before);
  });
});

describe("iommu_dma_get_sgtable / iommu_dma_mmap", () => {
  it("a remapped buffer: the table comes from the page array (contiguous pages merge); mmap maps pages[pgoff...]", () => {
    const m = mt8173();
    const dev = m.device(DEC);
    const b = dmaAllocCoherent(dev, 128 * 1024) as IommuCoherentBuffer;
    const sgt = createSgTable();
    expect(dmaGetSgtable(dev, sgt, b.cpuAddr, b.dmaHandle, 128 * 1024)).toBe(0);
    expect(getSgtablePaths.get(sgt)!.path).toBe("iommu_dma_get_sgtable: page array (dma_common_find_pages)");
    // sg_alloc_table_from_pages: one entry per physically contiguous run of the page array.
    let runs = 1;
    for (let i = 1; i < b.pages.length; i++) if (b.pages[i] !== b.pages[i - 1]! + 1) runs++;
    expect(sgt.origNents).toBe(runs);
    expect(sgt.sgl.slice(0, sgt.origNents).reduce((s, e) => s + e.length, 0)).toBe(128 * 1024);
    expect(sgt.sgl[0]!.pfn).toBe(b.pages[0]);
    const mm = dmaMmapAttrs(dev, b.cpuAddr, b.dmaHandle, 128 * 1024, 2, 3);
    expect(mm).toEqual({ ret: 0, pfn: b.pages[3], path: "iommu_dma_mmap: vm_map_pages" });
    expect(dmaMmapAttrs(dev, b.cpuAddr, b.dmaHandle, 128 * 1024, 2, 31).ret).toBe(-ENXIO); // 2 pages > 32 - 31
  });

  it("a contiguous (FORCE_CONTIGUOUS) remapped buffer has no page array: v6.19 vmalloc_to_page, one entry; v4.4 -ENXIO (arm64 __iommu_get_sgtable)", () => {
    for (const [k, ret] of [
      ["v6.19", 0],
      ["v4.4", -ENXIO],
    ] as const) {
      const m = mt8173(k);
      const dev = m.device(DEC);
      const b = dmaAllocAttrs(dev, 8192, DMA_ATTR_FORCE_CONTIGUOUS) as IommuCoherentBuffer;
      const sgt = createSgTable();
      const r = iommuDmaGetSgtable(dev, sgt, b.cpuAddr, b.dmaHandle, 8192);
      expect(r.ret).toBe(ret);
      if (ret === 0) {
        expect(r.path).toBe("vmalloc_to_page");
        expect(sgt.sgl.map((e) => [e.pfn, e.length])).toEqual([[b.pages[0], 8192]]);
      } else {
        expect(sgt.sgl).toEqual([]);
      }
    }
  });
});

describe("bad input to iommu_dma_alloc is rejected with the model unchanged", () => {
  it("size 0, a non-blocking request from a non-coherent device (atomic pool not modelled), a device without an IOMMU", () => {
    const m = mt8173();
    const dev = m.device(DEC);
    const snap = () => [pageSourceOf(m.mm).usedPages(), dev.iommuDomain!.pgtable.ptes.size, iovaRanges(dev.iommuDomain!.iovad!).length, m.trace.length];
    const before = snap();
    expect(() => dmaAllocCoherent(dev, 0)).toThrow(/size/);
    expect(() => iommuDmaAlloc(dev, 0)).toThrow(/size/);
    expect(() => iommuDmaAlloc(dev, 4096, 0, { blocking: false })).toThrow(/blocking/);
    const bbb = createMachine("am335x-beaglebone-black");
    expect(() => iommuDmaAlloc(bbb.device("47401c00.usb"), 4096)).toThrow(/iommuDomain/);
    expect(snap()).toEqual(before);
  });
});
