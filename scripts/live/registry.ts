/**
 * The notebooks whose HTML page runs the model in the browser, keyed by the
 * number that starts their file name ("01" for 01-iommu-dma-map-sg-gaps.ipynb).
 * Shared by the export (which wires the page) and the page script (which
 * runs the notebook). No Node imports: this is bundled for the browser.
 */
import type { LiveResult } from "../../lib/scenarios/live/01.js";
import { notebook01Live, notebook01ParamOf, type Notebook01Params } from "../../lib/scenarios/live/01.js";

/** A live notebook: its computation and how its errors map to parameters. */
export interface LiveNotebook {
  /** Run the notebook's code cells on its parameters (by name, as in its parameters cell). */
  run(params: Record<string, unknown>): LiveResult;
  /** The parameter a ModelConfigError's field concerns, or null. */
  paramOf(field: string): string | null;
}

/** Live notebooks by key. */
export const LIVE_NOTEBOOKS: Record<string, LiveNotebook> = {
  "01": { run: (p) => notebook01Live(p as Notebook01Params), paramOf: notebook01ParamOf },
};

/** The key of a notebook file ("01-x.ipynb" -> "01") when it is live, else null. */
export function liveKey(file: string): string | null {
  const m = /^(\d+)-/.exec(file.replace(/^.*[\\/]/, ""));
  return m && LIVE_NOTEBOOKS[m[1]!] ? m[1]! : null;
}
