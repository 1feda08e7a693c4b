/**
 * Export executed notebooks as self-contained offline HTML: markdown rendered
 * with `marked`, code shown, charts inlined as SVG (no scripts, no external
 * references), tables as HTML, plus an index page.
 */
import { marked } from "marked";
import { cellSource, type Notebook } from "./notebook.js";
import { cutText, DETAILS_TAG, esc, linkHtml, renderOutput } from "./render-output.js";

export { cutText, DETAILS_PREFIX, DETAILS_TAG, LONG_CAPTION, linkHtml } from "./render-output.js";

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
details.fold{margin:.6em 0;border:1px solid #d0d7de;border-radius:4px;padding:.2em .7em}
details.fold>summary{cursor:pointer;font-size:13px;color:#24292f;font-weight:600}
details.fold[open]>summary{margin-bottom:.3em}
figcaption details>summary{cursor:pointer}
ul.notebooks{padding-left:1.2em}
ul.notebooks li{margin:.5em 0}
ul.notebooks .teaser{color:#444}
code{background:#f6f8fa;padding:0 3px;border-radius:3px}
form.live{border:1px solid #8bb0d8;border-radius:4px;padding:.5em .8em;margin:.6em 0;font-size:13px;display:grid;grid-template-columns:max-content minmax(15em,22em) minmax(0,1fr);column-gap:.8em;row-gap:.35em;align-items:baseline}
form.live .head{grid-column:1/-1;margin-bottom:.2em}
form.live .row{display:contents}
form.live label{font-family:ui-monospace,monospace}
form.live label.check{font-family:inherit;white-space:nowrap;margin-right:.8em}
form.live .ctl{display:flex;flex-wrap:wrap;gap:.2em .5em;align-items:baseline;min-width:0}
form.live input[type=text]{font-family:ui-monospace,monospace;font-size:13px;flex:1 1 12em;min-width:0;box-sizing:border-box}
form.live input[type=number]{font-family:ui-monospace,monospace;font-size:13px;width:9.5em;box-sizing:border-box}
form.live input[type=number].narrow{width:6em}
form.live input.num{font-family:ui-monospace,monospace;font-size:13px;width:9.5em;flex:none;box-sizing:border-box}
form.live input[type=range]{width:6.5em}
form.live .ctl.wide{grid-column:2/4}
form.live .ctl.releases{display:flex;flex-direction:column;gap:.15em}
form.live .rel-line{display:grid;grid-template-columns:2.2em repeat(21,2.7em);align-items:baseline}
form.live .rel-line .major{font-family:ui-monospace,monospace;width:2.2em;color:#555}
form.live label.check.rel{margin:0;font-family:ui-monospace,monospace;font-size:12px}
form.live .hint.below{grid-column:2/4;margin-top:-.3em}
form.live select{font-size:13px;max-width:100%}
form.live .unit,form.live .size{color:#555;font-size:12px;white-space:nowrap}
form.live .hint{color:#555;font-size:12px;min-width:0}
form.live .error{color:#b00;font-size:12px;grid-column:2/4}
form.live .status{color:#555;font-size:12px;margin-left:1em}
form.live .bad{border-color:#d33;background:#fff0f0}
div.outputs.pending{opacity:.5;transition:opacity .15s}
@media (max-width:700px){form.live{grid-template-columns:minmax(0,1fr)}form.live .rel-line{display:flex;flex-wrap:wrap;gap:0 .4em}form.live .hint,form.live .error,form.live .ctl.wide,form.live .hint.below{grid-column:1}}
`;

/** The notebook's title: its first markdown heading, else the file name. */
export function notebookTitle(nb: Notebook, fallback: string): string {
  for (const c of nb.cells) {
    if (c.cell_type !== "markdown") continue;
    const m = /^#\s+(.+)$/m.exec(cellSource(c));
    if (m) return m[1]!.trim();
  }
  return fallback;
}

/**
 * What makes a page live (scripts/live/runtime.ts): the page script's URL
 * and the JSON the script reads (the notebook's key, its parameters, the
 * parameters cell's index). Without JavaScript the page is unchanged.
 */
export interface LivePage {
  script: string;
  config: unknown;
}

/**
 * One HTML page for an executed notebook. Code cells carry `data-cell` (the
 * cell's index) and their outputs sit in `div.outputs`, which the live page
 * script replaces when a parameter changes.
 */
export function notebookToHtml(nb: Notebook, name: string, nav: { index: string | null; after?: string; live?: LivePage }): string {
  const title = notebookTitle(nb, name);
  const body = nb.cells
    .map((c, i) => {
      const src = cellSource(c);
      if (c.cell_type === "markdown") return `<section class="md">${linkHtml(marked.parse(src, { async: false }))}</section>`;
      if (c.cell_type === "raw") return "";
      let outs = (c.outputs ?? []).map(renderOutput).join("\n");
      const tags = (c.metadata["tags"] as string[] | undefined) ?? [];
      if (tags.includes(DETAILS_TAG) && outs) {
        const n = (c.outputs ?? []).length;
        outs = `<details class="fold"><summary>Details (${n} output${n === 1 ? "" : "s"})</summary>${outs}</details>`;
      }
      return `<section class="cell" data-cell="${i}"><details class="code" ${src.split("\n").length <= 12 ? "open" : ""}><summary>code [${c.execution_count ?? " "}]</summary><pre class="code">${esc(src)}</pre></details><div class="outputs">${outs}</div></section>`;
    })
    .join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title.replace(/[`*]/g, ""))}</title><style>${CSS}</style></head><body>${nav.index ? `<nav><a href="${nav.index}">← dma-workbook index</a></nav>` : ""}${body}${nav.after ?? ""}${nav.live ? liveScripts(nav.live) : ""}</body></html>\n`;
}

/** The live page's config (JSON in a non-executed script element, `<` escaped) and its script. */
function liveScripts(live: LivePage): string {
  const json = JSON.stringify(live.config).replace(/</g, "\\u003c");
  return `<script type="application/json" id="dma-live">${json}</script><script src="${esc(live.script)}"></script>`;
}

/** The notebook file that is the workbook's front page (build/html/index.html). */
export const FRONT_PAGE = "index.ipynb";

/** Notebook files in workbook order: the front page first, then the numbered notebooks by name. */
export function workbookOrder(files: readonly string[]): string[] {
  const rest = files.filter((f) => f !== FRONT_PAGE).sort();
  return files.includes(FRONT_PAGE) ? [FRONT_PAGE, ...rest] : rest;
}

/** The list of notebooks with their teasers (markdown rendered inline). */
export function notebookList(entries: Array<{ file: string; title: string; summary: string }>): string {
  const items = entries
    .map((e) => `<li><a href="${esc(e.file)}">${marked.parseInline(e.title, { async: false })}</a><br><span class="teaser">${marked.parseInline(e.summary, { async: false })}</span></li>`)
    .join("\n");
  return `<ul class="notebooks">${items}</ul>`;
}

/**
 * The index page. With the front-page notebook executed, the page is that
 * notebook followed by the list of notebooks; without it (e.g. `--only 01`),
 * just a title and the list.
 */
export function indexHtml(entries: Array<{ file: string; title: string; summary: string }>, front?: { nb: Notebook; name: string }): string {
  const list = `<section class="md"><h2>The notebooks in this export</h2>${notebookList(entries)}<p>Each page was produced by running the notebook headless; charts are inline SVG.</p></section>`;
  if (front) return notebookToHtml(front.nb, front.name, { index: null, after: list });
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>dma-workbook</title><style>${CSS}</style></head><body><h1>dma-workbook</h1><p>Executed notebooks of the Linux DMA mapping layer model.</p>${list}</body></html>\n`;
}

/** A teaser (markdown): the first paragraph of the first markdown cell after the title, cut at a sentence or word boundary near 280 characters. */
export function notebookSummary(nb: Notebook): string {
  for (const c of nb.cells) {
    if (c.cell_type !== "markdown") continue;
    const paras = cellSource(c)
      .split(/\n\s*\n/)
      .map((p) => p.trim())
      .filter((p) => p && !p.startsWith("#"));
    if (paras.length) return cutText(paras[0]!, 280);
  }
  return "";
}
