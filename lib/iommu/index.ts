export * from "./iova.js";
export * from "./domain.js";
export * from "./io-pgtable.js";
export * from "./dma-iommu.js";
