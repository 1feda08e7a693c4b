import { describe, expect, it } from "vitest";
import * as arm64 from "../../lib/dma/arch/arm64.js";
import * as arm from "../../lib/dma/arch/arm.js";
import * as x86 from "../../lib/dma/arch/x86.js";
import * as parisc from "../../lib/dma/arch/parisc.js";
import { type MaintOp } from "../../lib/cache/maint.js";
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE } from "../../lib/core/dma-types.js";

const brief = (ops: MaintOp[]) => ops.map((o) => [o.kind, o.start, o.end, o.level]);
const L64 = { lineSize: 64, kernel: "v6.19" };

describe("arm64 (arch/arm64/mm/dma-mapping.c, cache.S)", () => {
  it("v6.19 for device: dcache_clean_poc over the whole lines, every direction (c50f11c6196f)", () => {
    // [0x1010, 0x1010 + 0x60) = [0x1010, 0x1070): lines 0x1000 and 0x1040 -> clean [0x1000, 0x1080)
    for (const dir of [DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL]) {
      expect(brief(arm64.archSyncDmaForDevice(0x1010, 0x60, dir, L64))).toEqual([["clean", 0x1000, 0x1080, "inner"]]);
    }
  });

  it("v5.4 for device: DMA_FROM_DEVICE invalidates (__dma_inv_area), other directions clean", () => {
    const env = { lineSize: 64, kernel: "v5.4" };
    expect(brief(arm64.archSyncDmaForDevice(0x1000, 0x80, DMA_FROM_DEVICE, env))).toEqual([["invalidate", 0x1000, 0x1080, "inner"]]);
    expect(brief(arm64.archSyncDmaForDevice(0x1000, 0x80, DMA_TO_DEVICE, env))).toEqual([["clean", 0x1000, 0x1080, "inner"]]);
  });

  it("for cpu: DMA_TO_DEVICE does nothing", () => {
    expect(arm64.archSyncDmaForCpu(0x1000, 0x80, DMA_TO_DEVICE, L64)).toEqual([]);
  });

  it("for cpu: dcache_inval_poc cleans+invalidates a partial first and last line, invalidates the rest", () => {
    // [0x1010, 0x10d0): first line 0x1000 partial, last line 0x10c0 partial, whole lines 0x1040, 0x1080.
    expect(brief(arm64.archSyncDmaForCpu(0x1010, 0xc0, DMA_FROM_DEVICE, L64))).toEqual([
      ["cleanInvalidate", 0x1000, 0x1040, "inner"],
      ["invalidate", 0x1040, 0x10c0, "inner"],
      ["cleanInvalidate", 0x10c0, 0x1100, "inner"],
    ]);
    // aligned range: only invalidation
    expect(brief(arm64.archSyncDmaForCpu(0x1000, 0x100, DMA_BIDIRECTIONAL, L64))).toEqual([["invalidate", 0x1000, 0x1100, "inner"]]);
    // both ends in one line: one clean+invalidate
    expect(brief(arm64.archSyncDmaForCpu(0x1004, 8, DMA_FROM_DEVICE, L64))).toEqual([["cleanInvalidate", 0x1000, 0x1040, "inner"]]);
  });

  it("works above 4 GiB", () => {
    const p = 2 ** 39 + 0x20;
    expect(brief(arm64.archSyncDmaForCpu(p, 0x40, DMA_FROM_DEVICE, L64))).toEqual([
      ["cleanInvalidate", 2 ** 39, 2 ** 39 + 0x40, "inner"],
      ["cleanInvalidate", 2 ** 39 + 0x40, 2 ** 39 + 0x80, "inner"],
    ]);
  });
});

describe("ARMv7 (arch/arm/mm/dma-mapping.c, cache-v7.S)", () => {
  it("for device: DMA_FROM_DEVICE -> v7_dma_inv_range (partial ends cleaned+invalidated), else v7_dma_clean_range", () => {
    expect(brief(arm.archSyncDmaForDevice(0x1020, 0x40, DMA_FROM_DEVICE, L64))).toEqual([
      ["cleanInvalidate", 0x1000, 0x1040, "inner"],
      ["cleanInvalidate", 0x1040, 0x1080, "inner"],
    ]);
    expect(brief(arm.archSyncDmaForDevice(0x1020, 0x40, DMA_TO_DEVICE, L64))).toEqual([["clean", 0x1000, 0x1080, "inner"]]);
    expect(brief(arm.archSyncDmaForDevice(0x1020, 0x40, DMA_BIDIRECTIONAL, L64))).toEqual([["clean", 0x1000, 0x1080, "inner"]]);
  });

  it("with an outer cache: outer_inv_range after the inner op for DMA_FROM_DEVICE, outer_clean_range otherwise", () => {
    const env = { ...L64, outerCache: true };
    const fromDev = arm.archSyncDmaForDevice(0x1000, 0x40, DMA_FROM_DEVICE, env);
    expect(fromDev.map((o) => o.fn)).toEqual(["v7_dma_inv_range", "outer_inv_range"]);
    expect(arm.archSyncDmaForDevice(0x1000, 0x40, DMA_TO_DEVICE, env).map((o) => o.fn)).toEqual(["v7_dma_clean_range", "outer_clean_range"]);
  });

  it("for cpu: nothing for DMA_TO_DEVICE; otherwise outer_inv_range first, then v7_dma_inv_range", () => {
    expect(arm.archSyncDmaForCpu(0x1000, 0x40, DMA_TO_DEVICE, L64)).toEqual([]);
    expect(arm.archSyncDmaForCpu(0x1000, 0x40, DMA_FROM_DEVICE, { ...L64, outerCache: true }).map((o) => o.fn)).toEqual(["outer_inv_range", "v7_dma_inv_range"]);
    expect(brief(arm.archSyncDmaForCpu(0x1000, 0x40, DMA_BIDIRECTIONAL, L64))).toEqual([["invalidate", 0x1000, 0x1040, "inner"]]);
  });

  it("32-byte lines (ARM_L1_CACHE_SHIFT 5): the partial rule uses 32-byte lines", () => {
    expect(brief(arm.archSyncDmaForCpu(0x1010, 0x20, DMA_FROM_DEVICE, { lineSize: 32, kernel: "v5.4" }))).toEqual([
      ["cleanInvalidate", 0x1000, 0x1020, "inner"],
      ["cleanInvalidate", 0x1020, 0x1040, "inner"],
    ]);
  });
});

describe("x86 (coherent: no ARCH_HAS_SYNC_DMA_FOR_*)", () => {
  it("issues no maintenance in any direction", () => {
    for (const dir of [DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL]) {
      expect(x86.archSyncDmaForDevice(0x1000, 64, dir, L64)).toEqual([]);
      expect(x86.archSyncDmaForCpu(0x1000, 64, dir, L64)).toEqual([]);
    }
  });
});

describe("PA-RISC (arch/parisc/kernel/pci-dma.c, cache.c)", () => {
  const L128 = { lineSize: 128, kernel: "v6.19" };
  it("for device: flush_kernel_dcache_range (write back + invalidate) in every direction", () => {
    for (const dir of [DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL]) {
      expect(brief(parisc.archSyncDmaForDevice(0x1010, 0x100, dir, L128))).toEqual([["cleanInvalidate", 0x1000, 0x1180, "inner"]]);
    }
  });
  it("for cpu: DMA_FROM_DEVICE purges whole lines (no write-back, partial lines included); others flush", () => {
    expect(brief(parisc.archSyncDmaForCpu(0x1010, 0x100, DMA_FROM_DEVICE, L128))).toEqual([["invalidate", 0x1000, 0x1180, "inner"]]);
    expect(brief(parisc.archSyncDmaForCpu(0x1010, 0x100, DMA_TO_DEVICE, L128))).toEqual([["cleanInvalidate", 0x1000, 0x1180, "inner"]]);
    expect(brief(parisc.archSyncDmaForCpu(0x1010, 0x100, DMA_BIDIRECTIONAL, L128))).toEqual([["cleanInvalidate", 0x1000, 0x1180, "inner"]]);
  });
  it("flush_kernel_vmap_range / invalidate_kernel_vmap_range flush the whole data cache (v6.19)", () => {
    expect(parisc.flushKernelVmapRange(4096)).toEqual([{ kind: "cleanInvalidate", start: 0, end: 0, level: "inner", fn: "flush_data_cache", scope: "all" }]);
    expect(parisc.invalidateKernelVmapRange(4096)[0]!.scope).toBe("all");
  });
});

describe("bad input", () => {
  it("an unknown direction, an unaligned line size or a zero size is rejected", () => {
    expect(() => arm64.archSyncDmaForDevice(0x1000, 64, 3, L64)).toThrow(/DMA_BIDIRECTIONAL/);
    expect(() => arm.archSyncDmaForCpu(0x1000, 64, 7, L64)).toThrow(/dir/);
    expect(() => parisc.archSyncDmaForCpu(0x1000, 64, DMA_FROM_DEVICE, { lineSize: 96, kernel: "v6.19" })).toThrow(/lineSize/);
    expect(() => x86.archSyncDmaForCpu(0x1000, 0, DMA_FROM_DEVICE, L64)).toThrow(/size/);
  });
});
