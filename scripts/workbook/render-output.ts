/**
 * Rendering of one notebook output as HTML, shared by the offline export
 * (scripts/workbook/export-html.ts) and the live page script
 * (scripts/live/runtime.ts, which runs in the browser: no Node imports here).
 */
import { marked } from "marked";
import type { NbOutput } from "./kernel-client.js";

/** Escape text for HTML. */
export function esc(s: string): string {
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

/** A chart caption: short ones whole, long ones with their first sentence as the summary and the rest folded. */
export function foldedCaption(cap: string): string {
  if (cap.length <= LONG_CAPTION) return `<figcaption>${esc(cap)}</figcaption>`;
  // the first sentence (or line) as the summary, the rest folded under it
  const m = /^[\s\S]{20,160}?(?:[.!?](?=\s)|\n)/.exec(cap);
  if (m) return `<figcaption><details><summary>${esc(m[0].trim())}</summary>${esc(cap.slice(m[0].length).trim())}</details></figcaption>`;
  return `<figcaption><details><summary>${esc(cutText(cap, 160))}</summary>${esc(cap)}</details></figcaption>`;
}

/** Fold a table whose caption starts with "Details:": the caption becomes the summary. */
export function foldDetailsTable(html: string): string {
  const m = /^\s*<table[^>]*>\s*<caption>([\s\S]*?)<\/caption>/.exec(html);
  if (!m || !DETAILS_PREFIX.test(m[1]!)) return html;
  const summary = m[1]!;
  return `<details class="fold"><summary>${summary}</summary>${html.replace(/<caption>[\s\S]*?<\/caption>/, "")}</details>`;
}

/** One output of a code cell as HTML (charts as inline SVG with their caption). */
export function renderOutput(o: NbOutput): string {
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

