import { describe, expect, it } from "vitest";
import type { DmaAddr, VirtAddr } from "../../lib/core/addr.js";
import { DMA_MAPPING_ERROR } from "../../lib/core/addr.js";
import { createMachine, type Machine } from "../../lib/platform/machine.js";
import { kmalloc, stackBuffer } from "../../lib/mm/slab.js";
import { virtToPhys } from "../../lib/mm/linear-map.js";
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE } from "../../lib/core/dma-types.js";
import { cpuRead } from "../../lib/model/actions.js";
import { enableDmaDebug } from "../../lib/dma/debug.js";
import { DmaDebugError } from "../../lib/dma/debug.js";
import { dmaMapPage, dmaMapSingle, dmaMappingErrorFor, dmaSyncSingleForCpu, dmaSyncSingleForDevice, dmaUnmapPage, dmaUnmapSg, dmaUnmapSingle, dmaMapSg } from "../../lib/dma/mapping.js";
import { sgInitEntry, sgSetPage } from "../../lib/sg/scatterlist.js";
import type { Pfn } from "../../lib/core/addr.js";

const BBB = "am335x-beaglebone-black";
const USB = "47401c00.usb";
// err_printk prefix: "DMA-API: " + dev_driver_string + " " + dev_name + ": "
const P = "DMA-API: musb-hdrc 47401c00.usb: ";

function setup(kernel = "v6.19", strict = false): { m: Machine; dbg: ReturnType<typeof enableDmaDebug> } {
  const m = createMachine(BBB, { kernel });
  return { m, dbg: enableDmaDebug(m, { strict }) };
}

function mapChecked(m: Machine, buf: VirtAddr, size: number, dir: number): DmaAddr {
  const dev = m.device(USB);
  const dma = dmaMapSingle(dev, buf, size, dir);
  dmaMappingErrorFor(dev, dma);
  return dma;
}

describe("dma-debug messages (kernel/dma/debug.c, v6.19 and v5.4)", () => {
  it("freeing memory that was never mapped", () => {
    const { m, dbg } = setup();
    dmaUnmapSingle(m.device(USB), 0x84000000 as DmaAddr, 64, DMA_TO_DEVICE);
    expect(dbg.reports.map((r) => r.message)).toEqual([`${P}device driver tries to free DMA memory it has not allocated [device address=0x0000000084000000] [size=64 bytes]`]);
  });

  it("freeing DMA_MAPPING_ERROR", () => {
    const { m, dbg } = setup();
    dmaUnmapSingle(m.device(USB), DMA_MAPPING_ERROR, 64, DMA_TO_DEVICE);
    expect(dbg.reports[0]!.message).toBe(`${P}device driver tries to free an invalid DMA memory address`);
  });

  it("double unmap: the second is 'not allocated'", () => {
    const { m, dbg } = setup();
    const buf = kmalloc(m, 64)!;
    const dma = mapChecked(m, buf, 64, DMA_TO_DEVICE);
    dmaUnmapSingle(m.device(USB), dma, 64, DMA_TO_DEVICE);
    expect(dbg.reports).toEqual([]);
    dmaUnmapSingle(m.device(USB), dma, 64, DMA_TO_DEVICE);
    expect(dbg.reports.map((r) => r.id)).toEqual(["free-not-allocated"]);
  });

  it("different size and different direction on unmap", () => {
    const { m, dbg } = setup();
    const buf = kmalloc(m, 256)!;
    const dma = mapChecked(m, buf, 256, DMA_FROM_DEVICE);
    dmaUnmapSingle(m.device(USB), dma, 128, DMA_TO_DEVICE);
    expect(dbg.reports.map((r) => r.message)).toEqual([
      `${P}device driver frees DMA memory with different size [device address=0x0000000084000000] [map size=256 bytes] [unmap size=128 bytes]`,
      `${P}device driver frees DMA memory with different direction [device address=0x0000000084000000] [size=128 bytes] [mapped with DMA_FROM_DEVICE] [unmapped with DMA_TO_DEVICE]`,
    ]);
  });

  it("wrong function: an sg entry unmapped with dma_unmap_single (v6.19 names: scatter-gather / phy; v5.4: scather-gather / single)", () => {
    // Boundaries (kernel/dma/debug.c type2name): "scather-gather" in v6.5.3 (christian-bendiksen/ubuntu-linux-6.5.3),
    // "scatter-gather" in v6.8.0 (vivo50kff/linux-6.8), modelled from v6.6 (v6.6/v6.7 not readable);
    // no "phy" in v6.17.0 (busysteve/linux-6.17.0-rust-ported-c), "phy" for dma_map_phys entries in v6.18.2 (gfunkmonk/linux-6.18.2).
    for (const [kernel, sgName, singleName] of [
      ["v6.19", "scatter-gather", "phy"],
      ["v6.18", "scatter-gather", "phy"],
      ["v6.17", "scatter-gather", "single"],
      ["v6.6", "scatter-gather", "single"],
      ["v6.5", "scather-gather", "single"],
      ["v5.4", "scather-gather", "single"],
    ] as const) {
      const { m, dbg } = setup(kernel);
      const buf = kmalloc(m, 4096)!;
      const sg = sgInitEntry();
      sgSetPage(sg, (virtToPhys(m, buf) / 4096) as Pfn, 4096, 0);
      sg.isLast = true;
      expect(dmaMapSg(m.device(USB), [sg], 1, DMA_TO_DEVICE)).toBe(1);
      dmaUnmapSingle(m.device(USB), sg.dmaAddress, 4096, DMA_TO_DEVICE);
      expect(dbg.reports.map((r) => r.message)).toEqual([
        `${P}device driver frees DMA memory with wrong function [device address=0x0000000084000000] [size=4096 bytes] [mapped as ${sgName}] [unmapped as ${singleName}]`,
      ]);
    }
  });

  it("an sg list unmapped with a different entry count", () => {
    const { m, dbg } = setup();
    const buf = kmalloc(m, 8192)!;
    const pfn = virtToPhys(m, buf) / 4096;
    const sgl = [sgInitEntry(), sgInitEntry()];
    sgSetPage(sgl[0]!, pfn as Pfn, 4096, 0);
    sgSetPage(sgl[1]!, (pfn + 1) as Pfn, 4096, 0);
    dmaMapSg(m.device(USB), sgl, 2, DMA_TO_DEVICE);
    dmaUnmapSg(m.device(USB), sgl, 1, DMA_TO_DEVICE);
    expect(dbg.reports[0]!.message).toBe(`${P}device driver frees DMA sg list with different entry count [map count=2] [unmap count=1]`);
  });

  it("map error never checked", () => {
    const { m, dbg } = setup();
    const buf = kmalloc(m, 64)!;
    const dma = dmaMapSingle(m.device(USB), buf, 64, DMA_TO_DEVICE);
    dmaUnmapSingle(m.device(USB), dma, 64, DMA_TO_DEVICE);
    expect(dbg.reports.map((r) => r.message)).toEqual([`${P}device driver failed to check map error[device address=0x0000000084000000] [size=64 bytes] [mapped as phy]`]);
  });

  it("sync in a different direction, and device read-only memory synced for cpu", () => {
    const { m, dbg } = setup();
    const buf = kmalloc(m, 128)!;
    const dma = mapChecked(m, buf, 128, DMA_TO_DEVICE);
    dmaSyncSingleForCpu(m.device(USB), dma, 128, DMA_FROM_DEVICE);
    expect(dbg.reports.map((r) => r.message)).toEqual([
      `${P}device driver syncs DMA memory with different direction [device address=0x0000000084000000] [size=128 bytes] [mapped with DMA_TO_DEVICE] [synced with DMA_FROM_DEVICE]`,
      `${P}device driver syncs device read-only DMA memory for cpu [device address=0x0000000084000000] [size=128 bytes] [mapped with DMA_TO_DEVICE] [synced with DMA_FROM_DEVICE]`,
    ]);
  });

  it("device write-only memory synced to the device with the wrong direction", () => {
    const { m, dbg } = setup();
    const buf = kmalloc(m, 128)!;
    const dma = mapChecked(m, buf, 128, DMA_FROM_DEVICE);
    dmaSyncSingleForDevice(m.device(USB), dma, 128, DMA_TO_DEVICE);
    expect(dbg.reports.map((r) => r.id)).toEqual(["sync-wrong-direction", "sync-writeonly-for-device"]);
  });

  it("a bidirectional mapping may be synced either way", () => {
    const { m, dbg } = setup();
    const buf = kmalloc(m, 128)!;
    const dma = mapChecked(m, buf, 128, DMA_BIDIRECTIONAL);
    dmaSyncSingleForCpu(m.device(USB), dma, 128, DMA_FROM_DEVICE);
    dmaSyncSingleForDevice(m.device(USB), dma, 128, DMA_TO_DEVICE);
    expect(dbg.reports).toEqual([]);
  });

  it("sync of memory never mapped, and beyond the mapping", () => {
    const { m, dbg } = setup();
    dmaSyncSingleForCpu(m.device(USB), 0x90000000 as DmaAddr, 64, DMA_FROM_DEVICE);
    const buf = kmalloc(m, 128)!;
    const dma = mapChecked(m, buf, 128, DMA_FROM_DEVICE);
    dmaSyncSingleForCpu(m.device(USB), (dma + 64) as DmaAddr, 128, DMA_FROM_DEVICE);
    expect(dbg.reports.map((r) => r.message)).toEqual([
      `${P}device driver tries to sync DMA memory it has not allocated [device address=0x0000000090000000] [size=64 bytes]`,
      `${P}device driver syncs DMA memory outside allocated range [device address=0x0000000084000000] [allocation size=128 bytes] [sync offset+size=192]`,
    ]);
  });

  it("maps memory from vmalloc area (dma_map_single of a vmalloc pointer)", () => {
    const { m, dbg } = setup();
    // VMALLOC_START of the profile: 0xe0800000.
    dmaMapSingle(m.device(USB), 0xe0800000 as VirtAddr, 64, DMA_TO_DEVICE);
    expect(dbg.reports[0]!.message).toBe(`${P}device driver maps memory from vmalloc area [addr=0xe0800000] [len=64]`);
  });

  it("maps memory from stack", () => {
    const { m, dbg } = setup();
    const onStack = stackBuffer(m, 64, 256);
    const dma = dmaMapSingle(m.device(USB), onStack, 64, DMA_TO_DEVICE);
    dmaMappingErrorFor(m.device(USB), dma);
    expect(dbg.reports.map((r) => r.message)).toEqual([`${P}device driver maps memory from stack [addr=${m.mm.fmtVa(onStack)}]`]);
  });

  it("cacheline tracking EEXIST: two device-writable mappings starting in one cache line", () => {
    const { m, dbg } = setup();
    const obj = kmalloc(m, 64)!;
    mapChecked(m, obj, 32, DMA_FROM_DEVICE);
    mapChecked(m, (obj + 32) as VirtAddr, 32, DMA_FROM_DEVICE);
    expect(dbg.reports.map((r) => r.message)).toEqual([`${P}cacheline tracking EEXIST, overlapping mappings aren't supported`]);
  });

  it("no EEXIST when the earlier mapping is DMA_TO_DEVICE (not tracked)", () => {
    const { m, dbg } = setup();
    const obj = kmalloc(m, 64)!;
    mapChecked(m, obj, 32, DMA_TO_DEVICE);
    mapChecked(m, (obj + 32) as VirtAddr, 32, DMA_FROM_DEVICE);
    expect(dbg.reports).toEqual([]);
  });

  it("our addition: CPU access to a buffer the device owns", () => {
    const { m, dbg } = setup();
    const buf = kmalloc(m, 64)!;
    mapChecked(m, buf, 64, DMA_FROM_DEVICE);
    cpuRead(m, buf, 64);
    expect(dbg.reports.map((r) => [r.id, r.modelOnly])).toEqual([["cpu-access-device-owned", true]]);
    expect(dbg.reports[0]!.message).toMatch(/model check, not in kernel\/dma\/debug.c/);
  });

  it("reports are trace events at level warn, and a strict checker throws", () => {
    const { m } = setup();
    dmaUnmapSingle(m.device(USB), 0x84000000 as DmaAddr, 64, DMA_TO_DEVICE);
    expect(m.trace.ofKind("dma_debug")[0]!.level).toBe("warn");
    const s = setup("v6.19", true);
    expect(() => dmaUnmapPage(s.m.device(USB), 0x84000000 as DmaAddr, 64, DMA_TO_DEVICE)).toThrow(DmaDebugError);
    void dmaMapPage;
  });
});
