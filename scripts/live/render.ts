/**
 * The live page's config type and the HTML of live outputs (no DOM, no Node:
 * used by the page script and by the tests).
 */
import type { NbOutput } from "../workbook/kernel-client.js";
import type { NotebookParam } from "../workbook/params-cell.js";
import { esc, foldedCaption, foldDetailsTable, renderOutput } from "../workbook/render-output.js";
import type { LiveOutput } from "../../lib/scenarios/live/01.js";

/** The JSON a live page carries (written by scripts/workbook.ts). */
export interface LiveConfig {
  /** LIVE_NOTEBOOKS key. */
  key: string;
  /** Index of the parameters cell. */
  paramsCell: number;
  /** The parameters as the notebook sets them. */
  params: NotebookParam[];
  /** Indices of the code cells after the parameters cell, in order (one per LiveResult.cells entry). */
  cells: number[];
  /** Indices of cells whose outputs are folded (tag `details`). */
  foldCells: number[];
}

/** One live output as HTML, the same markup as the static export; a chart is an empty `div.vega-live` for vega-embed. */
export function outputToHtml(o: LiveOutput): string {
  switch (o.kind) {
    case "markdown":
      return renderOutput({ output_type: "display_data", data: { "text/markdown": o.md, "text/plain": o.md }, metadata: {} } as NbOutput);
    case "table":
      return `<div class="html-output">${foldDetailsTable(tableHtml(o.rows, o.caption))}</div>`;
    case "chart":
      return `<figure class="chart"><div class="vega-live"></div>${foldedCaption(o.summary)}</figure>`;
  }
}

/** The same markup as lib/viz/display.ts showTable (checked against the executed notebook by test/pipeline/live-html.test.ts). */
export function tableHtml(rows: ReadonlyArray<Record<string, string | number | boolean | null>>, caption?: string): string {
  const cols = rows.length ? Object.keys(rows[0]!) : [];
  const fmt = (v: string | number | boolean | null) => (v === null ? "" : String(v));
  const e = (s: string) => esc(s).replace(/"/g, "&quot;");
  return (
    `<table class="dma-table">` +
    (caption ? `<caption>${e(caption)}</caption>` : "") +
    `<thead><tr>${cols.map((c) => `<th>${e(c)}</th>`).join("")}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${cols.map((c) => `<td>${e(fmt(r[c] ?? null))}</td>`).join("")}</tr>`).join("") +
    `</tbody></table>`
  );
}

