import { describe, expect, it } from "vitest";
import { createMachine } from "../../lib/platform/machine.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { GFP_KERNEL, fmtGfp } from "../../lib/mm/gfp.js";
import { buddyOf } from "../../lib/mm/page-alloc.js";
import { dmaCoherentOk, dmaDirectAllocPagesExplain, dmaDirectOptimalGfpMask } from "../../lib/dma/direct-alloc.js";
import { dmaAllocNoncontiguous, dmaAllocPages, dmaAllocSgWhatIf, dmaFreeNoncontiguous, dmaFreePages, dmaVmapNoncontiguous } from "../../lib/dma/noncontiguous.js";
import { DMA_FROM_DEVICE } from "../../lib/core/dma-types.js";

const MiB = 2 ** 20;
const CARD = "0000:03:00.0";
const machine = (kernel: string, vtd = false) => createMachine(vtd ? "x86-64-pc-8g-vtd" : "x86-64-pc-8g", { kernel });

describe("dma_direct_optimal_gfp_mask and dma_coherent_ok", () => {
  it("picks GFP_DMA at or below zone_dma_limit (16 MiB - 1), GFP_DMA32 at or below 4 GiB - 1, else nothing", () => {
    const m = machine("v6.19");
    const d = m.device(CARD);
    expect(fmtGfp(dmaDirectOptimalGfpMask(d).gfp)).toBe("__GFP_DMA32");
    d.coherentDmaMask = 2 ** 24 - 1;
    expect(fmtGfp(dmaDirectOptimalGfpMask(d).gfp)).toBe("__GFP_DMA");
    d.coherentDmaMask = 2 ** 40 - 1;
    expect(fmtGfp(dmaDirectOptimalGfpMask(d).gfp)).toBe("0");
  });

  it("dma_coherent_ok: the last byte at or below the coherent limit", () => {
    const d = machine("v6.19").device(CARD);
    expect(dmaCoherentOk(d, 0xfffff000, 4096)).toBe(true); // last byte 0xffffffff
    expect(dmaCoherentOk(d, 0xfffff000, 4097)).toBe(false);
    expect(dmaCoherentOk(d, 2 ** 32, 1)).toBe(false);
  });

  it("retries with GFP_DMA32 when the first page is beyond a 33-bit limit", () => {
    const m = machine("v6.19");
    const d = m.device(CARD);
    d.coherentDmaMask = 2 ** 33 - 1; // 8 GiB - 1: no zone flag (above 4 GiB)
    // Pin ZONE_NORMAL below 8 GiB: 4 GiB / 4 MiB = 1024 order-10 blocks, lowest first.
    const al = buddyOf(m);
    for (let i = 0; i < 1024; i++) expect(al.alloc(GFP_KERNEL, 10)! * 4096).toBe(2 ** 32 + i * 4 * MiB);
    const r = dmaDirectAllocPagesExplain(d, 4096);
    // try 1: GFP_KERNEL -> 8 GiB (not ok, freed); try 2: + GFP_DMA32 -> ZONE_DMA32 from 48 MiB
    expect(r.tries.length).toBe(2);
    expect(r.tries[1]).toContain("__GFP_DMA32");
    expect(r.pfn! * 4096).toBe(48 * MiB);
  });
});

describe("dma_alloc_pages (v5.10)", () => {
  it("does not exist before v5.10", () => {
    expect(() => dmaAllocPages(machine("v5.9").device(CARD), 4096, DMA_FROM_DEVICE)).toThrow(ModelConfigError);
  });

  it("dma-direct: pages below the 32-bit mask, handle = phys; free returns them", () => {
    const m = machine("v5.10");
    const d = m.device(CARD);
    const al = buddyOf(m);
    const before = al.freePageCount();
    const p = dmaAllocPages(d, 8192, DMA_FROM_DEVICE)!;
    expect(p.via).toBe("dma-direct");
    expect(p.dmaHandle).toBe(48 * MiB);
    dmaFreePages(d, p);
    expect(al.freePageCount()).toBe(before);
  });

  it("dma-iommu: a ZONE_NORMAL page above 4 GiB behind an IOVA below 4 GiB", () => {
    const d = machine("v5.10", true).device(CARD);
    const p = dmaAllocPages(d, 4096, DMA_FROM_DEVICE)!;
    expect(p.via).toBe("dma-iommu");
    expect(p.pfn * 4096).toBe(2 ** 32);
    expect(p.dmaHandle).toBeLessThanOrEqual(0xffffffff - 4095);
  });
});

describe("dma_alloc_noncontiguous (v5.13)", () => {
  it("does not exist before v5.13; the dma_alloc_sg what-if does", () => {
    const d = machine("v5.12").device(CARD);
    expect(() => dmaAllocNoncontiguous(d, MiB, DMA_FROM_DEVICE)).toThrow(ModelConfigError);
    const a = dmaAllocSgWhatIf(d, MiB, DMA_FROM_DEVICE)!;
    expect(a.whatIf).toBe(true);
    // As proposed: 256 single pages, one DMA segment each (no contiguity), all below the 32-bit mask.
    expect(a.sgt.nents).toBe(256);
    expect(a.sgt.sgl.every((e) => e.dmaLength === 4096 && (e.dmaAddress as number) + 4095 <= 0xffffffff)).toBe(true);
  });
});

describe("dma_alloc_sg (Wilcox 2018, never merged): a scatterlist of pages the device can address", () => {
  it("no IOMMU, 32-bit mask: every page from ZONE_DMA32 (below 4 GiB), one sg entry per page; freeing gives them back", () => {
    const m = machine("v4.19");
    const d = m.device(CARD);
    const free0 = buddyOf(m).freePageCount();
    const a = dmaAllocSgWhatIf(d, 64 * 1024 + 100, DMA_FROM_DEVICE)!;
    // ceil((65536 + 100) / 4096) = 17 pages; the last DMA segment is 100 bytes.
    expect(a.pfns.length).toBe(17);
    expect(a.sgt.nents).toBe(17);
    expect(a.pfns.every((p) => p * 4096 + 4095 <= 0xffffffff)).toBe(true);
    expect(a.sgt.sgl[16]!.dmaLength).toBe(100);
    expect(buddyOf(m).freePageCount()).toBe(free0 - 17);
    expect(dmaVmapNoncontiguous(d, a)).not.toBe(m.mm.linearAddress(a.pfns[0]! * 4096)); // a vmap of the pages
    dmaFreeNoncontiguous(d, a);
    expect(buddyOf(m).freePageCount()).toBe(free0);
  });
  it("no contiguity needed: 40 MiB works where dma_alloc_noncontiguous (one block, at most 4 MiB) fails", () => {
    const d = machine("v6.19").device(CARD);
    expect(dmaAllocNoncontiguous(d, 40 * MiB, DMA_FROM_DEVICE)).toBeNull();
    expect(dmaAllocSgWhatIf(d, 40 * MiB, DMA_FROM_DEVICE)!.sgt.nents).toBe(40 * 256);
  });
  it("with an IOMMU the pages come from anywhere and are mapped in one IOVA range below the mask", () => {
    const d = machine("v4.19", true).device(CARD);
    const a = dmaAllocSgWhatIf(d, MiB, DMA_FROM_DEVICE)!;
    expect(a.via).toBe("dma-iommu");
    expect(a.sgt.nents).toBe(1);
    expect((a.sgt.sgl[0]!.dmaAddress as number) + MiB - 1).toBeLessThanOrEqual(0xffffffff);
  });

  it("dma-direct: one contiguous block as a one-entry table; vmap = the linear address", () => {
    const m = machine("v6.19");
    const d = m.device(CARD);
    const a = dmaAllocNoncontiguous(d, MiB, DMA_FROM_DEVICE)!;
    expect(a.via).toBe("dma-direct");
    expect(a.sgt.origNents).toBe(1);
    expect(a.sgt.nents).toBe(1);
    expect(a.sgt.sgl[0]!.dmaAddress).toBe(48 * MiB); // 2^8-page block, aligned, lowest in DMA32
    expect(a.sgt.sgl[0]!.dmaLength).toBe(MiB);
    expect(dmaVmapNoncontiguous(d, a)).toBe(m.mm.linearAddress(48 * MiB));
  });

  it("dma-direct cannot give more than the top buddy order (4 MiB) without CMA", () => {
    const d = machine("v6.19").device(CARD);
    expect(dmaAllocNoncontiguous(d, 4 * MiB, DMA_FROM_DEVICE)).not.toBeNull();
    expect(dmaAllocNoncontiguous(d, 4 * MiB + 1, DMA_FROM_DEVICE)).toBeNull();
  });

  it("dma-iommu: single pages above 4 GiB, one DMA segment below 4 GiB, vmapped contiguously; free restores", () => {
    const m = machine("v6.19", true);
    const d = m.device(CARD);
    const al = buddyOf(m);
    const before = al.freePageCount();
    const a = dmaAllocNoncontiguous(d, 8 * MiB, DMA_FROM_DEVICE)!;
    expect(a.via).toBe("dma-iommu");
    expect(a.pfns.length).toBe(2048);
    expect(a.pfns.every((p) => p * 4096 >= 2 ** 32)).toBe(true);
    expect(a.sgt.origNents).toBe(2048);
    expect(a.sgt.nents).toBe(1);
    const iova = a.sgt.sgl[0]!.dmaAddress;
    expect(iova + 8 * MiB - 1).toBeLessThanOrEqual(0xffffffff);
    const va = dmaVmapNoncontiguous(d, a)!;
    expect(m.mm.isVmallocAddr(va)).toBe(true);
    for (const i of [0, 1, 2047]) expect(m.mm.translate(va + i * 4096)!.pa).toBe(a.pfns[i]! * 4096);
    dmaFreeNoncontiguous(d, a);
    expect(al.freePageCount()).toBe(before);
    expect(() => dmaFreeNoncontiguous(d, a)).toThrow(ModelConfigError);
  });
});
