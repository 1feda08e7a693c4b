import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PhysAddr } from "../../lib/core/addr.js";
import { KernelOops, ModelConfigError } from "../../lib/core/errors.js";
import { Trace } from "../../lib/core/trace.js";
import { DMA_ATTR_NO_WARN, DMA_ATTR_SKIP_CPU_SYNC, DMA_FROM_DEVICE, DMA_TO_DEVICE } from "../../lib/core/dma-types.js";
import {
  IO_TLB_DEFAULT_SIZE,
  IO_TLB_SEGSIZE,
  IO_TLB_SHIFT,
  IO_TLB_SIZE,
  SWIOTLB_MAP_ERROR,
  dmaGetMinAlignMask,
  dmaSetMinAlignMask,
  parseSwiotlbParam,
  swiotlbInit,
  swiotlbMaxMappingSize,
  swiotlbNslabsForSize,
  swiotlbOrigAddr,
  swiotlbReleaseSlots,
  swiotlbTblMapSingle,
  swiotlbTblUnmapSingle,
  swiotlbUsed,
  type IoTlbMem,
} from "../../lib/dma/swiotlb.js";
import { createDevice, type Device } from "../../lib/platform/device.js";

const START = 0x10000000; // 256 MiB, 64 KiB aligned
const ORIG = 0x120000000; // a buffer above 4 GiB the device cannot reach

function dev(kernel: string, opts: { boundary?: number; parms?: boolean } = {}): Device {
  return createDevice(
    {
      name: "0000:01:00.0",
      driver: "nvme",
      bus: "pci",
      dmaMaskBits: 32,
      dmaCoherent: true,
      ...(opts.parms === false ? {} : { dmaParms: { maxSegmentSize: 65536, segmentBoundaryMask: opts.boundary ?? 0xffffffff } }),
    },
    { kernel, trace: new Trace() },
  );
}

function pool(kernel: string, nslabs: number, extra: { start?: number; nareas?: number } = {}): IoTlbMem {
  return swiotlbInit({ start: extra.start ?? START, kernel, nslabs, ...(extra.nareas !== undefined ? { nareas: extra.nareas } : {}) });
}

const slot = (m: IoTlbMem, tlb: number) => (tlb - m.defpool.start) / IO_TLB_SIZE;

describe("constants (include/linux/swiotlb.h)", () => {
  it("2 KiB slots, 128-slot segments, 64 MiB default", () => {
    expect(IO_TLB_SHIFT).toBe(11);
    expect(IO_TLB_SIZE).toBe(2 ** 11);
    expect(IO_TLB_SEGSIZE).toBe(128);
    expect(IO_TLB_DEFAULT_SIZE).toBe(64 * 1024 * 1024);
  });
  it("default pool: 64 MiB / 2 KiB = 32768 slots; free-run counter of slot i is 128 - i mod 128", () => {
    const m = swiotlbInit({ start: START, kernel: "v6.19" });
    expect(m.nslabs).toBe(32768);
    expect(m.defpool.list[0]).toBe(128);
    expect(m.defpool.list[130]).toBe(126);
    expect(m.defpool.list[32767]).toBe(1);
  });
});

describe("swiotlb= and sizing (setup_io_tlb_npages, swiotlb_adjust_nareas, limit_nareas)", () => {
  it("slab count rounds up to a multiple of 128: 1000 -> 1024; base 0 parsing: 0x8000 -> 32768", () => {
    expect(parseSwiotlbParam("1000", "v5.4").nslabs).toBe(1024);
    expect(parseSwiotlbParam("0x8000", "v6.19").nslabs).toBe(32768);
  });
  it("v6.19 accepts <slabs>,<areas>,force; areas round up to a power of two (6 -> 8)", () => {
    expect(parseSwiotlbParam("65536,6,force", "v6.19")).toEqual({ nslabs: 65536, nareas: 8, force: true, noforce: false });
  });
  it("v5.4 has no areas field: '65536,4' leaves '4' unparsed", () => {
    expect(parseSwiotlbParam("65536,4", "v5.4")).toEqual({ nslabs: 65536, nareas: null, force: false, noforce: false });
  });
  it("noforce: v5.4 sets io_tlb_nslabs = 1; v6.19 only sets swiotlb_force_disable", () => {
    expect(parseSwiotlbParam("noforce", "v5.4")).toEqual({ nslabs: 1, nareas: null, force: false, noforce: true });
    expect(parseSwiotlbParam("noforce", "v6.19")).toEqual({ nslabs: null, nareas: null, force: false, noforce: true });
  });
  it("swiotlb_adjust_size: 1 MiB -> 512 slots, 1000 bytes -> one segment (128)", () => {
    expect(swiotlbNslabsForSize(1 << 20)).toBe(512);
    expect(swiotlbNslabsForSize(1000)).toBe(128);
  });
  it("v6.0+ areas: 6 requested -> 8 areas of 4096 slots in a 32768-slot pool", () => {
    const m = swiotlbInit({ start: START, kernel: "v6.19", nareas: 6 });
    expect(m.defpool.nareas).toBe(8);
    expect(m.defpool.areaNslabs).toBe(4096);
  });
  it("v6.0+ small pool: 1000 slots with 8 areas rounds up to 128 * 8 = 1024 slots", () => {
    const m = swiotlbInit({ start: START, kernel: "v6.19", nslabs: 1000, nareas: 8 });
    expect(m.nslabs).toBe(1024);
    expect(m.defpool.areaNslabs).toBe(128);
  });
  it("before v6.0 there is one area whatever is asked", () => {
    expect(swiotlbInit({ start: START, kernel: "v5.15", nareas: 8 }).defpool.nareas).toBe(1);
  });
  it("rejects a start that is not page aligned, with nothing created", () => {
    expect(() => swiotlbInit({ start: START + 2048, kernel: "v6.19" })).toThrow(ModelConfigError);
    expect(() => swiotlbInit({ start: START, kernel: "v6.19", nslabs: 0 })).toThrow(ModelConfigError);
  });
});

describe.each(["v5.4", "v6.19"])("slot search %s", (kernel) => {
  it("slot counts: 1500 B -> 1 slot, 4096 B -> 2 slots, 2049 B -> 2 slots (ceil(size / 2048))", () => {
    const d = dev(kernel);
    const m = pool(kernel, 1024);
    swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1500);
    expect(swiotlbUsed(m)).toBe(1);
    swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 4096);
    expect(swiotlbUsed(m)).toBe(3);
    swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 2049);
    expect(swiotlbUsed(m)).toBe(5);
  });
  it("page stride for >= PAGE_SIZE: after a 1-slot map (index 1) a 4096 B map lands at slot 2, not 1", () => {
    const d = dev(kernel);
    const m = pool(kernel, 1024);
    expect(swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1500)).toBe(START);
    expect(swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 4096)).toBe(START + 2 * IO_TLB_SIZE);
  });
  it("no allocation spans a 128-slot segment: with slots 0..126 used, a 2-slot map skips 127 and lands at 128", () => {
    const d = dev(kernel);
    const m = pool(kernel, 1024);
    expect(swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 127 * IO_TLB_SIZE)).toBe(START);
    // 3000 B < PAGE_SIZE: stride 1; slot 127 has a free run of 1 (end of segment) < 2.
    expect(swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 3000)).toBe(START + 128 * IO_TLB_SIZE);
  });
  it("next fit and wrap: a freed low range is only reused after the search wraps past the pool end", () => {
    const d = dev(kernel);
    const m = pool(kernel, 256); // two segments
    const a = swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 128 * IO_TLB_SIZE); // slots 0..127
    const b = swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 100 * IO_TLB_SIZE); // slots 128..227, index 228
    expect(slot(m, a)).toBe(0);
    expect(slot(m, b)).toBe(128);
    swiotlbTblUnmapSingle(d, m, a, 128 * IO_TLB_SIZE, { allocSize: 128 * IO_TLB_SIZE });
    // 40 slots: from 228 only 28 free slots remain before the end, so the search wraps to 0.
    expect(slot(m, swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 40 * IO_TLB_SIZE))).toBe(0);
  });
  it("next fit: after A(0), B(1) and unmapping A, the next 1-slot map goes to 2, not back to 0", () => {
    const d = dev(kernel);
    const m = pool(kernel, 256);
    const a = swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1000);
    swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1000);
    swiotlbTblUnmapSingle(d, m, a, 1000, { allocSize: 1000 });
    expect(slot(m, swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1000))).toBe(2);
  });
  it("free-run merge after unmap: A,B,C at 0,1,2; unmap B -> list[1] = 1; unmap A -> list[0] = 2; unmap C -> list[0..2] = 128,127,126", () => {
    const d = dev(kernel);
    const m = pool(kernel, 256);
    const [a, b, c] = [0, 1, 2].map(() => swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1000)) as [PhysAddr, PhysAddr, PhysAddr];
    const L = m.defpool.list;
    expect([L[0], L[1], L[2], L[3]]).toEqual([0, 0, 0, 125]);
    swiotlbTblUnmapSingle(d, m, b, 1000, { allocSize: 1000 });
    expect([L[0], L[1], L[2]]).toEqual([0, 1, 0]);
    swiotlbTblUnmapSingle(d, m, a, 1000, { allocSize: 1000 });
    expect([L[0], L[1], L[2]]).toEqual([2, 1, 0]);
    swiotlbTblUnmapSingle(d, m, c, 1000, { allocSize: 1000 });
    expect([L[0], L[1], L[2], L[3]]).toEqual([128, 127, 126, 125]);
    expect(swiotlbUsed(m)).toBe(0);
  });
  it("device segment boundary 64 KiB (32 slots): a 20-slot map at index 20 would cross slot 32, so it goes to 32", () => {
    const d = dev(kernel, { boundary: 0xffff });
    const m = pool(kernel, 256);
    expect(slot(m, swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 20 * IO_TLB_SIZE))).toBe(0);
    expect(slot(m, swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 20 * IO_TLB_SIZE))).toBe(32);
  });
  it("exhaustion returns (phys_addr_t)DMA_MAPPING_ERROR with the kernel's warning; freeing makes room again", () => {
    const d = dev(kernel);
    const m = pool(kernel, 256);
    const a = swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 128 * IO_TLB_SIZE);
    swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 128 * IO_TLB_SIZE);
    expect(swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 2048)).toBe(SWIOTLB_MAP_ERROR);
    const ev = d.trace.ofKind("swiotlb_full");
    expect(ev).toHaveLength(1);
    expect(ev[0]!.level).toBe("warn");
    // v5.4.6 and v6.19 print: "swiotlb buffer is full (sz: %zd bytes), total %lu (slots), used %lu (slots)"
    expect(ev[0]!.msg).toBe("nvme 0000:01:00.0: swiotlb buffer is full (sz: 2048 bytes), total 256 (slots), used 256 (slots)");
    expect(swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 2048, { attrs: DMA_ATTR_NO_WARN })).toBe(SWIOTLB_MAP_ERROR);
    expect(d.trace.ofKind("swiotlb_full")).toHaveLength(1);
    swiotlbTblUnmapSingle(d, m, a, 128 * IO_TLB_SIZE, { allocSize: 128 * IO_TLB_SIZE });
    expect(swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 2048)).not.toBe(SWIOTLB_MAP_ERROR);
  });
  it("a map larger than 128 slots (256 KiB) finds no free run and fails as 'buffer is full' (not rejected up front)", () => {
    const d = dev(kernel);
    const m = pool(kernel, 1024);
    expect(swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 300000)).toBe(SWIOTLB_MAP_ERROR);
    expect(d.trace.ofKind("swiotlb_full")[0]!.msg).toContain("(sz: 300000 bytes)");
    expect(swiotlbUsed(m)).toBe(0);
  });
  it("bad input is rejected with the pool unchanged", () => {
    const d = dev(kernel);
    const m = pool(kernel, 256);
    const a = swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1000);
    const before = [Array.from(m.defpool.list), Array.from(m.defpool.origAddr), swiotlbUsed(m), m.defpool.areas[0]!.index];
    // size 0: the kernel's BUG_ON(!nslots) (see "a 0-byte bounce" below), thrown before any change
    expect(() => swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 0)).toThrow(KernelOops);
    expect(() => swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 100, { allocAlignMask: 0x1000 })).toThrow(ModelConfigError);
    expect(() => swiotlbTblMapSingle(d, m, -5 as PhysAddr, 100)).toThrow(ModelConfigError);
    expect(() => swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 100, { dir: 7 as 0 })).toThrow(ModelConfigError);
    expect(() => swiotlbTblUnmapSingle(d, m, (START + 10 * IO_TLB_SIZE) as PhysAddr, 1000, { allocSize: 1000 })).toThrow(/live bounce buffer/);
    expect(() => swiotlbTblUnmapSingle(d, m, 0x1000 as PhysAddr, 1000)).toThrow(/inside the swiotlb pool/);
    expect([Array.from(m.defpool.list), Array.from(m.defpool.origAddr), swiotlbUsed(m), m.defpool.areas[0]!.index]).toEqual(before);
    swiotlbTblUnmapSingle(d, m, a, 1000, { allocSize: 1000 });
    expect(() => swiotlbTblUnmapSingle(d, m, a, 1000, { allocSize: 1000 })).toThrow(/double unmap/);
  });
});

describe("release differences", () => {
  it("v5.1 prints only the size, v5.2 adds the total/used counts (absent in v5.0.1 VVvector/linux-5.0.1, present in v5.2.1 wangliang-cs/linux-5.2.1, kernel/dma/swiotlb.c:swiotlb_tbl_map_single; in the for-linus-5.2 pull)", () => {
    // Rule: v5.0.1 warns "swiotlb buffer is full (sz: N bytes)"; v5.2.1 appends ", total T (slots), used U (slots)".
    // 128-slot pool, all 128 slots taken by the first map, the second (100 B, 1 slot) fails.
    for (const [kernel, tail] of [
      ["v5.1", ""],
      ["v5.2", ", total 128 (slots), used 128 (slots)"],
    ] as const) {
      const d = dev(kernel);
      const m = pool(kernel, 128);
      swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 128 * IO_TLB_SIZE);
      expect(swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 100)).toBe(SWIOTLB_MAP_ERROR);
      expect(d.trace.ofKind("swiotlb_full")[0]!.msg).toBe(`nvme 0000:01:00.0: swiotlb buffer is full (sz: 100 bytes)${tail}`);
    }
  });
  it("v4.19 prints only the size; the total/used counts arrive in v5.2", () => {
    const d = dev("v4.19");
    const m = pool("v4.19", 128);
    swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 128 * IO_TLB_SIZE);
    expect(swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 100)).toBe(SWIOTLB_MAP_ERROR);
    expect(d.trace.ofKind("swiotlb_full")[0]!.msg).toBe("nvme 0000:01:00.0: swiotlb buffer is full (sz: 100 bytes)");
  });
  it("v6.19 reports the aligned size including the preserved offset: min_align 0xfff, orig offset 0x234, 4096 B -> sz 4660", () => {
    const d = dev("v6.19");
    dmaSetMinAlignMask(d, 0xfff);
    const m = pool("v6.19", 128);
    swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 128 * IO_TLB_SIZE - 4096); // 126 slots, leaves 2
    expect(swiotlbTblMapSingle(d, m, (ORIG + 0x234) as PhysAddr, 4096)).toBe(SWIOTLB_MAP_ERROR);
    // 4096 + 0x234 (564) = 4660 bytes = 3 slots > 2 free.
    expect(d.trace.ofKind("swiotlb_full")[0]!.msg).toBe("nvme 0000:01:00.0: swiotlb buffer is full (sz: 4660 bytes), total 128 (slots), used 126 (slots)");
  });
  it("v6.5 (between 0eee5ae10256 and 04867a7a3332): a page-aligned 4096 B map after a 1-slot map skips odd slot 1 (bit 11 matched) and lands at slot 2", () => {
    // v6.5 search: M = (0 | 0 | 0xfff) & ~0x7ff = 0x800, stride 2, start at index 1 (unaligned).
    // Slot 1 is START + 0x800: bit 11 set, orig's clear -> skip by 1; slot 2 matches and is free.
    const d = dev("v6.5");
    const m = pool("v6.5", 1024);
    swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1500);
    expect(slot(m, swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 4096))).toBe(2);
  });
  it("default segment boundary: 4 GiB before v5.10 (DMA_BIT_MASK(32)), none after: a pool straddling 4 GiB", () => {
    // Pool [4G - 8 slots, 4G + 248 slots). A 16-slot map at slot 0 would cross 4 GiB.
    const start = 2 ** 32 - 8 * IO_TLB_SIZE;
    const m54 = pool("v5.4", 256, { start });
    const d54 = dev("v5.4", { parms: false });
    // v5.4: stride 2 (>= PAGE_SIZE); slots 0,2,4,6 cross the 4 GiB boundary (offset_slots = 2^21 - 8); slot 8 is the first that does not.
    expect(slot(m54, swiotlbTblMapSingle(d54, m54, ORIG as PhysAddr, 16 * IO_TLB_SIZE))).toBe(8);
    const m619 = pool("v6.19", 256, { start });
    const d619 = dev("v6.19", { parms: false });
    expect(slot(m619, swiotlbTblMapSingle(d619, m619, ORIG as PhysAddr, 16 * IO_TLB_SIZE))).toBe(0);
  });
});

describe("min_align_mask offset preservation (v5.12+, NVMe's 4 KiB - 1)", () => {
  it("orig offset 0x234: tlb_addr = even slot + 0x234, so tlb & 0xfff == 0x234", () => {
    const d = dev("v6.19");
    dmaSetMinAlignMask(d, 0xfff);
    const m = pool("v6.19", 256);
    const t = swiotlbTblMapSingle(d, m, (ORIG + 0x234) as PhysAddr, 4096);
    expect(t).toBe(START + 0x234);
    expect(t % 4096).toBe(0x234);
  });
  it("orig offset 0xa34 (bit 11 set): the slot must be odd (bit 11 of the slot address matches), tlb & 0xfff == 0xa34", () => {
    const d = dev("v6.19");
    dmaSetMinAlignMask(d, 0xfff);
    const m = pool("v6.19", 256);
    swiotlbTblMapSingle(d, m, (ORIG + 0x234) as PhysAddr, 4096); // slots 0..2 (4660 B), index 3
    const t = swiotlbTblMapSingle(d, m, (ORIG + 0xa34) as PhysAddr, 4096);
    // offset = 0xa34 & 0x7ff = 0x234; slot 3 is odd -> tlb = START + 3 * 2048 + 0x234.
    expect(t).toBe(START + 3 * IO_TLB_SIZE + 0x234);
    expect(t % 4096).toBe(0xa34);
    expect(swiotlbOrigAddr(d, m, t)).toBe(ORIG + 0xa34);
    expect(swiotlbOrigAddr(d, m, (t + 3000) as PhysAddr)).toBe(ORIG + 0xa34 + 3000);
  });
  it("v5.4 has no min_align_mask: the bounce address is a slot start and the 0x234 offset is lost", () => {
    const d = dev("v5.4");
    dmaSetMinAlignMask(d, 0xfff);
    const m = pool("v5.4", 256);
    expect(swiotlbTblMapSingle(d, m, (ORIG + 0x234) as PhysAddr, 4096) % 4096).toBe(0);
  });
  it("v6.9+ pad slots: alloc_align_mask 0xfff with orig offset 0xa34 -> 1 pad slot, tlb = slot 1 + 0x234; unmap frees both", () => {
    const d = dev("v6.19");
    dmaSetMinAlignMask(d, 0xfff);
    const m = pool("v6.19", 256);
    // offset = 0xa34 & 0xfff & (0xfff | 0x7ff) = 0xa34 -> pad 1, in-slot 0x234; size = ALIGN(1000 + 0xa34, 4096) = 4096 = 2 slots.
    const t = swiotlbTblMapSingle(d, m, (ORIG + 0xa34) as PhysAddr, 1000, { allocAlignMask: 0xfff });
    expect(t).toBe(START + IO_TLB_SIZE + 0x234);
    expect(swiotlbUsed(m)).toBe(2);
    expect(m.defpool.padSlots[1]).toBe(1);
    swiotlbTblUnmapSingle(d, m, t, 1000);
    expect(swiotlbUsed(m)).toBe(0);
    expect(m.defpool.list[0]).toBe(128);
  });
  it("swiotlb_max_mapping_size: 256 KiB; minus roundup(0xfff, 2048) = 4096 with NVMe's mask on v6.19", () => {
    const d = dev("v6.19");
    expect(swiotlbMaxMappingSize(d)).toBe(262144);
    dmaSetMinAlignMask(d, 0xfff);
    expect(swiotlbMaxMappingSize(d)).toBe(258048);
    expect(swiotlbMaxMappingSize(dev("v5.4"))).toBe(262144);
  });
  it("dma_get_min_align_mask: the mask set from v5.12 (the field's release), 0 before it and 0 when none is set", () => {
    for (const [k, want] of [["v5.11", 0], ["v5.12", 0xfff], ["v6.19", 0xfff]] as const) {
      const d = dev(k);
      expect(dmaGetMinAlignMask(d)).toBe(0);
      dmaSetMinAlignMask(d, 0xfff);
      expect(dmaGetMinAlignMask(d)).toBe(want);
    }
  });
  it("dmaSetMinAlignMask rejects a non-low mask and warns (stores nothing) without dma_parms", () => {
    const d = dev("v6.19", { parms: false });
    expect(() => dmaSetMinAlignMask(d, 0x1000)).toThrow(ModelConfigError);
    dmaSetMinAlignMask(d, 0xfff);
    expect(d.trace.ofKind("warn")).toHaveLength(1);
    expect(swiotlbMaxMappingSize(d)).toBe(262144);
  });
});

describe("areas (v6.0+, 20347fca71a3)", () => {
  it("a map from CPU 2 starts in area 2; when area 2 is full it moves to area 3", () => {
    const d = dev("v6.19");
    const m = pool("v6.19", 512, { nareas: 4 }); // 4 areas x 128 slots
    const t = swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 128 * IO_TLB_SIZE, { cpu: 2 });
    expect(slot(m, t)).toBe(256);
    expect(slot(m, swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1000, { cpu: 2 }))).toBe(384);
    expect(m.defpool.areas.map((a) => a.used)).toEqual([0, 0, 128, 1]);
    swiotlbTblUnmapSingle(d, m, t, 128 * IO_TLB_SIZE);
    expect(m.defpool.areas[2]!.used).toBe(0);
  });
  it("v5.15 ignores the CPU: one area", () => {
    const d = dev("v5.15");
    const m = pool("v5.15", 512, { nareas: 4 });
    expect(slot(m, swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1000, { cpu: 2 }))).toBe(0);
  });
});

describe("bounce copy hooks", () => {
  it("v5.4: map copies orig -> tlb only for TO_DEVICE/BIDIRECTIONAL; unmap copies tlb -> orig for FROM_DEVICE unless SKIP_CPU_SYNC", () => {
    const d = dev("v5.4");
    const m = pool("v5.4", 256);
    const log: Array<[number, number, number]> = [];
    const copy = (f: PhysAddr, t: PhysAddr, n: number) => log.push([f, t, n]);
    const a = swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1000, { dir: DMA_TO_DEVICE, copy });
    expect(log).toEqual([[ORIG, a, 1000]]);
    const b = swiotlbTblMapSingle(d, m, (ORIG + 8192) as PhysAddr, 1000, { dir: DMA_FROM_DEVICE, copy });
    expect(log).toHaveLength(1);
    swiotlbTblUnmapSingle(d, m, b, 1000, { allocSize: 1000, dir: DMA_FROM_DEVICE, copy });
    expect(log[1]).toEqual([b, ORIG + 8192, 1000]);
    swiotlbTblUnmapSingle(d, m, a, 1000, { allocSize: 1000, dir: DMA_FROM_DEVICE, attrs: DMA_ATTR_SKIP_CPU_SYNC, copy });
    expect(log).toHaveLength(2);
  });
  it("v5.15 (current search, before ddbd89deb7d3/aa6f8dcbab47 in v5.17): map copies only for TO_DEVICE/BIDIRECTIONAL", () => {
    const d = dev("v5.15");
    const m = pool("v5.15", 256);
    const log: number[] = [];
    swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1000, { dir: DMA_FROM_DEVICE, copy: (_f, _t, n) => log.push(n) });
    expect(log).toEqual([]);
    swiotlbTblMapSingle(d, m, (ORIG + 8192) as PhysAddr, 1000, { dir: DMA_TO_DEVICE, copy: (_f, _t, n) => log.push(n) });
    expect(log).toEqual([1000]);
    // v5.17 copies FROM_DEVICE too
    const d17 = dev("v5.17");
    const m17 = pool("v5.17", 256);
    swiotlbTblMapSingle(d17, m17, ORIG as PhysAddr, 1000, { dir: DMA_FROM_DEVICE, copy: (_f, _t, n) => log.push(n) });
    expect(log).toEqual([1000, 1000]);
  });
  it("v6.19 copies at map time for every direction (so a partial device write keeps the original bytes)", () => {
    const d = dev("v6.19");
    const m = pool("v6.19", 256);
    const log: number[] = [];
    swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1000, { dir: DMA_FROM_DEVICE, copy: (_f, _t, n) => log.push(n) });
    expect(log).toEqual([1000]);
  });
});

describe("property: random map/unmap never overlaps, never leaks", () => {
  // Independent shadow: expected slot ranges from the rules, not from the code.
  function expectedRange(kernel: string, m: IoTlbMem, tlb: number, size: number, minAlign: number, orig: number): [number, number] {
    const isCurrent = kernel !== "v5.4";
    const off = isCurrent && minAlign ? orig % (minAlign + 1) % IO_TLB_SIZE : 0; // orig & min & 0x7ff (alloc_align_mask 0)
    const n = Math.ceil((size + off) / IO_TLB_SIZE);
    const first = Math.floor((tlb - m.defpool.start) / IO_TLB_SIZE);
    return [first, n];
  }
  function freeRuns(used: boolean[]): number[] {
    const out = new Array<number>(used.length).fill(0);
    for (let i = used.length - 1; i >= 0; i--) {
      if (used[i]) continue;
      const segEndHere = i % IO_TLB_SEGSIZE === IO_TLB_SEGSIZE - 1 || i === used.length - 1;
      out[i] = segEndHere ? 1 : out[i + 1]! + 1;
    }
    return out;
  }
  const cases: Array<{ kernel: string; nareas: number; start: number; minAlign: number }> = [
    { kernel: "v5.4", nareas: 1, start: 2 ** 32 + 2 ** 30, minAlign: 0 },
    { kernel: "v6.19", nareas: 1, start: 2 ** 33, minAlign: 0 },
    { kernel: "v6.19", nareas: 4, start: 2 ** 40, minAlign: 0 },
    { kernel: "v6.19", nareas: 2, start: 2 ** 34, minAlign: 0xfff },
  ];
  for (const c of cases) {
    it(`${c.kernel}, ${c.nareas} area(s), pool at 0x${c.start.toString(16)}, min_align 0x${c.minAlign.toString(16)}`, () => {
      const cmd = fc.oneof(
        fc.record({ op: fc.constant("map" as const), size: fc.integer({ min: 1, max: 70000 }), page: fc.integer({ min: 0, max: 2 ** 20 }), off: fc.integer({ min: 0, max: 4095 }), cpu: fc.integer({ min: 0, max: 7 }) }),
        fc.record({ op: fc.constant("unmap" as const), pick: fc.nat() }),
      );
      fc.assert(
        fc.property(fc.array(cmd, { maxLength: 120 }), (cmds) => {
          const d = dev(c.kernel);
          if (c.minAlign) dmaSetMinAlignMask(d, c.minAlign);
          const m = swiotlbInit({ start: c.start, kernel: c.kernel, nslabs: 512, nareas: c.nareas });
          const used = new Array<boolean>(m.nslabs).fill(false);
          const live: Array<{ tlb: PhysAddr; size: number; first: number; n: number }> = [];
          for (const k of cmds) {
            if (k.op === "map") {
              const orig = 2 ** 36 + k.page * 4096 + k.off; // above 4 GiB
              const t = swiotlbTblMapSingle(d, m, orig as PhysAddr, k.size, { cpu: k.cpu });
              if (t === SWIOTLB_MAP_ERROR) continue;
              const [first, n] = expectedRange(c.kernel, m, t, k.size, c.minAlign, orig);
              expect(first + n).toBeLessThanOrEqual(m.nslabs);
              expect(Math.floor(first / IO_TLB_SEGSIZE)).toBe(Math.floor((first + n - 1) / IO_TLB_SEGSIZE));
              for (let i = first; i < first + n; i++) {
                expect(used[i]).toBe(false);
                used[i] = true;
              }
              if (c.minAlign) expect(t % (c.minAlign + 1)).toBe(orig % (c.minAlign + 1));
              live.push({ tlb: t, size: k.size, first, n });
            } else if (live.length) {
              const [e] = live.splice(k.pick % live.length, 1);
              swiotlbTblUnmapSingle(d, m, e!.tlb, e!.size, { allocSize: e!.size });
              for (let i = e!.first; i < e!.first + e!.n; i++) used[i] = false;
            }
            expect(swiotlbUsed(m)).toBe(used.filter(Boolean).length);
            expect(Array.from(m.defpool.list)).toEqual(freeRuns(used));
          }
          for (const e of live) swiotlbReleaseSlots(d, m, e.tlb, e.size);
          expect(swiotlbUsed(m)).toBe(0);
          expect(Array.from(m.defpool.list)).toEqual(freeRuns(new Array<boolean>(m.nslabs).fill(false)));
          expect(Array.from(m.defpool.origAddr).every((x) => x === -1)).toBe(true);
        }),
        { seed: 20240505, numRuns: 60 },
      );
    });
  }
});

describe("slot alignment of >= PAGE_SIZE requests across releases (0eee5ae10256 v6.3, 04867a7a3332 + 14cebf689a78 v6.9)", () => {
  // Setup for every release: pool of 1024 slots at START (page aligned), one area, no min_align_mask.
  // A 1500 B map takes slot 0, so the area's next index is 1. Then a 4096 B request (2 slots):
  // - v6.2.1 swiotlb_do_find_slots: M = 0 (no min_align_mask), stride = 1 << (12 - 11) = 2,
  //   start = ALIGN(1, 2) = 2, no address check -> slot 2, whatever orig is (orig's bit 11 is lost).
  // - v6.3.8 swiotlb_do_find_slots / v6.8.0 swiotlb_search_pool_area: M = 0xfff & ~0x7ff = 0x800,
  //   stride 2, start at index 1. Slot 1's address has bit 11 set.
  //   orig page aligned: slot 1 mismatches -> 2; orig at page offset 0x800: slot 1 matches -> 1;
  //   orig_addr == 0 (the swiotlb_alloc search): no check at all -> slot 1, not page aligned.
  // - v6.9.0 swiotlb_search_pool_area: alloc_align_mask = 0xfff by default (size >= PAGE_SIZE),
  //   slot 1 has bits under 0xfff set -> skip -> slot 2 for every orig (0 included).
  const cases: Array<{ kernel: string; aligned: number; odd: number; zero: number }> = [
    { kernel: "v6.2", aligned: 2, odd: 2, zero: 2 },
    { kernel: "v6.3", aligned: 2, odd: 1, zero: 1 },
    { kernel: "v6.8", aligned: 2, odd: 1, zero: 1 },
    { kernel: "v6.9", aligned: 2, odd: 2, zero: 2 },
  ];
  for (const c of cases) {
    it(`${c.kernel}: orig page aligned -> slot ${c.aligned}, orig + 0x800 -> slot ${c.odd}, orig_addr 0 -> slot ${c.zero}`, () => {
      const run = (orig: number) => {
        const d = dev(c.kernel);
        const m = pool(c.kernel, 1024, { nareas: 1 });
        expect(slot(m, swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1500))).toBe(0);
        return slot(m, swiotlbTblMapSingle(d, m, orig as PhysAddr, 4096));
      };
      expect(run(ORIG)).toBe(c.aligned);
      expect(run(ORIG + 0x800)).toBe(c.odd);
      expect(run(0)).toBe(c.zero);
    });
  }
  it("v6.8: the orig_addr 0 run at slot 1 lies in the page of slot 0, which the 1500 B map holds (CVE-2024-35814's double allocation)", () => {
    const d = dev("v6.8");
    const m = pool("v6.8", 1024, { nareas: 1 });
    const first = swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1500);
    const t = swiotlbTblMapSingle(d, m, 0 as PhysAddr, 4096);
    // swiotlb_alloc hands out pfn_to_page(PFN_DOWN(tlb_addr)): START's page, the page of slot 0.
    expect(t).toBe(START + IO_TLB_SIZE);
    expect(Math.floor(t / 4096) * 4096).toBe(first);
  });
  it("v6.2: with NVMe's min_align_mask 0xfff a 4096 B map strides 4 slots from an aligned start and matches bit 11", () => {
    // iotlb_align_mask = 0xfff & ~0x7ff = 0x800, stride = (0x800 >> 11) + 1 = 2, doubled for >= PAGE_SIZE -> 4.
    // After the 1500 B map (index 1): start = ALIGN(1, 4) = 4. orig offset 0xa34 has bit 11 set: slot 4
    // (bit 11 clear) mismatches -> 5 matches -> tlb = slot 5 + (0xa34 & 0x7ff = 0x234).
    const d = dev("v6.2");
    dmaSetMinAlignMask(d, 0xfff);
    const m = pool("v6.2", 1024, { nareas: 1 });
    swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 1500);
    const t = swiotlbTblMapSingle(d, m, (ORIG + 0xa34) as PhysAddr, 4096);
    expect(t).toBe(START + 5 * IO_TLB_SIZE + 0x234);
  });
});

describe("a 0-byte bounce (swiotlb_tbl_map_single with mapping_size 0)", () => {
  it("v5.4: alloc_size 0 gives nslots = ALIGN(0, 2048) >> 11 = 0: BUG_ON(!nslots) (v5.4.6 kernel/dma/swiotlb.c:swiotlb_tbl_map_single), pool unchanged", () => {
    const d = dev("v5.4");
    const m = pool("v5.4", 128);
    expect(() => swiotlbTblMapSingle(d, m, ORIG as PhysAddr, 0)).toThrow(/BUG_ON\(!nslots\)/);
    expect(swiotlbUsed(m)).toBe(0);
  });
  it("v6.19: no min_align_mask: size = 0 + offset 0 = 0, nr_slots(0) = 0: BUG_ON(!nslots) (v6.19 kernel/dma/swiotlb.c:swiotlb_search_pool_area)", () => {
    const d = dev("v6.19");
    const m = pool("v6.19", 128);
    expect(() => swiotlbTblMapSingle(d, m, (ORIG + 0x10) as PhysAddr, 0)).toThrow(/swiotlb_search_pool_area/);
    expect(swiotlbUsed(m)).toBe(0);
  });
  it("v6.19: min_align_mask 0xfff and orig offset 0x10: offset = 0x10 & 0xfff & 0x7ff = 0x10, size 0x10, one slot; tlb = slot + 0x10; released whole", () => {
    const d = dev("v6.19");
    dmaSetMinAlignMask(d, 0xfff);
    const m = pool("v6.19", 128);
    const tlb = swiotlbTblMapSingle(d, m, (ORIG + 0x10) as PhysAddr, 0);
    expect(swiotlbUsed(m)).toBe(1);
    expect(tlb - START).toBe(0x10); // first free slot (0) of the pool, whose address 0x10000000 matches orig's bits under the mask above the slot (0)
    swiotlbTblUnmapSingle(d, m, tlb, 0, { dir: DMA_FROM_DEVICE });
    expect(swiotlbUsed(m)).toBe(0);
  });
});
