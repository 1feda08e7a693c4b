/**
 * Shared by the live-page tests (test/pipeline/live-*.test.ts): the executed
 * notebook, its parameters, the comparison of a live module's outputs with
 * the executed notebook's, and the chart data a vega view holds.
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect } from "vitest";
import * as vl from "vega-lite";
import type { Page } from "playwright-core";
import { executeNotebook, readNotebook, type Notebook } from "../../scripts/workbook/notebook.js";
import { liveConfig } from "../../scripts/workbook/live-page.js";
import { notebookParams } from "../../scripts/workbook/params-cell.js";
import { tableHtml } from "../../scripts/live/render.js";
import type { LiveResult } from "../../lib/scenarios/live/types.js";

export const root = resolve(__dirname, "..", "..");
export const CHROMIUM = "/usr/bin/chromium";
export const haveChromium = existsSync(CHROMIUM);
export const inCi = Boolean(process.env["CI"]);

/** The executed notebook: build/notebooks (npm run workbook) when newer than the source, else executed now. */
export async function executedNotebook(file: string): Promise<Notebook> {
  const built = join(root, "build", "notebooks", file);
  const src = join(root, "notebooks", file);
  if (existsSync(built) && statSync(built).mtimeMs >= statSync(src).mtimeMs) return readNotebook(built);
  const run = await executeNotebook(src, root);
  if (run.failure) throw new Error(`${file}: cell ${run.failure.cell} failed: ${run.failure.errorText}`);
  return run.executed;
}

/** The notebook's parameters as an object (from its parameters cell). */
export function defaultsOf(nb: Notebook): Record<string, unknown> {
  const found = notebookParams(nb);
  if (!found) throw new Error("no parameters cell");
  return Object.fromEntries(found.params.map((p) => [p.name, p.value]));
}

/**
 * Expect a live result, computed on the notebook's parameters, to equal the
 * executed notebook's outputs: same markdown, same table HTML, same chart
 * specs and captions, cell by cell (a null cell is kept as exported).
 * @returns the number of cells compared.
 */
export function expectSameAsExecuted(executed: Notebook, file: string, r: LiveResult): number {
  const cfg = liveConfig(executed, file)!;
  expect(r.cells.length).toBe(cfg.cells.length);
  let compared = 0;
  const text = (v: unknown) => (Array.isArray(v) ? v.join("") : v);
  cfg.cells.forEach((ci, j) => {
    const live = r.cells[j];
    if (live === null || live === undefined) return;
    compared++;
    const outs = (executed.cells[ci]!.outputs ?? []).filter((o) => o.output_type === "display_data");
    expect(live.length, `cell ${ci}: number of outputs`).toBe(outs.length);
    live.forEach((o, k) => {
      expect(o, `cell ${ci} output ${k} computed`).not.toBeNull();
      const d = (outs[k] as { data: Record<string, unknown> }).data;
      if (o!.kind === "markdown") expect(o!.md, `cell ${ci} output ${k}`).toBe(text(d["text/markdown"]));
      if (o!.kind === "table") expect(tableHtml(o!.rows, o!.caption), `cell ${ci} output ${k}`).toBe(text(d["text/html"]));
      if (o!.kind === "chart") {
        expect(o!.spec, `cell ${ci} output ${k}`).toEqual(d["application/vnd.vegalite.v5+json"]);
        expect(o!.summary, `cell ${ci} output ${k}`).toBe(text(d["text/plain"]));
      }
    });
  });
  return compared;
}

/** The inline data sets (source_N) of a chart spec as vega-lite compiles it. */
export function sources(spec: unknown): Record<string, unknown[]> {
  const c = vl.compile(spec as never).spec as { data: Array<{ name: string; values?: unknown[] }> };
  return Object.fromEntries(c.data.filter((d) => d.values).map((d) => [d.name, JSON.parse(JSON.stringify(d.values)) as unknown[]]));
}

/** The data sets `names` of the i-th chart the page's last run drew, read from its vega view. */
export function viewData(page: Page, i: number, names: string[]): Promise<Record<string, unknown[]>> {
  return page.evaluate(
    ([k, ns]) => {
      const v = (window as unknown as { __dmaLive: { views: Array<{ data(n: string): unknown[] }> } }).__dmaLive.views[k as number]!;
      return Object.fromEntries((ns as string[]).map((n) => [n, JSON.parse(JSON.stringify(v.data(n)))]));
    },
    [i, names] as const,
  );
}

/** The page's run counter (window.__dmaLive.runs). */
export function runs(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { __dmaLive: { runs: number } }).__dmaLive.runs);
}

/** Apply `act` (a change to a control) and wait for the page's next completed run; returns its time in ms (first cell, all). */
export async function changeAndWait(page: Page, act: () => Promise<unknown>, timeout = 120_000): Promise<{ firstMs: number; lastMs: number }> {
  const before = await runs(page);
  await act();
  await page.waitForFunction((n) => (window as unknown as { __dmaLive: { runs: number } }).__dmaLive.runs > n, before, { timeout: timeout });
  return page.evaluate(() => {
    const s = (window as unknown as { __dmaLive: { firstMs: number; lastMs: number } }).__dmaLive;
    return { firstMs: s.firstMs, lastMs: s.lastMs };
  });
}

/**
 * Collect console errors and warnings, page errors and requests of a page
 * that are neither file: nor blob: (the page's Web Workers start from a blob:
 * URL the page made of its own script: no network).
 */
export function watchProblems(page: Page, problems: string[]): void {
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("request", (r) => {
    if (!/^(file|blob):/.test(r.url())) problems.push(`network: ${r.url()}`);
  });
}
