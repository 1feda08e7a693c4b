/**
 * Normalise the source notebooks in notebooks/: nbformat 4.5 with a stable
 * id on every cell, no outputs or execution counts (the executed copies live
 * in build/), the tslab kernelspec, and the cell whose source starts with the
 * comment "// Parameters" tagged "parameters" (papermill's convention).
 *
 * Usage: npm run notebooks:normalize
 */
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cellSource, readNotebook } from "./workbook/notebook.js";

export const KERNELSPEC = { name: "tslab", display_name: "TypeScript", language: "typescript" };

const dir = "notebooks";
for (const f of readdirSync(dir).filter((x) => x.endsWith(".ipynb")).sort()) {
  const path = join(dir, f);
  const nb = readNotebook(path);
  nb.nbformat_minor = 5;
  nb.metadata = { ...nb.metadata, kernelspec: KERNELSPEC, language_info: { name: "typescript" } };
  const stem = f.replace(/\.ipynb$/, "");
  nb.cells = nb.cells.map((c, i) => {
    const src = cellSource(c);
    const lines = src.split(/(?<=\n)/);
    const base = { id: `${stem.slice(0, 2)}-${String(i + 1).padStart(2, "0")}`, cell_type: c.cell_type, metadata: { ...c.metadata }, source: lines };
    if (c.cell_type !== "code") return base;
    const tags = new Set((c.metadata["tags"] as string[] | undefined) ?? []);
    if (/^\s*\/\/\s*Parameters/i.test(src)) tags.add("parameters");
    if (tags.size) base.metadata["tags"] = [...tags];
    return { ...base, execution_count: null, outputs: [] };
  });
  writeFileSync(path, JSON.stringify(nb, null, 1) + "\n");
  console.log(`normalised ${path}`);
}
