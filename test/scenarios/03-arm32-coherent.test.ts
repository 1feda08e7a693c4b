/**
 * Case 03 outcomes. Every expected value is worked out by hand next to it
 * from the kernel rules (arch/arm/mm/dma-mapping.c __dma_alloc,
 * atomic_pool_init, __dma_remap; lib/genalloc.c
 * gen_pool_first_fit_order_align; kernel/dma/direct.c dma_direct_alloc;
 * kernel/dma/contiguous.c dma_alloc_contiguous; arch/arm/mm/init.c
 * update_sections_early) and the sidecars' numbers.
 *
 * v5.19 is avoided for 2-level kernels: the release ARM stopped using
 * arm_dma_ops is the registered change ARM_USES_DMA_DIRECT (its bracket is
 * being re-checked elsewhere); v5.17 and v6.3 sit on either side of it.
 */
import { describe, expect, it } from "vitest";
import { ModelConfigError } from "../../lib/core/errors.js";
import { ARM_SECTION_SIZE } from "../../lib/mm/arm32-sections.js";
import { DEFAULT_DMA_COHERENT_POOL_SIZE } from "../../lib/dma/pool.js";
import { CASE03_MERGED_V619, case03Costs, case03Hazard, case03Restricted, runCase03, type Case03Params } from "../../lib/scenarios/03-arm32-coherent.js";

const KiB = 1024;
const MiB = 1048576;
const base: Case03Params = {
  board: "bcm2836-rpi-2-b",
  kernel: "v6.19",
  releases: ["v5.15", "v5.17", "v6.3", "v6.8", "v6.19"],
  cmaEnabled: true,
  coherentPoolSize: 256 * KiB,
  processes: 100,
  allocSizes: [4 * KiB, 96 * KiB, 128 * KiB, 64 * KiB, 64 * KiB, 32 * KiB, 16 * KiB, 8 * KiB, 4 * KiB, 32 * KiB, 4 * KiB],
  variant: "mainline",
};

describe("the thread's numbers", () => {
  it("1 MiB sections and a 256 KiB default atomic pool", () => {
    expect(ARM_SECTION_SIZE).toBe(1 * MiB);
    expect(DEFAULT_DMA_COHERENT_POOL_SIZE).toBe(256 * KiB);
  });
  it("Raspberry Pi 2 map: lowmem 0..0x30000000 = 768 sections of 1 MiB; the 64 MiB CMA area at 0x2c000000 = 16384 PTEs; 704 sections stay", () => {
    const r = runCase03(base);
    expect(r.board.sections).toBe(768);
    expect(r.board.cma).toEqual({ base: 0x2c000000, size: 64 * MiB });
    const lm = r.memoryMap.filter((b) => b.lane === "linear map" && b.kind !== "highmem / not mapped");
    expect(lm.map((b) => [b.kind, b.start, b.end])).toEqual([
      ["sections", 0, 0x2c000000],
      ["cma (4 KiB PTEs)", 0x2c000000, 0x30000000],
    ]);
    expect(lm[0]!.label).toContain("704 ");
    expect(lm[1]!.label).toContain("16384 PTEs");
    // The pool comes from CMA (atomic_pool_init, default area present): first pages of the area.
    expect(r.board.pool).toEqual({ phys: 0x2c000000, size: 256 * KiB, backing: "cma" });
    // The hypothetical 4 MiB restricted pool right below CMA, 2 MiB aligned: 0x2c000000 - 4 MiB = 0x2bc00000.
    expect(r.board.restricted).toEqual({ base: 0x2bc00000, size: 4 * MiB });
  });
  it("Odroid-XU4 with LPAE: 2 MiB blocks, lowmem 0x40000000..0xb0000000 = 896 blocks", () => {
    const r = runCase03({ ...base, board: "exynos5422-odroidxu4" });
    expect(r.board.lpae).toBe(true);
    expect(r.board.sectionSize).toBe(2 * MiB);
    expect(r.board.sections).toBe((0xb0000000 - 0x40000000) / (2 * MiB));
  });
});

describe("the atomic pool filling up (gen_pool_first_fit_order_align, 4 KiB granule: a block is aligned to its size rounded up to a power of two)", () => {
  it("hand-computed placements, NULLs and avail", () => {
    const r = runCase03(base);
    // 1: 4K @0 (avail 252K). 2: 96K = 24 pages, aligned to 32 pages -> @128K (avail 156K).
    // 3: 128K needs a 128K-aligned hole: 0 (page 0 used) and 128K (used): NULL with 156K free -> fragmentation.
    // 4: 64K @64K (avail 92K). 5: 64K: 0, 64K, 128K, 192K all touched: NULL with 92K free.
    // 6: 32K @32K (60K). 7: 16K @16K (44K). 8: 8K @8K (36K). 9: 4K @4K (32K). 10: 32K @224K (0). 11: 4K: NULL, pool full.
    expect(r.pool.map((p) => p.offset)).toEqual([0, 128 * KiB, null, 64 * KiB, null, 32 * KiB, 16 * KiB, 8 * KiB, 4 * KiB, 224 * KiB, null]);
    expect(r.pool.map((p) => p.availAfter / KiB)).toEqual([252, 156, 156, 92, 92, 60, 44, 36, 32, 0, 0]);
    expect(r.pool.map((p) => p.fragmented)).toEqual([false, false, true, false, true, false, false, false, false, false, false]);
    expect(r.poolFirstFailure).toBe(3);
  });
  it("coherent_pool=1M: 128K fits at 128K-aligned 128K after the 4K at 0", () => {
    const r = runCase03({ ...base, coherentPoolSize: 1 * MiB, allocSizes: [4 * KiB, 96 * KiB, 128 * KiB] });
    // 96K (32-page alignment) @128K, then 128K: 0 used, 128K used, 256K free -> @256K.
    expect(r.pool.map((p) => p.offset)).toEqual([0, 128 * KiB, 256 * KiB]);
    expect(r.poolFirstFailure).toBeNull();
  });
});

describe("which allocator each request gets", () => {
  const row = (r: ReturnType<typeof runCase03>, release: string, variant: string, request: string) => r.allocations.find((a) => a.release === release && a.variant === variant && a.request === request)!;
  it("v6.19 mainline with CMA: blocking -> __dma_alloc's cma, atomic -> pool, restricted -> NULL with the warning", () => {
    const r = runCase03(base);
    expect(row(r, "v6.19", "mainline", "GFP_KERNEL 64 KiB").via).toBe("arch_dma_alloc: cma");
    expect(row(r, "v6.19", "mainline", "GFP_KERNEL 4 KiB").via).toBe("arch_dma_alloc: cma");
    expect(row(r, "v6.19", "mainline", "GFP_ATOMIC 16 KiB").via).toBe("arch_dma_alloc: pool");
    const rr = row(r, "v6.19", "mainline", "restricted pool, 64 KiB");
    expect([rr.outcome, rr.warning]).toEqual(["NULL", "coherent DMA allocations not supported on this platform."]);
  });
  it("v5.15 / v5.17 2-level: arm_dma_ops; a restricted-pool device is served outside its pool", () => {
    const r = runCase03(base);
    expect(row(r, "v5.17", "mainline", "GFP_KERNEL 64 KiB").via).toBe("arm_dma_ops: cma");
    expect(row(r, "v5.15", "mainline", "restricted pool, 64 KiB").outcome).toBe("ok, outside the restricted pool");
  });
  it("without CMA (cma=0): blocking requests take the remap allocator, whose section alias stays cacheable", () => {
    const r = runCase03({ ...base, cmaEnabled: false });
    const a = row(r, "v6.19", "mainline", "GFP_KERNEL 64 KiB");
    expect([a.via, a.outcome]).toEqual(["arch_dma_alloc: remap", "ok, cacheable linear alias"]);
    expect(r.board.pool.backing).toBe("remap");
  });
  it("proposal step 1: every blocking request remapped (alias stays cacheable, also for CMA pages); atomic ones from kernel/dma/pool.c", () => {
    const r = runCase03(base);
    expect(row(r, "v6.19", "step1-dma-direct-remap", "GFP_KERNEL 64 KiB").path).toBe("direct_remap");
    expect(row(r, "v6.19", "step1-dma-direct-remap", "GFP_KERNEL 64 KiB").outcome).toBe("ok, cacheable linear alias");
    expect(row(r, "v6.19", "step1-dma-direct-remap", "GFP_ATOMIC 16 KiB").path).toBe("direct_atomic_pool");
    expect(row(r, "v6.19", "step1-dma-direct-remap", "restricted pool, 64 KiB").path).toBe("direct_remap");
    expect(row(r, "v6.19", "step1-dma-direct-remap", "GFP_KERNEL 64 KiB").proposal).toBe(true);
  });
  it("proposal step 2: 64 KiB from CMA set uncached in place; 4 KiB is not taken from the default CMA area (size <= PAGE_SIZE) and is remapped", () => {
    const r = runCase03(base);
    expect(row(r, "v6.19", "step2-set-uncached-cma", "GFP_KERNEL 64 KiB").path).toBe("direct_set_uncached");
    expect(row(r, "v6.19", "step2-set-uncached-cma", "GFP_KERNEL 64 KiB").outcome).toBe("ok, no cacheable alias");
    expect(row(r, "v6.19", "step2-set-uncached-cma", "GFP_KERNEL 4 KiB").path).toBe("direct_remap");
    // Restricted-pool pages are not CMA pages: remapped.
    expect(row(r, "v6.19", "step2-set-uncached-cma", "restricted pool, 64 KiB").path).toBe("direct_remap");
  });
});

describe("restricted DMA per release: 32-bit ARM vs arm64", () => {
  const rows = case03Restricted(["v5.10", "v5.15", "v5.17", "v6.3", "v6.8", "v6.19"], ["mainline", "step1-dma-direct-remap"]);
  const at = (release: string, arch: string, variant = "mainline") => rows.find((r) => r.release === release && r.arch === arch && r.variant === variant)!;
  it("v5.10: no restricted pools anywhere", () => {
    expect(at("v5.10", "arm64").outcome).toBe("no restricted pools");
  });
  it("v5.15 LPAE: pool pages through the cacheable linear map (Jim's symptom); v5.17 .. v6.3 NULL silently; v6.8+ NULL with the warning", () => {
    expect(at("v5.15", "arm (LPAE)").outcome).toBe("incoherent (cached)");
    expect([at("v5.17", "arm (LPAE)").outcome, at("v5.17", "arm (LPAE)").warning]).toEqual(["NULL", null]);
    expect([at("v6.3", "arm (2-level)").outcome, at("v6.3", "arm (2-level)").warning]).toEqual(["NULL", null]);
    expect(at("v6.8", "arm (2-level)").warning).toBe("coherent DMA allocations not supported on this platform.");
  });
  it("arm64 (DMA_DIRECT_REMAP) works from v5.15; step 1 would make 32-bit ARM do the same", () => {
    for (const v of ["v5.15", "v5.17", "v6.3", "v6.8", "v6.19"]) expect(at(v, "arm64").path).toBe("direct_remap (arm64)");
    expect(at("v6.19", "arm (2-level)", "step1-dma-direct-remap").path).toBe("direct_remap");
  });
  it("v6.19 merged neither step", () => {
    expect([CASE03_MERGED_V619.selectsDmaDirectRemap, CASE03_MERGED_V619.selectsArchHasDmaSetUncached, CASE03_MERGED_V619.selectsArchHasDmaAlloc]).toEqual([false, false, true]);
  });
});

describe("cost of an attribute change: sections x processes vs 4 KiB PTEs", () => {
  const rows = case03Costs("v6.19", [0, 10, 100]);
  const at = (format: string, n: number, where: string) => rows.find((r) => r.format.startsWith(format) && r.processes === n && r.where === where)!;
  it("2-level, 64 KiB inside one 1 MiB section, n single-threaded processes: n + 2 passes (each thread, active_mm, init_mm), 256 TLBIs each", () => {
    for (const n of [0, 10, 100]) {
      const c = at("2-level", n, "64 KiB in a section");
      expect([c.entriesWritten, c.tlbFlushCalls, c.tlbiOps, c.processesTouched]).toEqual([n + 2, n + 2, (n + 2) * 256, n + 1]);
      expect(c.collateralBytes).toBe(MiB - 64 * KiB);
      expect(c.stopMachine).toBe(true);
    }
  });
  it("LPAE: 2 MiB blocks in init_mm's shared tables: one mm touched, 512 TLBIs per pass", () => {
    const c = at("LPAE", 10, "64 KiB in a section");
    expect([c.processesTouched, c.tlbiOps, c.collateralBytes]).toEqual([1, 12 * 512, 2 * MiB - 64 * KiB]);
  });
  it("CMA (__dma_remap): 16 PTEs, one flush_tlb_kernel_range, 16 TLBIs, whatever the number of processes", () => {
    for (const n of [0, 100]) {
      const c = at("2-level", n, "64 KiB in CMA");
      expect([c.mechanism, c.entriesWritten, c.tlbFlushCalls, c.tlbiOps, c.collateralBytes]).toEqual(["dma_remap", 16, 1, 16, 0]);
    }
  });
});

describe("the cacheable alias hazard (cache model, seeded)", () => {
  const phys = 0x2bc00000; // section-mapped (the restricted pool below CMA)
  it("no speculation, no stale line", () => {
    const h = case03Hazard("bcm2836-rpi-2-b", "v6.19", { alias: "cacheable", phys, size: 4096, seed: 3, specFillProb: 0, steps: 32 });
    expect([h.specFills, h.staleLines, h.hazards.length]).toEqual([0, 0, 0]);
  });
  it("a fill on every step through the cacheable alias: each filled line predates the device's write, the next linear-map read is stale", () => {
    const h = case03Hazard("bcm2836-rpi-2-b", "v6.19", { alias: "cacheable", phys, size: 4096, seed: 3, specFillProb: 1, steps: 8 });
    // 8 steps, each fills a line of the 64-line buffer unless already cached: 1..8 fills, all stale.
    expect(h.specFills).toBeGreaterThanOrEqual(1);
    expect(h.specFills).toBeLessThanOrEqual(8);
    expect(h.staleLines).toBe(h.specFills);
    expect(h.hazards.length).toBeGreaterThan(0);
    expect(h.hazards.every((x) => x.kind === "stale_read")).toBe(true);
  });
  it("CMA after __dma_remap: no cacheable alias, nothing to fill", () => {
    const h = case03Hazard("bcm2836-rpi-2-b", "v6.19", { alias: "non-cacheable", phys: 0x2d000000, size: 4096, seed: 3, specFillProb: 1, steps: 32 });
    expect([h.specFills, h.staleLines, h.hazards.length]).toEqual([0, 0, 0]);
  });
});

describe("the selected run and a CMA area reaching past lowmem", () => {
  it("selected rows follow kernel and variant", () => {
    const r = runCase03({ ...base, variant: "step2-set-uncached-cma" });
    expect(r.selected.map((x) => x.path)).toEqual(["direct_set_uncached", "direct_remap", "direct_atomic_pool", "direct_remap"]);
  });
  it("cma=128M from 0x2c000000 runs past the 0x30000000 lowmem limit: only the lowmem part is PTE-mapped", () => {
    const r = runCase03({ ...base, cmaSize: 128 * MiB });
    const pte = r.memoryMap.filter((b) => b.kind === "cma (4 KiB PTEs)");
    expect(pte.map((b) => [b.start, b.end])).toEqual([[0x2c000000, 0x30000000]]);
  });
});

describe("parameters", () => {
  it("a bad variant, pool size or key is rejected naming the parameter", () => {
    expect(() => runCase03({ ...base, variant: "step3" as never })).toThrow(ModelConfigError);
    expect(() => runCase03({ ...base, coherentPoolSize: 5000 })).toThrow(/coherentPoolSize/);
    expect(() => runCase03({ ...base, cmaSize: 5 * MiB })).toThrow(/cmaSize/);
    expect(() => runCase03({ ...base, kernel: "v3.10" })).toThrow(/kernel/);
    expect(() => runCase03({ ...base, varient: "mainline" } as never)).toThrow(/varient/);
  });
});
