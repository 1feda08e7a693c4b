import { describe, expect, it } from "vitest";
import { arm32CoherentPath } from "../../lib/dma/arm32-restricted.js";

// Expected paths read from kernel/dma/direct.c dma_direct_alloc and arch/arm/mm/dma-mapping.c
// in the v5.15, v5.17, v5.19, v6.3.8, v6.8 and v6.19 trees.
const jim = { lpae: true, coherent: false, restrictedPool: true, allowBlock: true, hasCmaArea: true };

describe("dma_alloc_coherent on 32-bit ARM with a restricted-dma-pool (Jim Quinlan's case)", () => {
  it("v5.15 LPAE: dma-direct hands out the pool pages through the cacheable linear map", () => {
    expect(arm32CoherentPath({ kernel: "v5.15", ...jim })).toEqual({ path: "restricted_cached_alias", allocator: null, warning: null, incoherent: true });
  });
  it("v5.17 .. v6.3: NULL without a message", () => {
    for (const kernel of ["v5.17", "v5.19", "v6.3"]) {
      expect(arm32CoherentPath({ kernel, ...jim })).toEqual({ path: "null", allocator: null, warning: null, incoherent: false });
    }
  });
  it("v6.8 / v6.19: NULL with the warning", () => {
    expect(arm32CoherentPath({ kernel: "v6.19", ...jim }).warning).toBe("coherent DMA allocations not supported on this platform.");
    expect(arm32CoherentPath({ kernel: "v6.8", ...jim }).path).toBe("null");
  });
  it("before v6.0 a 2-level (non-LPAE) kernel uses arm_dma_ops, which ignore the restricted pool", () => {
    // arch/arm/mm/dma-mapping.c:arm_get_dma_map_ops returns &arm_dma_ops for !CONFIG_ARM_LPAE in v5.19.0
    // (yishangzhang/linux-5.19); v6.0-rc1 (sun363587351/linux-6.0) has no arm_dma_ops (ae626eb97376).
    expect(arm32CoherentPath({ kernel: "v5.15", ...jim, lpae: false })).toEqual({ path: "arm_dma_ops", allocator: "cma", warning: null, incoherent: false });
    expect(arm32CoherentPath({ kernel: "v5.19", ...jim, lpae: false })).toEqual({ path: "arm_dma_ops", allocator: "cma", warning: null, incoherent: false });
    expect(arm32CoherentPath({ kernel: "v6.0", ...jim, lpae: false }).path).toBe("null");
  });
  it("without a restricted pool: arch_dma_alloc and ARM's allocator choice", () => {
    expect(arm32CoherentPath({ kernel: "v6.19", ...jim, restrictedPool: false })).toEqual({ path: "arch_dma_alloc", allocator: "cma", warning: null, incoherent: false });
    expect(arm32CoherentPath({ kernel: "v6.19", ...jim, restrictedPool: false, allowBlock: false }).allocator).toBe("pool");
    // restricted pools do not exist before v5.15.
    expect(arm32CoherentPath({ kernel: "v5.10", ...jim }).path).toBe("arch_dma_alloc");
  });
  it("Christoph's step 1 (DMA_DIRECT_REMAP): remap, or the generic atomic pool when it cannot block", () => {
    expect(arm32CoherentPath({ kernel: "v6.19", ...jim, dmaDirectRemap: true }).path).toBe("direct_remap");
    expect(arm32CoherentPath({ kernel: "v6.19", ...jim, restrictedPool: false, allowBlock: false, dmaDirectRemap: true }).path).toBe("direct_atomic_pool");
    // restricted devices never use the atomic pools (dma_direct_use_pool).
    expect(arm32CoherentPath({ kernel: "v6.19", ...jim, allowBlock: false, dmaDirectRemap: true }).path).toBe("direct_remap");
  });
  it("coherent devices get plain pages", () => {
    expect(arm32CoherentPath({ kernel: "v6.19", ...jim, coherent: true }).path).toBe("direct_pages");
  });
});
