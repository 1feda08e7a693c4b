/**
 * The live HTML page of notebook 01 (issue 14): the export turns the
 * notebook's parameters cell into form controls, and the page script
 * (scripts/live/runtime.ts, bundled by scripts/live/bundle.ts) re-runs the
 * notebook in the browser when one changes.
 *
 * Node side: the parameters cell is read as the notebook writes it; run on
 * those parameters, notebook01Live gives exactly the executed notebook's
 * outputs (same markdown, same table HTML, same chart specs and captions),
 * so the live page cannot drift from the notebook unnoticed.
 *
 * Browser side (headless Chromium from file://, no network): changing the
 * seed redraws the chart with the data the model computes in Node for that
 * seed; an out-of-range granule shows the model's error next to its control
 * and keeps the last good chart; reset restores the notebook's outputs; the
 * URL fragment carries the parameters; no console error; without
 * JavaScript the page is the executed notebook.
 *
 * The executed notebook comes from build/notebooks (npm run workbook) when it
 * is newer than the source, else the test executes it. The browser part is
 * skipped, with a message, when Chromium is missing, except in CI (CI set).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser } from "playwright-core";
import { notebook01Live, notebook01ParamOf, type Notebook01Params } from "../../lib/scenarios/live/01.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { modelledReleases } from "../../lib/scenarios/params.js";
import type { Notebook } from "../../scripts/workbook/notebook.js";
import { notebookToHtml } from "../../scripts/workbook/export-html.js";
import { liveConfig, LIVE_SCRIPT } from "../../scripts/workbook/live-page.js";
import { notebookParams, parseParamsSource } from "../../scripts/workbook/params-cell.js";
import { bundleLive } from "../../scripts/live/bundle.js";
import { CHROMIUM, defaultsOf, executedNotebook, expectSameAsExecuted, haveChromium, inCi, root, sources } from "./live-helpers.js";

const NB = "01-iommu-dma-map-sg-gaps.ipynb";
if (!haveChromium && !inCi) console.warn("live HTML browser test skipped: Chromium not installed (apt-get install -y chromium)");

let executed: Notebook;
beforeAll(async () => {
  executed = await executedNotebook(NB);
}, 300_000);

/** The notebook's parameters as an object (from its parameters cell). */
function defaults(): Notebook01Params {
  return defaultsOf(executed) as unknown as Notebook01Params;
}

describe("parameters cell", () => {
  it("reads const declarations with their values, types and comments", () => {
    const ps = parseParamsSource(
      [
        "// Parameters",
        "const sizes = [65536, 0x4000];   // bytes",
        "const limit: number | null = null; // null = default",
        'const name = "v5.4";',
        "const big = 4 * 1024 * 1024;",
        "const flags = { a: true, b: -1 };",
      ].join("\n"),
    );
    expect(ps.map((p) => [p.name, p.value, p.nullable])).toEqual([
      ["sizes", [65536, 16384], false],
      ["limit", null, true],
      ["name", "v5.4", false],
      ["big", 4194304, false],
      ["flags", { a: true, b: -1 }, false],
    ]);
    expect(ps[0]!.comment).toBe("bytes");
    expect(ps[1]!.type).toBe("number | null");
    expect(() => parseParamsSource("const x = f();")).toThrow(/not a literal: f\(\)/);
    expect(() => parseParamsSource("console.log(1);")).toThrow(/not a declaration/);
  });
  it("finds notebook 01's six parameters", () => {
    expect(notebookParams(executed)!.params.map((p) => p.name)).toEqual(["segments", "iovaGranule", "kernels", "maxSegSize", "segBoundaryMask", "seed"]);
  });
});

describe("notebook01Live", () => {
  it("on the notebook's parameters gives exactly the executed notebook's outputs", () => {
    const r = notebook01Live(defaults());
    expect(expectSameAsExecuted(executed, NB, r)).toBe(r.cells.length);
    expect(r.charts.length).toBe(1);
    expect(r.texts.length).toBe(2);
  });
  it("rejects bad values with a ModelConfigError that names the notebook parameter", () => {
    const p = defaults();
    // the granule is at most 64 KiB (CASE01_PARAMS)
    expect(() => notebook01Live({ ...p, iovaGranule: 131072 })).toThrow(ModelConfigError);
    try {
      notebook01Live({ ...p, iovaGranule: 131072 });
    } catch (e) {
      expect(notebook01ParamOf((e as ModelConfigError).field)).toBe("iovaGranule");
    }
    // 1000 bytes is not a multiple of the 4 KiB page: the scenario's own check names segments.1
    try {
      notebook01Live({ ...p, segments: [65536, 1000] });
      expect.unreachable();
    } catch (e) {
      expect((e as ModelConfigError).field).toBe("segments.1");
      expect(notebook01ParamOf((e as ModelConfigError).field)).toBe("segments");
    }
  });
});

describe.skipIf(!haveChromium && !inCi)("the live page in headless Chromium", () => {
  let dir = "";
  let browser: Browser | undefined;
  let pageUrl = "";
  let bytes = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "dma-live-"));
    const cfg = liveConfig(executed, NB)!;
    writeFileSync(join(dir, NB.replace(/\.ipynb$/, ".html")), notebookToHtml(executed, NB, { index: "index.html", live: { script: LIVE_SCRIPT, config: cfg } }));
    bytes = await bundleLive(join(dir, LIVE_SCRIPT), root);
    pageUrl = pathToFileURL(join(dir, NB.replace(/\.ipynb$/, ".html"))).href;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("is one script under 1.5 MB", () => {
    console.log(`${LIVE_SCRIPT}: ${(bytes / 1024).toFixed(0)} KiB (${bytes} bytes)`);
    // 1.5 MB read the stricter way: 1,500,000 bytes (1.5 MiB would allow 1,572,864)
    expect(bytes).toBeLessThan(1_500_000);
  });

  it("re-runs the model on a change, shows errors at the control, resets, and reads the URL fragment", async () => {
    const page = await browser!.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("request", (r) => {
      if (!r.url().startsWith("file:")) problems.push(`network: ${r.url()}`);
    });
    await page.goto(pageUrl);
    await page.waitForFunction(() => (window as unknown as { __dmaLive?: { ready: boolean } }).__dmaLive?.ready === true);
    const p0 = defaults();
    // one control per parameter, showing the notebook's value
    expect(await page.inputValue("#live-segments")).toBe("65536, 16384, 65536");
    // a nullable number: empty means null
    expect(await page.inputValue("#live-maxSegSize")).toBe("");
    const staticSvg = await page.locator("figure.chart svg").count();
    expect(staticSvg).toBe(1);

    const runs = () => page.evaluate(() => (window as unknown as { __dmaLive: { runs: number } }).__dmaLive.runs);
    const change = async (id: string, value: string) => {
      const before = await runs();
      await page.fill(id, value);
      await page.dispatchEvent(id, "change");
      await page.waitForFunction((n) => (window as unknown as { __dmaLive: { runs: number } }).__dmaLive.runs > n, before);
    };
    // the drawn chart's data sets, read from its vega view
    const viewData = (names: string[]) =>
      page.evaluate((ns) => {
        const v = (window as unknown as { __dmaLive: { views: Array<{ data(n: string): unknown[] }> } }).__dmaLive.views[0]!;
        return Object.fromEntries(ns.map((n) => [n, JSON.parse(JSON.stringify(v.data(n)))]));
      }, names);

    const times: number[] = [];
    for (const seed of [2, 3, 4, 5, 6]) {
      await change("#live-seed", String(seed));
      times.push(await page.evaluate(() => (window as unknown as { __dmaLive: { lastMs: number } }).__dmaLive.lastMs));
    }
    const expected = notebook01Live({ ...p0, seed: 6 });
    const want = sources(expected.charts[0]);
    expect(await viewData(Object.keys(want))).toEqual(want);
    // the pieces moved: the buffer summary names the addresses the model gives for seed 6
    // The buffer summary is the first output of the first code cell after the parameters cell.
    const summaryCell = page.locator(`section.cell[data-cell] .outputs`, { hasText: "Buffer: " }).first();
    expect(await summaryCell.innerText()).toContain(expected.texts[0]!.replace(/^Buffer: /, "").split(" pinned")[0]!);
    expect(await summaryCell.innerText()).toContain(/at (0x[0-9a-f]+)/.exec(expected.texts[0]!)![1]!);
    expect(page.url()).toMatch(/#seed=6$/);
    // reported, not asserted (no timed assertions): the target is 200 ms (issue 14)
    console.log(`notebook 01 live re-run (model + vega-embed), ms: ${times.map((t) => t.toFixed(0)).join(", ")}`);

    // fewer releases: the chart loses rows, as the model says (the release list is a grid of checkboxes, one
    // line per major release, over the modelled releases)
    expect(await page.locator("#live-kernels .rel-line").count()).toBe(3);
    expect(await page.locator("#live-kernels input[type=checkbox]").count()).toBe(modelledReleases().length);
    for (const k of ["v4.4", "v4.7", "v5.4", "v6.19"]) expect(await page.isChecked(`[id="live-kernels-${k}"]`)).toBe(true);
    for (const k of ["v4.7", "v5.4"]) {
      const before = await runs();
      await page.uncheck(`[id="live-kernels-${k}"]`);
      await page.waitForFunction((n) => (window as unknown as { __dmaLive: { runs: number } }).__dmaLive.runs > n, before);
    }
    const two = sources(notebook01Live({ ...p0, seed: 6, kernels: ["v4.4", "v6.19"] }).charts[0]);
    expect(await viewData(Object.keys(two))).toEqual(two);
    expect(page.url()).toMatch(/#kernels=v4\.4%2Cv6\.19&seed=6$/);

    // out of range: the model's error at the control, the last good chart stays
    const runsBefore = await runs();
    await page.fill("#live-iovaGranule", "131072");
    await page.dispatchEvent("#live-iovaGranule", "change");
    const err = page.locator(".row:has(#live-iovaGranule) .error");
    await err.waitFor({ state: "visible" });
    expect(await err.innerText()).toMatch(/^ModelConfigError: iovaGranule: got 131072 \(0x20000\), expected .*\[1, 65536\]/);
    expect(await runs()).toBe(runsBefore);
    expect(await viewData(Object.keys(two))).toEqual(two);

    // reset: the notebook's values and outputs, no fragment
    await page.click("form.live button.reset");
    expect(await page.inputValue("#live-iovaGranule")).toBe("4096");
    for (const k of ["v4.4", "v4.7", "v5.4", "v6.19"]) expect(await page.isChecked(`[id="live-kernels-${k}"]`)).toBe(true);
    expect(await page.locator("#live-kernels input:checked").count()).toBe(4);
    expect(await err.isHidden()).toBe(true);
    expect(await page.locator("figure.chart svg").count()).toBe(1);
    expect(page.url()).not.toContain("#");

    // the fragment carries parameters: opening it runs the notebook on them
    // (a new page: opening a link; then a fragment changed in the same page)
    await page.close();
    const page2 = await browser!.newPage();
    page2.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page2.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    await page2.goto(`${pageUrl}#seed=3&segments=65536%2C%2065536`);
    await page2.waitForFunction(() => (window as unknown as { __dmaLive?: { runs: number } }).__dmaLive?.runs === 1);
    const frag = sources(notebook01Live({ ...p0, seed: 3, segments: [65536, 65536] }).charts[0]);
    const viewData2 = (names: string[]) =>
      page2.evaluate((ns) => {
        const v = (window as unknown as { __dmaLive: { views: Array<{ data(n: string): unknown[] }> } }).__dmaLive.views[0]!;
        return Object.fromEntries(ns.map((n) => [n, JSON.parse(JSON.stringify(v.data(n)))]));
      }, names);
    expect(await viewData2(Object.keys(frag))).toEqual(frag);
    expect(await page2.inputValue("#live-seed")).toBe("3");
    await page2.goto(`${pageUrl}#seed=4`);
    await page2.waitForFunction(() => (window as unknown as { __dmaLive: { runs: number } }).__dmaLive.runs === 2);
    expect(await viewData2(Object.keys(frag))).toEqual(sources(notebook01Live({ ...p0, seed: 4, segments: [65536, 65536] }).charts[0]));

    expect(problems).toEqual([]);
    await page2.close();
  }, 120_000);

  it("without JavaScript is the executed notebook", async () => {
    const ctx = await browser!.newContext({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto(pageUrl);
    expect(await page.locator("form.live").count()).toBe(0);
    expect(await page.locator("figure.chart svg").count()).toBe(1);
    expect(await page.locator("table.dma-table").count()).toBeGreaterThan(0);
    await ctx.close();
  });
});
