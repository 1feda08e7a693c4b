/**
 * Per-device coherent pools and dma_alloc_attrs (kernel/dma/coherent.c,
 * kernel/dma/mapping.c, v5.4.6 / v6.19). Expected handles are hand
 * computations: device base + pageno * 4096 with pageno from
 * bitmap_find_free_region's naturally aligned first fit.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createMachine } from "../../lib/platform/machine.js";
import { loadPlatformProfile } from "../../lib/platform/profile.js";
import { fmtVirtAddr, type DmaAddr, type VirtAddr } from "../../lib/core/addr.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { bitmapFindFreeRegion, devCoherentUsedPages, getOrder } from "../../lib/dma/coherent.js";
import { dmaAllocAttrs, dmaAllocCoherent, dmaFreeCoherent } from "../../lib/dma/mapping.js";

const va = (x: number) => fmtVirtAddr(x, 48);

describe("get_order and bitmap_find_free_region", () => {
  it("get_order: smallest order with 4096 << order >= size", () => {
    expect(getOrder(1)).toBe(0);
    expect(getOrder(4096)).toBe(0);
    expect(getOrder(4097)).toBe(1);
    expect(getOrder(1048576)).toBe(8);
    expect(getOrder(5 * 2 ** 32)).toBe(23); // 20 GiB -> 2^35 bytes = 4096 << 23
  });
  it("regions are naturally aligned to their order", () => {
    const bm = new Array<boolean>(16).fill(false);
    expect(bitmapFindFreeRegion(bm, 0)).toBe(0);
    expect(bitmapFindFreeRegion(bm, 1)).toBe(2); // 1 is free but not 2-aligned
    expect(bitmapFindFreeRegion(bm, 2)).toBe(4);
    expect(bitmapFindFreeRegion(bm, 3)).toBe(8);
    expect(bitmapFindFreeRegion(bm, 0)).toBe(1);
    expect(bitmapFindFreeRegion(bm, 0)).toBe(-1); // 0, 1, 2-3, 4-7, 8-15 all taken
  });
});

describe("dma_alloc_attrs with a per-device pool (PXS3 codec, encbuffer 0xb0000000 + 128M, no-map)", () => {
  it("the pool is memremapped WC at the first fit in vmalloc space; handles are base + offset", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v5.4" });
    const codec = m.device("codec");
    expect(va(codec.dmaMem!.virtBase)).toBe("0xffff800010000000");
    const a = dmaAllocCoherent(codec, 1048576)!; // 256 pages at pageno 0
    expect(a.how).toBe("dev-coherent-pool");
    expect(a.dmaHandle).toBe(0xb0000000);
    expect(va(a.cpuAddr)).toBe("0xffff800010000000");
    const b = dmaAllocCoherent(codec, 4096)!; // order 0: pageno 256
    expect(b.dmaHandle).toBe(0xb0100000);
    const c = dmaAllocCoherent(codec, 8192)!; // order 1: first free even pageno >= 257 is 258
    expect(c.dmaHandle).toBe(0xb0102000);
    expect(c.cpuAddr - codec.dmaMem!.virtBase).toBe(0x102000);
    expect(devCoherentUsedPages(codec)).toBe(256 + 1 + 2);
    dmaFreeCoherent(codec, 4096, b.cpuAddr, b.dmaHandle);
    expect(dmaAllocCoherent(codec, 100)!.dmaHandle).toBe(0xb0100000);
  });

  it("the pool's answer is final: too big or exhausted gives NULL, no fallback to normal memory", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v6.19" });
    const codec = m.device("codec");
    expect(dmaAllocCoherent(codec, 0x08000000 + 1)).toBeNull();
    expect(dmaAllocCoherent(codec, 0x08000000)!.dmaHandle).toBe(0xb0000000);
    expect(dmaAllocCoherent(codec, 4096)).toBeNull();
    expect(m.trace.ofKind("alloc_failed").length).toBe(2);
  });

  it("property: live allocations never overlap and stay inside the pool", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 * 1048576 }), { minLength: 1, maxLength: 30 }), (sizes) => {
        const m = createMachine("uniphier-pxs3", { kernel: "v6.19" });
        const codec = m.device("codec");
        const live: Array<[number, number]> = [];
        for (const s of sizes) {
          const b = dmaAllocCoherent(codec, s);
          if (!b) continue;
          const len = 4096 * 2 ** getOrder(s);
          expect(b.dmaHandle % len).toBe(0xb0000000 % len); // naturally aligned within the pool
          expect(b.dmaHandle >= 0xb0000000 && b.dmaHandle + len <= 0xb8000000).toBe(true);
          for (const [x, l] of live) expect(b.dmaHandle + len <= x || x + l <= b.dmaHandle).toBe(true);
          live.push([b.dmaHandle, len]);
        }
      }),
      { numRuns: 50 },
    );
  });

  it("rejected calls leave the pool unchanged", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v5.4" });
    const codec = m.device("codec");
    dmaAllocCoherent(codec, 8192);
    expect(() => dmaAllocAttrs(codec, 0)).toThrow(ModelConfigError);
    expect(() => dmaFreeCoherent(m.device("display"), 4096, 0x7000 as VirtAddr, 0x1234 as DmaAddr)).toThrow(ModelConfigError);
    expect(devCoherentUsedPages(codec)).toBe(2);
  });
});

describe("dma-direct allocation without a pool (the display device)", () => {
  it("coherent device: linear-map address, handle = phys; pages come from RAM above the first 16 MiB, outside reserved regions", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v5.4" });
    const b = dmaAllocCoherent(m.device("display"), 65536)!;
    expect(b.how).toBe("linear-map");
    // first 16-page-aligned block at or above 0x80000000 + 16M = 0x81000000 is inside secure-memory
    // (0x81000000..0x82000000, no-map), so the first fit is 0x82000000
    expect(b.dmaHandle).toBe(0x82000000);
    expect(va(b.cpuAddr)).toBe("0xffff000002000000");
  });
  it("non-coherent device: pages remapped into vmalloc space (dma_common_contiguous_remap)", () => {
    const p = loadPlatformProfile("uniphier-pxs3");
    p.devices[1]!.dmaCoherent = false;
    const m = createMachine(p, { kernel: "v6.19" });
    const b = dmaAllocCoherent(m.device("display"), 8192)!;
    expect(b.how).toBe("remap");
    expect(m.mm.isVmallocAddr(b.cpuAddr)).toBe(true);
    expect(m.mm.translate(b.cpuAddr)!.pa).toBe(b.dmaHandle);
    dmaFreeCoherent(m.device("display"), 8192, b.cpuAddr, b.dmaHandle);
    expect(m.mm.translate(b.cpuAddr)).toBeNull();
  });
  it("rmem_dma_setup: a reusable region is not a DMA pool; on 32-bit ARM a region without no-map is refused", () => {
    const p = loadPlatformProfile("uniphier-pxs3");
    p.reserved[1]!.reusable = true;
    const m = createMachine(p, { kernel: "v5.4" });
    expect(m.device("codec").dmaMem).toBeUndefined();
    const q = loadPlatformProfile("exynos5422-odroidxu4");
    q.reserved[0]!.noMap = false;
    const n = createMachine(q, { kernel: "v4.19" });
    expect(n.device("mfc").dmaMem).toBeUndefined();
    expect(n.trace.events().some((e) => e.msg.includes("regions without no-map are not yet supported"))).toBe(true);
  });
});
