export * from "./schema.js";
export * from "./machine.js";
export * from "./dma-op.js";
