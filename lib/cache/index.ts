// The CPU cache model and memory contents (lib/cache). The DMA direction
// constants of maint.ts are exported by lib/dma/mapping.ts, not here.
export * from "./intervals.js";
export * from "./model.js";
export * from "./host.js";
export { dirName, checkDirection, checkSyncArgs, lineSpan, invalidateWithPartialClean, type MaintKind, type MaintOp, type ArchEnv } from "./maint.js";
