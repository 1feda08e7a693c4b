/**
 * Bounce data integrity through dma-direct + swiotlb + the cache model.
 *
 * Rules under test (kernel/dma/direct.h dma_direct_map_phys and
 * kernel/dma/swiotlb.c swiotlb_map / swiotlb_tbl_map_single /
 * swiotlb_tbl_unmap_single / swiotlb_sync_single_for_*, v6.19; the same
 * functions in kernel/dma/direct.c and kernel/dma/swiotlb.c, v5.4.6):
 * - a buffer above 4 GiB is not dma_capable for a 32-bit mask, so it
 *   bounces through the pool below 4 GiB;
 * - after a correct map / sync_for_device the device reads what the CPU
 *   wrote; after a correct sync_for_cpu / unmap the CPU reads what the
 *   device wrote, token for token;
 * - v6.19 copies the buffer into the bounce slots at map time for every
 *   direction; v5.4 only for TO_DEVICE and BIDIRECTIONAL (so a v5.4
 *   FROM_DEVICE mapping the device writes only partly hands the CPU
 *   whatever the slots held: the lines the device did not write are not
 *   checked there);
 * - unmapping everything frees every slot.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { DMA_MAPPING_ERROR, type DmaAddr, type Pfn, type VirtAddr } from "../../lib/core/addr.js";
import { EIO } from "../../lib/core/errno.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { createMachine, type Machine } from "../../lib/platform/machine.js";
import type { Device } from "../../lib/platform/device.js";
import { kmalloc } from "../../lib/mm/slab.js";
import { virtToPhys } from "../../lib/mm/linear-map.js";
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE } from "../../lib/core/dma-types.js";
import { deviceRead, deviceWrite } from "../../lib/model/actions.js";
import { cpuRead, cpuWrite } from "../../lib/model/actions.js";
import { dmaDirectMapPhys, dmaDirectMapSg, dmaDirectUnmapPhys, dmaDirectUnmapSg, dmaDirectSyncSingleForCpu, dmaDirectSyncSingleForDevice } from "../../lib/dma/direct.js";
import { swiotlbBootOf, swiotlbOf } from "../../lib/dma/swiotlb.js";
import { swiotlbUsed } from "../../lib/dma/swiotlb.js";
import { sgInitEntry, sgSetPage } from "../../lib/sg/scatterlist.js";

const G4 = 2 ** 32;
const MiB = 2 ** 20;
const LINE = 64; // both boards: 64-byte lines (data/platforms/*.json)

function x86(kernel: string, swiotlb?: { size?: number; force?: boolean; noforce?: boolean }): { m: Machine; dev: Device } {
  // x86-64-pc: RAM 0-2 GiB and 4-10 GiB, coherent devices; 0000:00:1a.0 has a 32-bit mask.
  const m = createMachine("x86-64-pc", { kernel, ...(swiotlb ? { swiotlb } : {}) });
  return { m, dev: m.device("0000:00:1a.0") };
}

function arm64(kernel: string): { m: Machine; dev: Device } {
  const p = JSON.parse(readFileSync("data/platforms/arm64-server.json", "utf8"));
  p.id = "arm64-noncoherent";
  p.devices = [{ name: "dev32", driver: "test-dma", bus: "platform", dmaMaskBits: 32, dmaCoherent: false }];
  const m = createMachine(p, { kernel });
  return { m, dev: m.device("dev32") };
}

type Cmd =
  | { k: "map"; b: number; dir: 0 | 1 | 2; lines: number }
  | { k: "devWrite"; b: number; off: number; n: number }
  | { k: "devRead"; b: number }
  | { k: "syncCpu"; b: number }
  | { k: "cpuWrite"; b: number; off: number; n: number }
  | { k: "syncDev"; b: number }
  | { k: "unmap"; b: number };

const NBUF = 2;
const MAXLINES = 96; // 6 KiB: 3 slots, crossing a page
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ k: fc.constant("map" as const), b: fc.integer({ min: 0, max: NBUF - 1 }), dir: fc.constantFrom(0 as const, 1 as const, 2 as const), lines: fc.integer({ min: 1, max: MAXLINES }) }),
  fc.record({ k: fc.constant("map" as const), b: fc.integer({ min: 0, max: NBUF - 1 }), dir: fc.constantFrom(0 as const, 1 as const, 2 as const), lines: fc.integer({ min: 1, max: MAXLINES }) }),
  fc.record({ k: fc.constant("devWrite" as const), b: fc.integer({ min: 0, max: NBUF - 1 }), off: fc.integer({ min: 0, max: MAXLINES - 1 }), n: fc.integer({ min: 1, max: MAXLINES }) }),
  fc.record({ k: fc.constant("devRead" as const), b: fc.integer({ min: 0, max: NBUF - 1 }) }),
  fc.record({ k: fc.constant("syncCpu" as const), b: fc.integer({ min: 0, max: NBUF - 1 }) }),
  fc.record({ k: fc.constant("cpuWrite" as const), b: fc.integer({ min: 0, max: NBUF - 1 }), off: fc.integer({ min: 0, max: MAXLINES - 1 }), n: fc.integer({ min: 1, max: MAXLINES }) }),
  fc.record({ k: fc.constant("syncDev" as const), b: fc.integer({ min: 0, max: NBUF - 1 }) }),
  fc.record({ k: fc.constant("unmap" as const), b: fc.integer({ min: 0, max: NBUF - 1 }) }),
);

interface Buf {
  va: number;
  pa: number;
  size: number;
  dir: 0 | 1 | 2;
  dma: number | null;
  owner: "device" | "cpu";
  /** Expected token label per line; null = unknown (v5.4 FROM_DEVICE lines the device has not written). */
  expect: Array<string | null>;
}

function labelsPerLine(runs: Array<{ start: number; end: number; label: string }>, pa: number, size: number): string[] {
  const out: string[] = [];
  for (let a = pa; a < pa + size; a += LINE) out.push(runs.find((r) => a >= r.start && a < r.end)!.label);
  return out;
}

function checkSeen(b: Buf, seen: string[]): void {
  b.expect.forEach((e, i) => {
    if (e !== null) expect(seen[i]).toBe(e);
  });
}

/** Run one random command sequence on a board; every check is the rule in the header. */
function runSequence(m: Machine, dev: Device, bufs: Buf[], cmds: Cmd[]): void {
  const v54 = m.kernel.name === "v5.4";
  const hazards0 = m.cpuCache.hazards.length;
  const step = (c: Cmd) => {
    const b = bufs[c.b]!;
    if (c.k === "map") {
      if (b.dma !== null) return;
      b.size = c.lines * LINE;
      b.dir = c.dir;
      const t = cpuWrite(m, b.va, b.size); // the CPU fills the buffer before mapping it
      b.expect = Array.from({ length: c.lines }, () => (v54 && c.dir === DMA_FROM_DEVICE ? null : t));
      const dma = dmaDirectMapPhys(dev, b.pa, b.size, b.dir);
      expect(dma).not.toBe(DMA_MAPPING_ERROR);
      // the bounce buffer is below the 32-bit mask and the original is above it
      expect(dma + b.size - 1).toBeLessThanOrEqual(0xffffffff);
      expect(b.pa).toBeGreaterThanOrEqual(G4);
      b.dma = dma;
      b.owner = "device";
      return;
    }
    if (b.dma === null) return;
    const lines = b.size / LINE;
    // A command that needs the other owner first makes the protocol's transfer call itself.
    if ((c.k === "devWrite" || c.k === "devRead") && b.owner === "cpu") step({ k: "syncDev", b: c.b });
    if (c.k === "cpuWrite" && b.owner === "device") step({ k: "syncCpu", b: c.b });
    if (c.k === "devWrite") {
      if (b.dir === DMA_TO_DEVICE || c.off >= lines) return;
      const n = Math.min(c.n, lines - c.off);
      const t = deviceWrite(dev, b.dma + c.off * LINE, n * LINE);
      for (let i = c.off; i < c.off + n; i++) b.expect[i] = t;
    } else if (c.k === "devRead") {
      if (b.dir === DMA_FROM_DEVICE) return;
      // what the device reads at the bounce address = what the CPU wrote (or the device itself, BIDIRECTIONAL);
      // the runs are in bounce-buffer physical addresses
      const runs = deviceRead(dev, b.dma, b.size);
      const start = runs[0]!.start;
      checkSeen(b, labelsPerLine(runs, start, b.size));
    } else if (c.k === "syncCpu") {
      if (b.owner !== "device") return;
      dmaDirectSyncSingleForCpu(dev, b.dma as DmaAddr, b.size, b.dir);
      b.owner = "cpu";
      checkSeen(b, labelsPerLine(cpuRead(m, b.va, b.size), b.pa, b.size));
    } else if (c.k === "cpuWrite") {
      // FROM_DEVICE: a CPU write is not carried to the device, so it is not part of the protocol tested
      if (b.dir === DMA_FROM_DEVICE || c.off >= lines) return;
      const n = Math.min(c.n, lines - c.off);
      const t = cpuWrite(m, b.va + c.off * LINE, n * LINE);
      for (let i = c.off; i < c.off + n; i++) b.expect[i] = t;
    } else if (c.k === "syncDev") {
      if (b.owner !== "cpu") return;
      dmaDirectSyncSingleForDevice(dev, b.dma as DmaAddr, b.size, b.dir);
      b.owner = "device";
    } else if (c.k === "unmap") {
      if (b.owner === "cpu") {
        // hand the buffer back first so the CPU's writes reach the bounce buffer the unmap copies back
        dmaDirectSyncSingleForDevice(dev, b.dma as DmaAddr, b.size, b.dir);
      }
      dmaDirectUnmapPhys(dev, b.dma as DmaAddr, b.size, b.dir);
      b.dma = null;
      checkSeen(b, labelsPerLine(cpuRead(m, b.va, b.size), b.pa, b.size));
    }
  };
  for (const c of cmds) step(c);
  for (const b of bufs) if (b.dma !== null) step({ k: "unmap", b: bufs.indexOf(b) });
  // no leaked slots after unmapping everything
  expect(swiotlbUsed(swiotlbOf(m)!)).toBe(0);
  // correct syncs: no stale read, lost write or stale device read
  expect(m.cpuCache.hazards.slice(hazards0)).toEqual([]);
}

function boardBufs(m: Machine): Buf[] {
  const out: Buf[] = [];
  for (let i = 0; i < NBUF; i++) {
    const va = kmalloc(m, 8192)!; // 8 KiB object: page aligned, so whole lines
    out.push({ va, pa: virtToPhys(m, va as VirtAddr), size: 0, dir: 0, dma: null, owner: "device", expect: [] });
  }
  return out;
}

describe("swiotlb bounce through dma-direct: the device sees what the CPU wrote, the CPU what the device wrote", () => {
  const boards: Array<[string, () => { m: Machine; dev: Device }]> = [
    ["x86-64 coherent, v6.19", () => x86("v6.19")],
    ["x86-64 coherent, v5.4", () => x86("v5.4")],
    ["arm64 non-coherent, v6.19", () => arm64("v6.19")],
    ["arm64 non-coherent, v5.4", () => arm64("v5.4")],
  ];
  for (const [name, mk] of boards) {
    it(`${name}: random map/sync/unmap sequences, with speculative fills and evictions`, () => {
      const { m, dev } = mk();
      m.cpuCache.specFillProb = 0.3;
      m.cpuCache.evictProb = 0.3;
      const bufs = boardBufs(m);
      fc.assert(
        fc.property(fc.array(cmdArb, { minLength: 10, maxLength: 60 }), (cmds) => {
          for (const b of bufs) {
            b.dma = null;
            b.owner = "device";
          }
          runSequence(m, dev, bufs, cmds);
        }),
        { seed: 20260422, numRuns: 60 },
      );
      // the buffers really were bounced: swiotlb_map events exist
      expect(m.trace.ofKind("swiotlb_map").length).toBeGreaterThan(0);
    });
  }
});

describe("what goes wrong without the syncs (the same path, one call left out)", () => {
  it("non-coherent arm64 v6.19: reading before dma_sync_single_for_cpu sees the CPU's old data, not the device's", () => {
    const { m, dev } = arm64("v6.19");
    const va = kmalloc(m, 4096)!;
    const pa = virtToPhys(m, va as VirtAddr);
    const t = cpuWrite(m, va, 4096);
    const dma = dmaDirectMapPhys(dev, pa, 4096, DMA_FROM_DEVICE);
    deviceWrite(dev, dma, 4096);
    // no sync: the original buffer never received the bounce buffer's contents
    expect(cpuRead(m, va, 4096).map((r) => r.label)).toEqual([t]);
    dmaDirectSyncSingleForCpu(dev, dma, 4096, DMA_FROM_DEVICE);
    expect(cpuRead(m, va, 4096).map((r) => r.label)).toEqual(["dev:1"]);
    dmaDirectUnmapPhys(dev, dma, 4096, DMA_FROM_DEVICE);
  });

  it("v5.4 FROM_DEVICE: nothing is copied in at map time, so a partial device write returns stale slot contents for the rest (v6.19 copies in)", () => {
    for (const k of ["v5.4", "v6.19"]) {
      const { m, dev } = x86(k);
      const va = kmalloc(m, 4096)!;
      const pa = virtToPhys(m, va as VirtAddr);
      const t = cpuWrite(m, va, 4096);
      const dma = dmaDirectMapPhys(dev, pa, 4096, DMA_FROM_DEVICE);
      deviceWrite(dev, dma, 64); // the device writes only the first line
      dmaDirectUnmapPhys(dev, dma, 4096, DMA_FROM_DEVICE);
      const seen = cpuRead(m, va, 4096).map((r) => r.label);
      // v6.19: line 0 from the device, the rest the CPU's own data (copied in at map, back at unmap).
      // v5.4: the rest is what the fresh pool held: the initial contents ("init").
      expect(seen).toEqual(k === "v6.19" ? ["dev:1", t] : ["dev:1", "init"]);
    }
  });
});

describe("pool at boot, exhaustion and the release's failure value", () => {
  it("x86-64 with RAM above 4 GiB boots a 64 MiB pool at the top of the RAM below 4 GiB; swiotlb= size and noforce", () => {
    // x86-64-pc: the low bank ends at 2 GiB, so the pool is [2 GiB - 64 MiB, 2 GiB)
    const { m } = x86("v6.19");
    const mem = swiotlbOf(m)!;
    expect(mem.defpool.start).toBe(2 * 2 ** 30 - 64 * MiB);
    expect(mem.nslabs).toBe((64 * MiB) / 2048);
    expect(swiotlbBootOf(m).reason).toMatch(/above 4 GiB/);
    // swiotlb= 1 MiB: 512 slots
    expect(swiotlbOf(x86("v6.19", { size: MiB }).m)!.nslabs).toBe(512);
    expect(swiotlbOf(x86("v6.19", { noforce: true }).m)).toBeNull();
    // parisc does not use swiotlb
    expect(swiotlbOf(createMachine("parisc-c8000"))).toBeNull();
  });

  it("bad swiotlb options are rejected when the machine is built", () => {
    expect(() => x86("v6.19", { size: 1000 })).toThrow(ModelConfigError);
    expect(() => x86("v6.19", { force: true, noforce: true })).toThrow(ModelConfigError);
  });

  it("a 1 MiB pool holds 256 page-sized bounces (512 slots / 2); the 257th fails with 'swiotlb buffer is full'", () => {
    for (const k of ["v6.19", "v5.4"]) {
      const { m, dev } = x86(k, { size: MiB });
      const base = G4 + 256 * MiB; // RAM above 4 GiB, not dma_capable for the 32-bit device
      const dmas: number[] = [];
      for (let i = 0; i < 256; i++) {
        const d = dmaDirectMapPhys(dev, base + i * 4096, 4096, DMA_TO_DEVICE);
        expect(d).not.toBe(DMA_MAPPING_ERROR);
        dmas.push(d);
      }
      expect(swiotlbUsed(swiotlbOf(m)!)).toBe(512);
      expect(dmaDirectMapPhys(dev, base + 256 * 4096, 4096, DMA_TO_DEVICE)).toBe(DMA_MAPPING_ERROR);
      // v5.1+ prints the slot counts (both releases here are newer)
      expect(m.trace.ofKind("swiotlb_full")[0]!.msg).toMatch(/swiotlb buffer is full \(sz: 4096 bytes\), total 512 \(slots\), used 512 \(slots\)/);
      dmaDirectUnmapPhys(dev, dmas[0]! as DmaAddr, 4096, DMA_TO_DEVICE);
      expect(dmaDirectMapPhys(dev, base + 256 * 4096, 4096, DMA_TO_DEVICE)).not.toBe(DMA_MAPPING_ERROR);
    }
  });

  it("dma_direct_map_sg: a list that overflows the pool is unwound (no slots kept) and fails with -EIO (v6.19) or 0 (v5.4)", () => {
    for (const [k, failure] of [["v6.19", -EIO], ["v5.4", 0]] as const) {
      const { m, dev } = x86(k, { size: MiB });
      // 300 page entries above 4 GiB need 600 slots > 512
      const sgl = Array.from({ length: 300 }, (_, i) => {
        const sg = sgInitEntry();
        sgSetPage(sg, ((G4 + 256 * MiB) / 4096 + i) as Pfn, 4096, 0);
        return sg;
      });
      expect(dmaDirectMapSg(dev, sgl, 300, DMA_BIDIRECTIONAL)).toBe(failure);
      expect(swiotlbUsed(swiotlbOf(m)!)).toBe(0);
      // 200 entries (400 slots) fit; unmapping them frees every slot
      expect(dmaDirectMapSg(dev, sgl, 200, DMA_BIDIRECTIONAL)).toBe(200);
      expect(swiotlbUsed(swiotlbOf(m)!)).toBe(400);
      dmaDirectUnmapSg(dev, sgl, 200, DMA_BIDIRECTIONAL);
      expect(swiotlbUsed(swiotlbOf(m)!)).toBe(0);
    }
  });

  it("a double unmap of a bounce address is misuse: ModelConfigError, pool unchanged", () => {
    const { m, dev } = x86("v6.19");
    const d = dmaDirectMapPhys(dev, G4 + 256 * MiB, 4096, DMA_TO_DEVICE);
    dmaDirectUnmapPhys(dev, d, 4096, DMA_TO_DEVICE);
    const used = swiotlbUsed(swiotlbOf(m)!);
    expect(() => dmaDirectUnmapPhys(dev, d, 4096, DMA_TO_DEVICE)).toThrow(ModelConfigError);
    expect(swiotlbUsed(swiotlbOf(m)!)).toBe(used);
  });

  it("copies cost cachedByteNs per byte: a 4 KiB TO_DEVICE bounce on x86 costs 30 ns + 4096 x 0.4 ns (data/costs/x86-64-pc.json)", () => {
    const { m, dev } = x86("v6.19");
    dmaDirectMapPhys(dev, G4 + 256 * MiB, 4096, DMA_TO_DEVICE);
    expect(m.trace.ofKind("dma_map")[0]!.costNs).toBeCloseTo(30 + 4096 * 0.4, 6);
  });

  it("map-time and unmap copies per release: v6.19 copies in for every direction and back once; v5.4 copies in for TO_DEVICE/BIDIRECTIONAL only and back twice", () => {
    // v6.19 swiotlb_tbl_map_single: swiotlb_bounce(..., DMA_TO_DEVICE) unconditionally; dma_direct_unmap_phys:
    // sync_for_cpu (copy back) then swiotlb_tbl_unmap_single with DMA_ATTR_SKIP_CPU_SYNC (no second copy).
    // v5.4 swiotlb_tbl_map_single copies only for TO_DEVICE/BIDIRECTIONAL; dma_direct_unmap_page: sync_for_cpu
    // (copy back) then swiotlb_tbl_unmap_single with the caller's attrs (a second copy back).
    const expected: Record<string, Record<number, [number, number]>> = {
      "v6.19": { [DMA_TO_DEVICE]: [4096, 0], [DMA_FROM_DEVICE]: [4096, 4096], [DMA_BIDIRECTIONAL]: [4096, 4096] },
      "v5.4": { [DMA_TO_DEVICE]: [4096, 0], [DMA_FROM_DEVICE]: [0, 8192], [DMA_BIDIRECTIONAL]: [4096, 8192] },
    };
    for (const k of ["v6.19", "v5.4"]) {
      for (const dir of [DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL]) {
        const { m, dev } = x86(k);
        const d = dmaDirectMapPhys(dev, G4 + 256 * MiB, 4096, dir);
        dmaDirectUnmapPhys(dev, d as DmaAddr, 4096, dir);
        const got = [m.trace.ofKind("dma_map")[0]!.data["copiedBytes"], m.trace.ofKind("dma_unmap")[0]!.data["copiedBytes"]];
        expect(got, `${k} dir ${dir}`).toEqual(expected[k]![dir]);
      }
    }
  });

  it("a bounce address the device cannot reach either: slots released, DMA_MAPPING_ERROR", () => {
    // A 30-bit device on x86-64-pc: the buffer above 4 GiB bounces, but the pool is at 2 GiB - 64 MiB,
    // above DMA_BIT_MASK(30) = 1 GiB - 1 (swiotlb_map's second dma_capable check).
    const p = JSON.parse(readFileSync("data/platforms/x86-64-pc.json", "utf8"));
    p.id = "x86-64-pc-30bit";
    p.devices = [{ name: "dev30", driver: "test-dma", bus: "pci", dmaMaskBits: 30, dmaCoherent: true }];
    const m = createMachine(p, { kernel: "v6.19" });
    const dev = m.device("dev30");
    expect(dmaDirectMapPhys(dev, G4 + 256 * MiB, 4096, DMA_TO_DEVICE)).toBe(DMA_MAPPING_ERROR);
    expect(swiotlbUsed(swiotlbOf(m)!)).toBe(0);
    expect(m.trace.ofKind("dma_map_error")[0]!.msg).toMatch(/not dma_capable either/);
  });
});

