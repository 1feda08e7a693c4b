/**
 * dma_map_sg that fails part-way.
 *
 * Rules:
 * - dma-direct (kernel/dma/direct.c dma_direct_map_sg, v5.4.6 and v6.19):
 *   entry i's dma_address is set to what the map returned (DMA_MAPPING_ERROR),
 *   its dma_length is not touched; out_unmap calls dma_direct_unmap_sg on the
 *   i entries before it with DMA_ATTR_SKIP_CPU_SYNC, which unmaps them and
 *   leaves their DMA fields as they were; the return is 0 (v5.4) or -EIO
 *   (v5.16+), which dma_map_sg_attrs turns into 0 and dma_map_sgtable returns.
 * - iommu-dma (drivers/iommu/dma-iommu.c iommu_dma_map_sg, v5.4.6): a failed
 *   IOVA allocation goes to out_restore_sg: __invalidate_sg puts offset and
 *   length back (offset += the stashed iova offset, length = sg_dma_len when
 *   non-zero) and sets dma_address = DMA_MAPPING_ERROR, dma_len = 0.
 * - iommu-dma v6.19, a zero-length entry after an 8 KiB one with the default
 *   ULONG_MAX segment boundary: pad_len = (ULONG_MAX - 8192 + 1) & ULONG_MAX
 *   = 2^64 - 8192, and pad_len < s_length - 1 (0 - 1 = SIZE_MAX) holds, so
 *   prev->length = (8192 + 2^64 - 8192) mod 2^32 = 0 and iova_len = 0 mod
 *   2^64: no IOVA is allocated, __finalise_sg(dev, sg, 2, 0) makes two
 *   segments at DMA address 0: (0, 8192) (dma_addr & mask = 0 forbids a
 *   merge), then (0, 0); the CPU fields come back (length 8192, offset 0).
 * - v5.4 (segment boundary DMA_BIT_MASK(32)): pad_len = 2^32 - 8192, prev
 *   length (8192 + 2^32 - 8192) mod 2^32 = 0, iova_len = 2^32: no 4 GiB IOVA
 *   fits the 32-bit window, -ENOMEM, out_restore_sg, return 0.
 * - Bad fields a driver cannot write (NaN length, fractional offset) are
 *   rejected naming the entry and field, before anything is mapped.
 */
import { describe, expect, it } from "vitest";
import { createMachine } from "../../lib/platform/machine.js";
import { sgTableFromEntries } from "../../lib/sg/scatterlist.js";
import { dmaMapSg, dmaMapSgtable } from "../../lib/dma/mapping.js";
import { activeMappings } from "../../lib/dma/state.js";
import { iovaRanges } from "../../lib/iommu/iova.js";
import { DMA_MAPPING_ERROR, type Pfn } from "../../lib/core/addr.js";
import { DMA_TO_DEVICE } from "../../lib/core/dma-types.js";
import { EIO } from "../../lib/core/errno.js";
import { ModelConfigError } from "../../lib/core/errors.js";

const G = 2 ** 30;

function x86NoBounce(kernel: string) {
  // x86-64-pc: RAM 0-2 GiB and 4-10 GiB; 0000:00:1a.0 has a 32-bit mask; swiotlb=noforce: no pool.
  const m = createMachine("x86-64-pc", { kernel, swiotlb: { noforce: true } });
  return { m, dev: m.device("0000:00:1a.0") };
}

describe("dma-direct: the entries mapped before the failing one are unmapped", () => {
  for (const kernel of ["v5.4", "v6.19"]) {
    it(`${kernel}: entry 1 above 4 GiB cannot be reached; entry 0 is unmapped again, its DMA fields stay`, () => {
      const { m, dev } = x86NoBounce(kernel);
      const sgt = sgTableFromEntries([
        { pfn: (0x100000 / 4096) as Pfn, offset: 0, length: 8192 }, // 1 MiB: reachable, dma = phys on x86
        { pfn: ((5 * G) / 4096) as Pfn, offset: 0x10, length: 4096 }, // 5 GiB: above the 32-bit mask
      ]);
      expect(dmaMapSg(dev, sgt.sgl, 2, DMA_TO_DEVICE)).toBe(0);
      expect(activeMappings(m)).toHaveLength(0);
      expect(sgt.sgl[0]).toMatchObject({ length: 8192, offset: 0, dmaAddress: 0x100000, dmaLength: 8192 });
      expect(sgt.sgl[1]).toMatchObject({ length: 4096, offset: 0x10, dmaAddress: DMA_MAPPING_ERROR, dmaLength: 0 });
    });
  }
  it("v6.19 dma_map_sgtable returns the backend's -EIO", () => {
    const { m, dev } = x86NoBounce("v6.19");
    const sgt = sgTableFromEntries([
      { pfn: (0x100000 / 4096) as Pfn, offset: 0, length: 8192 },
      { pfn: ((5 * G) / 4096) as Pfn, offset: 0, length: 4096 },
    ]);
    expect(dmaMapSgtable(dev, sgt, DMA_TO_DEVICE)).toBe(-EIO);
    expect(activeMappings(m)).toHaveLength(0);
  });
  it("a bad field in entry 2 is rejected by name before entries 0 and 1 are mapped", () => {
    const { m, dev } = x86NoBounce("v6.19");
    const sgt = sgTableFromEntries([0, 1, 2].map((i) => ({ pfn: (0x100000 / 4096 + 4 * i) as Pfn, offset: 0, length: 4096 })));
    sgt.sgl[2]!.length = NaN;
    const before = JSON.stringify(sgt.sgl);
    expect(() => dmaMapSg(dev, sgt.sgl, 3, DMA_TO_DEVICE)).toThrow(/sgl\[2\]\.length/);
    expect(JSON.stringify(sgt.sgl)).toBe(before);
    expect(activeMappings(m)).toHaveLength(0);
    sgt.sgl[2]!.length = 4096;
    sgt.sgl[1]!.offset = 0.5;
    expect(() => dmaMapSg(dev, sgt.sgl, 3, DMA_TO_DEVICE)).toThrow(ModelConfigError);
    expect(() => dmaMapSg(dev, sgt.sgl, 3, DMA_TO_DEVICE, -1)).toThrow(/attrs/);
    expect(activeMappings(m)).toHaveLength(0);
  });
});

describe("iommu-dma: a zero-length entry after an 8 KiB one", () => {
  const entries = () => sgTableFromEntries([
    { pfn: 0x50000 as Pfn, offset: 0, length: 8192 },
    { pfn: 0x50100 as Pfn, offset: 0, length: 0 },
  ]);
  it("v6.19: iova_len wraps to 0; two segments at DMA address 0, no IOVA allocated, CPU fields restored", () => {
    const m = createMachine("mt8173-evb", { kernel: "v6.19" });
    const dev = m.device("16020000.vcodec");
    const sgt = entries();
    expect(dmaMapSg(dev, sgt.sgl, 2, DMA_TO_DEVICE)).toBe(2);
    expect(sgt.sgl.map((s) => [s.dmaAddress, s.dmaLength])).toEqual([[0, 8192], [0, 0]]);
    expect(sgt.sgl.map((s) => [s.offset, s.length])).toEqual([[0, 8192], [0, 0]]);
    expect(iovaRanges(dev.iommuDomain!.iovad!)).toHaveLength(0);
    expect(m.trace.ofKind("map_sg_pad_wrap")).toHaveLength(1);
  });
  it("v5.4: iova_len = 4 GiB does not fit: 0, entries restored and invalidated", () => {
    const m = createMachine("mt8173-evb", { kernel: "v5.4" });
    const dev = m.device("16020000.vcodec");
    const sgt = entries();
    expect(dmaMapSg(dev, sgt.sgl, 2, DMA_TO_DEVICE)).toBe(0);
    expect(sgt.sgl.map((s) => [s.offset, s.length, s.dmaAddress, s.dmaLength])).toEqual([[0, 8192, DMA_MAPPING_ERROR, 0], [0, 0, DMA_MAPPING_ERROR, 0]]);
    expect(iovaRanges(dev.iommuDomain!.iovad!)).toHaveLength(0);
  });
});
