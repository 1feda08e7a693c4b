import { describe, expect, it } from "vitest";
import type { Pfn } from "../../lib/core/addr.js";
import { EFAULT, EINVAL, ENODEV } from "../../lib/core/errno.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { createMachine } from "../../lib/platform/machine.js";
import { dmaGetMaxSegSize } from "../../lib/dma/parms.js";
import { DMA_FROM_DEVICE } from "../../lib/core/dma-types.js";
import { iovaRanges } from "../../lib/iommu/iova.js";
import { sgTableFromEntries } from "../../lib/sg/scatterlist.js";
import {
  vb2DcGetContiguousSize,
  vb2DcGetUserptr,
  vb2DcPutUserptr,
  vb2DmaContigSetMaxSegSize,
} from "../../lib/drivers/videobuf2-dma-contig.js";

const K = 1024;
const DEC = "16020000.vcodec";
/** {64K, 16K, 64K}: 16 + 4 + 16 pages at three separate 1 MiB-aligned places. */
function threadPfns(): Pfn[] {
  const out: Pfn[] = [];
  [
    [0x50000000, 64 * K],
    [0x50100000, 16 * K],
    [0x50200000, 64 * K],
  ].forEach(([base, len]) => {
    for (let o = 0; o < len!; o += 4096) out.push(((base! + o) / 4096) as Pfn);
  });
  return out;
}
const args = (pfns: Pfn[]) => ({ pfns, vaddr: 0x7f80000000, size: 144 * K, dir: DMA_FROM_DEVICE, dmaAlign: 64 });

describe("vb2_dc_get_contiguous_size", () => {
  it("sums DMA segments from the first while each starts at the previous end (both forms)", () => {
    const sgt = sgTableFromEntries([
      { pfn: 1 as Pfn, offset: 0, length: 4096 },
      { pfn: 9 as Pfn, offset: 0, length: 4096 },
      { pfn: 20 as Pfn, offset: 0, length: 4096 },
    ]);
    // DMA segments: 0x1000+64K, 0x11000+16K, then a gap (0x25000 != 0x15000).
    [
      [0x1000, 65536],
      [0x11000, 16384],
      [0x25000, 65536],
    ].forEach(([a, l], i) => {
      sgt.sgl[i]!.dmaAddress = a as never;
      sgt.sgl[i]!.dmaLength = l!;
    });
    expect(vb2DcGetContiguousSize(sgt, "v4.4")).toBe(81920);
    expect(vb2DcGetContiguousSize(sgt, "v6.19")).toBe(81920);
    sgt.nents = 2; // only the mapped segments count
    sgt.sgl[2]!.dmaAddress = 0x15000 as never;
    expect(vb2DcGetContiguousSize(sgt, "v6.19")).toBe(81920);
  });
});

describe("vb2_dc_get_userptr", () => {
  it("v4.4: fails with -EFAULT and the kernel's message 81920/147456, IOVA released", () => {
    const m = createMachine("mt8173-evb", { kernel: "v4.4" });
    const dev = m.device(DEC);
    const r = vb2DcGetUserptr(dev, args(threadPfns()));
    expect(r.ok).toBe(false);
    expect(r.buf).toBeNull();
    expect(r.err).toBe(-EFAULT);
    expect(r.message).toBe("contiguous mapping is too small 81920/147456");
    const ev = m.trace.ofKind("pr_err");
    expect(ev.map((e) => [e.level, e.msg])).toEqual([["warn", "contiguous mapping is too small 81920/147456"]]);
    expect(iovaRanges(dev.iommuDomain!.iovad!)).toEqual([]);
    expect(dev.iommuDomain!.pgtable.ptes.size).toBe(0);
  });

  it("v6.19: succeeds, dma_addr = the IOVA base, three 64K-limited DMA segments, put frees all", () => {
    const m = createMachine("mt8173-evb", { kernel: "v6.19" });
    const dev = m.device(DEC);
    const r = vb2DcGetUserptr(dev, args(threadPfns()));
    expect(r.ok).toBe(true);
    if (!r.buf) throw new Error("no buffer");
    expect(r.buf.dmaAddr).toBe(0xfffc0000);
    expect(r.buf.dmaSgt.nents).toBe(3); // 64K | 16K | 64K with the 64K default
    expect(vb2DcGetContiguousSize(r.buf.dmaSgt, "v6.19")).toBe(147456);
    vb2DcPutUserptr(r.buf);
    expect(iovaRanges(dev.iommuDomain!.iovad!)).toEqual([]);
  });

  it("rejects unaligned user buffers and zero sizes with -EINVAL, and pfn lists of the wrong length as misuse", () => {
    const dev = createMachine("mt8173-evb", { kernel: "v6.19" }).device(DEC);
    expect(vb2DcGetUserptr(dev, { ...args(threadPfns()), vaddr: 0x7f80000020 })).toEqual({ ok: false, buf: null, err: -EINVAL, message: null });
    expect(vb2DcGetUserptr(dev, { ...args([]), size: 0 })).toEqual({ ok: false, buf: null, err: -EINVAL, message: null });
    expect(() => vb2DcGetUserptr(dev, { ...args(threadPfns().slice(1)) })).toThrow(ModelConfigError);
    expect(iovaRanges(dev.iommuDomain!.iovad!)).toEqual([]);
  });
});

describe("vb2_dma_contig_set_max_seg_size per release", () => {
  it("does not exist before v4.8", () => {
    const dev = createMachine("mt8173-evb", { kernel: "v4.7" }).device(DEC);
    expect(() => vb2DmaContigSetMaxSegSize(dev, 0xffffffff)).toThrow(ModelConfigError);
  });
  it("v5.4: allocates dma_parms and raises the limit", () => {
    const dev = createMachine("mt8173-evb", { kernel: "v5.4" }).device(DEC);
    expect(dev.dmaParms).toBeNull();
    expect(vb2DmaContigSetMaxSegSize(dev, 0xffffffff)).toBe(0);
    expect(dmaGetMaxSegSize(dev)).toBe(0xffffffff);
  });
  it("v6.19: -ENODEV for a device without dma_parms; fine for platform devices (which have them)", () => {
    const m = createMachine("mt8173-evb", { kernel: "v6.19" });
    const dev = m.device(DEC);
    expect(vb2DmaContigSetMaxSegSize(dev, 0xffffffff)).toBe(0);
    expect(dmaGetMaxSegSize(dev)).toBe(0xffffffff);
    dev.dmaParms = null;
    expect(vb2DmaContigSetMaxSegSize(dev, 0xffffffff)).toBe(-ENODEV);
    expect(m.trace.ofKind("dev_err")[0]!.msg).toBe("Failed to set max_seg_size: dma_parms is NULL");
  });
  it("with the limit raised, v6.19 maps the thread's buffer as one DMA segment", () => {
    const dev = createMachine("mt8173-evb", { kernel: "v6.19" }).device(DEC);
    vb2DmaContigSetMaxSegSize(dev, 0xffffffff);
    const r = vb2DcGetUserptr(dev, args(threadPfns()));
    expect(r.buf!.dmaSgt.nents).toBe(1);
  });
});
