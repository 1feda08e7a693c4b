import { describe, expect, it } from "vitest";
import { loadPlatformProfile } from "../../lib/platform/profile.js";
import { createMachine } from "../../lib/platform/machine.js";

describe("data/platforms/mt8173-evb.json", () => {
  it("loads and validates, with the DT facts", () => {
    const p = loadPlatformProfile("mt8173-evb");
    expect(p.arch).toBe("arm64");
    expect(p.pageSize).toBe(4096);
    expect(p.cpuCache.lineSize).toBe(64);
    // mt8173-evb.dts: memory@40000000, reg <0 0x40000000 0 0x80000000>.
    expect(p.ram).toEqual([{ base: 0x40000000, size: 0x80000000 }]);
    // mtk_iommu.c: pgsize_bitmap SZ_4K | SZ_64K | SZ_1M | SZ_16M, 32-bit IOVA space.
    expect(p.iommus.map((i) => [i.name, i.driver, i.granule, i.pageSizes, i.apertureBits])).toEqual([["m4u", "mtk-iommu", 4096, [4096, 65536, 2 ** 20, 2 ** 24], 32]]);
    for (const d of p.devices) {
      expect(d.iommu).toBe("m4u");
      expect(d.dmaCoherent).toBe(false);
      expect(d.dmaParms).toBeUndefined();
      expect(d.dmaMaskBits).toBe(32);
    }
    const refs = p.sources.map((s) => s.ref).join("\n");
    for (const needle of ["mt8173.dtsi", "mt8173-evb.dts", "mtk_iommu.c", "1445867094.30736.14.camel@mhfsdcap03", "562E5AE4.9070001@arm.com"]) {
      expect(refs).toContain(needle);
    }
  });
  it("builds a machine whose codec devices share the M4U's DMA domain (4K granule, start pfn 1)", () => {
    const m = createMachine("mt8173-evb", { kernel: "v4.4" });
    const dec = m.device("16020000.vcodec");
    const enc = m.device("18002000.vcodec");
    expect(dec.iommuDomain).toBe(enc.iommuDomain);
    expect(dec.iommuDomain!.type).toBe("DMA");
    expect(dec.iommuDomain!.granule).toBe(4096);
    expect(dec.iommuDomain!.iovad!.startPfn).toBe(1);
    expect(dec.iommuDomain!.geometry.apertureEnd).toBe(0xffffffff);
    expect(m.iommus.get("m4u")!.driver).toBe("mtk-iommu");
  });
});
