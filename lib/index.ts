// The public API of the dma-workbook model: what notebooks (and readers)
// import, all from this one file (`import { ... } from "./lib/index.js"`).
// Re-exports only, one section per layer of docs/layers.json, lowest layer
// first (the order of docs/ARCHITECTURE.md's diagram, read bottom-up). A
// module joins the section of its layer; a module whose exports are mostly
// internal contributes named exports only. Modules left out (the IOVA
// allocator's blocks and release rules, the per-device iommu-dma cookie,
// the arch hook objects, the release switches of lib/kernel/api-changes.ts,
// scenario parameter helpers) are reached through the functions below.

// Layer 0, core: exact arithmetic, branded addresses, DMA directions and
// attributes, errno, model errors, seeded PRNGs, the trace.
export * from "./core/index.js";

// Layer 1, kernel: release names (parseKernelVersion, atLeast) and the
// registry of behaviour changes (defineChange, kernelChanges).
export * from "./kernel/index.js";

// Layer 2, platform: devices (struct device: masks, dma-ranges, dma_parms),
// board profiles and their 32-bit ARM sidecars.
export * from "./platform/device.js";
export * from "./platform/profile.js";
export * from "./platform/arm32-sidecar.js";

// Layer 3, sg / cache / cost: scatterlists, the CPU cache and memory
// contents, modelled costs.
export * from "./sg/index.js";
export * from "./cache/index.js";
export * from "./cost/index.js";

// Layer 4, mm: physical memory map, memmap, zones and GFP flags, the page
// allocator, linear map, vmalloc/vmap/ioremap/memremap, kmalloc, genalloc,
// CMA areas, 32-bit ARM section mappings.
export * from "./mm/layout.js";
export * from "./mm/memory.js";
export * from "./mm/gfp.js";
export * from "./mm/page-alloc.js";
export * from "./mm/page-source.js";
export * from "./mm/linear-map.js";
export * from "./mm/slab.js";
export * from "./mm/vmalloc.js";
export * from "./mm/vmalloc32.js";
export * from "./mm/remap.js";
export * from "./mm/genalloc.js";
export * from "./mm/cma.js";
export * from "./mm/arm32-sections.js";

// Layer 5, iommu: IOVA allocator, domains, IOMMU page tables.
export * from "./iommu/iova.js";
export * from "./iommu/domain.js";
export * from "./iommu/io-pgtable.js";

// Layer 6, dma/arch: the arch's cache maintenance rules for the DMA API.
export { applyMaintenance, archSyncRules, type ArchSyncRules, type SyncOutcome } from "./dma/arch/index.js";

// Layer 7, dma-common: dma-debug, per-device coherent pools, the
// dma_common_* helpers, dma_capable, the active streaming mappings, the
// atomic pools, the CMA area choice (dma-contiguous).
export * from "./dma/debug.js";
export * from "./dma/coherent.js";
export * from "./dma/ops-helpers.js";
export { KMALLOC_BOUNCE, dmaCapable, dmaKmallocNeedsBounce } from "./dma/map-ops.js";
export { activeMappings, type ActiveMapping, type BufferOwner, type CallMeta } from "./dma/state.js";
export * from "./dma/pool.js";
export * from "./dma/contiguous.js";

// Layer 8, dma/swiotlb: the bounce-buffer pool.
export * from "./dma/swiotlb.js";

// Layer 9, the DMA backends: dma-direct, iommu-dma, 32-bit ARM's own ops
// (arm_dma_ops, its coherent allocator paths, restricted DMA).
export * from "./dma/direct.js";
export * from "./dma/direct-alloc.js";
export { DMA_DIRECT_GET_SGTABLE } from "./dma/direct-ops.js";
export * from "./iommu/dma-iommu.js";
export * from "./iommu/dma-iommu-alloc.js";
export * from "./dma/arch/arm-dma-mapping.js";
export * from "./dma/arch/arm-dma-alloc.js";
export type { ArchCoherentBuffer, ArchCoherentHow, ArchDmaAllocHooks, ArchDmaAllocOptions } from "./dma/arch/hooks.js";
export * from "./dma/arm32-coherent.js";
export * from "./dma/arm32-restricted.js";

// Layer 10, dma/mapping: the DMA API (dma_map_sg, dma_alloc_attrs, ...),
// which dispatches to a backend, and the non-contiguous allocations.
export * from "./dma/mapping.js";
export * from "./dma/noncontiguous.js";

// Layer 11, model actions: the CPU and the device touching buffers.
export * from "./model/actions.js";

// Layer 12, platform/machine: a machine built from a profile and a release.
export * from "./platform/machine.js";

// Layer 13, drivers: DMA API clients (videobuf2-dma-contig, dma-buf, saa7146).
export * from "./drivers/videobuf2-dma-contig.js";
export * from "./drivers/dma-buf.js";
export * from "./drivers/saa7146.js";

// Layer 14, viz: vega-lite spec builders and notebook display.
export * from "./viz/types.js";
export * from "./viz/render.js";
export * from "./viz/display.js";
export * from "./viz/cache.js";
export * from "./viz/iova.js";
export * from "./viz/memmap.js";
export * from "./viz/zones.js";
export * from "./viz/layers.js";
export * from "./viz/arm32.js";
export * from "./viz/mapping-cost.js";

// Layer 15, scenarios: one module per notebook.
export * from "./scenarios/00-tour.js";
export * from "./scenarios/01-iommu-gaps.js";
export * from "./scenarios/02-coherent-no-page.js";
export * from "./scenarios/03-arm32-coherent.js";
export * from "./scenarios/04-dma32-vmalloc.js";
export * from "./scenarios/06-mapping-cost.js";
// The output builders shared by the notebooks' cells and their live HTML pages (lib/scenarios/live/NN.ts), and showing them.
export { showOutputs } from "./scenarios/show.js";
export type { LiveOutput, LiveCell } from "./scenarios/live/types.js";
export { tourStaleCloseupOutputs, tourCorrectOutputs, tourCorrectChartOutputs, tourMissingSyncOutputs, tourMissingSyncChartOutputs, tourSharedLineOutputs, tourSharedLineChartOutputs, tourVariantsOutputs, tourCostOutputs, tourReportOutputs, tourSeedOutcome, tourSweepOutputs, type TourSweepRow } from "./scenarios/live/00.js";
export { case01LayoutOutputs, case01PiecesOutputs, case01VerdictOutputs, case01TableOutputs, case01RaisedOutputs } from "./scenarios/live/01.js";
export { case02RunOutputs, case02Pxs3Outputs, case02Pxs3IommuOutputs, case02ExynosOutputs } from "./scenarios/live/02.js";
export { case03BoardOutputs, case03MemoryMapOutputs, case03PathOutputs, case03PoolOutputs, case03CostOutputs, case03RestrictedOutputs, case03HazardOutputs } from "./scenarios/live/03.js";
export { CASE04_SWEEP_SIZES, case04RunOutputs, case04BuffersOutputs, case04PgtableOutputs, case04Vmalloc32Outputs, case04SweepOutputs, case04AllocOutputs, case04SwiotlbOutputs, case04ViptOutputs } from "./scenarios/live/04.js";
