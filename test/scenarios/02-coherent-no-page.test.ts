/**
 * Case 02 outcomes, one assertion per (board, release, variant) with the
 * kernel reasoning behind each expected outcome written next to it.
 */
import { describe, expect, it } from "vitest";
import { ModelConfigError } from "../../lib/core/errors.js";
import { case02MemmapData, case02OutcomeTable, runCase02, CASE02_VARIANTS } from "../../lib/scenarios/02-coherent-no-page.js";
import { memmapChartSpec, outcomeGridSpec } from "../../lib/viz/memmap.js";

const out = (board: "uniphier-pxs3" | "exynos5422-odroidxu4", kernel: string, variant: (typeof CASE02_VARIANTS)[number], importerIommu = false) =>
  runCase02({ board, kernel, variant, importerIommu }).outcome;

describe("PXS3 (2021), coherent codec exporting its no-map pool to a coherent importer", () => {
  it("v4.19: arm64_swiotlb_dma_ops' __swiotlb_get_sgtable takes the page of dma_to_phys(handle): the importer reaches 0xb0000000", () => {
    // v4.19.1 arch/arm64/mm/dma-mapping.c:__swiotlb_get_sgtable: phys_to_page(dma_to_phys(dev, handle)), no check.
    const r = runCase02({ board: "uniphier-pxs3", kernel: "v4.19", variant: "baseline" });
    expect(r.outcome).toBe("works");
    expect(r.sgPage!.pfn).toBe(0xb0000);
    expect(r.importerPhys).toBe(0xb0000000);
  });
  it("v4.20 (arm64 on dma-direct, dma_common_get_sgtable): virt_to_page of the memremap address names RAM page 0x88000: silent wrong page", () => {
    // v4.20.0 kernel/dma/mapping.c:dma_common_get_sgtable, coherent device: virt_to_page(cpu_addr).
    // cpu_addr = VMALLOC_START 0xffff000008000000; the pre-v5.4 __virt_to_phys masks it to 0x8000000,
    // + PHYS_OFFSET 0x80000000 = 0x88000000: a real RAM page, not the buffer.
    const r = runCase02({ board: "uniphier-pxs3", kernel: "v4.20", variant: "baseline" });
    expect(r.outcome).toBe("silent wrong page");
    expect(r.importerPhys).toBe(0x88000000);
  });
  it("v5.4: the page pointer has no memmap; nothing reads it on arm64, the importer never reaches 0xb0000000", () => {
    const r = runCase02({ board: "uniphier-pxs3", kernel: "v5.4", variant: "baseline" });
    expect(r.outcome).toBe("silent wrong page");
    expect(r.sgPage!.addressText).toBe("0x0000000000200000");
    expect(r.sgPage!.hasMemmap).toBe(false);
    expect(r.oops).toBeNull();
  });
  it("v5.4 with an importer that reads sg_page(): oops at the bogus struct page pointer", () => {
    const r = runCase02({ board: "uniphier-pxs3", kernel: "v5.4", variant: "page-touching importer", importerIommu: true });
    expect(r.outcome).toBe("oops");
    expect(r.oops!.message).toBe("Unable to handle kernel paging request at virtual address 0000000000200000");
  });
  it("v5.10 and v6.19 (34dc0ea6bc96): the page comes from the DMA address and the importer reaches the buffer", () => {
    for (const k of ["v5.10", "v6.19"]) {
      const r = runCase02({ board: "uniphier-pxs3", kernel: k, variant: "baseline" });
      expect(r.outcome).toBe("works");
      expect(r.importerDma).toBe(0xb0000000);
    }
  });
  it("Russell King's check: -ENXIO while pfn_valid(no-map) is false (arm64 < v5.15), no protection on v6.19", () => {
    expect(out("uniphier-pxs3", "v5.4", "rk-pfn-valid")).toBe("-ENXIO");
    expect(out("uniphier-pxs3", "v5.10", "rk-pfn-valid")).toBe("-ENXIO");
    expect(out("uniphier-pxs3", "v6.19", "rk-pfn-valid")).toBe("works");
  });
  it("CONFIG_DMABUF_DEBUG: n/a before v5.12; a page-touching importer oopses on v6.19 even though the page is right", () => {
    expect(out("uniphier-pxs3", "v5.10", "dmabuf-debug")).toBe("n/a");
    expect(out("uniphier-pxs3", "v6.19", "dmabuf-debug")).toBe("oops");
    expect(out("uniphier-pxs3", "v6.19", "page-touching importer")).toBe("works");
  });
  it("dma_map_resource and the pfn array never need a page: works on every release, with or without an IOMMU", () => {
    for (const k of ["v4.19", "v5.4", "v6.19"]) {
      for (const iommu of [false, true]) {
        expect(out("uniphier-pxs3", k, "map-resource", iommu)).toBe("works");
        expect(out("uniphier-pxs3", k, "pfn-array", iommu)).toBe("works");
      }
    }
  });
  it("an importer behind an IOMMU maps sg_phys(): the RFC's page-less entry gives it nothing valid", () => {
    expect(out("uniphier-pxs3", "v5.4", "rfc-nopage", false)).toBe("works");
    expect(out("uniphier-pxs3", "v5.4", "rfc-nopage", true)).toBe("silent wrong page");
    expect(out("uniphier-pxs3", "v5.4", "baseline", true)).toBe("silent wrong page");
  });
});

describe("Exynos5422 (2017), s5p-mfc pool exported to the non-coherent GScaler", () => {
  it("v4.4 / v4.10: page fault in the importer's cache maintenance; v4.11+: -ENXIO; v6.0 (dma-direct): works", () => {
    // arm_dma_get_sgtable's pfn_valid check: absent in v4.10.17 (pengdonglin137/linux-4.10.17), present in
    // v4.11.0 (HCLS/linux-4.11); arm_dma_ops still in v5.19.0 (yishangzhang/linux-5.19), gone in v6.0-rc1
    // (sun363587351/linux-6.0, ae626eb97376).
    expect(out("exynos5422-odroidxu4", "v4.4", "baseline")).toBe("oops");
    expect(out("exynos5422-odroidxu4", "v4.10", "baseline")).toBe("oops");
    expect(out("exynos5422-odroidxu4", "v4.11", "baseline")).toBe("-ENXIO");
    expect(out("exynos5422-odroidxu4", "v4.19", "baseline")).toBe("-ENXIO");
    expect(out("exynos5422-odroidxu4", "v5.19", "baseline")).toBe("-ENXIO");
    // v6.0: dma_direct_get_sgtable, and vb2 maps with DMA_ATTR_SKIP_CPU_SYNC (no page work)
    expect(out("exynos5422-odroidxu4", "v6.0", "baseline")).toBe("works");
  });
  it("the RFC fixes the direct importer but not one behind its System MMU (NULL page in arm_iommu_map_sg)", () => {
    expect(out("exynos5422-odroidxu4", "v4.11", "rfc-nopage", false)).toBe("works");
    const r = runCase02({ board: "exynos5422-odroidxu4", kernel: "v4.11", variant: "rfc-nopage", importerIommu: true });
    expect(r.outcome).toBe("oops");
    expect(r.oops!.message).toBe("Unable to handle kernel NULL pointer dereference at virtual address 00000000");
    expect(r.oops!.callChain.slice(0, 4)).toEqual(["dma_cache_maint_page", "__dma_page_cpu_to_dev", "__map_sg_chunk", "arm_iommu_map_sg"]);
  });
  it("dma_map_resource: n/a before v4.9, works after (also behind the System MMU)", () => {
    expect(out("exynos5422-odroidxu4", "v4.4", "map-resource")).toBe("n/a");
    expect(out("exynos5422-odroidxu4", "v4.11", "map-resource", true)).toBe("works");
  });
});

describe("tables and charts", () => {
  it("the outcome table has one row per (release, variant), in order", () => {
    const rows = case02OutcomeTable("uniphier-pxs3", ["v5.4", "v6.19"], ["baseline", "map-resource"]);
    expect(rows.map((r) => [r.kernel, r.variant])).toEqual([
      ["v5.4", "baseline"],
      ["v5.4", "map-resource"],
      ["v6.19", "baseline"],
      ["v6.19", "map-resource"],
    ]);
    const spec = outcomeGridSpec(rows, "t");
    expect(spec["$schema"]).toBe("https://vega.github.io/schema/vega-lite/v5.json");
  });
  it("the memory map data marks the pool, its memremap and the bogus page", () => {
    const d = case02MemmapData(runCase02({ board: "uniphier-pxs3", kernel: "v5.4", variant: "baseline" }));
    expect(d.phys.some((b) => b.kind === "nomap" && b.start === 0xb0000000 && b.end === 0xb8000000)).toBe(true);
    expect(d.phys.some((b) => b.lane === "struct page (pfn_valid)" && b.start === 0xb0000000 && b.kind === "no struct page")).toBe(true);
    expect(d.virt.some((b) => b.kind === "pool-remap" && b.start === 0x800010000000)).toBe(true);
    expect(d.virtMarks.some((m) => m.kind === "bogus" && m.label.includes("0x0000000000200000"))).toBe(true);
    const spec = memmapChartSpec(d) as { vconcat: unknown[] };
    expect(spec.vconcat.length).toBe(2);
  });
  it("a bad release name is rejected before anything runs", () => {
    expect(() => runCase02({ board: "uniphier-pxs3", kernel: "5.x", variant: "baseline" })).toThrow(ModelConfigError);
  });
});
