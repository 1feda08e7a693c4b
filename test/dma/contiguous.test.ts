import { describe, expect, it } from "vitest";
import { ModelConfigError } from "../../lib/core/errors.js";
import { cmaInitReservedMem } from "../../lib/mm/cma.js";
import { dmaAllocFromContiguous, dmaContiguousSelect, dmaReleaseFromContiguous, parseCmaCmdline } from "../../lib/dma/contiguous.js";

const MiB = 1048576;

describe("cma= and the default area (kernel/dma/contiguous.c)", () => {
  it("parses size[@base[-limit]] as early_cma does", () => {
    expect(parseCmaCmdline("64M")).toEqual({ size: 64 * MiB, base: 0, limit: 0 });
    // base given, no limit: limit = base + size.
    expect(parseCmaCmdline("256M@0x10000000")).toEqual({ size: 256 * MiB, base: 0x10000000, limit: 0x20000000 });
    expect(parseCmaCmdline("16M@0x10000000-0x30000000")).toEqual({ size: 16 * MiB, base: 0x10000000, limit: 0x30000000 });
    expect(() => parseCmaCmdline("lots")).toThrow(ModelConfigError);
  });

  it("DT default node vs cma= vs CONFIG_CMA_SIZE_MBYTES, per release", () => {
    // v5.4.6: the DT node is set up first and dma_contiguous_reserve skips its own selection.
    expect(dmaContiguousSelect({ kernel: "v5.4", dtDefaultSize: 64 * MiB, cmdline: "32M", limit: 0xffffffff }).source).toBe("dt");
    // v5.10.89: cma= bypasses the DT default node.
    const s = dmaContiguousSelect({ kernel: "v5.10", dtDefaultSize: 64 * MiB, cmdline: "32M", limit: 0xffffffff });
    expect([s.source, s.size]).toEqual(["cmdline", 32 * MiB]);
    // The bypass is in v5.6 ("dma-contiguous: CMA: give precedence to cmdline", dma-mapping fixes for 5.6):
    // absent in v5.4.6 (hxb-gt/linux-5.4.6), present in v5.6.4 (shmily1012/linux-5.6.4) kernel/dma/contiguous.c:rmem_cma_setup.
    expect(dmaContiguousSelect({ kernel: "v5.5", dtDefaultSize: 64 * MiB, cmdline: "32M", limit: 0xffffffff }).source).toBe("dt");
    expect(dmaContiguousSelect({ kernel: "v5.6", dtDefaultSize: 64 * MiB, cmdline: "32M", limit: 0xffffffff }).source).toBe("cmdline");
    // no DT node, no cma=: multi_v7_defconfig CONFIG_CMA_SIZE_MBYTES=64.
    expect(dmaContiguousSelect({ kernel: "v6.19", configMbytes: 64, limit: 0xffffffff })).toEqual({ source: "config", size: 64 * MiB, base: 0, limit: 0xffffffff, fixed: false });
    // fixed when base + size == limit.
    expect(dmaContiguousSelect({ kernel: "v6.19", cmdline: "256M@0x10000000", limit: 0xffffffff }).fixed).toBe(true);
  });

  it("dma_alloc_from_contiguous clamps the order to CONFIG_CMA_ALIGNMENT (8)", () => {
    const c = cmaInitReservedMem({ kernel: "v6.19", base: 0x2c000000, size: 16 * MiB }).cma!;
    // one page at pfn 180224, then a 512-page request with order 9 clamped to 8: mask 255 -> pfn 180224 + 256.
    expect(dmaAllocFromContiguous(c, 1, 0).pfn).toBe(180224);
    expect(dmaAllocFromContiguous(c, 512, 9).pfn).toBe(180480);
    // unclamped (CMA_ALIGNMENT 12) the start must be a multiple of 512 pages: offset 0 is taken
    // (page 0), offset 512 overlaps the run [256, 768), so offset 1024: 180224 + 1024.
    expect(dmaAllocFromContiguous(c, 512, 9, 12).pfn).toBe(181248);
    expect(dmaReleaseFromContiguous(c, 180480, 512)).toBe(true);
    expect(dmaAllocFromContiguous(null, 1, 0).pfn).toBeNull();
    expect(() => dmaAllocFromContiguous(c, 1, 0, 3)).toThrow(ModelConfigError);
  });
});
