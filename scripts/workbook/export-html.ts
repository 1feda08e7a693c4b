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
details.fold{margin:.6em 0;border:1px solid #d0d7de;border-radius:4px;padding:.2em .7em}
details.fold>summary{cursor:pointer;font-size:13px;color:#24292f;font-weight:600}
details.fold[open]>summary{margin-bottom:.3em}
figcaption details>summary{cursor:pointer}
ul.notebooks{padding-left:1.2em}
ul.notebooks li{margin:.5em 0}
ul.notebooks .teaser{color:#444}
code{background:#f6f8fa;padding:0 3px;border-radius:3px}
`;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function text(v: unknown): string {
  return Array.isArray(v) ? v.join("") : String(v ?? "");
}

/** Chart captions longer than this (characters) show their first sentence and fold the rest. */
export const LONG_CAPTION = 200;

/** Prefix of a table caption that folds the table (docs/CONVENTIONS.md, "Folded output"). */
export const DETAILS_PREFIX = /^\s*Details:\s*/;

/** The cell tag that folds all of a cell's outputs. */
export const DETAILS_TAG = "details";

/**
 * Cut text to at most `max` characters at a sentence end if there is one in
 * the second half, else at a word boundary, adding "…" when cut. Never cuts
 * inside a markdown code span or emphasis pair (an odd number of backticks
 * or `**` or `*` before the cut moves it back before the opener).
 */
export function cutText(text: string, max: number): string {
  const t = text.replace(/\s+/g, " ").trim();
  if (t.length <= max) return t;
  const head = t.slice(0, max + 1);
  let cut = -1;
  const re = /[.!?](?=\s)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(head)) !== null) if (m.index + 1 <= max && m.index + 1 >= max / 2) cut = m.index + 1;
  const sentence = cut > 0;
  if (!sentence) {
    cut = head.lastIndexOf(" ", max);
    if (cut <= 0) cut = max;
  }
  let out = t.slice(0, cut);
  // do not leave a code span or a bold/italic run open
  for (let guard = 0; guard < 10; guard++) {
    const ticks = (out.match(/`/g) ?? []).length;
    const stars = (out.match(/\*\*/g) ?? []).length;
    const single = (out.replace(/\*\*/g, "").match(/\*/g) ?? []).length;
    if (ticks % 2 === 0 && stars % 2 === 0 && single % 2 === 0) break;
    const at = ticks % 2 ? out.lastIndexOf("`") : stars % 2 ? out.lastIndexOf("**") : out.replace(/\*\*/g, "\u0000\u0000").lastIndexOf("*");
    out = out.slice(0, at).replace(/\s+\S*$/, "");
  }
  out = out.replace(/[\s,;:(—-]+$/, "");
  return sentence && out.length === cut ? out : out + " …";
}

function foldedCaption(cap: string): string {
  if (cap.length <= LONG_CAPTION) return `<figcaption>${esc(cap)}</figcaption>`;
  // the first sentence (or line) as the summary, the rest folded under it
  const m = /^[\s\S]{20,160}?(?:[.!?](?=\s)|\n)/.exec(cap);
  if (m) return `<figcaption><details><summary>${esc(m[0].trim())}</summary>${esc(cap.slice(m[0].length).trim())}</details></figcaption>`;
  return `<figcaption><details><summary>${esc(cutText(cap, 160))}</summary>${esc(cap)}</details></figcaption>`;
}

/** Fold a table whose caption starts with "Details:": the caption becomes the summary. */
function foldDetailsTable(html: string): string {
  const m = /^\s*<table[^>]*>\s*<caption>([\s\S]*?)<\/caption>/.exec(html);
  if (!m || !DETAILS_PREFIX.test(m[1]!)) return html;
  const summary = m[1]!;
  return `<details class="fold"><summary>${summary}</summary>${html.replace(/<caption>[\s\S]*?<\/caption>/, "")}</details>`;
}

function renderOutput(o: NbOutput): string {
  switch (o.output_type) {
    case "stream":
      return `<pre class="stream-${o.name}">${esc(o.text)}</pre>`;
    case "error": {
      const tb = o.traceback.length && o.traceback[0]!.startsWith(o.ename) ? o.traceback : [`${o.ename}: ${o.evalue}`, ...o.traceback];
      // tracebacks may carry ANSI colour codes
      return `<pre class="error">${esc(tb.join("\n").replace(/\u001b\[[0-9;]*m/g, ""))}</pre>`;
    }
    case "display_data":
    case "execute_result": {
      const d = o.data;
      if (d["image/svg+xml"] !== undefined) {
        const svg = text(d["image/svg+xml"]).replace(/^<\?xml[^>]*>\s*/, "");
        const cap = d["text/plain"] !== undefined ? foldedCaption(text(d["text/plain"])) : "";
        return `<figure class="chart">${svg}${cap}</figure>`;
      }
      if (d["text/html"] !== undefined) return `<div class="html-output">${foldDetailsTable(text(d["text/html"]))}</div>`;
      if (d["text/markdown"] !== undefined) return `<div class="md-output">${linkHtml(marked.parse(text(d["text/markdown"]), { async: false }))}</div>`;
      if (d["image/png"] !== undefined) return `<img alt="output" src="data:image/png;base64,${text(d["image/png"])}">`;
      if (d["text/plain"] !== undefined) return `<pre class="result">${esc(text(d["text/plain"]))}</pre>`;
      return "";
    }
    default:
      return "";
  }
}

/** Links between notebooks (`01-x.ipynb`, `01-x.ipynb#part`) point at their exported pages; index.ipynb is index.html. */
export function linkHtml(html: string): string {
  return html.replace(/href="(?![a-z]+:|\/|#)([^"#]*?)\.ipynb(#[^"]*)?"/g, (_m, stem: string, hash?: string) => `href="${stem}.html${hash ?? ""}"`);
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
export function notebookToHtml(nb: Notebook, name: string, nav: { index: string | null; after?: string }): string {
  const title = notebookTitle(nb, name);
  const body = nb.cells
    .map((c) => {
      const src = cellSource(c);
      if (c.cell_type === "markdown") return `<section class="md">${linkHtml(marked.parse(src, { async: false }))}</section>`;
      if (c.cell_type === "raw") return "";
      let outs = (c.outputs ?? []).map(renderOutput).join("\n");
      const tags = (c.metadata["tags"] as string[] | undefined) ?? [];
      if (tags.includes(DETAILS_TAG) && outs) {
        const n = (c.outputs ?? []).length;
        outs = `<details class="fold"><summary>Details (${n} output${n === 1 ? "" : "s"})</summary>${outs}</details>`;
      }
      return `<section class="cell"><details class="code" ${src.split("\n").length <= 12 ? "open" : ""}><summary>code [${c.execution_count ?? " "}]</summary><pre class="code">${esc(src)}</pre></details>${outs}</section>`;
    })
    .join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title.replace(/[`*]/g, ""))}</title><style>${CSS}</style></head><body>${nav.index ? `<nav><a href="${nav.index}">← dma-workbook index</a></nav>` : ""}${body}${nav.after ?? ""}</body></html>\n`;
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
