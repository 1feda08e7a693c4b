/**
 * Injected into the browser bundle (scripts/live/bundle.ts), where
 * `process.cwd` is defined as this function: the bundled lib/ finds its
 * data/ folder below the virtual root the in-memory node:fs serves.
 */
import { VIRTUAL_ROOT } from "./virtual-root.js";

export function __dmaLiveCwd(): string {
  return VIRTUAL_ROOT;
}
