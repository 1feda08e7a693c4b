// Public API of the dma-workbook model: re-exports only.
// Each model area keeps its own block; add a line in your block only.

// [core]
export * from "./core/index.js";
export * from "./kernel/index.js";
export * from "./platform/index.js";

// [iommu / sg / case 01]
export * from "./sg/index.js";
export * from "./iommu/index.js";
export * from "./iommu/dma-iommu-alloc.js";
export * from "./dma/mapping.js";
export * from "./drivers/videobuf2-dma-contig.js";
export * from "./scenarios/01-iommu-gaps.js";
export * from "./viz/iova.js";

// [cache / dma-direct streaming / case 00]
export * from "./cache/index.js";
export * from "./cost/index.js";
export * from "./mm/slab.js";
export * from "./dma/direct.js";
export * from "./dma/debug.js";
export { KMALLOC_BOUNCE, dmaCapable, dmaKmallocNeedsBounce } from "./dma/map-ops.js";
export { activeMappings, type ActiveMapping, type BufferOwner, type CallMeta } from "./dma/state.js";
export { applyMaintenance, archSyncRules, type ArchSyncRules, type SyncOutcome } from "./dma/arch/index.js";
export * from "./model/actions.js";
export * as archArm64 from "./dma/arch/arm64.js";
export * as archArm from "./dma/arch/arm.js";
export * as archX86 from "./dma/arch/x86.js";
export * as archParisc from "./dma/arch/parisc.js";
export * from "./scenarios/00-tour.js";
export * from "./viz/cache.js";

// [mm / coherent / dma-buf / case 02]
export * from "./mm/layout.js";
export * from "./mm/linear-map.js";
export * from "./mm/memory.js";
export * from "./mm/vmalloc.js";
export * from "./mm/remap.js";
export * from "./mm/page-source.js";
export * from "./dma/coherent.js";
export * from "./dma/direct-alloc.js";
export { DMA_DIRECT_GET_SGTABLE } from "./dma/direct-ops.js";
export * from "./dma/ops-helpers.js";
export * from "./dma/arch/arm-dma-mapping.js";
export * from "./drivers/dma-buf.js";
export * from "./scenarios/02-coherent-no-page.js";
export * from "./viz/memmap.js";

// [viz]
export * from "./viz/types.js";
export * from "./viz/render.js";
export * from "./viz/display.js";

// [zones / swiotlb / case 04]
export * from "./mm/gfp.js";
export * from "./dma/swiotlb.js";
export * from "./mm/page-alloc.js";
export * from "./mm/vmalloc32.js";
export * from "./dma/noncontiguous.js";
export * from "./drivers/saa7146.js";
export * from "./scenarios/04-dma32-vmalloc.js";
export * from "./viz/zones.js";

// [arm32 coherent allocation / case 03]
export * from "./mm/genalloc.js";
export * from "./mm/cma.js";
export * from "./mm/arm32-sections.js";
export * from "./dma/pool.js";
export * from "./dma/contiguous.js";
export * from "./dma/arm32-coherent.js";
export * from "./dma/arm32-restricted.js";
export * from "./dma/arch/arm-dma-alloc.js";
export type { ArchCoherentBuffer, ArchCoherentHow, ArchDmaAllocHooks, ArchDmaAllocOptions } from "./dma/arch/hooks.js";
export * from "./platform/arm32-sidecar.js";
export * from "./scenarios/03-arm32-coherent.js";
export * from "./viz/arm32.js";
