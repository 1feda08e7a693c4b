/**
 * Load every page of the HTML export in headless Chromium (Debian's
 * /usr/bin/chromium, driven by playwright-core) and fail if a notebook page
 * has no chart, or a chart that did not render: no <svg>, a zero-sized one,
 * or one without any drawn mark. Saves a screenshot of each page.
 *
 * Usage: npx tsx scripts/check-html.ts [build/html] [--screenshots build/screenshots]
 */
import { mkdirSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    screenshots: { type: "string", default: "build/screenshots" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
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

// Runs in the page: one verdict per figure.chart.
const CHECK_CHARTS = `Array.from(document.querySelectorAll("figure.chart")).map((fig, i) => {
  const svg = fig.querySelector("svg");
  if (!svg) return { i, ok: false, why: "no <svg> element" };
  const box = svg.getBoundingClientRect();
  const marks = svg.querySelectorAll("[aria-roledescription], path, rect, line, text").length;
  if (box.width < 10 || box.height < 10) return { i, ok: false, why: "svg is " + box.width + "x" + box.height + " px" };
  if (marks < 2) return { i, ok: false, why: "svg has no drawn marks" };
  return { i, ok: true, why: Math.round(box.width) + "x" + Math.round(box.height) + " px, " + marks + " elements" };
})`;

const browser = await chromium.launch({
  executablePath: values.chromium!,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const problems: string[] = [];
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1200 } });
  for (const f of pages) {
    await page.goto(pathToFileURL(join(dir, f)).href);
    const report = (await page.evaluate(CHECK_CHARTS)) as Array<{ i: number; ok: boolean; why: string }>;
    await page.screenshot({ path: join(shots, f.replace(/\.html$/, ".png")), fullPage: false });
    if (f !== "index.html" && report.length === 0) problems.push(`${f}: no chart on the page`);
    for (const r of report) {
      if (!r.ok) problems.push(`${f}: chart ${r.i + 1} did not render (${r.why})`);
    }
    console.log(`${f}: ${report.length} chart(s) ${report.every((r) => r.ok) ? "rendered" : "FAILED"}`);
  }
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(`check-html: ${problems.length} problem(s)\n${problems.join("\n")}`);
  process.exit(1);
}
console.log(`check-html: ${pages.length} page(s) loaded in Chromium, every chart rendered; screenshots in ${values.screenshots}`);
