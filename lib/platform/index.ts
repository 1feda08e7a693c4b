export * from "./device.js";
export * from "./machine.js";
export * from "./profile.js";
