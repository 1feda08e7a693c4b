import { describe, expect, it } from "vitest";
import { createMachine } from "../../lib/platform/machine.js";
import { dmaAllocAttrs, dmaFreeCoherent } from "../../lib/dma/mapping.js";
import { dmaGenericPoolsOf } from "../../lib/dma/direct-alloc.js";

// dma-direct's generic atomic pools for non-blocking requests of a non-coherent device on a
// DMA_DIRECT_REMAP arch (arm64): kernel/dma/direct.c dma_direct_alloc (v5.10.89: CONFIG_DMA_COHERENT_POOL,
// !gfpflags_allow_blocking, DMA_DIRECT_REMAP && !dev_is_dma_coherent -> dma_direct_alloc_from_pool);
// v5.4: arch_dma_alloc in kernel/dma/remap.c -> dma_alloc_from_pool.
//
// arm64-server: RAM 2 GiB at 0x80000000 and 16 GiB at 0x8000000000 = 18 GiB = 4718592 pages; no DMA offset.
// The machine's zones: ZONE_DMA32 [0x80000000, 4 GiB), ZONE_NORMAL above (no RAM below 1 GiB, so no ZONE_DMA pages).
// The page source's first block is 16 MiB above the lowest RAM: 0x81000000.
function arm64(kernel: string) {
  const m = createMachine("arm64-server", { kernel });
  const dev = m.device("0000:01:00.0");
  dev.dmaCoherent = false; // the profile's device is coherent; the pools serve non-coherent ones
  return { m, dev };
}

describe("arm64 dma-direct: GFP_ATOMIC from the generic atomic pools", () => {
  it("v6.19: pools sized 128 KiB per GiB, each expanded by one order-10 block; a 64-bit device takes atomic_pool_kernel", () => {
    const { m, dev } = arm64("v6.19");
    const a = dmaAllocAttrs(dev, 4096, 0, { blocking: false })!;
    const p = dmaGenericPoolsOf(dev);
    // atomic_pool_size = 4718592 / 8192 = 576 pages = 2359296 bytes (below MAX_ORDER_NR_PAGES = 1024 pages).
    expect(p.atomicPoolSize).toBe(576 * 4096);
    // atomic_pool_expand: order min(get_order(2359296) = 10, MAX_PAGE_ORDER 10) = 4 MiB per pool; created kernel
    // (0x81000000) then dma32 (0x81400000); no ZONE_DMA pages, no dma pool.
    expect(p.poolSize).toEqual({ dma: 0, dma32: 4194304, kernel: 4194304 });
    expect(a.how).toBe("atomic-pool");
    expect(a.dmaHandle).toBe(0x81000000);
    expect(m.mm.isVmallocAddr(a.cpuAddr)).toBe(true); // dma_common_contiguous_remap
    // a blocking request still gets fresh pages (after the two 4 MiB pool blocks) remapped in vmalloc space.
    const b = dmaAllocAttrs(dev, 4096)!;
    expect(b.how).toBe("remap");
    expect(b.dmaHandle).toBe(0x81800000);
    // free: dma_free_from_pool; the block is reused.
    dmaFreeCoherent(dev, 4096, a.cpuAddr, a.dmaHandle);
    expect(dmaAllocAttrs(dev, 4096, 0, { blocking: false })!.dmaHandle).toBe(0x81000000);
  });

  it("v5.4: one 256 KiB pool (kernel/dma/remap.c), then NULL when it is full", () => {
    const { dev } = arm64("v5.4");
    const first = dmaAllocAttrs(dev, 131072, 0, { blocking: false })!;
    expect(first.dmaHandle).toBe(0x81000000);
    expect(dmaGenericPoolsOf(dev).single).toBe(true);
    expect(dmaAllocAttrs(dev, 131072, 0, { blocking: false })!.dmaHandle).toBe(0x81020000);
    expect(dmaAllocAttrs(dev, 4096, 0, { blocking: false })).toBeNull();
  });

  it("a coherent device ignores the pools (no remap needed): plain pages from the linear map", () => {
    const m = createMachine("arm64-server", { kernel: "v6.19" });
    const b = dmaAllocAttrs(m.device("0000:01:00.0"), 4096, 0, { blocking: false })!;
    expect(b.how).toBe("linear-map");
    expect(b.dmaHandle).toBe(0x81000000);
  });

  it("x86-64 (no DMA_DIRECT_REMAP): non-blocking is the same as blocking", () => {
    const a = createMachine("x86-64-pc", { kernel: "v6.19" });
    const b = createMachine("x86-64-pc", { kernel: "v6.19" });
    const dn = [...a.devices.keys()][0]!;
    expect(dmaAllocAttrs(a.device(dn), 8192, 0, { blocking: false })).toEqual(dmaAllocAttrs(b.device(dn), 8192));
  });
});
