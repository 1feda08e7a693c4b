import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DMA_MAPPING_ERROR, type Pfn } from "../../lib/core/addr.js";
import { DMA_BIT_MASK, MAX_ADDR, SZ_4G } from "../../lib/core/arith.js";
import { EEXIST, EINVAL, EIO, ENOMEM } from "../../lib/core/errno.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { createMachine, type Machine } from "../../lib/platform/machine.js";
import { loadPlatformProfile } from "../../lib/platform/profile.js";
import type { Device } from "../../lib/platform/device.js";
import { sgTableFromEntries, type SgTable } from "../../lib/sg/scatterlist.js";
import { iommuDmaLastMapSgLayout, iommuDmaMapSg } from "../../lib/iommu/dma-iommu.js";
import { dmaGetMaxSegSize, dmaGetSegBoundary, dmaSetMaxSegSize } from "../../lib/dma/parms.js";
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE } from "../../lib/core/dma-types.js";
import { iovaRangesInUse } from "../../lib/iommu/iova-rcache.js";
import { iommuDeviceAccess, iommuIovaToPhys, iommuMap, iommuPgsize, iommuUnmap } from "../../lib/iommu/io-pgtable.js";
import { dmaMapSg, dmaMapSgtable, dmaUnmapSg } from "../../lib/dma/mapping.js";

const K = 1024;
const DEC = "16020000.vcodec";

function mt8173(kernel: string): { m: Machine; dev: Device } {
  const m = createMachine("mt8173-evb", { kernel });
  return { m, dev: m.device(DEC) };
}

/** One sg entry per piece, each piece physically contiguous at its own 1 MiB-aligned base. */
function pieces(sizes: number[], base = 0x50000000): SgTable {
  return sgTableFromEntries(sizes.map((len, i) => ({ pfn: ((base + i * 0x100000) / 4096) as Pfn, offset: 0, length: len })));
}

function segs(sgt: SgTable, n: number): Array<[number, number]> {
  return sgt.sgl.slice(0, n).map((s) => [s.dmaAddress as number, s.dmaLength]);
}

describe("iommu_dma_map_sg v4.4 (0db2e5d18f76): natural-alignment padding", () => {
  it("pads {64K, 16K, 64K} so the third piece starts at +128K (the thread's gap)", () => {
    const { dev } = mt8173("v4.4");
    const sgt = pieces([64 * K, 16 * K, 64 * K]);
    // Hand layout: piece 0 at 0, iova_len = 64K. Piece 1 (16K): pad = (16K - 64K) mod 16K = 0,
    // at 64K, iova_len = 80K. Piece 2 (64K): pad = (64K - 80K) mod 64K = 48K added to piece 1,
    // piece 2 at 128K, iova_len = 192K.
    // Allocation: 192K = 48 pages, size-aligned to roundup_pow_of_two(48) = 64 pages, top-down
    // below the 32-bit mask: pfn alignDown(0x100000 - 48, 64) = 0xfffc0 -> IOVA 0xfffc0000.
    const n = iommuDmaMapSg(dev, sgt.sgl, 3, DMA_FROM_DEVICE);
    expect(n).toBe(3);
    const base = 0xfffc0000;
    expect(segs(sgt, 3)).toEqual([
      [base, 64 * K],
      [base + 64 * K, 16 * K],
      [base + 128 * K, 64 * K],
    ]);
    const lay = iommuDmaLastMapSgLayout(dev)!;
    expect(lay.segments.map((s) => s.padding)).toEqual([0, 48 * K, 0]);
    expect(lay.iovaLen).toBe(192 * K);
    // CPU fields restored.
    expect(sgt.sgl.map((s) => [s.offset, s.length])).toEqual([
      [0, 64 * K],
      [0, 16 * K],
      [0, 64 * K],
    ]);
  });

  it("maps the padding too: the 48K after piece 1 reaches the physical pages after it", () => {
    const { dev } = mt8173("v4.4");
    const sgt = pieces([64 * K, 16 * K, 64 * K]);
    iommuDmaMapSg(dev, sgt.sgl, 3, DMA_FROM_DEVICE);
    const dom = dev.iommuDomain!;
    // Piece 1 is at phys 0x50100000; IOVA base + 64K + 32K (inside the padding) maps phys 0x50108000.
    expect(iommuDeviceAccess(dom, 0xfffc0000 + 96 * K, 4096, true)).toBe(true);
    expect(iommuIovaToPhys(dom, 0xfffc0000 + 96 * K)).toBe(0x50100000 + 32 * K);
  });
});

describe("the layout iommu_dma_map_sg leaves (iommuDmaLastMapSgLayout): every segment's figures", () => {
  it("v4.4 {64K, 16K at offset 512, 64K}: phys, CPU offset and length, IOVA offset, start, length and padding per entry; cloned and serialized whole", () => {
    const { dev } = mt8173("v4.4");
    const sgt = sgTableFromEntries([
      { pfn: (0x50000000 / 4096) as Pfn, offset: 0, length: 64 * K },
      { pfn: (0x50100000 / 4096) as Pfn, offset: 512, length: 16 * K },
      { pfn: (0x50200000 / 4096) as Pfn, offset: 0, length: 64 * K },
    ]);
    expect(iommuDmaMapSg(dev, sgt.sgl, 3, DMA_FROM_DEVICE)).toBe(3);
    // Hand layout (4 KiB granule): entry 1 starts 512 bytes into its granule, so its IOVA length is
    // iova_align(16K + 512) = 20K. Entry 0 at 0 (iova_len 64K); entry 1: pad = (32K - 64K) mod 32K = 0
    // (roundup_pow_of_two(20K) = 32K), at 64K, iova_len 84K; entry 2 (64K): pad = (64K - 84K) mod 64K = 44K
    // added to entry 1, at 128K, iova_len 192K: allocated at 0xfffc0000 as in the thread's layout above.
    const base = 0xfffc0000;
    const lay = iommuDmaLastMapSgLayout(dev)!;
    const want = [
      { index: 0, phys: 0x50000000, offset: 0, length: 64 * K, iovaOffset: 0, iovaStart: base, iovaLength: 64 * K, padding: 0 },
      { index: 1, phys: 0x50100200, offset: 512, length: 16 * K, iovaOffset: 512, iovaStart: base + 64 * K, iovaLength: 20 * K, padding: 44 * K },
      { index: 2, phys: 0x50200000, offset: 0, length: 64 * K, iovaOffset: 0, iovaStart: base + 128 * K, iovaLength: 64 * K, padding: 0 },
    ];
    expect(lay.segments).toEqual(want);
    expect(lay.iovaLen).toBe(192 * K);
    // the same figures when read again, through a structured clone (a worker's message) and through JSON
    expect(lay.segments).toBe(lay.segments);
    expect(structuredClone(lay).segments).toEqual(want);
    expect((JSON.parse(JSON.stringify(lay)) as { segments: unknown }).segments).toEqual(want);
  });

  it("a map that finds no IOVA space leaves its entries' figures with IOVA start 0", () => {
    const { dev } = mt8173("v6.19");
    // 5 GiB of entries cannot fit below the 32-bit mask
    const sgt = sgTableFromEntries(Array.from({ length: 5 }, (_, i) => ({ pfn: ((0x40000000 + i * 2 ** 30) / 4096) as Pfn, offset: 0, length: 2 ** 30 })));
    expect(iommuDmaMapSg(dev, sgt.sgl, 5, DMA_FROM_DEVICE)).toBeLessThanOrEqual(0);
    const lay = iommuDmaLastMapSgLayout(dev)!;
    expect(lay.iovaBase).toBe(0);
    expect(lay.segments.map((x) => [x.phys, x.iovaStart, x.iovaLength])).toEqual(Array.from({ length: 5 }, (_, i) => [0x40000000 + i * 2 ** 30, 0, 2 ** 30]));
  });
});

describe("iommu_dma_map_sg v4.7+ (809eac54cdd6): boundary padding and merging", () => {
  for (const kernel of ["v4.7", "v5.4", "v6.19"]) {
    it(`${kernel}: {64K, 16K, 64K} back to back, split by the 64K default max_seg_size`, () => {
      const { dev } = mt8173(kernel);
      const sgt = pieces([64 * K, 16 * K, 64 * K]);
      // No padding: with mask 0xffffffff, pad = (2^32 - iova_len) mod 2^32 is never < len - 1
      // (and ULONG_MAX in v5.10+ has no boundary). iova_len = 144K = 36 pages (>= 32: no rcache
      // rounding), size-aligned to 64 pages: base 0xfffc0000.
      // Merging with max_len 64K: 64K | 16K (64K + 16K > 64K) | 64K (16K + 64K > 64K): 3 segments.
      expect(iommuDmaMapSg(dev, sgt.sgl, 3, DMA_FROM_DEVICE)).toBe(3);
      expect(segs(sgt, 3)).toEqual([
        [0xfffc0000, 64 * K],
        [0xfffc0000 + 64 * K, 16 * K],
        [0xfffc0000 + 80 * K, 64 * K],
      ]);
    });
  }

  it("max_seg_size 128K merges 64K + 16K and then starts a new segment: 2 segments", () => {
    const { dev } = mt8173("v6.19");
    expect(dmaSetMaxSegSize(dev, 128 * K)).toBe(0); // v5.7+: platform devices have dma_parms
    const sgt = pieces([64 * K, 16 * K, 64 * K]);
    // 64K; +16K = 80K <= 128K: merge; +64K = 144K > 128K: new segment.
    expect(iommuDmaMapSg(dev, sgt.sgl, 3, DMA_FROM_DEVICE)).toBe(2);
    expect(segs(sgt, 2)).toEqual([
      [0xfffc0000, 80 * K],
      [0xfffc0000 + 80 * K, 64 * K],
    ]);
  });

  it("max_seg_size UINT_MAX gives one DMA segment of 144K", () => {
    const { dev } = mt8173("v6.19");
    dmaSetMaxSegSize(dev, 0xffffffff);
    const sgt = pieces([64 * K, 16 * K, 64 * K]);
    expect(iommuDmaMapSg(dev, sgt.sgl, 3, DMA_FROM_DEVICE)).toBe(1);
    expect(segs(sgt, 1)).toEqual([[0xfffc0000, 144 * K]]);
  });

  it("a 64K segment boundary pads {16K, 64K} and never merges across it", () => {
    const { dev } = mt8173("v6.19");
    dev.dmaParms = { maxSegmentSize: 0xffffffff, segmentBoundaryMask: 0xffff };
    const sgt = pieces([16 * K, 64 * K]);
    // Piece 1: pad = (0xffff - 16K + 1) & 0xffff = 48K < 64K - 1: piece 0 padded to 64K,
    // piece 1 at +64K; at merge time (base + 64K) & 0xffff = 0: a new segment.
    // iova_len = 128K = 32 pages (not below 32: no rounding), aligned to 32 pages:
    // pfn alignDown(0x100000 - 32, 32) = 0xfffe0 -> 0xfffe0000.
    expect(iommuDmaMapSg(dev, sgt.sgl, 2, DMA_FROM_DEVICE)).toBe(2);
    expect(segs(sgt, 2)).toEqual([
      [0xfffe0000, 16 * K],
      [0xfffe0000 + 64 * K, 64 * K],
    ]);
  });

  it("small lists are rounded up to a power of two for the rcache from v4.19 (not in v4.7)", () => {
    // 3 pages: v6.19 allocates 4 pages; v4.7 allocates 3 (size-aligned to 4).
    for (const [kernel, pages] of [
      ["v4.7", 3],
      ["v6.19", 4],
    ] as const) {
      const { dev } = mt8173(kernel);
      const sgt = pieces([12 * K]);
      iommuDmaMapSg(dev, sgt.sgl, 1, DMA_FROM_DEVICE);
      expect(iommuDmaLastMapSgLayout(dev)!.iovaAllocBytes).toBe(pages * 4096);
    }
  });
});

describe("32-bit length arithmetic in __finalise_sg (ab2cbeb0ed30, v5.3)", () => {
  function bigMachine(kernel: string): Device {
    const p = JSON.parse(JSON.stringify(loadPlatformProfile("mt8173-evb")));
    p.ram = [{ base: "0x40000000", size: "16G" }];
    p.iommus[0].apertureBits = 40;
    p.devices[0].dmaMaskBits = 40;
    const dev = createMachine(p, { kernel }).device(DEC);
    dev.dmaParms = { maxSegmentSize: 0xffffffff, segmentBoundaryMask: DMA_BIT_MASK(40) };
    return dev;
  }
  const entries = () =>
    sgTableFromEntries([
      { pfn: (0x100000000 / 4096) as Pfn, offset: 0, length: 0xc0000000 },
      { pfn: (0x200000000 / 4096) as Pfn, offset: 0, length: 0x80000000 },
    ]);
  it("v5.2: 3G + 2G wraps to 1G in 32 bits and is merged into a bogus 1G segment", () => {
    const dev = bigMachine("v5.2");
    const sgt = entries();
    expect(iommuDmaMapSg(dev, sgt.sgl, 2, DMA_BIDIRECTIONAL)).toBe(1);
    // cur_len + s_length = 0xc0000000 + 0x80000000 = 0x1_4000_0000 -> 0x40000000 (u32) <= UINT_MAX.
    expect(sgt.sgl[0]!.dmaLength).toBe(0x40000000);
  });
  it("v5.3: max_len - cur_len = 0x3fffffff < 2G: a second segment", () => {
    const dev = bigMachine("v5.3");
    const sgt = entries();
    expect(iommuDmaMapSg(dev, sgt.sgl, 2, DMA_BIDIRECTIONAL)).toBe(2);
    expect(sgt.sgl[0]!.dmaLength).toBe(0xc0000000);
    expect(sgt.sgl[1]!.dmaLength).toBe(0x80000000);
    expect((sgt.sgl[1]!.dmaAddress as number) - (sgt.sgl[0]!.dmaAddress as number)).toBe(0xc0000000);
    expect(sgt.sgl[0]!.dmaAddress as number).toBeGreaterThan(SZ_4G); // IOVAs above 4 GiB, exact
  });
});

describe("failure returns per release", () => {
  function exhausted(kernel: string): { dev: Device; sgt: SgTable } {
    const { dev } = mt8173(kernel);
    dev.dmaMask = 0xfff; // limit pfn 0 < start_pfn 1: no IOVA can be allocated
    return { dev, sgt: pieces([8 * K, 4 * K]) };
  }
  it("iommu_dma_map_sg: 0 before v5.15, -ENOMEM from v5.15 (dabb16f67215); the entries are restored", () => {
    for (const [kernel, ret] of [
      ["v4.4", 0],
      ["v5.10", 0],
      ["v5.16", -ENOMEM],
      ["v6.19", -ENOMEM],
    ] as const) {
      const { dev, sgt } = exhausted(kernel);
      expect(iommuDmaMapSg(dev, sgt.sgl, 2, DMA_FROM_DEVICE)).toBe(ret);
      expect(sgt.sgl.map((s) => [s.offset, s.length, s.dmaAddress, s.dmaLength])).toEqual([
        [0, 8 * K, DMA_MAPPING_ERROR, 0],
        [0, 4 * K, DMA_MAPPING_ERROR, 0],
      ]);
    }
  });
  it("dma_map_sg returns 0; dma_map_sgtable returns -EINVAL before v5.15 and the errno after", () => {
    for (const [kernel, tableRet] of [
      ["v5.10", -EINVAL],
      ["v6.19", -ENOMEM],
    ] as const) {
      const a = exhausted(kernel);
      expect(dmaMapSg(a.dev, a.sgt.sgl, 2, DMA_FROM_DEVICE)).toBe(0);
      const b = exhausted(kernel);
      expect(dmaMapSgtable(b.dev, b.sgt, DMA_FROM_DEVICE)).toBe(tableRet);
      expect(b.sgt.nents).toBe(2); // unchanged
    }
  });
  it("dma_map_sgtable does not exist before v5.8; bad directions are model misuse", () => {
    const { dev } = mt8173("v5.4");
    const sgt = pieces([4 * K]);
    expect(() => dmaMapSgtable(dev, sgt, DMA_FROM_DEVICE)).toThrow(ModelConfigError);
    expect(() => dmaMapSg(dev, sgt.sgl, 1, 3)).toThrow(ModelConfigError);
    expect(iovaRangesInUse(dev.iommuDomain!.iovad!)).toEqual([]); // freed: gone, or parked in an rcache magazine (v4.12+ free_iova_fast)
  });
});

describe("bad input leaves the model unchanged", () => {
  it("an invalid direction or nents throws before touching the list or the IOVA domain", () => {
    const { dev } = mt8173("v6.19");
    const sgt = pieces([8 * K, 4 * K]);
    const before = JSON.stringify(sgt);
    expect(() => iommuDmaMapSg(dev, sgt.sgl, 2, 7)).toThrow(ModelConfigError);
    expect(() => iommuDmaMapSg(dev, sgt.sgl, 3, DMA_FROM_DEVICE)).toThrow(ModelConfigError);
    expect(JSON.stringify(sgt)).toBe(before);
    expect(iovaRangesInUse(dev.iommuDomain!.iovad!)).toEqual([]); // freed: gone, or parked in an rcache magazine (v4.12+ free_iova_fast)
    expect(iommuDmaLastMapSgLayout(dev)).toBeNull();
  });
  it("a device without an IOMMU domain is refused by iommu-dma", () => {
    const { dev } = mt8173("v6.19");
    dev.iommuDomain = null;
    expect(() => iommuDmaMapSg(dev, pieces([4 * K]).sgl, 1, DMA_FROM_DEVICE)).toThrow(ModelConfigError);
  });
});

describe("dma_parms defaults (include/linux/dma-mapping.h)", () => {
  it("max_seg_size defaults to 64K; boundary 0xffffffff before v5.10, ULONG_MAX (saturated) from v5.10", () => {
    expect(dmaGetMaxSegSize(mt8173("v4.4").dev)).toBe(65536);
    expect(dmaGetSegBoundary(mt8173("v5.4").dev)).toBe(0xffffffff);
    expect(dmaGetSegBoundary(mt8173("v5.10").dev)).toBe(MAX_ADDR);
  });
  it("dma_set_max_seg_size: -EIO without dma_parms (v5.4); platform devices have zeroed dma_parms from v5.7 (9495b7e92f71)", () => {
    const a = mt8173("v5.4").dev;
    expect(a.dmaParms).toBeNull();
    expect(dmaSetMaxSegSize(a, 2 ** 20)).toBe(-EIO);
    const b = mt8173("v5.7").dev;
    expect(b.dmaParms).toEqual({ maxSegmentSize: 0, segmentBoundaryMask: 0 });
    expect(dmaGetMaxSegSize(b)).toBe(65536); // zeroed parms read as the default
    expect(dmaSetMaxSegSize(b, 2 ** 20)).toBe(0);
    expect(dmaGetMaxSegSize(b)).toBe(2 ** 20);
  });
  it("v6.12+: dma_set_max_seg_size only warns without dma_parms", () => {
    const { m, dev } = mt8173("v6.19");
    dev.dmaParms = null;
    expect(dmaSetMaxSegSize(dev, 2 ** 20)).toBe(0);
    expect(dev.dmaParms).toBeNull();
    expect(m.trace.ofKind("warn").length).toBe(1);
  });
});

describe("io-pgtable: iommu_pgsize and PTE writes", () => {
  it("uses the largest page that fits size and both alignments", () => {
    const sizes = [4096, 65536, 2 ** 20, 2 ** 24];
    expect(iommuPgsize(sizes, 0x10000, 0x40010000, 0x10000)).toBe(65536);
    expect(iommuPgsize(sizes, 0x10000, 0x40011000, 0x10000)).toBe(4096);
    expect(iommuPgsize(sizes, 0x1000000, 0x41000000, 0x2000000)).toBe(2 ** 24);
  });
  it("counts PTE writes, refuses unaligned and overlapping maps, and reports faults", () => {
    const { m, dev } = mt8173("v6.19");
    const dom = dev.iommuDomain!;
    // 64 KiB aligned in IOVA and PA: one 64 KiB v7s large page, written as ARM_V7S_CONT_PAGES = 16
    // level-2 entries (__arm_v7s_map: size >> ARM_V7S_LVL_SHIFT(2) = 16, arm_v7s_init_pte sets all 16).
    expect(iommuMap(dom, 0x10000, 0x40010000, 0x10000, 3)).toBe(0);
    expect(dom.pgtable.pteWrites).toBe(16);
    // PA only 4 KiB aligned: sixteen 4 KiB small pages, one entry each.
    expect(iommuMap(dom, 0x20000, 0x40011000, 0x10000, 3)).toBe(0);
    expect(dom.pgtable.pteWrites).toBe(16 + 16);
    expect(iommuMap(dom, 0x30800, 0x40000000, 0x1000, 3)).toBe(-EINVAL);
    const before = dom.pgtable.ptes.size;
    expect(iommuMap(dom, 0x1f000, 0x50000000, 0x2000, 3)).toBe(-EEXIST);
    expect(dom.pgtable.ptes.size).toBe(before);
    expect(iommuDeviceAccess(dom, 0x2f000, 0x2000, false)).toBe(false);
    expect(m.trace.faults()[0]!.data["iova"]).toBe(0x30000);
    expect(iommuUnmap(dom, 0x10000, 0x20000)).toBe(0x20000);
    expect(dom.pgtable.ptes.size).toBe(0);
  });
});

describe("PCI devices try below 4 GiB first (iommu_dma_alloc_iova, v4.11+)", () => {
  it("an nvme behind SMMUv3 with a 64-bit mask gets a 32-bit IOVA unless forcedac", () => {
    const m = createMachine("arm64-server", { kernel: "v6.19" });
    const dev = m.device("0000:02:00.0");
    const a = pieces([8 * K], 0x80000000);
    expect(iommuDmaMapSg(dev, a.sgl, 1, DMA_BIDIRECTIONAL)).toBe(1);
    expect(a.sgl[0]!.dmaAddress as number).toBeLessThan(SZ_4G);
    const b = pieces([8 * K], 0x80000000);
    expect(iommuDmaMapSg(dev, b.sgl, 1, DMA_BIDIRECTIONAL, 0, { forcedac: true })).toBe(1);
    // Top-down below the 48-bit aperture end: 2 pages at pfn 2^36 - 2.
    expect(b.sgl[0]!.dmaAddress as number).toBe(2 ** 48 - 8192);
  });
});

describe("properties: random scatterlists", () => {
  const entryArb = fc.record({ offset: fc.integer({ min: 0, max: 4095 }), length: fc.integer({ min: 1, max: 96 * K }) });
  for (const kernel of ["v4.4", "v4.7", "v6.19"]) {
    it(`${kernel}: no overlapping IOVAs, segments inside their allocation, lengths preserved, unmap frees all`, () => {
      fc.assert(
        fc.property(fc.array(fc.array(entryArb, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 5 }), fc.boolean(), (lists, bigSeg) => {
          const { dev } = mt8173(kernel);
          if (bigSeg) dev.dmaParms = { maxSegmentSize: 0xffffffff, segmentBoundaryMask: 0 };
          const dom = dev.iommuDomain!;
          const mapped: Array<{ sgt: SgTable; n: number; lo: number; hi: number }> = [];
          let page = 0x50000;
          for (const list of lists) {
            const sgt = sgTableFromEntries(
              list.map((e) => {
                const pfn = page as Pfn;
                page += Math.ceil((e.offset + e.length) / 4096) + 1; // never physically adjacent
                return { pfn, offset: e.offset, length: e.length };
              }),
            );
            const total = list.reduce((a, e) => a + e.length, 0);
            const n = dmaMapSg(dev, sgt.sgl, list.length, DMA_FROM_DEVICE);
            expect(n).toBeGreaterThan(0);
            const lay = iommuDmaLastMapSgLayout(dev)!;
            const lo = lay.iovaBase;
            const hi = lay.iovaBase + lay.iovaAllocBytes;
            let dmaTotal = 0;
            for (let i = 0; i < n; i++) {
              const s = sgt.sgl[i]!;
              dmaTotal += s.dmaLength;
              expect(s.dmaAddress as number).toBeGreaterThanOrEqual(lo);
              expect((s.dmaAddress as number) + s.dmaLength).toBeLessThanOrEqual(lo + lay.iovaLen);
              // Merging never builds a segment above max_seg_size; a single longer entry stays whole
              // (the kernel assumes entries already respect the limit).
              const longest = Math.max(...list.map((e) => e.length));
              expect(s.dmaLength).toBeLessThanOrEqual(kernel === "v4.4" ? longest : Math.max(longest, dmaGetMaxSegSize(dev)));
            }
            expect(dmaTotal).toBe(total);
            for (const o of mapped) expect(hi <= o.lo || lo >= o.hi).toBe(true);
            mapped.push({ sgt, n: list.length, lo, hi });
          }
          for (const o of mapped) dmaUnmapSg(dev, o.sgt.sgl, o.n, DMA_FROM_DEVICE);
          expect(iovaRangesInUse(dom.iovad!)).toEqual([]); // freed: gone, or parked in an rcache magazine (v4.12+ free_iova_fast)
          expect(dom.pgtable.ptes.size).toBe(0);
        }),
        { numRuns: 60 },
      );
    });
  }
});
