/**
 * The cache model on the iommu-dma streaming path: iommu_dma_map_phys /
 * map_sg / unmap / sync_* do arch_sync_dma_for_device / _for_cpu on the
 * physical pages of a non-coherent device (drivers/iommu/dma-iommu.c v6.19,
 * v5.4.6; arch/arm64/mm/dma-mapping.c __iommu_* v4.4.1), and the device
 * reaches memory through the IOMMU page table.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { DMA_MAPPING_ERROR, type Pfn, type VirtAddr } from "../../lib/core/addr.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import type { TraceKind } from "../../lib/core/trace.js";
import { createMachine, type Machine } from "../../lib/platform/machine.js";
import { kmalloc } from "../../lib/mm/slab.js";
import { virtToPhys } from "../../lib/mm/linear-map.js";
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE } from "../../lib/core/dma-types.js";
import { cpuRead, cpuWrite } from "../../lib/model/actions.js";
import { enableDmaDebug } from "../../lib/dma/debug.js";
import { dmaMapPage, dmaMapSg, dmaMapSingle, dmaMapSingleAttrs, dmaMappingErrorFor, dmaSyncSgForCpu, dmaSyncSgForDevice, dmaSyncSingleForCpu, dmaSyncSingleForDevice, dmaUnmapPage, dmaUnmapSg, dmaUnmapSingle } from "../../lib/dma/mapping.js";
import { DMA_ATTR_SKIP_CPU_SYNC } from "../../lib/core/dma-types.js";
import {
  iommuActiveMappings,
  iommuDeviceRead,
  iommuDeviceWrite,
  iommuDmaMapPage,
  iommuDmaSyncSingleForCpu,
  iommuDmaUnmapPage,
} from "../../lib/iommu/dma-iommu.js";
import { iommuIovaToPhys } from "../../lib/iommu/io-pgtable.js";
import { iovaRanges } from "../../lib/iommu/iova.js";
import { iovaRangesInUse } from "../../lib/iommu/iova-rcache.js";
import { sgTableFromEntries } from "../../lib/sg/scatterlist.js";

const DEC = "16020000.vcodec";
const LINE = 64; // mt8173-evb: 64-byte lines

/** MT8173 EVB: arm64, non-coherent codec behind the M4U (data/platforms/mt8173-evb.json). */
function mt8173(kernel = "v6.19", seed?: number): Machine {
  return createMachine("mt8173-evb", seed === undefined ? { kernel } : { kernel, seed });
}

/** The same board with the codec declared dma-coherent (what-if; the real one is not). */
function mt8173Coherent(kernel = "v6.19", seed?: number): Machine {
  const p = JSON.parse(readFileSync("data/platforms/mt8173-evb.json", "utf8"));
  p.id = "mt8173-coherent";
  for (const d of p.devices) d.dmaCoherent = true;
  return createMachine(p, seed === undefined ? { kernel } : { kernel, seed });
}

function lastOf(m: Machine, kind: TraceKind) {
  const ev = m.trace.ofKind(kind);
  return ev[ev.length - 1]!;
}

describe("iommu_dma_map_phys / unmap: per-direction maintenance on arm64 (rules of arch/arm64/mm/dma-mapping.c)", () => {
  it("v6.19 (c50f11c6196f, v5.19+): map cleans the buffer's lines for every direction; the handle is the IOVA plus the offset", () => {
    for (const dir of [DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL]) {
      const m = mt8173();
      const dev = m.device(DEC);
      const buf = kmalloc(m, 1536)!;
      const pa = virtToPhys(m, buf);
      expect(pa % LINE).toBe(0);
      const dma = dmaMapSingle(dev, buf, 1536, dir);
      // __iommu_dma_map: iova_offset = pa mod 4K; iova_align(1536 + off) is one 4K granule when
      // off + 1536 <= 4096; one page rounds to a power of two (1); the first allocation of the
      // domain is top-down below the 32-bit mask: pfn 0xfffff -> IOVA 0xfffff000.
      const off = pa % 4096;
      expect(off + 1536).toBeLessThanOrEqual(4096);
      expect(dma).toBe(0xfffff000 + off);
      expect(iommuIovaToPhys(dev.iommuDomain!, dma)).toBe(pa);
      const ev = lastOf(m, "dma_map");
      // Rule: arch_sync_dma_for_device = dcache_clean_poc over [pa, pa + 1536): 1536 / 64 = 24 lines.
      expect(ev.msg).toContain(`dcache_clean_poc clean 0x${pa.toString(16)}-0x${(pa + 1536).toString(16)}`);
      expect(ev.data["lines"]).toBe(24);
    }
  });

  it("v6.19: unmap does nothing for DMA_TO_DEVICE and invalidates (dcache_inval_poc) for the other directions", () => {
    for (const [dir, expectOps] of [
      [DMA_TO_DEVICE, false],
      [DMA_FROM_DEVICE, true],
      [DMA_BIDIRECTIONAL, true],
    ] as const) {
      const m = mt8173();
      const dev = m.device(DEC);
      const buf = kmalloc(m, 512)!;
      const pa = virtToPhys(m, buf);
      const dma = dmaMapSingle(dev, buf, 512, dir);
      dmaUnmapSingle(dev, dma, 512, dir);
      const ev = lastOf(m, "dma_unmap");
      if (expectOps) {
        // Rule: arch_sync_dma_for_cpu = dcache_inval_poc over the line-aligned buffer: 512 / 64 = 8 lines.
        expect(ev.msg).toContain(`dcache_inval_poc invalidate 0x${pa.toString(16)}-0x${(pa + 512).toString(16)}`);
        expect(ev.data["lines"]).toBe(8);
      } else {
        expect(ev.msg).toContain("no cache maintenance");
        expect(ev.data["lines"]).toBe(0);
      }
      // The IOVA page is gone from the page table and the IOVA range is free.
      expect(iommuIovaToPhys(dev.iommuDomain!, dma)).toBeNull();
      expect(iovaRangesInUse(dev.iommuDomain!.iovad!)).toEqual([]); // freed: gone, or parked in an rcache magazine (v4.12+ free_iova_fast)
    }
  });

  it("v5.4 (before c50f11c6196f): map invalidates DMA_FROM_DEVICE buffers (__dma_inv_area) and cleans the others (__dma_clean_area)", () => {
    for (const [dir, text] of [
      [DMA_FROM_DEVICE, "__dma_inv_area invalidate"],
      [DMA_TO_DEVICE, "__dma_clean_area clean"],
      [DMA_BIDIRECTIONAL, "__dma_clean_area clean"],
    ] as const) {
      const m = mt8173("v5.4");
      const buf = kmalloc(m, 256)!;
      dmaMapSingle(m.device(DEC), buf, 256, dir);
      expect(lastOf(m, "dma_map").msg).toContain(text);
    }
  });

  it("a coherent device gets no maintenance on map, sync or unmap (dev_is_dma_coherent)", () => {
    const m = mt8173Coherent();
    const dev = m.device(DEC);
    const buf = kmalloc(m, 1024)!;
    const dma = dmaMapSingle(dev, buf, 1024, DMA_BIDIRECTIONAL);
    dmaSyncSingleForCpu(dev, dma, 1024, DMA_BIDIRECTIONAL);
    dmaSyncSingleForDevice(dev, dma, 1024, DMA_BIDIRECTIONAL);
    dmaUnmapSingle(dev, dma, 1024, DMA_BIDIRECTIONAL);
    for (const k of ["dma_map", "dma_sync_for_cpu", "dma_sync_for_device", "dma_unmap"] as const) {
      expect(lastOf(m, k).data["lines"]).toBe(0);
      expect(lastOf(m, k).msg).toContain("coherent device");
    }
  });

  it("DMA_ATTR_SKIP_CPU_SYNC: no maintenance on map", () => {
    const m = mt8173();
    const buf = kmalloc(m, 256)!;
    dmaMapSingleAttrs(m.device(DEC), buf, 256, DMA_FROM_DEVICE, DMA_ATTR_SKIP_CPU_SYNC);
    expect(lastOf(m, "dma_map").data["lines"]).toBe(0);
  });

  it("the sync calls find the physical address through the IOMMU (iommu_iova_to_phys) and keep the offset in the page", () => {
    const m = mt8173();
    const dev = m.device(DEC);
    // A page-offset buffer: pfn 0x48000 + 0x140, 256 bytes.
    const dma = dmaMapPage(dev, 0x48000, 0x140, 256, DMA_FROM_DEVICE);
    expect(dma % 4096).toBe(0x140);
    dmaSyncSingleForCpu(dev, dma, 256, DMA_FROM_DEVICE);
    // Rule: dcache_inval_poc over [0x48000140, 0x48000240): 256 / 64 = 4 lines.
    const ev = lastOf(m, "dma_sync_for_cpu");
    expect(ev.msg).toContain("dcache_inval_poc invalidate 0x48000140-0x48000240");
    expect(ev.data["lines"]).toBe(4);
    dmaUnmapPage(dev, dma, 256, DMA_FROM_DEVICE);
    expect(iommuActiveMappings(dev)).toEqual([]);
  });
});

describe("scatterlists through iommu-dma: iommu_dma_sync_sg_for_* per CPU entry", () => {
  it("map_sg cleans each entry (sg_phys, length) for the device; unmap_sg invalidates each for the CPU", () => {
    const m = mt8173();
    const dev = m.device(DEC);
    // Two entries: 8 KiB at 0x48000000 and 4 KiB + 128 at 0x48100000 (offset 0).
    const sgt = sgTableFromEntries([
      { pfn: 0x48000 as Pfn, offset: 0, length: 8192 },
      { pfn: 0x48100 as Pfn, offset: 0, length: 4096 + 128 },
    ]);
    const n = dmaMapSg(dev, sgt.sgl, 2, DMA_FROM_DEVICE);
    expect(n).toBeGreaterThan(0);
    const sync = m.trace.ofKind("dma_sync_for_device").filter((e) => e.fn === "iommu_dma_sync_sg_for_device");
    // Rule (v6.19): dcache_clean_poc per entry: 8192 / 64 = 128 lines + (4096 + 128) / 64 = 66 lines.
    expect(sync[0]!.data["lines"]).toBe(128 + 66);
    dmaUnmapSg(dev, sgt.sgl, 2, DMA_FROM_DEVICE);
    const un = m.trace.ofKind("dma_sync_for_cpu").filter((e) => e.fn === "iommu_dma_sync_sg_for_cpu");
    expect(un[0]!.data["lines"]).toBe(128 + 66);
    expect(dev.iommuDomain!.pgtable.mappedBytes).toBe(0);
  });

  it("a device write through the merged segment is seen after dma_sync_sg_for_cpu, stale without it", () => {
    for (const doSync of [true, false]) {
      const m = mt8173("v6.19", 7);
      m.cpuCache.specFillProb = 1;
      const dev = m.device(DEC);
      const a = kmalloc(m, 4096)!;
      const b = kmalloc(m, 4096)!;
      const pa = virtToPhys(m, a);
      const pb = virtToPhys(m, b);
      const sgt = sgTableFromEntries([
        { pfn: (pa / 4096) as Pfn, offset: 0, length: 4096 },
        { pfn: (pb / 4096) as Pfn, offset: 0, length: 4096 },
      ]);
      const n = dmaMapSg(dev, sgt.sgl, 2, DMA_FROM_DEVICE);
      // v4.7+ merging: two page-aligned 4K entries are IOVA-contiguous: one 8K DMA segment.
      expect(n).toBe(1);
      expect(sgt.sgl[0]!.dmaLength).toBe(8192);
      cpuRead(m, a, 4096); // fills lines with the old data
      const tok = iommuDeviceWrite(dev, sgt.sgl[0]!.dmaAddress, 8192)!;
      if (doSync) dmaSyncSgForCpu(dev, sgt.sgl, 2, DMA_FROM_DEVICE);
      const seen = cpuRead(m, a, 4096);
      expect(seen.every((r) => r.label === tok)).toBe(doSync);
      expect(m.cpuCache.hazards.some((h) => h.kind === "stale_read")).toBe(!doSync);
      if (doSync) {
        dmaSyncSgForDevice(dev, sgt.sgl, 2, DMA_FROM_DEVICE);
        dmaUnmapSg(dev, sgt.sgl, 2, DMA_FROM_DEVICE);
      }
    }
  });
});

describe("hazards when a sync is missing: non-coherent IOMMU device only", () => {
  it("no dma_sync_single_for_cpu before the CPU reads: stale read on the non-coherent codec (any seed), never on a coherent one", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 4096 }), (seed, size) => {
        for (const [mk, expectStale] of [
          [mt8173, true],
          [mt8173Coherent, false],
        ] as const) {
          const m = mk("v6.19", seed);
          m.cpuCache.specFillProb = 1; // a speculative fill after every step
          const dev = m.device(DEC);
          const buf = kmalloc(m, size)!;
          const dma = dmaMapSingle(dev, buf, size, DMA_FROM_DEVICE);
          iommuDeviceWrite(dev, dma, size);
          cpuRead(m, buf, size); // missing dma_sync_single_for_cpu
          expect(m.cpuCache.hazards.some((h) => h.kind === "stale_read")).toBe(expectStale);
        }
      }),
      { numRuns: 30 },
    );
  });

  it("a CPU write after the map without dma_sync_single_for_device: the device reads stale memory (non-coherent only)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), fc.boolean(), (size, doSync) => {
        for (const [mk, coherent] of [
          [mt8173, false],
          [mt8173Coherent, true],
        ] as const) {
          const m = mk("v6.19");
          const dev = m.device(DEC);
          const buf = kmalloc(m, size)!;
          const dma = dmaMapSingle(dev, buf, size, DMA_TO_DEVICE);
          const tok = cpuWrite(m, buf, size);
          if (doSync) dmaSyncSingleForDevice(dev, dma, size, DMA_TO_DEVICE);
          const runs = iommuDeviceRead(dev, dma, size)!;
          const stale = !coherent && !doSync;
          expect(m.cpuCache.hazards.some((h) => h.kind === "device_read_stale")).toBe(stale);
          expect(runs.every((r) => r.label === tok)).toBe(!stale);
        }
      }),
      { numRuns: 30 },
    );
  });
});

type Dir = 0 | 1 | 2;

/** One correct use of a kmalloc buffer on the IOMMU device (the DMA API contract). */
function correctCycle(m: Machine, buf: VirtAddr, size: number, dir: Dir, extra: boolean): void {
  const dev = m.device(DEC);
  if (dir !== DMA_FROM_DEVICE) cpuWrite(m, buf, size);
  const dma = dmaMapSingle(dev, buf, size, dir);
  expect(dmaMappingErrorFor(dev, dma)).toBe(false);
  if (dir !== DMA_FROM_DEVICE) iommuDeviceRead(dev, dma, size);
  if (dir !== DMA_TO_DEVICE) iommuDeviceWrite(dev, dma, size);
  if (extra) {
    dmaSyncSingleForCpu(dev, dma, size, dir);
    if (dir !== DMA_TO_DEVICE) cpuRead(m, buf, size);
    if (dir !== DMA_FROM_DEVICE) cpuWrite(m, buf, size);
    dmaSyncSingleForDevice(dev, dma, size, dir);
    if (dir !== DMA_FROM_DEVICE) iommuDeviceRead(dev, dma, size);
    if (dir !== DMA_TO_DEVICE) iommuDeviceWrite(dev, dma, size);
  }
  dmaUnmapSingle(dev, dma, size, dir);
  cpuRead(m, buf, size);
}

/** One correct scatterlist use: map_sg, device access per DMA segment, unmap_sg, CPU reads. */
function correctSgCycle(m: Machine, bufs: VirtAddr[], size: number, dir: Dir): void {
  const dev = m.device(DEC);
  if (dir !== DMA_FROM_DEVICE) for (const b of bufs) cpuWrite(m, b, size);
  const sgt = sgTableFromEntries(bufs.map((b) => ({ pfn: Math.floor(virtToPhys(m, b) / 4096) as Pfn, offset: virtToPhys(m, b) % 4096, length: size })));
  const n = dmaMapSg(dev, sgt.sgl, bufs.length, dir);
  expect(n).toBeGreaterThan(0);
  for (let i = 0; i < n; i++) {
    const s = sgt.sgl[i]!;
    if (dir !== DMA_FROM_DEVICE) expect(iommuDeviceRead(dev, s.dmaAddress, s.dmaLength)).not.toBeNull();
    if (dir !== DMA_TO_DEVICE) expect(iommuDeviceWrite(dev, s.dmaAddress, s.dmaLength)).not.toBeNull();
  }
  dmaUnmapSg(dev, sgt.sgl, bufs.length, dir);
  for (const b of bufs) cpuRead(m, b, size);
}

describe("property: correct call sequences on a device behind an IOMMU never produce a hazard", () => {
  it("random buffers, directions, seeds, speculative fills and evictions; coherent or not; single and sg", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.constantFrom("v5.4", "v6.19"),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.array(fc.tuple(fc.integer({ min: 200, max: 6000 }), fc.constantFrom<Dir>(0, 1, 2), fc.boolean(), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 5 }),
        (coherent, kernel, seed, spec, evict, cycles) => {
          const m = coherent ? mt8173Coherent(kernel, seed) : mt8173(kernel, seed);
          m.cpuCache.specFillProb = spec;
          m.cpuCache.evictProb = evict;
          const dbg = enableDmaDebug(m);
          const dev = m.device(DEC);
          for (const [size, dir, extra, sgCount] of cycles) {
            // Cache-line aligned, padded buffers (what a correct driver allocates for DMA).
            const alloc = Math.ceil(size / 128) * 128;
            if (sgCount === 0) correctCycle(m, kmalloc(m, alloc)!, alloc, dir, extra);
            else correctSgCycle(m, Array.from({ length: sgCount }, () => kmalloc(m, alloc)!), alloc, dir);
          }
          expect(m.cpuCache.hazards).toEqual([]);
          expect(dbg.reports).toEqual([]);
          expect(iommuActiveMappings(dev)).toEqual([]);
          expect(dev.iommuDomain!.pgtable.mappedBytes).toBe(0);
          expect(iovaRangesInUse(dev.iommuDomain!.iovad!)).toEqual([]); // freed: gone, or parked in an rcache magazine (v4.12+ free_iova_fast)
          expect(m.trace.faults()).toEqual([]);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("IOMMU faults", () => {
  it("a device access to an unmapped IOVA (after the unmap, or never mapped) records an IOMMU fault and touches no memory", () => {
    const m = mt8173();
    const dev = m.device(DEC);
    const buf = kmalloc(m, 1024)!;
    const pa = virtToPhys(m, buf);
    const dma = dmaMapSingle(dev, buf, 1024, DMA_FROM_DEVICE);
    dmaUnmapSingle(dev, dma, 1024, DMA_FROM_DEVICE);
    const memBefore = m.cpuCache.memoryToken(pa);
    const tokens = m.cpuCache.tokenCount;
    expect(iommuDeviceWrite(dev, dma, 1024)).toBeNull();
    expect(iommuDeviceRead(dev, 0x1000, 64)).toBeNull();
    const faults = m.trace.ofKind("iommu_fault");
    expect(faults.map((f) => [f.level, f.data["iova"], f.data["write"]])).toEqual([
      ["fault", dma, true],
      ["fault", 0x1000, false],
    ]);
    expect(m.cpuCache.memoryToken(pa)).toBe(memBefore);
    expect(m.cpuCache.tokenCount).toBe(tokens);
  });

  it("an access running past the mapped granule faults at the first unmapped IOVA", () => {
    const m = mt8173();
    const dev = m.device(DEC);
    const dma = dmaMapPage(dev, 0x48000, 0, 4096, DMA_FROM_DEVICE); // IOVA 0xfffff000, one page
    expect(dma).toBe(0xfffff000);
    // 0xfffff000 + 4096 = 0x100000000 is outside the (32-bit) mapping: the fault is there.
    expect(iommuDeviceWrite(dev, dma, 8192)).toBeNull();
    const f = m.trace.ofKind("iommu_fault");
    expect(f[0]!.data["iova"]).toBe(0x100000000);
  });
});

describe("dma-debug on the iommu-dma path", () => {
  it("reports a wrong unmap size, a sync in the wrong direction, and an unmap of an address never mapped", () => {
    const m = mt8173();
    const dbg = enableDmaDebug(m);
    const dev = m.device(DEC);
    const buf = kmalloc(m, 512)!;
    const dma = dmaMapSingle(dev, buf, 512, DMA_FROM_DEVICE);
    dmaMappingErrorFor(dev, dma);
    dmaSyncSingleForCpu(dev, dma, 512, DMA_TO_DEVICE);
    dmaUnmapSingle(dev, dma, 256, DMA_FROM_DEVICE);
    dmaUnmapSingle(dev, (0x12345000) as never, 64, DMA_FROM_DEVICE);
    expect(dbg.reports.map((r) => r.id)).toEqual(["sync-wrong-direction", "free-wrong-size", "free-not-allocated"]);
  });
});

describe("above 4 GiB: VT-d PC, the device sees IOVAs below its 32-bit mask for pages above 4 GiB", () => {
  it("dma_map_page of a page at 6 GiB gives a 32-bit IOVA that translates back", () => {
    const m = createMachine("x86-64-pc-8g-vtd", { kernel: "v6.19" });
    const dev = m.device("0000:03:00.0");
    const pfn = 0x180000; // 6 GiB / 4 KiB
    const dma = dmaMapPage(dev, pfn, 0x10, 100, DMA_BIDIRECTIONAL);
    expect(dma).not.toBe(DMA_MAPPING_ERROR);
    expect(dma + 100 - 1).toBeLessThanOrEqual(0xffffffff);
    expect(iommuIovaToPhys(dev.iommuDomain!, dma)).toBe(0x180000000 + 0x10);
    // x86 is coherent: no maintenance.
    expect(lastOf(m, "dma_map").data["lines"]).toBe(0);
    dmaUnmapPage(dev, dma, 100, DMA_BIDIRECTIONAL);
    expect(iommuIovaToPhys(dev.iommuDomain!, dma)).toBeNull();
  });
});

describe("bad input is rejected with the model unchanged", () => {
  it("unknown direction, zero size, a device without an IOMMU, a zero-length device access", () => {
    const m = mt8173();
    const dev = m.device(DEC);
    const buf = kmalloc(m, 64)!;
    const snap = () => [m.trace.length, m.cpuCache.tokenCount, dev.iommuDomain!.pgtable.ptes.size, iovaRanges(dev.iommuDomain!.iovad!).length, iommuActiveMappings(dev).length];
    const before = snap();
    expect(() => dmaMapSingle(dev, buf, 64, 5)).toThrow(ModelConfigError);
    expect(() => iommuDmaMapPage(dev, 0x48000000, 0, DMA_TO_DEVICE)).toThrow(/size/);
    expect(() => iommuDmaMapPage(dev, -4096, 64, DMA_TO_DEVICE)).toThrow(/phys/);
    expect(() => iommuDmaSyncSingleForCpu(dev, 0xfffff000, 64, 9)).toThrow(/dir/);
    expect(() => iommuDmaUnmapPage(dev, 0xfffff000, 0, DMA_TO_DEVICE)).toThrow(/size/);
    expect(() => iommuDeviceRead(dev, 0xfffff000, 0)).toThrow(/size/);
    const bbb = createMachine("am335x-beaglebone-black");
    expect(() => iommuDmaMapPage(bbb.device("47401c00.usb"), 0x84000000, 64, DMA_TO_DEVICE)).toThrow(/iommuDomain/);
    expect(snap()).toEqual(before);
  });
});
