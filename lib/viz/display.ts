/**
 * Showing results in a notebook. Inside the tslab kernel each call sends one
 * Jupyter display_data message carrying several MIME types, so every viewer
 * picks what it can show:
 * - charts: `image/svg+xml` (GitHub, nbconvert, classic notebook, the HTML
 *   export), `application/vnd.vegalite.v5+json` as a JSON object (JupyterLab
 *   and VS Code render it interactively), and `text/plain` (a summary);
 * - tables: `text/html` and `text/plain`;
 * - prose: `text/markdown` and `text/plain`.
 * Outside a kernel (tests, scripts) the same bundles are collected in
 * {@link collectedDisplays} and the text is printed, so the code paths are
 * testable.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { renderSvg } from "./render.js";
import type { VlSpec } from "./types.js";

/** One display_data message: MIME type -> data. */
export type MimeBundle = Record<string, unknown>;

type WriteDisplayData = (msg: { data: MimeBundle; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;

/** Displays made outside a kernel, oldest first (for tests). */
export const collectedDisplays: MimeBundle[] = [];

/**
 * The running tslab kernel's hook for rich output of the current cell
 * (tslab 1.0.22, dist/jupyter.js `lastWriteDisplayData`), or null outside a
 * kernel. The kernel's own module instance is found in the CommonJS module
 * cache, so this works whatever the working directory is.
 */
function kernelWriter(): WriteDisplayData | null {
  try {
    const req = createRequire(join(process.cwd(), "noop.js"));
    const key = Object.keys(req.cache).find((k) => /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(k));
    if (!key) return null;
    const mod = req.cache[key]?.exports as { lastWriteDisplayData?: WriteDisplayData | null } | undefined;
    return mod?.lastWriteDisplayData ?? null;
  } catch {
    return null;
  }
}

/** Write to the tslab kernel's current cell, or collect when not in a kernel. */
function writeDisplayData(bundle: MimeBundle): void {
  const writer = kernelWriter();
  if (writer) {
    writer({ data: bundle, metadata: {}, transient: {} }, false);
  } else {
    collectedDisplays.push(bundle);
    const text = bundle["text/plain"];
    if (typeof text === "string" && process.env["DMA_WORKBOOK_QUIET"] !== "1") console.log(text);
  }
}

/**
 * Render a vega-lite chart and display it (SVG + spec + summary).
 * @param summary one or more lines saying what the chart shows, in numbers.
 * @throws Error for an invalid spec (vega-lite's message).
 */
export async function showChart(spec: VlSpec, summary: string): Promise<void> {
  const svg = await renderSvg(spec);
  writeDisplayData({
    "image/svg+xml": svg,
    "application/vnd.vegalite.v5+json": spec,
    "text/plain": summary,
  });
}

/** Escape text for HTML. */
function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A table cell value. */
export type Cell = string | number | boolean | null;

/**
 * Display rows as a table (HTML + aligned plain text). Columns are the keys
 * of the first row, in order.
 */
export function showTable(rows: ReadonlyArray<Record<string, Cell>>, caption?: string): void {
  const cols = rows.length ? Object.keys(rows[0]!) : [];
  const fmt = (v: Cell) => (v === null ? "" : String(v));
  const html =
    `<table class="dma-table">` +
    (caption ? `<caption>${escapeHtml(caption)}</caption>` : "") +
    `<thead><tr>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${cols.map((c) => `<td>${escapeHtml(fmt(r[c] ?? null))}</td>`).join("")}</tr>`).join("") +
    `</tbody></table>`;
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c] ?? null).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd();
  const text = [
    ...(caption ? [caption] : []),
    line(cols),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map((r) => line(cols.map((c) => fmt(r[c] ?? null)))),
  ].join("\n");
  writeDisplayData({ "text/html": html, "text/plain": text });
}

/** Display markdown text (computed prose, e.g. an outcome with its numbers). */
export function showMarkdown(md: string): void {
  writeDisplayData({ "text/markdown": md, "text/plain": md });
}
