/**
 * iommu-dma with the per-CPU rcaches, the flush queue, the IOTLB and the
 * counters (lib/iommu/dma-iommu.ts, lib/iommu/domain.ts). Expected values
 * come from the kernel rules written next to each check.
 */
import { describe, expect, it } from "vitest";
import { createMachine, machineAdvanceTime } from "../../lib/platform/machine.js";
import { iommuDmaDefaultStrict, iommuDomainCounters, iommuDomainStrict } from "../../lib/iommu/domain.js";
import { iommuDmaFreeIova, iommuDmaMapPage, iommuDmaUnmapPage, iommuDeviceRead } from "../../lib/iommu/dma-iommu.js";
import { iommuMap, IOMMU_READ } from "../../lib/iommu/io-pgtable.js";
import { iovaRanges } from "../../lib/iommu/iova.js";
import { DMA_TO_DEVICE } from "../../lib/core/dma-types.js";
import { ModelConfigError } from "../../lib/core/errors.js";

const PG = 4096;
const PHYS = 0x80000000; // a RAM page of both boards (8 GiB at 2 GiB on arm64-server; mt8173 RAM starts at 0x40000000)

function mt(kernel: string) {
  const m = createMachine("mt8173-evb", { kernel });
  return { m, dev: m.device("16020000.vcodec") };
}
function smmu(kernel: string, strict?: boolean) {
  const m = createMachine("arm64-server", { kernel, ...(strict !== undefined ? { iommu: { strict } } : {}) });
  return { m, dev: m.device("0000:02:00.0") };
}

describe("rcaches through iommu_dma_map_page / unmap (iommu-dma-alloc-iova-rcache, v4.12)", () => {
  for (const kernel of ["v5.4", "v6.19"]) {
    it(`${kernel}: a freed 4 KiB IOVA comes back from CPU 0's magazine`, () => {
      const { dev } = mt(kernel);
      const d = dev.iommuDomain!;
      const a = iommuDmaMapPage(dev, PHYS, PG, DMA_TO_DEVICE);
      iommuDmaUnmapPage(dev, a, PG, DMA_TO_DEVICE);
      // free_iova_fast parks the pfn in CPU 0's order-0 magazine; the range stays in the rbtree.
      expect(iovaRanges(d.iovad!).length).toBe(1);
      const b = iommuDmaMapPage(dev, PHYS + PG, PG, DMA_TO_DEVICE);
      expect(b).toBe(a);
      const c = iommuDomainCounters(d);
      // first map: rbtree (magazine empty); second: magazine hit.
      expect([c.iovaAllocSlow, c.iovaAllocFast, c.iovaFree]).toEqual([1, 1, 1]);
    });
  }
  it("v4.11: alloc_iova / __free_iova only, no magazine (dma-iommu does not use the rcaches before v4.12)", () => {
    const { dev } = mt("v4.11");
    const d = dev.iommuDomain!;
    const a = iommuDmaMapPage(dev, PHYS, PG, DMA_TO_DEVICE);
    iommuDmaUnmapPage(dev, a, PG, DMA_TO_DEVICE);
    expect(iovaRanges(d.iovad!)).toEqual([]);
    iommuDmaMapPage(dev, PHYS, PG, DMA_TO_DEVICE);
    const c = iommuDomainCounters(d);
    expect([c.iovaAllocSlow, c.iovaAllocFast]).toEqual([2, 0]);
  });
  it("another CPU's magazine is not searched: CPU 1 gets a new range from the rbtree", () => {
    const { dev } = mt("v6.19");
    const a = iommuDmaMapPage(dev, PHYS, PG, DMA_TO_DEVICE, 0, { cpu: 0 });
    iommuDmaUnmapPage(dev, a, PG, DMA_TO_DEVICE, 0, { cpu: 0 });
    const b = iommuDmaMapPage(dev, PHYS, PG, DMA_TO_DEVICE, 0, { cpu: 1 });
    expect(b).not.toBe(a);
    expect(() => iommuDmaMapPage(dev, PHYS, PG, DMA_TO_DEVICE, 0, { cpu: 4 })).toThrow(ModelConfigError); // 4 CPUs: 0..3
  });
});

describe("iommuDmaFreeIova", () => {
  it("v6.19: frees with the caller's size (free_iova_fast files it by order_base_2(size))", () => {
    const { dev } = mt("v6.19");
    const d = dev.iommuDomain!;
    const a = iommuDmaMapPage(dev, PHYS, 3 * PG, DMA_TO_DEVICE); // 3 pages rounded to 4
    expect(iommuDmaFreeIova(d, a, 3 * PG)).toBe(3 * PG);
    expect(d.iovad!.rcaches!.rcaches[2]!.cpu[0]!.loaded.size).toBe(1); // order_base_2(3) = 2
  });
  it("rejects a NaN, fractional, negative or huge dmaAddr and a bad size by name, before any change", () => {
    const { dev } = mt("v6.19");
    const d = dev.iommuDomain!;
    const a = iommuDmaMapPage(dev, PHYS, PG, DMA_TO_DEVICE);
    const before = JSON.stringify(iovaRanges(d.iovad!));
    for (const bad of [NaN, 1.5, -1, 2 ** 60]) expect(() => iommuDmaFreeIova(d, bad, PG)).toThrow(/iommuDmaFreeIova\(dmaAddr\)/);
    for (const bad of [NaN, 0.5, -PG, 2 ** 60]) expect(() => iommuDmaFreeIova(d, a, bad)).toThrow(/iommuDmaFreeIova\(size\)/);
    expect(JSON.stringify(iovaRanges(d.iovad!))).toBe(before);
  });
});

describe("strict vs lazy (iommu-dma-non-strict v4.20, iommu-default-dma-lazy v5.15)", () => {
  it("defaults: v6.19 arm64 SMMU strict, x86 VT-d lazy; v5.14 SMMU strict, VT-d lazy; mtk-iommu always strict", () => {
    expect(iommuDmaDefaultStrict("v6.19", "arm-smmu-v3", "arm64")).toBe(true);
    expect(iommuDmaDefaultStrict("v6.19", "intel-iommu", "x86_64")).toBe(false);
    expect(iommuDmaDefaultStrict("v5.14", "arm-smmu-v3", "arm64")).toBe(true);
    expect(iommuDmaDefaultStrict("v5.14", "intel-iommu", "x86_64")).toBe(false);
    expect(iommuDmaDefaultStrict("v6.19", "mtk-iommu", "arm64")).toBe(true);
  });
  it("iommu.strict=0 before v4.20 leaves an SMMU domain strict (no flush queue in dma-iommu)", () => {
    expect(iommuDomainStrict(smmu("v4.19", false).dev.iommuDomain!)).toBe(true);
    expect(iommuDomainStrict(smmu("v4.20", false).dev.iommuDomain!)).toBe(false);
  });
  it("strict: 300 map/unmap pairs = 300 range invalidations, no flush-all, every IOVA freed at once", () => {
    const { dev } = smmu("v6.19", true);
    for (let i = 0; i < 300; i++) iommuDmaUnmapPage(dev, iommuDmaMapPage(dev, PHYS, PG, DMA_TO_DEVICE), PG, DMA_TO_DEVICE);
    const c = iommuDomainCounters(dev.iommuDomain!);
    expect([c.iotlbInvalidateRange, c.iotlbInvalidateAll, c.fqQueued, c.iovaFree]).toEqual([300, 0, 0, 300]);
  });
  it("lazy: with a 256-slot ring (full at 255 entries) the 256th queue_iova flushes once and frees 255; the timer (3 jiffies at HZ 250) frees the other 45", () => {
    const { m, dev } = smmu("v6.19", false);
    const d = dev.iommuDomain!;
    for (let i = 0; i < 300; i++) iommuDmaUnmapPage(dev, iommuDmaMapPage(dev, PHYS, PG, DMA_TO_DEVICE), PG, DMA_TO_DEVICE);
    let c = iommuDomainCounters(d);
    expect([c.iotlbInvalidateRange, c.fqQueued, c.fqFlushes, c.iotlbInvalidateAll, c.iovaFree]).toEqual([0, 300, 1, 1, 255]);
    // HZ 250: msecs_to_jiffies(10) = ceil(10 * 250 / 1000) = 3 jiffies; the timer fires at tick (armed jiffy + 3), at most 3 * 4 ms = 12 ms after arming.
    machineAdvanceTime(m, 12_000_000);
    c = iommuDomainCounters(d);
    expect([c.fqFlushes, c.iotlbInvalidateAll, c.iovaFree]).toEqual([2, 2, 300]);
  });
});

describe("IOTLB and page sizes", () => {
  it("a device read through the domain: the first access to a page misses, the second hits", () => {
    const { dev } = smmu("v6.19", true);
    const a = iommuDmaMapPage(dev, PHYS, PG, DMA_TO_DEVICE);
    iommuDeviceRead(dev, a, 64);
    iommuDeviceRead(dev, a + 64, 64);
    const c = iommuDomainCounters(dev.iommuDomain!);
    expect([c.iotlbMisses, c.iotlbHits]).toEqual([1, 1]);
  });
  it("SMMU 4K granule {4K, 2M, 1G}: a 2 MiB-aligned 4 MiB mapping is two 2 MiB PTEs; size 0 maps nothing and returns 0", () => {
    const { dev } = smmu("v6.19", true);
    const d = dev.iommuDomain!;
    const w0 = d.pgtable.pteWrites;
    expect(iommuMap(d, 0x40000000, 0x80000000, 0x400000, IOMMU_READ)).toBe(0);
    expect(d.pgtable.pteWrites - w0).toBe(2);
    expect([...d.pgtable.ptes.values()].map((p) => p.size)).toEqual([0x200000, 0x200000]);
    expect(iommuMap(d, 0x50000000, 0x90000000, 0, IOMMU_READ)).toBe(0);
    expect(d.pgtable.pteWrites - w0).toBe(2);
  });
});

describe("lazy unmap of a size of another order (queue_iova keeps it; fq_ring_free's free_iova_fast files it by that order)", () => {
  it("v6.19 lazy: an 8 KiB mapping unmapped as 4 KiB is queued, then cached at order 0 while the 2-page range stays allocated", () => {
    const { m, dev } = smmu("v6.19", false);
    const d = dev.iommuDomain!;
    const a = iommuDmaMapPage(dev, PHYS, 2 * PG, DMA_TO_DEVICE); // 2 pages: order 1, from the rbtree
    // The kernel unmaps iova_align(4096) = one page, queues (pfn, 1); before this change the model threw here.
    expect(iommuDmaUnmapPage(dev, a, PG, DMA_TO_DEVICE)).toBe(PG);
    expect(iommuDomainCounters(d).fqQueued).toBe(1);
    expect(dev.trace.ofKind("warn").some((e) => e.fn === "iommu_dma_free_iova")).toBe(true);
    // The timer (fq_timeout 10 ms at most) flushes and frees: free_iova_fast(pfn, 1) -> CPU 0's order-0 magazine.
    machineAdvanceTime(m, 20_000_000);
    expect(iommuDomainCounters(d).fqFlushes).toBe(1);
    // The rbtree still holds the 2-page range at its length.
    const r = iovaRanges(d.iovad!).find((x) => x.pfnLo * PG === a);
    expect(r && r.pfnHi - r.pfnLo + 1).toBe(2);
    // A 4 KiB map (order 0) takes the pfn from the magazine: the same IOVA, whose second page is still mapped.
    const b = iommuDmaMapPage(dev, PHYS + 4 * PG, PG, DMA_TO_DEVICE);
    expect(b).toBe(a);
  });
});

describe("a device access to an unmapped IOVA the IOTLB still holds (lazy: the invalidation waits for the flush queue)", () => {
  it("lazy v6.19: the device reaches the old page, a stale hit, until the flush; strict: an IOMMU fault at once", () => {
    const { m, dev } = smmu("v6.19", false);
    const a = iommuDmaMapPage(dev, PHYS, PG, DMA_TO_DEVICE);
    const tokenBefore = iommuDeviceRead(dev, a, PG); // a miss fills the IOTLB with IOVA a -> PHYS
    expect(tokenBefore).not.toBeNull();
    iommuDmaUnmapPage(dev, a, PG, DMA_TO_DEVICE); // PTE cleared, IOVA queued, no invalidation yet
    const tlb = dev.iommuDomain!.iommu.iotlb;
    const staleBefore = tlb.stats.staleHits;
    const runs = iommuDeviceRead(dev, a, PG);
    // Same physical page as before the unmap: the same tokens.
    expect(runs).toEqual(tokenBefore);
    expect(tlb.stats.staleHits - staleBefore).toBe(1);
    const ev = dev.trace.ofKind("iotlb_stale_access");
    expect(ev.length).toBe(1);
    expect(ev[0]!.data.paddr).toBe(PHYS);
    expect(dev.trace.ofKind("iommu_fault").length).toBe(0);
    // The flush-queue timer runs fq_flush_iotlb: invalidate-all; now the access faults.
    machineAdvanceTime(m, 20_000_000);
    expect(iommuDeviceRead(dev, a, PG)).toBeNull();
    expect(dev.trace.ofKind("iommu_fault").length).toBe(1);
  });
  it("strict v6.19: the unmap invalidates the range, the access faults", () => {
    const { dev } = smmu("v6.19", true);
    const a = iommuDmaMapPage(dev, PHYS, PG, DMA_TO_DEVICE);
    iommuDeviceRead(dev, a, PG);
    iommuDmaUnmapPage(dev, a, PG, DMA_TO_DEVICE);
    expect(iommuDeviceRead(dev, a, PG)).toBeNull();
    expect(dev.trace.ofKind("iotlb_stale_access").length).toBe(0);
    expect(dev.iommuDomain!.iommu.iotlb.stats.staleHits).toBe(0);
  });
});
