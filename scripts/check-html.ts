/**
 * Load every page of the HTML export in headless Chromium (Debian's
 * /usr/bin/chromium, driven by playwright-core) at 1024 and 1400 px wide,
 * save a full-page screenshot of each, and fail on:
 *
 * - `no-chart`: a notebook page without a chart (the front page, index.html,
 *   needs one too: its layer diagram);
 * - `not-rendered`: a chart with no <svg>, a zero-sized one, or one without
 *   any drawn mark;
 * - `text-overflow`: an SVG <text> whose box lies outside its <svg> (the
 *   browser clips it: cut axis titles, labels, chart titles);
 * - `legend-clipped`: a legend group (vega's `role-legend`) reaching outside
 *   its <svg>;
 * - `label-truncated`: an axis or legend label that vega cut short with "…"
 *   (its labelLimit): the reader loses the end of the label;
 * - `too-wide`: at 1024 px, a chart wider than the page's text column (the
 *   reader has to scroll it sideways);
 * - `script-error`: a JavaScript error, a console error or warning, or a
 *   request that is not file:// (the export must work offline).
 *
 * A live page (docs/READING.md, "Live pages") is checked twice: as loaded
 * (the executed notebook's SVG charts) and after its page script has re-run
 * the notebook and redrawn the charts with vega-embed.
 *
 * Known offenders are listed, each with a reason, in
 * scripts/check-html-allowlist.json (see docs/READING.md): a listed problem
 * is reported but does not fail the check; a listed entry that no longer
 * occurs is reported as stale so it can be removed.
 *
 * Usage: npx tsx scripts/check-html.ts [build/html] [--screenshots build/screenshots]
 *        [--allowlist scripts/check-html-allowlist.json] [--widths 1024,1400]
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

/** A problem kind the check can report. */
export type ProblemKind = "no-chart" | "not-rendered" | "text-overflow" | "legend-clipped" | "label-truncated" | "too-wide" | "script-error";

/** One allowlist entry: a known problem on a page's chart, with the reason it is tolerated for now. */
export interface AllowEntry {
  page: string;
  /** 1-based chart number on the page (figure.chart order), or 0 for the page itself. */
  chart: number;
  kind: ProblemKind;
  /** Width (px) the problem shows at; omitted = any width. */
  width?: number;
  reason: string;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    screenshots: { type: "string", default: "build/screenshots" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    allowlist: { type: "string", default: "scripts/check-html-allowlist.json" },
    widths: { type: "string", default: "1024,1400" },
  },
});
const dir = resolve(positionals[0] ?? "build/html");
const shots = resolve(values.screenshots!);
mkdirSync(shots, { recursive: true });
const pages = readdirSync(dir).filter((f) => f.endsWith(".html")).sort();
if (!pages.length) {
  console.error(`check-html: no HTML pages in ${dir}`);
  process.exit(1);
}
const widths = values.widths!.split(",").map(Number);
if (widths.some((w) => !Number.isInteger(w) || w < 320)) {
  console.error(`--widths: got ${values.widths}, expected comma-separated integers >= 320`);
  process.exit(2);
}
const allowPath = resolve(values.allowlist!);
let allow: AllowEntry[] = [];
if (existsSync(allowPath)) {
  const raw = JSON.parse(readFileSync(allowPath, "utf8")) as { entries?: AllowEntry[] };
  allow = raw.entries ?? [];
  for (const e of allow) {
    if (!e.page || typeof e.chart !== "number" || !e.kind || !e.reason) {
      console.error(`${values.allowlist}: every entry needs page, chart, kind and reason; got ${JSON.stringify(e)}`);
      process.exit(2);
    }
  }
}

// Runs in the page: one report per figure.chart. Boxes are in CSS pixels.
const CHECK_CHARTS = `(() => {
  const column = document.body.getBoundingClientRect();
  const pad = parseFloat(getComputedStyle(document.body).paddingLeft) + parseFloat(getComputedStyle(document.body).paddingRight);
  const columnWidth = column.width - pad;
  return Array.from(document.querySelectorAll("figure.chart")).map((fig, i) => {
    const svg = fig.querySelector("svg");
    const out = { i, rendered: true, why: "", width: 0, height: 0, overflow: [], legends: [], truncated: [], columnWidth: Math.round(columnWidth) };
    if (!svg) return { ...out, rendered: false, why: "no <svg> element" };
    const box = svg.getBoundingClientRect();
    out.width = Math.round(box.width); out.height = Math.round(box.height);
    const marks = svg.querySelectorAll("[aria-roledescription], path, rect, line, text").length;
    if (box.width < 10 || box.height < 10) return { ...out, rendered: false, why: "svg is " + box.width + "x" + box.height + " px" };
    if (marks < 2) return { ...out, rendered: false, why: "svg has no drawn marks" };
    const outside = (r) => Math.max(box.left - r.left, r.right - box.right, box.top - r.top, r.bottom - box.bottom);
    for (const t of svg.querySelectorAll("text")) {
      const r = t.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      const by = outside(r);
      if (by > 1) out.overflow.push({ text: (t.textContent || "").slice(0, 60), by: Math.round(by) });
    }
    for (const t of svg.querySelectorAll("text")) {
      const s = t.textContent || "";
      if (s.endsWith("\u2026")) {
        const g = t.closest("g[class*='role-']");
        const role = g ? (g.getAttribute("class") || "").split(" ").find((c) => c.startsWith("role-")) : "";
        out.truncated.push({ text: s, role: (t.getAttribute("class") || "").split(" ").find((c) => c.startsWith("role-")) || role || "text" });
      }
    }
    for (const g of svg.querySelectorAll("g.role-legend")) {
      const r = g.getBoundingClientRect();
      const by = outside(r);
      if (by > 1) out.legends.push({ by: Math.round(by) });
    }
    return out;
  });
})()`;

interface ChartReport {
  i: number;
  /** Drawn by the live page script (vega-embed) rather than exported as SVG. */
  live?: boolean;
  rendered: boolean;
  why: string;
  width: number;
  height: number;
  overflow: Array<{ text: string; by: number }>;
  legends: Array<{ by: number }>;
  truncated: Array<{ text: string; role: string }>;
  columnWidth: number;
}

interface Problem {
  page: string;
  chart: number;
  kind: ProblemKind;
  width: number;
  detail: string;
}

const problems: Problem[] = [];
const browser = await chromium.launch({
  executablePath: values.chromium!,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  for (const width of widths) {
    const page = await browser.newPage({ viewport: { width: width, height: 1000 } });
    let current = "";
    page.on("pageerror", (e) => problems.push({ page: current, chart: 0, kind: "script-error", width: width, detail: `uncaught: ${e.message}` }));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push({ page: current, chart: 0, kind: "script-error", width: width, detail: `console ${m.type()}: ${m.text()}` });
    });
    // (blob: is the page's own script, started as its Web Workers: no network)
    page.on("request", (r) => {
      if (!/^(file|blob):/.test(r.url())) problems.push({ page: current, chart: 0, kind: "script-error", width: width, detail: `network request: ${r.url()}` });
    });
    for (const f of pages) {
      current = f;
      await page.goto(pathToFileURL(join(dir, f)).href);
      const report = (await page.evaluate(CHECK_CHARTS)) as ChartReport[];
      await page.screenshot({ path: join(shots, `${f.replace(/\.html$/, "")}-${width}.png`), fullPage: true });
      if (report.length === 0) problems.push({ page: f, chart: 0, kind: "no-chart", width: width, detail: "no chart on the page" });
      // a live page: let its script re-run the notebook and check the charts vega-embed drew
      const live = (await page.evaluate(`document.getElementById("dma-live") !== null`)) as boolean;
      if (live) {
        await page.waitForFunction(`window.__dmaLive && window.__dmaLive.ready`, undefined, { timeout: 30_000 });
        await page.evaluate(`window.__dmaLive.rerun()`);
        const redrawn = (await page.evaluate(CHECK_CHARTS)) as ChartReport[];
        if (redrawn.length !== report.length) problems.push({ page: f, chart: 0, kind: "not-rendered", width: width, detail: `live: ${redrawn.length} chart(s) after the re-run, ${report.length} before` });
        report.push(...redrawn.map((r) => ({ ...r, live: true })));
        await page.screenshot({ path: join(shots, `${f.replace(/\.html$/, "")}-${width}-live.png`), fullPage: true });
      }
      for (const r of report) {
        const n = r.i + 1;
        const tag = r.live ? "live: " : "";
        if (!r.rendered) {
          problems.push({ page: f, chart: n, kind: "not-rendered", width: width, detail: tag + r.why });
          continue;
        }
        if (r.overflow.length) {
          const worst = r.overflow.reduce((a, b) => (b.by > a.by ? b : a));
          problems.push({
            page: f,
            chart: n,
            kind: "text-overflow",
            width: width,
            detail: tag + `${r.overflow.length} text element(s) outside the SVG, worst by ${worst.by} px: "${worst.text}"`,
          });
        }
        if (r.truncated.length) {
          problems.push({ page: f, chart: n, kind: "label-truncated", width: width, detail: tag + `${r.truncated.length} label(s) cut by vega's label limit: ${r.truncated.map((t) => `"${t.text}" (${t.role})`).join(", ")}` });
        }
        if (r.legends.length) problems.push({ page: f, chart: n, kind: "legend-clipped", width: width, detail: tag + `legend reaches ${Math.max(...r.legends.map((l) => l.by))} px outside the SVG` });
        if (width <= 1024 && r.width > r.columnWidth + 1) {
          problems.push({ page: f, chart: n, kind: "too-wide", width: width, detail: tag + `chart is ${r.width} px wide, the text column ${r.columnWidth} px` });
        }
      }
      console.log(`${f} @${width}px: ${report.filter((r) => !r.live).length} chart(s)${live ? ", redrawn live" : ""}`);
    }
    await page.close();
  }
} finally {
  await browser.close();
}

const allowed = (p: Problem) => allow.find((a) => a.page === p.page && a.chart === p.chart && a.kind === p.kind && (a.width === undefined || a.width === p.width));
const fail = problems.filter((p) => !allowed(p));
const known = problems.filter((p) => allowed(p));
const stale = allow.filter((a) => !problems.some((p) => allowed(p) === a));
const line = (p: Problem) => `${p.page} chart ${p.chart} @${p.width}px ${p.kind}: ${p.detail}`;
if (known.length) console.log(`\nknown problems (allowlisted in ${values.allowlist}):\n${known.map((p) => `  ${line(p)}\n    reason: ${allowed(p)!.reason}`).join("\n")}`);
if (stale.length) console.log(`\nstale allowlist entries (no longer occur; remove them):\n${stale.map((a) => `  ${a.page} chart ${a.chart} ${a.kind}`).join("\n")}`);
if (fail.length) {
  console.error(`\ncheck-html: ${fail.length} problem(s)\n${fail.map(line).join("\n")}`);
  process.exit(1);
}
console.log(
  `\ncheck-html: ${pages.length} page(s) at ${widths.join(" and ")} px, every chart rendered` +
    (known.length ? `, ${known.length} known problem(s) allowlisted` : ", no overflow") +
    `; screenshots in ${values.screenshots}`,
);
