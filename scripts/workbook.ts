/**
 * The main job: execute every notebook in notebooks/ headless through the
 * tslab kernel, and write the executed notebooks plus an offline HTML export
 * (one page per notebook; the front-page notebook notebooks/index.ipynb
 * becomes build/html/index.html, followed by the list of notebooks) into build/. Source notebooks are
 * never modified. Exits non-zero if any cell fails, naming the notebook, the
 * cell number and the error text.
 *
 * Usage: npm run workbook [-- --only index --only 01] [--out build] [--cell-timeout 120]
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { executeNotebook } from "./workbook/notebook.js";
import { FRONT_PAGE, indexHtml, notebookSummary, notebookTitle, notebookToHtml, workbookOrder } from "./workbook/export-html.js";
import type { Notebook } from "./workbook/notebook.js";
import { liveConfig, LIVE_SCRIPT } from "./workbook/live-page.js";
import { bundleLive } from "./live/bundle.js";

const { values } = parseArgs({
  options: {
    only: { type: "string", multiple: true },
    out: { type: "string", default: "build" },
    "cell-timeout": { type: "string", default: "120" },
  },
});

const root = resolve(process.cwd());
const nbDir = join(root, "notebooks");
const out = resolve(root, values.out!);
const cellTimeoutS = Number(values["cell-timeout"]);
if (!Number.isFinite(cellTimeoutS) || cellTimeoutS <= 0) {
  console.error(`--cell-timeout: got ${values["cell-timeout"]}, expected a number of seconds > 0`);
  process.exit(2);
}
// The front page (notebooks/index.ipynb) first, then the numbered notebooks.
const all = workbookOrder(readdirSync(nbDir).filter((f) => f.endsWith(".ipynb")));
const only = values.only ?? [];
const selected = only.length ? all.filter((f) => only.some((o) => f.startsWith(o))) : all;
if (!selected.length) {
  console.error(`no notebooks match ${only.length ? only.join(", ") : "notebooks/*.ipynb"}`);
  process.exit(2);
}
mkdirSync(join(out, "notebooks"), { recursive: true });
mkdirSync(join(out, "html"), { recursive: true });

const failures: string[] = [];
const entries: Array<{ file: string; title: string; summary: string }> = [];
let front: { nb: Notebook; name: string } | undefined;
let liveCount = 0;
const t0 = Date.now();
for (const f of selected) {
  console.log(`▶ ${f}`);
  const run = await executeNotebook(join(nbDir, f), root, {
    cellTimeoutMs: cellTimeoutS * 1000,
    onProgress: (e) => console.log(`  cell ${e.cell}/${e.cells} (code ${e.codeCell}/${e.codeCells}) ${e.status} ${e.seconds.toFixed(1)} s`),
  });
  writeFileSync(join(out, "notebooks", f), JSON.stringify(run.executed, null, 1) + "\n");
  if (f === FRONT_PAGE) {
    // rendered as build/html/index.html, followed by the list of notebooks
    front = { nb: run.executed, name: f };
  } else {
    const htmlName = f.replace(/\.ipynb$/, ".html");
    const config = liveConfig(run.executed, f);
    const live = config ? { script: LIVE_SCRIPT, config: config } : undefined;
    writeFileSync(join(out, "html", htmlName), notebookToHtml(run.executed, f, { index: "index.html", live: live }));
    if (config) liveCount++;
    entries.push({ file: htmlName, title: notebookTitle(run.executed, f), summary: notebookSummary(run.executed) });
  }
  if (run.failure) {
    const msg = `${f}: cell ${run.failure.cell} (code cell ${run.failure.codeCell}) failed:\n${run.failure.errorText}`;
    failures.push(msg);
    console.log(`✗ ${msg}`);
  } else {
    console.log(`✓ ${f} in ${run.seconds.toFixed(1)} s`);
  }
}
writeFileSync(join(out, "html", "index.html"), indexHtml(entries, front));
if (liveCount) {
  // one page script for every live page (scripts/live/runtime.ts)
  const tb = Date.now();
  const bytes = await bundleLive(join(out, "html", LIVE_SCRIPT), root);
  console.log(`live pages: ${liveCount}, ${LIVE_SCRIPT} ${(bytes / 1024).toFixed(0)} KiB (bundled in ${Date.now() - tb} ms)`);
}
console.log(`\nworkbook: ${selected.length - failures.length} of ${selected.length} notebooks executed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`executed notebooks: ${join(values.out!, "notebooks")}/, HTML export: ${join(values.out!, "html", "index.html")}`);
if (failures.length) {
  console.error(`\nFAILED:\n${failures.join("\n\n")}`);
  process.exit(1);
}
