/**
 * Every notebook in notebooks/ executes through the tslab kernel without a
 * failing cell, and every notebook shows at least one chart rendered to SVG
 * with its vega-lite spec attached.
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { cellSource, executeNotebook, readNotebook } from "../scripts/workbook/notebook.js";

const root = resolve(__dirname, "..");
const nbDir = join(root, "notebooks");
const notebooks = readdirSync(nbDir).filter((f) => f.endsWith(".ipynb")).sort();

describe("source notebooks are clean", () => {
  for (const f of notebooks) {
    it(`${f}: tslab kernelspec, cell ids, no stored outputs, one parameters cell`, () => {
      const nb = readNotebook(join(nbDir, f));
      expect((nb.metadata["kernelspec"] as { name?: string } | undefined)?.name).toBe("tslab");
      expect(nb.nbformat_minor).toBeGreaterThanOrEqual(5);
      const ids = nb.cells.map((c) => c.id);
      expect(ids.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      for (const c of nb.cells.filter((x) => x.cell_type === "code")) {
        expect(c.outputs ?? []).toEqual([]);
        expect(c.execution_count ?? null).toBeNull();
      }
      const params = nb.cells.filter((c) => ((c.metadata["tags"] as string[] | undefined) ?? []).includes("parameters"));
      expect(params.length).toBe(1);
      expect(cellSource(params[0]!)).toMatch(/^\s*\/\/\s*Parameters/i);
      // the notebook opens with a title
      expect(nb.cells[0]!.cell_type).toBe("markdown");
      expect(cellSource(nb.cells[0]!)).toMatch(/^#\s+\S/);
    });
  }
});

describe("notebooks execute", () => {
  it("there are notebooks to run", () => {
    expect(notebooks.length).toBeGreaterThan(0);
  });
  for (const f of notebooks) {
    it(`${f} runs every cell and shows its charts`, async () => {
      const run = await executeNotebook(join(nbDir, f), root);
      expect(run.failure, run.failure ? `cell ${run.failure.cell}: ${run.failure.errorText}` : "").toBeNull();
      const outputs = run.executed.cells.flatMap((c) => c.outputs ?? []);
      const charts = outputs.filter(
        (o) => (o.output_type === "display_data" || o.output_type === "execute_result") && "image/svg+xml" in o.data,
      );
      expect(charts.length).toBeGreaterThan(0);
      for (const c of charts) {
        if (c.output_type !== "display_data" && c.output_type !== "execute_result") continue;
        expect(String(c.data["image/svg+xml"])).toMatch(/^<svg[\s\S]*<\/svg>$/);
        expect(typeof c.data["application/vnd.vegalite.v5+json"]).toBe("object");
      }
    });
  }
});
