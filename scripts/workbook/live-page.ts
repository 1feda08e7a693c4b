/**
 * Which exported pages are live, and the config their page script reads
 * (scripts/live/runtime.ts): the notebook's parameters as its parameters
 * cell sets them (parsed with the TypeScript compiler API), and the code
 * cells whose outputs the script replaces.
 */
import { liveKey } from "../live/registry.js";
import type { LiveConfig } from "../live/render.js";
import { notebookParams } from "./params-cell.js";
import type { Notebook } from "./notebook.js";

/** The page script's file name, beside the pages in build/html. */
export const LIVE_SCRIPT = "workbook-live.js";

/**
 * The live config of an executed notebook, or null when the notebook is not
 * live (not in LIVE_NOTEBOOKS, or without a parameters cell).
 * @throws ParamsCellError when a live notebook's parameters cell is not
 *   made of `const name = literal` declarations.
 */
export function liveConfig(nb: Notebook, file: string): LiveConfig | null {
  const key = liveKey(file);
  if (!key) return null;
  const found = notebookParams(nb);
  if (!found) return null;
  const cells: number[] = [];
  const foldCells: number[] = [];
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== "code" || i <= found.cell) return;
    cells.push(i);
    if (((c.metadata["tags"] as string[] | undefined) ?? []).includes("details")) foldCells.push(i);
  });
  return { key: key, paramsCell: found.cell, params: found.params, cells: cells, foldCells: foldCells };
}
