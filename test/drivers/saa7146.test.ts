import { describe, expect, it } from "vitest";
import { createMachine } from "../../lib/platform/machine.js";
import { KernelOops } from "../../lib/core/errors.js";
import type { DmaAddr } from "../../lib/core/addr.js";
import type { Scatterlist } from "../../lib/sg/scatterlist.js";
import { SAA7146_PGTABLE_ENTRIES, iommuOwnDmaOps, saa7146BuildTables, saa7146DriverTable, saa7146PgtableAlloc, saa7146PgtableBuildSingle, saa7146PageAddresses } from "../../lib/drivers/saa7146.js";
import { loadPlatformProfile } from "../../lib/platform/profile.js";

const card = () => createMachine("x86-64-pc-8g", { kernel: "v4.19" }).device("0000:03:00.0");
function seg(dma: number, len: number, offset = 0): Scatterlist {
  return { pfn: null, offset, length: len, dmaAddress: dma as DmaAddr, dmaLength: len, isLast: false, dmaBusAddress: false };
}

describe("saa7146_pgtable_alloc", () => {
  it("is one coherent page below the 32-bit coherent mask", () => {
    const pt = saa7146PgtableAlloc(card())!;
    expect(pt.size).toBe(4096);
    expect(pt.dma + 4095).toBeLessThanOrEqual(0xffffffff);
    expect(pt.entries.length).toBe(1024);
  });
});

describe("saa7146_pgtable_build_single", () => {
  it("writes one entry per 4096 bytes of each segment, then fills with the last entry", () => {
    const d = card();
    const pt = saa7146PgtableAlloc(d)!;
    // segment 0: 8192 bytes at 0x1000 -> 0x1000, 0x2000; segment 1: 4096 at 0x10000 -> 0x10000
    expect(saa7146PgtableBuildSingle(d, pt, [seg(0x1000, 8192), seg(0x10000, 4096)], 2)).toBe(0);
    expect(pt.nrPages).toBe(3);
    expect(pt.entries.slice(0, 4)).toEqual([0x1000, 0x2000, 0x10000, 0x10000]);
    expect(pt.entries[1023]).toBe(0x10000);
    expect(pt.truncated).toBe(0);
  });

  it("a partial last page still gets an entry (p * 4096 < length)", () => {
    const d = card();
    const pt = saa7146PgtableAlloc(d)!;
    saa7146PgtableBuildSingle(d, pt, [seg(0x5000, 4097)], 1);
    expect(pt.nrPages).toBe(2);
  });

  it("stores a DMA address above 4 GiB truncated to 32 bits (cpu_to_le32) and records a fault", () => {
    const d = card();
    const pt = saa7146PgtableAlloc(d)!;
    saa7146PgtableBuildSingle(d, pt, [seg(0x100003000, 4096)], 1);
    expect(pt.entries[0]).toBe(0x3000); // 0x1_0000_3000 mod 2^32
    expect(pt.truncated).toBe(1);
    expect(d.trace.events().some((e) => e.kind === "dma_addr_truncated" && e.level === "fault")).toBe(true);
  });

  it("BUG_ONs on sglen 0 and on a first offset above PAGE_SIZE, and refuses to overrun the table", () => {
    const d = card();
    const pt = saa7146PgtableAlloc(d)!;
    expect(() => saa7146PgtableBuildSingle(d, pt, [seg(0, 4096)], 0)).toThrow(KernelOops);
    expect(() => saa7146PgtableBuildSingle(d, pt, [seg(0, 4096, 4097)], 1)).toThrow(KernelOops);
    expect(() => saa7146PgtableBuildSingle(d, pt, [seg(0, 1025 * 4096)], 1)).toThrow(KernelOops);
  });
});

describe("page address lists and multiple tables", () => {
  it("expands merged segments into 4 KiB device pages and cuts them into 1024-entry tables", () => {
    const d = card();
    // one 64 KiB IOMMU segment -> 16 pages
    expect(saa7146PageAddresses([seg(0xffff0000, 65536)], 1)).toEqual(Array.from({ length: 16 }, (_, i) => 0xffff0000 + i * 4096));
    const addrs = Array.from({ length: 1500 }, (_, i) => 0x100000 + i * 4096);
    const t = saa7146BuildTables(d, addrs)!;
    expect(t.length).toBe(2);
    expect(t[0]!.nrPages).toBe(SAA7146_PGTABLE_ENTRIES);
    expect(t[1]!.nrPages).toBe(1500 - 1024);
    expect(t[1]!.entries[1023]).toBe(0x100000 + 1499 * 4096);
  });
});

describe("saa7146 page table from a merged list (e56429b09d5e, v5.13: sg_dma_len instead of sg->length)", () => {
  // Rule: saa7146_pgtable_build_single loops while p * 4096 < list->length in v5.11.0 (CompressionDuck),
  // while p * 4096 < sg_dma_len(list) in v5.14.2 (Kingdo777). The research's worked example: three
  // 4 KiB CPU entries merged by the IOMMU into one 12 KiB DMA segment at IOVA 0xfff00000 (slen 1).
  function merged(): Scatterlist[] {
    const a = seg(0xfff00000, 4096);
    a.dmaLength = 3 * 4096;
    const b = seg(0, 4096);
    b.dmaLength = 0;
    const c = seg(0, 4096);
    c.dmaLength = 0;
    return [a, b, c];
  }
  it("v5.12: one entry (entry 0 = the IOVA), filled: frame pages 2 and 3 land on page 1", () => {
    const d = createMachine("x86-64-pc-8g", { kernel: "v5.12" }).device("0000:03:00.0");
    const pt = saa7146PgtableAlloc(d)!;
    saa7146PgtableBuildSingle(d, pt, merged(), 1);
    expect(pt.nrPages).toBe(1);
    expect(pt.entries.slice(0, 3)).toEqual([0xfff00000, 0xfff00000, 0xfff00000]);
    const t = saa7146DriverTable(d, merged(), 1, 3);
    expect(t.written).toBe(1);
    expect(t.misdirected).toBe(2); // pages 1 and 2 should be at +4K and +8K
  });
  it("v5.13: three entries iova, +4K, +8K, then the fill with +8K", () => {
    const d = createMachine("x86-64-pc-8g", { kernel: "v5.13" }).device("0000:03:00.0");
    const pt = saa7146PgtableAlloc(d)!;
    saa7146PgtableBuildSingle(d, pt, merged(), 1);
    expect(pt.entries.slice(0, 4)).toEqual([0xfff00000, 0xfff01000, 0xfff02000, 0xfff02000]);
    expect(saa7146DriverTable(d, merged(), 1, 3).misdirected).toBe(0);
  });
  it("IOMMU drivers on dma-iommu (the merging map_sg): VT-d from v5.11 (5.10.89/5.11.0), AMD from v5.5 (5.4.0/5.6.4)", () => {
    const vtd = (k: string) => createMachine("x86-64-pc-8g-vtd", { kernel: k }).device("0000:03:00.0");
    expect(iommuOwnDmaOps(vtd("v5.10"))).toBe("intel_dma_ops (intel_map_sg)");
    expect(iommuOwnDmaOps(vtd("v5.11"))).toBeNull();
    const amd = (k: string) => {
      const p = loadPlatformProfile("x86-64-pc-8g-vtd");
      // amd-iommu's pgsize_bitmap comes from its driver table (every power of two from 4K but 512G): drop VT-d's list.
      p.iommus = p.iommus.map((u) => ({ ...u, driver: "amd-iommu", pageSizes: undefined }));
      return createMachine(p, { kernel: k }).device("0000:03:00.0");
    };
    expect(iommuOwnDmaOps(amd("v5.4"))).toBe("amd_iommu_dma_ops (map_sg)");
    expect(iommuOwnDmaOps(amd("v5.5"))).toBeNull();
    expect(iommuOwnDmaOps(card())).toBeNull();
  });
});
