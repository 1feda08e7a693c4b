/**
 * Case 06: the dma_map_benchmark reproduction and the workloads. Expected
 * values are hand computations from the kernel's rules (map_benchmark.c's
 * integer statistics, arm64's cache maintenance per direction, swiotlb's
 * copy rules and IO_TLB_SEGSIZE) and the cost figures the test gives or
 * reads from data/costs.
 */
import { describe, expect, it } from "vitest";
import { case06CostBars, case06TlbChart, dmaMapBenchmark, mapBenchmarkStats, runCase06 } from "../../lib/scenarios/06-mapping-cost.js";
import { ModelConfigError } from "../../lib/core/errors.js";

describe("mapBenchmarkStats: the kernel's statistics in 100 ns units", () => {
  it("a small sample by hand", () => {
    // 150, 250, 1049 ns -> 1, 2, 10 units (div64_ul by 100 truncates)
    // sum 13, avg floor(13 / 3) = 4; sum of squares 1 + 4 + 100 = 105, floor(105 / 3) = 35;
    // variance 35 - 16 = 19, int_sqrt64(19) = 4
    expect(mapBenchmarkStats([150, 250, 1049])).toEqual({ avg100ns: 4, stddev: 4, sum: 13, sumSq: 105 });
  });
  it("identical latencies: stddev 0; below 100 ns reads 0", () => {
    expect(mapBenchmarkStats([640, 699, 600])).toMatchObject({ avg100ns: 6, stddev: 0 });
    expect(mapBenchmarkStats([99, 50])).toMatchObject({ avg100ns: 0, stddev: 0 });
    expect(mapBenchmarkStats([])).toMatchObject({ avg100ns: 0, stddev: 0 });
  });
  it("rejects a negative latency", () => {
    expect(() => mapBenchmarkStats([-1])).toThrow(ModelConfigError);
  });
});

// x86 PC, dma-direct, 64-bit mask: a coherent device, no bounce, no IOMMU: every call costs mapCallNs only.
const PC = { platform: "x86-64-pc-8g-vtd", kernel: "v6.19", backend: "dma-direct", dmaBits: 64 } as const;

describe("dmaMapBenchmark", () => {
  it("N map+unmap pairs with given per-call costs: every latency is the call cost, the clock their sum", () => {
    const r = dmaMapBenchmark({ ...PC, maxLoops: 10, costs: { mapCallNs: 250 } });
    expect(r.loops).toBe(10);
    expect(r.endedBy).toBe("maxLoops");
    // 250 ns -> 2 units each: avg 2, sd 0; printed 0.2 us
    expect([r.avgMap100ns, r.mapStddev, r.avgUnmap100ns, r.unmapStddev]).toEqual([2, 0, 2, 0]);
    expect([r.mapUs, r.unmapUs]).toEqual([0.2, 0.2]);
    // one thread: 10 x (250 + 250) ns
    expect(r.simulatedNs).toBe(5000);
    expect(r.map.byComponent["map call"]).toBe(250);
  });

  it("the duration ends the run: 0.1 s per call, 1 s -> 5 iterations (clock 0, 0.2 .. 0.8 s start one each)", () => {
    const r = dmaMapBenchmark({ ...PC, seconds: 1, maxLoops: 1000, costs: { mapCallNs: 1e8 } });
    expect(r.endedBy).toBe("seconds");
    expect(r.loops).toBe(5);
  });

  it("threads share CPUs round-robin: 6 threads on 4 CPUs, 8 iterations, 2 on each CPU", () => {
    // CPU c runs threads c and c + 4 (if any); the earliest CPU goes next, ties to the lowest:
    // iterations 1-4 on CPUs 0..3, 5-8 on CPUs 0..3 again -> every clock 2 x 500 ns
    const r = dmaMapBenchmark({ ...PC, threads: 6, maxLoops: 8, costs: { mapCallNs: 250 } });
    expect(r.cpus).toBe(4);
    expect(r.loops).toBe(8);
    expect(r.simulatedNs).toBe(1000);
  });

  it("the arm64 server, strict, 4 KiB per map: the Morello figures 0.1 / 0.6 us, standard deviation 0", () => {
    // first iteration: empty rcache, map 40 + 100 + alloc_iova 200 + 2 = 342 ns (3 units); then rcache hits:
    // map 40 + 100 + 9 + 2 = 151 (1 unit), unmap 40 + 100 + 2 + 9 + 78 + 421 = 650 (6 units) every time.
    // 100 loops: map avg floor((3 + 99) / 100) = 1, variance floor((9 + 99) / 100) - 1 = 0
    const r = dmaMapBenchmark({ platform: "arm64-server", kernel: "v6.19", backend: "iommu-strict", maxLoops: 100 });
    expect([r.avgMap100ns, r.mapStddev, r.avgUnmap100ns, r.unmapStddev]).toEqual([1, 0, 6, 0]);
    expect([r.mapUs, r.unmapUs]).toEqual([0.1, 0.6]);
  });

  it("the arm64 server, strict, 1 MiB per map: the Morello figures 0.8 / 21.2 us", () => {
    // data/costs/arm64-server.json: map = 40 + 100 + alloc_iova 200 + 256 PTEs x 2 = 852 ns -> 8 units;
    // unmap = 40 + 100 + 256 x 2 + free_iova 200 + 256 x 78 + 421 = 21241 ns -> 212 units
    const r = dmaMapBenchmark({ platform: "arm64-server", kernel: "v6.19", backend: "iommu-strict", granule: 256, maxLoops: 20 });
    expect(r.failures).toBe(0);
    expect([r.mapUs, r.unmapUs]).toEqual([0.8, 21.2]);
    expect(r.unmap.byComponent["IOTLB invalidation"]).toBe(256 * 78 + 421);
    expect(r.map.byComponent["PTE writes"]).toBe(512);
  });

  it("validates its parameters, naming the parameter and the allowed values", () => {
    expect(() => dmaMapBenchmark({ ...PC, threads: 0 })).toThrow(/threads.*\[1, 1024\]/);
    expect(() => dmaMapBenchmark({ ...PC, granule: 1025 })).toThrow(/granule/);
    expect(() => dmaMapBenchmark({ ...PC, backend: "iommu" })).toThrow(/backend.*dma-direct, swiotlb, iommu-strict, iommu-lazy/);
    expect(() => dmaMapBenchmark({ ...PC, platform: "pc" })).toThrow(/platform.*x86-64-pc-8g-vtd, arm64-server, mt8173-evb/);
    expect(() => dmaMapBenchmark({ ...PC, dmaDir: "SIDEWAYS" as "TO_DEVICE" })).toThrow(/dmaDir/);
    expect(() => dmaMapBenchmark({ ...PC, costs: { noSuchCost: 1 } as never })).toThrow(/costs.noSuchCost/);
    expect(() => dmaMapBenchmark({ ...PC, kernel: "v3.10" })).toThrow(/kernel/);
  });
});

describe("runCase06", () => {
  it("x86 dma-direct, 4 KiB reads: a coherent device pays the two calls only, 2 x 30 ns", () => {
    const r = runCase06({ platform: "x86-64-pc-8g-vtd", kernel: "v6.19", backend: "dma-direct", workload: "storage-4k", ops: 64 });
    expect(r.perOp.totalNs).toBe(60);
    expect(r.iotlb).toBeNull();
  });

  it("MT8173 dma-direct, 4 KiB DMA_FROM_DEVICE: clean 64 lines at map, invalidate 64 at unmap, 8 ns each", () => {
    // arm64 arch_sync_dma_for_device cleans whatever the direction; arch_sync_dma_for_cpu invalidates for FROM_DEVICE
    const r = runCase06({ platform: "mt8173-evb", kernel: "v6.19", backend: "dma-direct", workload: "storage-4k", ops: 64 });
    expect(r.perOp.byComponent["cache maintenance"]).toBe(64 * 8 + 64 * 8);
    expect(r.perOp.totalNs).toBe(2 * 60 + 1024);
  });

  it("swiotlb copies: v6.19 bounces in at map and out once at unmap; v5.4 copies nothing in for DMA_FROM_DEVICE but twice out", () => {
    // ring of 32: 64 ops = 64 maps, 32 unmaps
    const cur = runCase06({ platform: "arm64-server", kernel: "v6.19", backend: "swiotlb", workload: "storage-4k", ops: 64 });
    expect(cur.counts.bounceBytes).toBe(64 * 4096 + 32 * 4096);
    const old = runCase06({ platform: "arm64-server", kernel: "v5.4", backend: "swiotlb", workload: "storage-4k", ops: 64 });
    // v5.4.6 dma_direct_unmap_page: dma_direct_sync_single_for_cpu copies back, then swiotlb_tbl_unmap_single
    // (called with the caller's attrs, no DMA_ATTR_SKIP_CPU_SYNC) copies back again: 2 x 4096 per unmap
    expect(old.counts.bounceBytes).toBe(32 * 2 * 4096);
    // per operation on v6.19: 2 calls x 40 + 8192 bytes x 0.1 ns
    expect(cur.perOp.totalNs).toBeCloseTo(80 + 819.2, 6);
  });

  it("a 4 MiB frame cannot be bounced: IO_TLB_SEGSIZE 128 slots of 2 KiB = 256 KiB", () => {
    const r = runCase06({ platform: "x86-64-pc-8g-vtd", kernel: "v6.19", backend: "swiotlb", workload: "camera-4m", ops: 6 });
    expect(r.failures).toBe(6);
    expect(r.perOp.totalNs).toBe(0);
    expect(case06CostBars([r], "platform")).toEqual([{ run: "swiotlb (every map fails)", group: "x86-64-pc-8g-vtd", component: "map call", ns: 0 }]);
  });

  it("iommu strict, 4 KiB: rcache hits once the ring is full, one PTE and one invalidation per unmap, every device access misses", () => {
    // ring of 32, 64 ops: the first 32 maps find the rcache empty (alloc_iova, the rbtree); from then on each
    // op frees one range into the CPU's magazine (free_iova_fast) and the next map pops it (alloc_iova_fast)
    const r = runCase06({ platform: "arm64-server", kernel: "v6.19", backend: "iommu-strict", workload: "storage-4k", ops: 64 });
    expect(r.strict).toBe(true);
    expect([r.counts.iovaAllocSlow, r.counts.iovaAllocFast, r.counts.iovaFreeFast, r.counts.iovaFreeSlow]).toEqual([32, 32, 32, 0]);
    expect(r.counts.pteWrites).toBe(64 + 32);
    expect(r.counts.iotlbSyncs).toBe(32);
    expect(r.counts.iotlbInvalidatePages).toBe(32);
    // each buffer is read by the device once, after a fresh map of an IOVA whose old entry was invalidated
    expect(r.iotlb).toEqual({ hits: 0, misses: 32 });
    // per op: map 40 + 100 + 2 + mean alloc (32 x 200 + 32 x 9) / 64; unmap 40 + 100 + 2 + 9 + 78 + 421
    expect(r.perOp.totalNs).toBeCloseTo(142 + (32 * 200 + 32 * 9) / 64 + 650, 6);
    // 32 buffers in flight at the end, 1 IOVA page each, nothing else held
    expect(r.iova[r.iova.length - 1]).toMatchObject({ mappedPages: 32, allocatedPages: 32 });
  });

  it("iommu lazy, 4 KiB: unmaps only queue, nothing is freed before a flush, so every map goes to the rbtree", () => {
    // 64 ops 10 us apart = 640 us: the 10 ms timer never fires, the per-CPU queue (255 usable slots) never fills
    const r = runCase06({ platform: "arm64-server", kernel: "v6.19", backend: "iommu-lazy", workload: "storage-4k", ops: 64 });
    expect(r.strict).toBe(false);
    expect([r.counts.iovaAllocSlow, r.counts.iovaAllocFast, r.counts.iovaFreeFast, r.counts.iotlbSyncs, r.counts.iotlbFlushAll]).toEqual([64, 0, 0, 0, 0]);
    // map 40 + 100 + 200 + 2 = 342; unmap 40 + 100 + 2 = 142
    expect(r.perOp.totalNs).toBe(342 + 142);
    // 32 mapped, 32 waiting on the flush queue
    expect(r.iova[r.iova.length - 1]).toMatchObject({ mappedPages: 32, allocatedPages: 64 });
  });

  it("M4U, 128 KiB reads: each buffer is two 64 KiB large pages, 16 v7s entries each, written at map and cleared at unmap", () => {
    // Buffers are order-5 pages (128 KiB aligned) at 128 KiB-aligned IOVAs: iommu_pgsize picks 64 KiB (the M4U has no
    // 128 KiB page), and io-pgtable-arm-v7s writes a large page as ARM_V7S_CONT_PAGES = 16 level-2 entries and clears 16.
    // 64 ops with a ring of 32: 64 maps x 32 + 32 unmaps x 32 descriptors.
    const r = runCase06({ platform: "mt8173-evb", kernel: "v6.19", backend: "iommu-strict", workload: "storage-128k", ops: 64 });
    expect(r.counts.pteWrites).toBe(64 * 32 + 32 * 32);
    // An invalidation names IOMMU pages, not descriptors: 2 per unmap.
    expect(r.counts.iotlbInvalidatePages).toBe(32 * 2);
    // data/costs/mt8173-evb.json iommuPteWriteNs = 11: per operation 32 x 11 at map + 32 x 11 at unmap.
    expect(r.perOp.byComponent["PTE writes"]).toBe(2 * 32 * 11);
  });

  it("VT-d, 128 KiB reads: v5.4 advertises every power of two but intel-iommu writes the 128 KiB piece as 32 4 KiB PTEs, as v6.19 does", () => {
    // __domain_mapping / hardware_largepage_caps: below 2 MiB only 4 KiB PTEs; 128K / 4K = 32 at map, 32 cleared at unmap.
    for (const kernel of ["v5.4", "v6.19"]) {
      const r = runCase06({ platform: "x86-64-pc-8g-vtd", kernel, backend: "iommu-strict", workload: "storage-128k", ops: 64 });
      expect(r.counts.pteWrites).toBe(64 * 32 + 32 * 32);
      // the IOTLB caches the hardware's 4 KiB pages: 32 misses per buffer the device fills (32 unmaps)
      expect(r.iotlb).toEqual({ hits: 0, misses: 32 * 32 });
    }
  });

  it("the M4U has no flush queue: iommu.strict=0 leaves its domain strict", () => {
    const r = runCase06({ platform: "mt8173-evb", kernel: "v6.19", backend: "iommu-lazy", workload: "storage-4k", ops: 40 });
    expect(r.strict).toBe(true);
    expect(r.counts.iotlbSyncs).toBe(8);
  });

  it("validates its parameters, naming the parameter and the allowed values", () => {
    const ok = { platform: "arm64-server", kernel: "v6.19", backend: "iommu-lazy", workload: "nic-rx" };
    expect(() => runCase06({ ...ok, workload: "gpu" })).toThrow(/workload.*nic-rx, storage-4k, storage-128k, camera-4m/);
    expect(() => runCase06({ ...ok, ops: 0 })).toThrow(/ops/);
    expect(() => runCase06({ ...ok, threads: 65 })).toThrow(/threads/);
    expect(() => runCase06({ ...ok, size: 8 * 1048576 })).toThrow(/size/);
    expect(() => runCase06({ ...ok, varient: 1 } as never)).toThrow(/varient.*known parameters/);
  });

  it("is deterministic: the same parameters give the same result", () => {
    const p = { platform: "mt8173-evb", kernel: "v5.4", backend: "iommu-lazy", workload: "nic-rx", ops: 300, threads: 2, seed: 7 };
    expect(runCase06(p)).toEqual(runCase06(p));
    const b = { platform: "arm64-server", kernel: "v6.19", backend: "iommu-lazy", threads: 3, maxLoops: 200 };
    expect(dmaMapBenchmark(b)).toEqual(dmaMapBenchmark(b));
  });
});

describe("case06TlbChart: IOTLB lookups per buffer", () => {
  it("a fresh 128 KiB mapping misses once per IOMMU page: 2 on the M4U (64 KiB pages), 32 on VT-d (4 KiB pages)", () => {
    // Each buffer is mapped fresh and the device touches it once, so every IOMMU page of it misses and none hits:
    // M4U (mtk-iommu 4K|64K|1M|16M): 128 KiB aligned to 64 KiB = 2 pages; VT-d with 4 KiB pages only: 128 KiB / 4 KiB = 32.
    const base = { kernel: "v6.19", workload: "storage-128k", ops: 256, threads: 1 };
    const runs = [runCase06({ ...base, platform: "mt8173-evb", backend: "iommu-strict" }), runCase06({ ...base, platform: "x86-64-pc-8g-vtd", backend: "iommu-strict" })];
    const values = (case06TlbChart(runs, "storage-128k", "v6.19").spec as { data: { values: Array<{ platform: string; outcome: string; perBuffer: number }> } }).data.values;
    const at = (platform: string, outcome: string) => values.find((v) => v.platform === platform && v.outcome === outcome)!.perBuffer;
    expect(at("mt8173-evb", "miss")).toBe(2);
    expect(at("x86-64-pc-8g-vtd", "miss")).toBe(32);
    expect(at("mt8173-evb", "hit")).toBe(0);
    expect(at("x86-64-pc-8g-vtd", "hit")).toBe(0);
  });
});
