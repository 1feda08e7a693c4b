/**
 * dma_map_resource / dma_unmap_resource (include/linux/dma-mapping.h v5.4.6,
 * kernel/dma/mapping.c v6.19; 6f3d87968f9c v4.9).
 */
import { describe, expect, it } from "vitest";
import { createMachine } from "../../lib/platform/machine.js";
import { loadPlatformProfile } from "../../lib/platform/profile.js";
import { DMA_MAPPING_ERROR } from "../../lib/core/addr.js";
import { KernelOops, ModelConfigError } from "../../lib/core/errors.js";
import { dmaMapResource, dmaUnmapResource } from "../../lib/dma/mapping.js";
import { DMA_BIDIRECTIONAL } from "../../lib/core/dma-types.js";

describe("dma_map_resource", () => {
  it("does not exist before v4.9", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v4.4" });
    expect(() => dmaMapResource(m.device("display"), 0xb0000000, 4096, DMA_BIDIRECTIONAL)).toThrow(ModelConfigError);
  });
  it("dma-direct: the no-map pool (pfn_valid false on v5.4) maps to phys_to_dma, no page involved", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v5.4" });
    expect(dmaMapResource(m.device("display"), 0xb0000000, 0x100000, DMA_BIDIRECTIONAL)).toBe(0xb0000000);
  });
  it("RAM refusal ends at v5.16 (a9c38c5d267c): absent in v5.15.16 yashlala/fastswap-linux-5.16.16, present in v5.17-rc5 dunli/linux-5.17, kernel/dma/mapping.c:dma_map_resource", () => {
    // Rule: v5.15.16 dma_map_resource WARNs and returns DMA_MAPPING_ERROR for a pfn_valid address;
    // v5.17-rc5 has no pfn_valid test, so RAM maps like any address (dma-direct: phys_to_dma, identity here).
    const ram = 0x90000000;
    expect(dmaMapResource(createMachine("uniphier-pxs3", { kernel: "v5.15" }).device("display"), ram, 4096, DMA_BIDIRECTIONAL)).toBe(DMA_MAPPING_ERROR);
    expect(dmaMapResource(createMachine("uniphier-pxs3", { kernel: "v5.16" }).device("display"), ram, 4096, DMA_BIDIRECTIONAL)).toBe(ram);
  });
  it("BUG_ON becomes WARN at v5.1: absent in v5.0.1 VVvector/linux-5.0.1, present in v5.2.1 wangliang-cs/linux-5.2.1, include/linux/dma-mapping.h:dma_map_resource", () => {
    const ram = 0x90000000;
    expect(() => dmaMapResource(createMachine("uniphier-pxs3", { kernel: "v5.0" }).device("display"), ram, 4096, DMA_BIDIRECTIONAL)).toThrow(KernelOops);
    expect(dmaMapResource(createMachine("uniphier-pxs3", { kernel: "v5.1" }).device("display"), ram, 4096, DMA_BIDIRECTIONAL)).toBe(DMA_MAPPING_ERROR);
  });
  it("RAM refusal: BUG_ON before v5.1, WARN + DMA_MAPPING_ERROR through v5.15, none by default on v6.19, again with DMA_API_DEBUG", () => {
    const ram = 0x90000000;
    expect(() => dmaMapResource(createMachine("uniphier-pxs3", { kernel: "v4.19" }).device("display"), ram, 4096, DMA_BIDIRECTIONAL)).toThrow(KernelOops);
    expect(dmaMapResource(createMachine("uniphier-pxs3", { kernel: "v5.4" }).device("display"), ram, 4096, DMA_BIDIRECTIONAL)).toBe(DMA_MAPPING_ERROR);
    const m = createMachine("uniphier-pxs3", { kernel: "v6.19" });
    expect(dmaMapResource(m.device("display"), ram, 4096, DMA_BIDIRECTIONAL)).toBe(ram);
    expect(dmaMapResource(m.device("display"), ram, 4096, DMA_BIDIRECTIONAL, 0, { dmaApiDebug: true })).toBe(DMA_MAPPING_ERROR);
    // v6.19 arm64: pfn_valid(no-map pool) is true (generic pfn_valid), so DMA_API_DEBUG refuses the pool too
    expect(dmaMapResource(m.device("display"), 0xb0000000, 4096, DMA_BIDIRECTIONAL, 0, { dmaApiDebug: true })).toBe(DMA_MAPPING_ERROR);
  });
  it("an address beyond the device's 32-bit mask: DMA_MAPPING_ERROR (dma_capable)", () => {
    const m = createMachine("uniphier-pxs3", { kernel: "v6.19" });
    // 0xfffff000 + 0x2000 - 1 = 0x100000fff > 0xffffffff
    expect(dmaMapResource(m.device("display"), 0xfffff000, 0x2000, DMA_BIDIRECTIONAL)).toBe(DMA_MAPPING_ERROR);
  });
  it("iommu-dma: an IOVA mapping of the range, unmapped by dma_unmap_resource; a bad handle is rejected", () => {
    const p = loadPlatformProfile("uniphier-pxs3");
    p.iommus = [{ name: "smmu", driver: "arm-smmu-v3", granule: 4096, pageSizes: [4096, 2097152, 1073741824], apertureBits: 32, strict: true }];
    p.devices[1]!.iommu = "smmu";
    const m = createMachine(p, { kernel: "v6.19" });
    const d = m.device("display");
    const iova = dmaMapResource(d, 0xb0000000, 0x10000, DMA_BIDIRECTIONAL);
    expect(iova).not.toBe(DMA_MAPPING_ERROR);
    expect(iova % 0x10000).toBe(0); // IOVAs are aligned to their size order (iova_align)
    expect(() => dmaUnmapResource(d, (iova + 4096) as never, 0x10000, DMA_BIDIRECTIONAL)).toThrow(ModelConfigError);
    dmaUnmapResource(d, iova, 0x10000, DMA_BIDIRECTIONAL);
    expect(() => dmaUnmapResource(d, iova, 0x10000, DMA_BIDIRECTIONAL)).toThrow(ModelConfigError);
  });
  it("dma-direct before v5.1 returns the physical address unchanged (no mask check); v5.1 applies phys_to_dma and dma_capable", () => {
    // Rule: v5.0.1 include/linux/dma-mapping.h:dma_map_resource starts from addr = phys_addr and only
    // ops->map_resource replaces it (dma-direct and arm_dma_ops have none); v5.2.1 sends dma-direct
    // (and ARM's arm_dma_ops, .map_resource = dma_direct_map_resource) to phys_to_dma + dma_capable.
    // PXS3 display (32-bit mask, no dma-ranges offset): 0x120000000 is just above RAM (0x80000000 +
    // 0xa0000000; not pfn_valid) and above 4 GiB. v5.0: returned as is; v5.1: dma_capable fails -> DMA_MAPPING_ERROR.
    const disp = (k: string) => createMachine("uniphier-pxs3", { kernel: k }).device("display");
    expect(dmaMapResource(disp("v5.0"), 0x120000000, 0x1000, DMA_BIDIRECTIONAL)).toBe(0x120000000);
    expect(dmaMapResource(disp("v5.1"), 0x120000000, 0x1000, DMA_BIDIRECTIONAL)).toBe(DMA_MAPPING_ERROR);
  });
});
