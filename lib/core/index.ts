export * from "./arith.js";
export * from "./addr.js";
export * from "./errno.js";
export * from "./errors.js";
export * from "./prng.js";
export * from "./trace.js";
export * from "./dma-types.js";
