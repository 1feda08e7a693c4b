// The CPU cache model and memory contents (lib/cache). DMA directions are in
// lib/core/dma-types.ts.
export * from "./intervals.js";
export * from "./model.js";
export * from "./host.js";
export { checkSyncArgs, lineSpan, invalidateWithPartialClean, type MaintKind, type MaintOp, type ArchEnv } from "./maint.js";
