/**
 * lib/cost/dma-op.ts: counts times cost figures, component by component.
 * Every expected value is a hand sum of the figures given in the test.
 */
import { describe, expect, it } from "vitest";
import { addDmaOpCounts, chargeDmaOp, DMA_COST_COMPONENTS, emptyDmaOpCounts } from "../../lib/cost/dma-op.js";
import { ZERO_COSTS, loadCosts } from "../../lib/cost/schema.js";
import { ModelConfigError } from "../../lib/core/errors.js";

const C = { ...ZERO_COSTS, mapCallNs: 10, iommuDmaCallNs: 100, cachedByteNs: 0.5, iommuPteWriteNs: 2, iotlbInvalidatePageNs: 7, iotlbSyncNs: 300, iotlbFlushAllNs: 1000, iovaAllocFastNs: 3, iovaFreeFastNs: 4, iovaAllocSlowNs: 50, iovaFreeSlowNs: 60 };

describe("chargeDmaOp", () => {
  it("an iommu map + strict unmap of 2 pages: each component is count x figure", () => {
    const n = { ...emptyDmaOpCounts(), calls: 2, iommuCalls: 2, maintenanceNs: 12.5, bounceBytes: 0, iovaAllocFast: 1, iovaFreeFast: 1, pteWrites: 4, iotlbInvalidatePages: 2, iotlbSyncs: 1 };
    const b = chargeDmaOp(C, n);
    expect(b.byComponent["map call"]).toBe(20); // 2 x 10
    expect(b.byComponent["iommu-dma path"]).toBe(200); // 2 x 100
    expect(b.byComponent["cache maintenance"]).toBe(12.5);
    expect(b.byComponent["IOVA alloc (rcache)"]).toBe(3);
    expect(b.byComponent["IOVA free (rcache)"]).toBe(4);
    expect(b.byComponent["PTE writes"]).toBe(8); // 4 x 2
    expect(b.byComponent["IOTLB invalidation"]).toBe(314); // 2 x 7 + 300
    expect(b.totalNs).toBe(20 + 200 + 12.5 + 3 + 4 + 8 + 314);
  });

  it("a bounce of 4096 bytes each way and a flush-queue flush", () => {
    const b = chargeDmaOp(C, { ...emptyDmaOpCounts(), calls: 2, bounceBytes: 8192, iotlbFlushAll: 1, iovaAllocSlow: 1, iovaFreeSlow: 1 });
    expect(b.byComponent["bounce copy"]).toBe(4096); // 8192 x 0.5
    expect(b.byComponent["FQ flush"]).toBe(1000);
    expect(b.byComponent["IOVA alloc (rbtree)"] + b.byComponent["IOVA free (rbtree)"]).toBe(110);
    expect(b.totalNs).toBe(20 + 4096 + 1000 + 110);
  });

  it("N map+unmap pairs cost N times one pair (addDmaOpCounts)", () => {
    const pair = { ...emptyDmaOpCounts(), calls: 2, iommuCalls: 2, iovaAllocFast: 1, iovaFreeFast: 1, pteWrites: 2, iotlbInvalidatePages: 1, iotlbSyncs: 1 };
    let sum = emptyDmaOpCounts();
    for (let i = 0; i < 5; i++) sum = addDmaOpCounts(sum, pair);
    // one pair: 20 + 200 + 3 + 4 + 4 + 7 + 300 = 538 ns
    expect(chargeDmaOp(C, pair).totalNs).toBe(538);
    expect(chargeDmaOp(C, sum).totalNs).toBe(5 * 538);
  });

  it("rejects a negative or fractional count, naming it", () => {
    expect(() => chargeDmaOp(C, { ...emptyDmaOpCounts(), pteWrites: -1 })).toThrow(ModelConfigError);
    expect(() => chargeDmaOp(C, { ...emptyDmaOpCounts(), calls: 1.5 })).toThrow(/counts.calls/);
    expect(() => chargeDmaOp(C, { ...emptyDmaOpCounts(), maintenanceNs: Number.NaN })).toThrow(/counts.maintenanceNs/);
  });

  it("every component is listed once, in stacking order", () => {
    expect(new Set(DMA_COST_COMPONENTS).size).toBe(DMA_COST_COMPONENTS.length);
    expect(Object.keys(chargeDmaOp(C, emptyDmaOpCounts()).byComponent)).toEqual([...DMA_COST_COMPONENTS]);
  });
});

describe("the IOMMU cost figures", () => {
  it("arm64-server reproduces the Morello runs it was solved from (4 KiB and 1 MiB, one thread, strict)", () => {
    const p = loadCosts("arm64-server").params;
    const v = (k: keyof typeof p) => p[k].value;
    // map 4 KiB: call + iommu-dma path + rcache pop + 1 PTE, in [100, 200) ns (printed 0.1 us)
    const map4k = v("mapCallNs") + v("iommuDmaCallNs") + v("iovaAllocFastNs") + v("iommuPteWriteNs");
    expect(map4k).toBe(40 + 100 + 9 + 2);
    expect(Math.floor(map4k / 100)).toBe(1);
    // unmap 4 KiB: call + path + 1 PTE clear + rcache push + 1 page command + sync, in [600, 700)
    const unmap4k = v("mapCallNs") + v("iommuDmaCallNs") + v("iommuPteWriteNs") + v("iovaFreeFastNs") + v("iotlbInvalidatePageNs") + v("iotlbSyncNs");
    expect(Math.floor(unmap4k / 100)).toBe(6);
    // 1 MiB = 256 pages (order 8, above the rcache range: rbtree both ways)
    const map1m = v("mapCallNs") + v("iommuDmaCallNs") + v("iovaAllocSlowNs") + 256 * v("iommuPteWriteNs");
    expect(Math.floor(map1m / 100)).toBe(8);
    const unmap1m = v("mapCallNs") + v("iommuDmaCallNs") + 256 * v("iommuPteWriteNs") + v("iovaFreeSlowNs") + 256 * v("iotlbInvalidatePageNs") + v("iotlbSyncNs");
    expect(Math.floor(unmap1m / 100)).toBe(212);
  });

  it("invalidation latency is an estimate everywhere (no measurement exists), and says so", () => {
    for (const id of ["arm64-server", "x86-64-pc", "mt8173-evb"]) {
      const p = loadCosts(id).params;
      expect(p.iotlbSyncNs.estimate).toBe(true);
      expect(p.iotlbSyncNs.source).toMatch(/NOT FOUND/);
      expect(p.iotlbFlushAllNs.estimate).toBe(true);
    }
    // the kernel-C rcache figure is a measurement on x86-64 only
    expect(loadCosts("x86-64-pc").params.iovaAllocFastNs).toMatchObject({ value: 9, estimate: false });
    expect(loadCosts("arm64-server").params.iovaAllocFastNs.estimate).toBe(true);
  });
});
