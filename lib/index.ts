// Public API of the dma-workbook model: re-exports only.
// Each model area keeps its own block; add a line in your block only.

// [core]
export * from "./core/index.js";
export * from "./kernel/index.js";
export * from "./platform/index.js";

// [iommu / sg / case 01]

// [cache / dma-direct streaming / case 00]

// [mm / coherent / dma-buf / case 02]

// [viz]
