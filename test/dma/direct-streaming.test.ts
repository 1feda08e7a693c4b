import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { DMA_MAPPING_ERROR, type VirtAddr } from "../../lib/core/addr.js";
import { createMachine, type Machine } from "../../lib/platform/machine.js";
import { kmalloc } from "../../lib/mm/slab.js";
import { virtToPhys } from "../../lib/mm/linear-map.js";
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE } from "../../lib/core/dma-types.js";
import { activeMappings } from "../../lib/dma/state.js";
import { cpuRead, cpuWrite } from "../../lib/model/actions.js";
import { dmaDebugOf, enableDmaDebug } from "../../lib/dma/debug.js";
import { deviceRead, deviceWrite } from "../../lib/model/actions.js";
import { dmaMapSg, dmaMapSingle, dmaMapSingleAttrs, dmaMappingErrorFor, dmaSyncSgForCpu, dmaSyncSingleForCpu, dmaSyncSingleForDevice, dmaUnmapSg, dmaUnmapSingle } from "../../lib/dma/mapping.js";
import { DMA_ATTR_SKIP_CPU_SYNC } from "../../lib/core/dma-types.js";
import { sgInitEntry, sgSetPage } from "../../lib/sg/scatterlist.js";
import type { Pfn } from "../../lib/core/addr.js";

const BBB = "am335x-beaglebone-black";
const USB = "47401c00.usb";

/** An arm64 board whose device is NOT dma-coherent (the arm64-server profile with the flag flipped). */
function arm64NonCoherent(kernel = "v6.19", swiotlb?: { force?: boolean; noforce?: boolean }): Machine {
  const p = JSON.parse(readFileSync("data/platforms/arm64-server.json", "utf8"));
  p.id = "arm64-noncoherent";
  p.devices = [{ name: "dev0", driver: "test-dma", bus: "platform", dmaMaskBits: 64, dmaCoherent: false }, { name: "dev32", driver: "test-dma", bus: "platform", dmaMaskBits: 32, dmaCoherent: false }];
  return createMachine(p, { kernel, ...(swiotlb ? { swiotlb } : {}) });
}

describe("dma_map_single on a non-coherent ARMv7 board (BeagleBone Black, v6.19)", () => {
  it("maps to the physical address and invalidates the buffer's lines for DMA_FROM_DEVICE", () => {
    const m = createMachine(BBB);
    const dev = m.device(USB);
    const buf = kmalloc(m, 1536)!;
    // The slab arena starts 64 MiB into the only bank: 0x80000000 + 0x4000000.
    expect(virtToPhys(m, buf)).toBe(0x84000000);
    const dma = dmaMapSingle(dev, buf, 1536, DMA_FROM_DEVICE);
    expect(dma).toBe(0x84000000);
    const ev = m.trace.ofKind("dma_map")[0]!;
    // v7_dma_inv_range over 1536 / 64 = 24 whole lines; cost = 300 ns per call + 24 x 40 ns = 1260 ns (data/costs).
    expect(ev.data["lines"]).toBe(24);
    expect(ev.costNs).toBe(1260);
    expect(ev.msg).toMatch(/v7_dma_inv_range invalidate 0x84000000-0x84000600/);
  });

  it("DMA_ATTR_SKIP_CPU_SYNC maps without maintenance", () => {
    const m = createMachine(BBB);
    const buf = kmalloc(m, 256)!;
    dmaMapSingleAttrs(m.device(USB), buf, 256, DMA_FROM_DEVICE, DMA_ATTR_SKIP_CPU_SYNC);
    expect(m.trace.ofKind("dma_map")[0]!.data["lines"]).toBe(0);
  });

  it("a device write is seen after dma_sync_single_for_cpu, and the cached copy is stale without it", () => {
    const m = createMachine(BBB);
    const dev = m.device(USB);
    const buf = kmalloc(m, 64)!;
    const dma = dmaMapSingle(dev, buf, 64, DMA_FROM_DEVICE);
    m.cpuCache.cpuRead(virtToPhys(m, buf), 64); // a (speculative) fill while the device owns the buffer
    const t = deviceWrite(dev, dma, 64);
    expect(t).toBe("dev:1");
    dmaSyncSingleForCpu(dev, dma, 64, DMA_FROM_DEVICE);
    expect(cpuRead(m, buf, 64).map((r) => r.label)).toEqual(["dev:1"]);
    expect(m.cpuCache.hazards).toEqual([]);
  });
});

describe("arm64 sync rules through dma-direct", () => {
  it("v6.19 map cleans only, so a line cached before the map stays: reading without sync is stale", () => {
    const m = arm64NonCoherent("v6.19");
    const dev = m.device("dev0");
    const buf = kmalloc(m, 1024)!;
    cpuRead(m, buf, 1024); // previous packet
    const dma = dmaMapSingle(dev, buf, 1024, DMA_FROM_DEVICE);
    deviceWrite(dev, dma, 1024);
    const seen = cpuRead(m, buf, 1024).map((r) => r.label);
    expect(seen).toEqual(["init"]);
    expect(m.cpuCache.hazards.map((h) => h.kind)).toEqual(["stale_read"]);
    expect(m.cpuCache.hazards[0]!.shouldHaveCalled).toMatch(/^dma_sync_single_for_cpu\(dev0/);
  });

  it("v5.4 map invalidates DMA_FROM_DEVICE buffers, so the same sequence reads fresh data", () => {
    const m = arm64NonCoherent("v5.4");
    const dev = m.device("dev0");
    const buf = kmalloc(m, 1024)!;
    cpuRead(m, buf, 1024);
    const dma = dmaMapSingle(dev, buf, 1024, DMA_FROM_DEVICE);
    deviceWrite(dev, dma, 1024);
    expect(cpuRead(m, buf, 1024).map((r) => r.label)).toEqual(["dev:1"]);
  });

  it("v6.19: a 20-byte DMA_FROM_DEVICE buffer bounces through swiotlb (kmalloc-32 is not a multiple of 64)", () => {
    const m = arm64NonCoherent("v6.19");
    const dev = m.device("dev0");
    const buf = kmalloc(m, 20)!;
    // dma_kmalloc_needs_bounce: non-coherent, not TO_DEVICE, 20 < 2 x 128, kmalloc_size_roundup(20) = 32, 32 % 64 != 0.
    // The board has RAM above arm64_dma_phys_limit (ZONE_DMA32 ends at 4 GiB; RAM runs to 0x8400000000), so
    // arch_mm_preinit asked swiotlb_init for the default 64 MiB pool, which memblock_alloc_low puts at the top
    // of the RAM below 4 GiB: 0x100000000 - 0x4000000 = 0xfc000000. swiotlb_map returns the first slot.
    const dma = dmaMapSingle(dev, buf, 20, DMA_FROM_DEVICE);
    expect(dma).toBe(0xfc000000);
    const ev = m.trace.ofKind("dma_map")[0]!;
    expect(ev.data["bounced"]).toBe(true);
    // v6.19 swiotlb_tbl_map_single copies the buffer in for every direction (20 bytes).
    expect(ev.data["copiedBytes"]).toBe(20);
    // DMA_TO_DEVICE only cleans: no bounce, the buffer's own address.
    expect(dmaMapSingle(dev, buf, 20, DMA_TO_DEVICE)).toBe(virtToPhys(m, buf));
    // v6.4: no such rule.
    const old = arm64NonCoherent("v6.4");
    const ob = kmalloc(old, 20)!;
    expect(dmaMapSingle(old.device("dev0"), ob, 20, DMA_FROM_DEVICE)).toBe(virtToPhys(old, ob));
  });

  it("a buffer above 4 GiB is not dma_capable for a 32-bit device: it bounces to the pool below 4 GiB", () => {
    const m = arm64NonCoherent();
    const buf = kmalloc(m, 4096)!;
    // slab arena: highest bank 0x8000000000 + 64 MiB = 0x8004000000, above 2^32.
    expect(virtToPhys(m, buf)).toBe(0x8004000000);
    // swiotlb pool at 0xfc000000 (see above); 0xfc000000 + 4095 <= DMA_BIT_MASK(32): the bounce address is capable.
    expect(dmaMapSingle(m.device("dev32"), buf, 4096, DMA_TO_DEVICE)).toBe(0xfc000000);
    expect(m.trace.ofKind("swiotlb_map")).toHaveLength(1);
    expect(dmaMapSingle(m.device("dev0"), buf, 4096, DMA_TO_DEVICE)).toBe(0x8004000000);
  });

  it("swiotlb=noforce: no pool, so the same map fails (v6.19: DMA_MAPPING_ERROR with the overflow warning; v5.4: Cannot do DMA)", () => {
    for (const [k, text] of [["v6.19", /overflow/], ["v5.4", /Cannot do DMA to address/]] as const) {
      const m = arm64NonCoherent(k, { noforce: true });
      const buf = kmalloc(m, 4096)!;
      expect(dmaMapSingle(m.device("dev32"), buf, 4096, DMA_TO_DEVICE)).toBe(DMA_MAPPING_ERROR);
      expect(m.trace.ofKind("dma_map_error")[0]!.msg).toMatch(text);
      expect(m.trace.ofKind("swiotlb_map")).toHaveLength(0);
    }
  });

  it("swiotlb=force: even a capable buffer bounces (is_swiotlb_force_bounce)", () => {
    const m = arm64NonCoherent("v6.19", { force: true });
    const buf = kmalloc(m, 4096)!;
    expect(dmaMapSingle(m.device("dev0"), buf, 4096, DMA_TO_DEVICE)).toBe(0xfc000000);
  });
});

describe("coherent platforms", () => {
  it("x86: no maintenance; only the per-call cost (30 ns, data/costs/x86-64-pc.json)", () => {
    const m = createMachine("x86-64-pc");
    const dev = m.device("0000:01:00.0");
    const buf = kmalloc(m, 1536)!;
    dmaMapSingle(dev, buf, 1536, DMA_FROM_DEVICE);
    const ev = m.trace.ofKind("dma_map")[0]!;
    expect(ev.data["lines"]).toBe(0);
    expect(ev.costNs).toBe(30);
  });
});

describe("scatterlists through dma_map_sg (dispatch to dma-direct)", () => {
  it("maps each entry on its own with maintenance, and syncs each entry", () => {
    const m = createMachine(BBB);
    const dev = m.device(USB);
    const buf = kmalloc(m, 8192)!;
    const pa = virtToPhys(m, buf);
    const sgl = [sgInitEntry(), sgInitEntry()];
    sgSetPage(sgl[0]!, (pa / 4096) as Pfn, 4096, 0);
    sgSetPage(sgl[1]!, (pa / 4096 + 1) as Pfn, 2048, 0);
    sgl[1]!.isLast = true;
    expect(dmaMapSg(dev, sgl, 2, DMA_FROM_DEVICE)).toBe(2);
    expect(sgl.map((s) => [s.dmaAddress, s.dmaLength])).toEqual([
      [pa, 4096],
      [pa + 4096, 2048],
    ]);
    // 4096/64 = 64 lines and 2048/64 = 32 lines invalidated
    expect(m.trace.ofKind("dma_map").map((e) => e.data["lines"])).toEqual([64, 32]);
    deviceWrite(dev, sgl[1]!.dmaAddress, 2048);
    dmaSyncSgForCpu(dev, sgl, 2, DMA_FROM_DEVICE);
    expect(m.trace.ofKind("dma_sync_for_cpu").length).toBe(2);
    dmaUnmapSg(dev, sgl, 2, DMA_FROM_DEVICE);
    expect(activeMappings(m)).toEqual([]);
  });
});

describe("bad input is rejected with the model unchanged", () => {
  it("an unknown direction", () => {
    const m = createMachine(BBB);
    const buf = kmalloc(m, 64)!;
    const before = [m.trace.length, m.cpuCache.tokenCount, activeMappings(m).length];
    expect(() => dmaMapSingle(m.device(USB), buf, 64, 5)).toThrow(/DMA_BIDIRECTIONAL/);
    expect(() => dmaSyncSingleForCpu(m.device(USB), 0x84000000 as never, 64, -1)).toThrow(/dir/);
    expect([m.trace.length, m.cpuCache.tokenCount, activeMappings(m).length]).toEqual(before);
  });

  it("a device access outside the mapping", () => {
    const m = createMachine(BBB);
    const dev = m.device(USB);
    const buf = kmalloc(m, 128)!;
    const dma = dmaMapSingle(dev, buf, 128, DMA_FROM_DEVICE);
    const before = [m.trace.length, m.cpuCache.tokenCount, m.cpuCache.memoryToken(virtToPhys(m, buf))];
    expect(() => deviceWrite(dev, dma + 64, 128)).toThrow(/inside an active mapping/);
    expect(() => deviceRead(dev, dma - 1, 1)).toThrow(/inside an active mapping/);
    expect([m.trace.length, m.cpuCache.tokenCount, m.cpuCache.memoryToken(virtToPhys(m, buf))]).toEqual(before);
  });

  it("a CPU access to an unmapped kernel address", () => {
    const m = createMachine(BBB);
    const before = m.trace.length;
    expect(() => cpuRead(m, 0x1000 as VirtAddr, 4)).toThrow(/mapped kernel virtual address/);
    expect(m.trace.length).toBe(before);
  });
});

// ---- properties ----

type Dir = 0 | 1 | 2;
/** Run one correct use of a buffer in direction `dir`; `extra` adds a sync_for_cpu/sync_for_device round trip. */
function correctCycle(m: Machine, devName: string, buf: VirtAddr, size: number, dir: Dir, extra: boolean, cpuTouchesFirst: boolean): void {
  const dev = m.device(devName);
  if (cpuTouchesFirst) cpuWrite(m, buf, size);
  if (dir === DMA_TO_DEVICE) {
    const dma = dmaMapSingle(dev, buf, size, dir);
    expect(dmaMappingErrorFor(dev, dma)).toBe(false);
    deviceRead(dev, dma, size);
    if (extra) {
      dmaSyncSingleForCpu(dev, dma, size, dir);
      cpuWrite(m, buf, size);
      dmaSyncSingleForDevice(dev, dma, size, dir);
      deviceRead(dev, dma, size);
    }
    dmaUnmapSingle(dev, dma, size, dir);
    return;
  }
  const dma = dmaMapSingle(dev, buf, size, dir);
  expect(dmaMappingErrorFor(dev, dma)).toBe(false);
  if (dir === DMA_BIDIRECTIONAL) deviceRead(dev, dma, size);
  deviceWrite(dev, dma, Math.ceil(size / 2));
  deviceWrite(dev, dma + Math.ceil(size / 2), size - Math.ceil(size / 2) || 1);
  if (extra) {
    dmaSyncSingleForCpu(dev, dma, size, dir);
    cpuRead(m, buf, size);
    if (dir === DMA_BIDIRECTIONAL) cpuWrite(m, buf, size);
    dmaSyncSingleForDevice(dev, dma, size, dir);
    deviceWrite(dev, dma, size);
  }
  dmaUnmapSingle(dev, dma, size, dir);
  cpuRead(m, buf, size);
}

const PLATFORMS: Array<[string, string]> = [
  [BBB, USB],
  ["parisc-c8000", "0000:00:01.0"],
  ["x86-64-pc", "0000:01:00.0"],
];

describe("property: correct call sequences never produce a hazard", () => {
  it("random buffers, directions, seeds, speculative fills and evictions", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: PLATFORMS.length }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.array(fc.tuple(fc.integer({ min: 200, max: 3000 }), fc.constantFrom<Dir>(0, 1, 2), fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 5 }),
        (pi, seed, spec, evict, cycles) => {
          const m = pi === PLATFORMS.length ? arm64NonCoherent() : createMachine(PLATFORMS[pi]![0], { seed });
          const devName = pi === PLATFORMS.length ? "dev0" : PLATFORMS[pi]![1];
          m.cpuCache.specFillProb = spec;
          m.cpuCache.evictProb = evict;
          const dbg = enableDmaDebug(m);
          for (const [size, dir, extra, touch] of cycles) {
            const buf = kmalloc(m, size)!;
            correctCycle(m, devName, buf, size, dir, extra, touch);
          }
          expect(m.cpuCache.hazards).toEqual([]);
          expect(dbg.reports).toEqual([]);
          expect(activeMappings(m)).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("property: hazards appear when a sync is missing, on non-coherent boards only", () => {
  it("no dma_sync_single_for_cpu before the CPU reads: a stale read on the BeagleBone (any seed, speculation on), none on x86", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 4096 }), (seed, size) => {
        for (const [platform, devName, expectStale] of [
          [BBB, USB, true],
          ["x86-64-pc", "0000:01:00.0", false],
        ] as const) {
          const m = createMachine(platform, { seed });
          m.cpuCache.specFillProb = 1; // a speculative fill after every step
          const dev = m.device(devName);
          const buf = kmalloc(m, size)!;
          const dma = dmaMapSingle(dev, buf, size, DMA_FROM_DEVICE);
          deviceWrite(dev, dma, size);
          cpuRead(m, buf, size); // missing dma_sync_single_for_cpu
          expect(m.cpuCache.hazards.some((h) => h.kind === "stale_read")).toBe(expectStale);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("a CPU write after dma_map_single without dma_sync_single_for_device: the device reads stale data (non-coherent only)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), (size) => {
        for (const [platform, devName, expectStale] of [
          [BBB, USB, true],
          ["parisc-c8000", "0000:00:01.0", true],
          ["arm64-server", "0000:01:00.0", false],
        ] as const) {
          const m = createMachine(platform);
          const dev = m.device(devName);
          const buf = kmalloc(m, size)!;
          const dma = dmaMapSingle(dev, buf, size, DMA_TO_DEVICE);
          cpuWrite(m, buf, size);
          deviceRead(dev, dma, size);
          expect(m.cpuCache.hazards.map((h) => h.kind).includes("device_read_stale")).toBe(expectStale);
        }
      }),
      { numRuns: 30 },
    );
  });

  it("a CPU-written field sharing the last line of a DMA_FROM_DEVICE buffer: the device's data is lost at unmap (ARMv7)", () => {
    // 1500 bytes: the buffer ends in line 1472..1535 (1500 is not a multiple of 64); the field at +1500 shares it.
    const m = createMachine(BBB);
    const dev = m.device(USB);
    const obj = kmalloc(m, 1508)!;
    const dma = dmaMapSingle(dev, obj, 1500, DMA_FROM_DEVICE);
    cpuWrite(m, (obj + 1500) as VirtAddr, 4);
    deviceWrite(dev, dma, 1500);
    dmaUnmapSingle(dev, dma, 1500, DMA_FROM_DEVICE); // v7_dma_inv_range cleans+invalidates the partial last line
    const pa = virtToPhys(m, obj);
    expect(m.cpuCache.hazards.map((h) => [h.kind, h.paddr])).toEqual([["lost_write", pa + 1472]]);
    expect(dmaDebugOf(m)).toBeNull();
  });
});
