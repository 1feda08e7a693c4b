export * from "./scatterlist.js";
