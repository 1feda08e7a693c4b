/**
 * Raw field writes and arguments a driver cannot make are rejected by name,
 * before anything changes: struct device's masks are u64 values of the form
 * 2^k - 1 (dma_set_mask takes DMA_BIT_MASK(n)); 2^64 - 1 written as a JS
 * number is 2^64, which is no such value. attrs is an unsigned long of
 * DMA_ATTR_* bits: NaN, -1 or 0.5 are not attrs.
 */
import { describe, expect, it } from "vitest";
import { createMachine } from "../../lib/platform/machine.js";
import { dmaMapPage, dmaMapPageAttrs, dmaMapSgAttrs, dmaUnmapPageAttrs, dmaAllocAttrs } from "../../lib/dma/mapping.js";
import { activeMappings } from "../../lib/dma/state.js";
import { sgTableFromEntries } from "../../lib/sg/scatterlist.js";
import { DMA_TO_DEVICE } from "../../lib/core/dma-types.js";
import type { Pfn } from "../../lib/core/addr.js";

const fresh = () => {
  const m = createMachine("x86-64-pc", { kernel: "v6.19" });
  return { m, dev: m.device("0000:00:1a.0") };
};

describe("device fields", () => {
  it("dmaMask = 2^64 (2^64 - 1 as a JS number) is rejected naming dev.dmaMask", () => {
    const { m, dev } = fresh();
    dev.dmaMask = 2 ** 64 - 1;
    expect(() => dmaMapPage(dev, 0x100, 0, 4096, DMA_TO_DEVICE)).toThrow(/dev\.dmaMask/);
    expect(activeMappings(m)).toHaveLength(0);
  });
  it("NaN coherent mask, a non-boolean dmaCoherent and a fractional max segment size are rejected by name", () => {
    const a = fresh();
    a.dev.coherentDmaMask = NaN;
    expect(() => dmaAllocAttrs(a.dev, 4096)).toThrow(/dev\.coherentDmaMask/);
    const b = fresh();
    (b.dev as { dmaCoherent: unknown }).dmaCoherent = 1;
    expect(() => dmaMapPage(b.dev, 0x100, 0, 4096, DMA_TO_DEVICE)).toThrow(/dev\.dmaCoherent/);
    const c = fresh();
    c.dev.dmaParms = { maxSegmentSize: 65536.5, segmentBoundaryMask: 0xffffffff };
    expect(() => dmaMapPage(c.dev, 0x100, 0, 4096, DMA_TO_DEVICE)).toThrow(/dev\.dmaParms\.maxSegmentSize/);
  });
});

describe("attrs", () => {
  for (const bad of [-1, NaN, 0.5, 2 ** 53]) {
    it(`attrs = ${bad} is rejected by name on map_page, unmap_page, map_sg and alloc`, () => {
      const { m, dev } = fresh();
      expect(() => dmaMapPageAttrs(dev, 0x100, 0, 4096, DMA_TO_DEVICE, bad)).toThrow(/attrs/);
      const h = dmaMapPage(dev, 0x100, 0, 4096, DMA_TO_DEVICE);
      expect(() => dmaUnmapPageAttrs(dev, h, 4096, DMA_TO_DEVICE, bad)).toThrow(/attrs/);
      expect(activeMappings(m)).toHaveLength(1);
      const sgt = sgTableFromEntries([{ pfn: 0x200 as Pfn, offset: 0, length: 4096 }]);
      expect(() => dmaMapSgAttrs(dev, sgt.sgl, 1, DMA_TO_DEVICE, bad)).toThrow(/attrs/);
      expect(() => dmaAllocAttrs(dev, 4096, bad)).toThrow(/attrs/);
      expect(activeMappings(m)).toHaveLength(1);
    });
  }
});
