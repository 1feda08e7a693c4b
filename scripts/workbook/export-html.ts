/**
 * Export executed notebooks as self-contained offline HTML: markdown rendered
 * with `marked`, code shown, charts inlined as SVG (no scripts, no external
 * references), tables as HTML, plus an index page.
 */
import { marked } from "marked";
import { cellSource, type Notebook } from "./notebook.js";
import type { NbOutput } from "./kernel-client.js";

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1040px;margin:2em auto;padding:0 1em;color:#1b1f23;line-height:1.5}
h1,h2,h3{line-height:1.25}
pre{background:#f6f8fa;padding:.7em 1em;overflow-x:auto;border-radius:4px;font-size:13px}
pre.code{border-left:3px solid #8bb0d8}
pre.stream-stderr,pre.error{background:#fff0f0;border-left:3px solid #d33}
figure.chart{margin:1em 0;overflow-x:auto}
figure.chart figcaption{font-size:12px;color:#555;white-space:pre-wrap}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left}
th{background:#f6f8fa}
caption{font-weight:600;text-align:left;padding:4px 0}
details.code summary{cursor:pointer;color:#555;font-size:12px}
nav a{margin-right:1em}
code{background:#f6f8fa;padding:0 3px;border-radius:3px}
`;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function text(v: unknown): string {
  return Array.isArray(v) ? v.join("") : String(v ?? "");
}

function renderOutput(o: NbOutput): string {
  switch (o.output_type) {
    case "stream":
      return `<pre class="stream-${o.name}">${esc(o.text)}</pre>`;
    case "error":
      return `<pre class="error">${esc(`${o.ename}: ${o.evalue}\n${o.traceback.join("\n")}`)}</pre>`;
    case "display_data":
    case "execute_result": {
      const d = o.data;
      if (d["image/svg+xml"] !== undefined) {
        const svg = text(d["image/svg+xml"]).replace(/^<\?xml[^>]*>\s*/, "");
        const cap = d["text/plain"] !== undefined ? `<figcaption>${esc(text(d["text/plain"]))}</figcaption>` : "";
        return `<figure class="chart">${svg}${cap}</figure>`;
      }
      if (d["text/html"] !== undefined) return `<div class="html-output">${text(d["text/html"])}</div>`;
      if (d["text/markdown"] !== undefined) return `<div class="md-output">${marked.parse(text(d["text/markdown"]), { async: false })}</div>`;
      if (d["image/png"] !== undefined) return `<img alt="output" src="data:image/png;base64,${text(d["image/png"])}">`;
      if (d["text/plain"] !== undefined) return `<pre class="result">${esc(text(d["text/plain"]))}</pre>`;
      return "";
    }
    default:
      return "";
  }
}

/** The notebook's title: its first markdown heading, else the file name. */
export function notebookTitle(nb: Notebook, fallback: string): string {
  for (const c of nb.cells) {
    if (c.cell_type !== "markdown") continue;
    const m = /^#\s+(.+)$/m.exec(cellSource(c));
    if (m) return m[1]!.trim();
  }
  return fallback;
}

/** One HTML page for an executed notebook. */
export function notebookToHtml(nb: Notebook, name: string, nav: { index: string }): string {
  const title = notebookTitle(nb, name);
  const body = nb.cells
    .map((c) => {
      const src = cellSource(c);
      if (c.cell_type === "markdown") return `<section class="md">${marked.parse(src, { async: false })}</section>`;
      if (c.cell_type === "raw") return "";
      const outs = (c.outputs ?? []).map(renderOutput).join("\n");
      return `<section class="cell"><details class="code" ${src.split("\n").length <= 12 ? "open" : ""}><summary>code [${c.execution_count ?? " "}]</summary><pre class="code">${esc(src)}</pre></details>${outs}</section>`;
    })
    .join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head><body><nav><a href="${nav.index}">← dma-workbook index</a></nav>${body}</body></html>\n`;
}

/** The index page linking every exported notebook. */
export function indexHtml(entries: Array<{ file: string; title: string; summary: string }>): string {
  const items = entries
    .map((e) => `<li><a href="${esc(e.file)}">${esc(e.title)}</a><br><span>${esc(e.summary)}</span></li>`)
    .join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>dma-workbook</title><style>${CSS}</style></head><body><h1>dma-workbook</h1><p>Executed notebooks of the Linux DMA mapping layer model. Each page was produced by running the notebook headless; charts are inline SVG.</p><ul>${items}</ul></body></html>\n`;
}

/** A one-line summary: the first paragraph of the first markdown cell after the title. */
export function notebookSummary(nb: Notebook): string {
  for (const c of nb.cells) {
    if (c.cell_type !== "markdown") continue;
    const paras = cellSource(c)
      .split(/\n\s*\n/)
      .map((p) => p.trim())
      .filter((p) => p && !p.startsWith("#"));
    if (paras.length) return paras[0]!.replace(/\s+/g, " ").slice(0, 300);
  }
  return "";
}
