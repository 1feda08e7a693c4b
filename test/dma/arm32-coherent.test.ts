import { describe, expect, it } from "vitest";
import { arm32CoherentBoot, arm32DmaAllocCoherent, arm32DmaFreeCoherentCma } from "../../lib/dma/arm32-coherent.js";
import { linearMapAttrAt, linearMapGranuleAt } from "../../lib/mm/arm32-sections.js";

const MiB = 1048576;

describe("case 03 on the Raspberry Pi 2 (2-level tables, DT CMA 64 MiB at 0x2c000000)", () => {
  it("boot: 768 one-MiB sections, the CMA area rebuilt with 4 KiB PTEs, the 256 KiB pool taken from CMA", () => {
    const b = arm32CoherentBoot("bcm2836-rpi-2-b");
    // lowmem 0x30000000 / 1 MiB = 768 sections.
    expect(b.map.sections).toBe(768);
    // 64 MiB: 32 pmd_clear steps of 2 words, 16384 PTEs.
    expect([b.bootRemap.entriesCleared, b.bootRemap.ptesWritten]).toEqual([64, 16384]);
    // the pool: get_order(256 KiB) = 6, first 64 pages of the area; page_address = 0xc0000000 + phys.
    expect([b.pool.backing, b.pool.mapping, b.pool.phys, b.pool.virt]).toEqual(["cma", "dma_remap", 0x2c000000, 0xec000000]);
    expect(linearMapAttrAt(b.map, 0, 0x2c000000)).toBe("noncacheable");
    expect(linearMapAttrAt(b.map, 0, 0x2c040000)).toBe("cacheable");
    expect(linearMapGranuleAt(b.map, 0x2bf00000)).toBe("section");
  });

  it("GFP_ATOMIC takes the pool; more than 256 KiB fails", () => {
    const b = arm32CoherentBoot("bcm2836-rpi-2-b");
    const a = arm32DmaAllocCoherent(b, 100, { allowBlock: false });
    expect([a.allocator, a.phys, a.size, a.cost]).toEqual(["pool", 0x2c000000, 4096, null]);
    const big = arm32DmaAllocCoherent(b, 512 * 1024, { allowBlock: false });
    expect([big.allocator, big.phys]).toEqual(["pool", null]);
    // coherent_pool=1M makes it fit.
    const b2 = arm32CoherentBoot("bcm2836-rpi-2-b", { coherentPool: "1M" });
    expect(arm32DmaAllocCoherent(b2, 512 * 1024, { allowBlock: false }).phys).not.toBeNull();
  });

  it("GFP_KERNEL takes CMA: 1 MiB = 256 PTEs rewritten and one TLB flush, whatever the number of processes", () => {
    for (const processes of [0, 200]) {
      const b = arm32CoherentBoot("bcm2836-rpi-2-b", { processes });
      const a = arm32DmaAllocCoherent(b, MiB, { allowBlock: true });
      // order 8 (256 pages) <= CMA_ALIGNMENT 8: mask 255; pages 0..63 hold the pool, so the first aligned run is at page 256.
      expect([a.allocator, a.phys]).toEqual(["cma", 0x2c000000 + MiB]);
      expect(a.cost).toEqual({ mechanism: "dma_remap", entriesWritten: 256, tlbFlushCalls: 1, tlbiOps: 256, processesTouched: 1, stopMachine: false, collateralBytes: 0 });
      const f = arm32DmaFreeCoherentCma(b, a.phys!, MiB);
      expect(f.released).toBe(true);
      expect(f.cost!.entriesWritten).toBe(256);
      expect(linearMapAttrAt(b.map, 0, 0x2c100000)).toBe("cacheable");
    }
  });

  it("without CMA: the pool comes from remapped pages and GFP_KERNEL uses the remap allocator", () => {
    const b = arm32CoherentBoot("bcm2836-rpi-2-b", { noCma: true, allocPages: () => 0x20000000 });
    expect([b.cma, b.pool.backing, b.bootRemap.ptesWritten]).toEqual([null, "remap", 0]);
    expect(arm32DmaAllocCoherent(b, MiB, { allowBlock: true }).allocator).toBe("remap");
    expect(linearMapGranuleAt(b.map, 0x2c000000)).toBe("section");
  });
});

describe("case 03 on the Odroid-XU4 with LPAE (2 MiB blocks, CMA 64 MiB at 0xa9400000)", () => {
  it("boot and one CMA allocation", () => {
    const b = arm32CoherentBoot("exynos5422-odroidxu4", { kernel: "v6.19" });
    // (0xb0000000 - 0x40000000) / 2 MiB = 896 blocks; LPAE pmd_clear: one entry per 2 MiB -> 32.
    expect([b.map.sectionSize, b.map.sections, b.bootRemap.entriesCleared]).toEqual([2 * MiB, 896, 32]);
    expect(b.pool.phys).toBe(0xa9400000);
    const a = arm32DmaAllocCoherent(b, 64 * 1024, { allowBlock: true });
    // order 4 (16 pages): mask 15, first free aligned run after the pool's 64 pages: page 64.
    expect(a.phys).toBe(0xa9400000 + 64 * 4096);
    expect(a.cost!.entriesWritten).toBe(16);
  });
});
