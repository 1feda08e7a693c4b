/// <reference lib="dom" />
/**
 * The page script of the HTML export (bundled by scripts/live/bundle.ts into
 * build/html/workbook-live.js, one file for every page). On a live page
 * (one with a `script#dma-live` config, see LIVE_NOTEBOOKS) it turns the
 * notebook's parameters into form controls; a change re-runs the notebook's
 * code in the browser and replaces the outputs of its code cells, charts
 * drawn by vega-embed from the same vega-lite specs. A bad value shows the
 * model's error next to its control and leaves the last good outputs;
 * "reset" restores the notebook's values and outputs; the URL fragment
 * (`#seed=2&iovaGranule=8192`) carries the changed parameters. Without
 * JavaScript the page is the executed notebook.
 */
import embed from "vega-embed";
import type { NotebookParam, ParamValue } from "../workbook/params-cell.js";
import { esc } from "../workbook/render-output.js";
import type { LiveOutput } from "../../lib/scenarios/live/01.js";
import { LIVE_NOTEBOOKS, type LiveNotebook } from "./registry.js";
import { outputToHtml, type LiveConfig } from "./render.js";

/** What tests read from the page (window.__dmaLive). */
export interface LiveState {
  runs: number;
  lastMs: number;
  charts: unknown[];
  errors: Record<string, string>;
  ready: boolean;
  /** The vega views of the charts drawn by the last run (vega View objects: `.data(name)`). */
  views: unknown[];
  /** Run the notebook on the controls' values even when they are those shown (scripts/check-html.ts checks the redrawn charts). */
  rerun(): Promise<void>;
}

type Kind = "number" | "number[]" | "string" | "string[]" | "boolean" | "json";

function kindOf(v: ParamValue): Kind {
  if (typeof v === "number" || v === null) return "number";
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "boolean";
  if (Array.isArray(v) && v.every((x) => typeof x === "number")) return "number[]";
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return "string[]";
  return "json";
}

/** The text a control shows for a value (numbers as the notebook writes them when unchanged). */
function format(p: NotebookParam, v: ParamValue): string {
  const k = kindOf(p.value);
  if (v === null) return "null";
  if (k === "number" && v === p.value && !/^\[/.test(p.source)) return p.source;
  if (k === "number[]" || k === "string[]") return (v as ParamValue[]).join(", ");
  if (k === "json") return JSON.stringify(v);
  return String(v);
}

function parseNumber(t: string): number {
  const s = t.trim().replace(/_/g, "");
  if (!/^-?(0x[0-9a-f]+|\d+(\.\d+)?(e\d+)?)$/i.test(s)) throw new Error(`not a number: ${JSON.stringify(t)}`);
  return Number(s);
}

/** Parse a control's text as a value of the parameter's kind. */
function parse(p: NotebookParam, t: string): ParamValue {
  const k = kindOf(p.value);
  const s = t.trim();
  if (p.nullable && (s === "null" || s === "")) return null;
  switch (k) {
    case "number":
      return parseNumber(s);
    case "number[]":
      return s === "" ? [] : s.split(/[\s,]+/).filter(Boolean).map(parseNumber);
    case "string[]":
      return s === "" ? [] : s.split(",").map((x) => x.trim()).filter(Boolean);
    case "string":
      return s;
    case "boolean":
      return s === "true";
    case "json":
      return JSON.parse(s) as ParamValue;
  }
}

interface Control {
  p: NotebookParam;
  input: HTMLInputElement;
  error: HTMLElement;
}

function start(cfg: LiveConfig, nb: LiveNotebook): void {
  const state: LiveState = { runs: 0, lastMs: 0, charts: [], errors: {}, ready: false, views: [], rerun: async () => {} };
  (window as unknown as { __dmaLive: LiveState }).__dmaLive = state;
  const section = (i: number) => document.querySelector<HTMLElement>(`section.cell[data-cell="${i}"]`);
  const outputs = cfg.cells.map((i) => section(i)?.querySelector<HTMLElement>("div.outputs") ?? null);
  const original = outputs.map((o) => o?.innerHTML ?? "");
  const paramsSection = section(cfg.paramsCell);
  if (!paramsSection || outputs.some((o) => !o)) return;

  const form = document.createElement("form");
  form.className = "live";
  form.setAttribute("aria-label", "parameters");
  form.innerHTML = `<div><strong>Parameters</strong> <span class="hint">change a value: the notebook re-runs in this page</span> <button type="button" class="reset">reset</button><span class="status" role="status"></span></div>`;
  const status = form.querySelector<HTMLElement>(".status")!;
  const controls: Control[] = cfg.params.map((p) => {
    const row = document.createElement("div");
    row.className = "row";
    const id = `live-${p.name}`;
    row.innerHTML = `<label for="${id}">${esc(p.name)}</label><input type="text" id="${id}" name="${esc(p.name)}" spellcheck="false"><span class="hint">${esc(p.comment)}</span><span class="error" role="alert" hidden></span>`;
    form.appendChild(row);
    const input = row.querySelector("input")!;
    input.value = format(p, p.value);
    return { p, input, error: row.querySelector<HTMLElement>(".error")! };
  });
  paramsSection.appendChild(form);

  const setError = (c: Control, msg: string | null) => {
    c.error.hidden = msg === null;
    c.error.textContent = msg ?? "";
    c.input.classList.toggle("bad", msg !== null);
    if (msg === null) delete state.errors[c.p.name];
    else state.errors[c.p.name] = msg;
  };
  let views: Array<{ finalize(): void }> = [];
  const defaultsKey = JSON.stringify(Object.fromEntries(cfg.params.map((p) => [p.name, p.value])));
  /** The parameters of the outputs on the page (the notebook's at first). */
  let shownKey = defaultsKey;
  let generation = 0;

  const writeHash = (vals: Record<string, ParamValue>) => {
    const changed = controls.filter((c) => JSON.stringify(vals[c.p.name]) !== JSON.stringify(c.p.value));
    const hash = changed.map((c) => `${encodeURIComponent(c.p.name)}=${encodeURIComponent(c.input.value.trim())}`).join("&");
    try {
      history.replaceState(null, "", hash ? `#${hash}` : location.pathname + location.search);
    } catch {
      location.hash = hash;
    }
  };

  const run = async () => {
    const t0 = performance.now();
    const gen = ++generation;
    const vals: Record<string, ParamValue> = {};
    let bad = false;
    for (const c of controls) {
      try {
        vals[c.p.name] = parse(c.p, c.input.value);
        setError(c, null);
      } catch (e) {
        setError(c, (e as Error).message);
        bad = true;
      }
    }
    if (bad) {
      status.textContent = "not run: fix the value marked in red (the outputs below are the last good ones)";
      return;
    }
    // a change event on blur with the values of the outputs shown: nothing to do
    const key = JSON.stringify(vals);
    if (key === shownKey) {
      status.textContent = "";
      return;
    }
    let result;
    try {
      result = nb.run(vals);
    } catch (e) {
      const err = e as Error & { field?: string };
      const name = err.name === "ModelConfigError" && typeof err.field === "string" ? nb.paramOf(err.field) : null;
      const c = controls.find((x) => x.p.name === name);
      if (c) setError(c, `${err.name}: ${err.message}`);
      status.textContent = c ? "not run: the model rejected a value (the outputs below are the last good ones)" : `${err.name}: ${err.message}`;
      return;
    }
    writeHash(vals);
    shownKey = key;
    for (const v of views) v.finalize();
    views = [];
    const pending: Array<Promise<unknown>> = [];
    result.cells.forEach((outs, j) => {
      const box = outputs[j]!;
      let html = outs.map(outputToHtml).join("\n");
      if (cfg.foldCells.includes(cfg.cells[j]!) && html) html = `<details class="fold"><summary>Details (${outs.length} output${outs.length === 1 ? "" : "s"})</summary>${html}</details>`;
      box.innerHTML = html;
      const slots = box.querySelectorAll<HTMLElement>("div.vega-live");
      outs.filter((o) => o.kind === "chart").forEach((o, k) => {
        const spec = (o as Extract<LiveOutput, { kind: "chart" }>).spec;
        // the specs name vega-lite v5's schema (for Jupyter's renderers); vega-embed would warn about it on every run
        const { $schema: _schema, ...body } = spec;
        pending.push(embed(slots[k]!, body as never, { mode: "vega-lite", renderer: "svg", actions: false }).then((r) => views.push(r.view)));
      });
    });
    await Promise.all(pending);
    if (gen !== generation) return;
    state.runs++;
    state.lastMs = performance.now() - t0;
    state.charts = result.charts;
    state.views = views;
    status.textContent = `re-run in ${state.lastMs.toFixed(0)} ms`;
  };

  state.rerun = () => {
    shownKey = "";
    return run();
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => void run().catch((e) => (status.textContent = String(e))), ms);
  };
  for (const c of controls) {
    c.input.addEventListener("input", () => schedule(400));
    c.input.addEventListener("change", () => schedule(0));
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    schedule(0);
  });
  form.querySelector("button.reset")!.addEventListener("click", () => {
    clearTimeout(timer);
    generation++;
    for (const v of views) v.finalize();
    views = [];
    for (const c of controls) {
      c.input.value = format(c.p, c.p.value);
      setError(c, null);
    }
    outputs.forEach((o, j) => (o!.innerHTML = original[j]!));
    shownKey = defaultsKey;
    writeHash(Object.fromEntries(controls.map((c) => [c.p.name, c.p.value])));
    state.charts = [];
    state.views = [];
    status.textContent = "the notebook's values";
  });

  // parameters from the URL fragment (#name=value&...); plain anchors are left alone
  const applyHash = (): boolean => {
    if (!location.hash.slice(1).includes("=")) return false;
    let any = false;
    for (const part of location.hash.slice(1).split("&")) {
      const [k, v] = part.split("=").map(decodeURIComponent) as [string, string | undefined];
      const c = controls.find((x) => x.p.name === k);
      if (c && v !== undefined) {
        c.input.value = v;
        any = true;
      }
    }
    return any;
  };
  window.addEventListener("hashchange", () => {
    if (applyHash()) schedule(0);
  });
  if (applyHash()) {
    void run().then(() => (state.ready = true));
    return;
  }
  // Warm up once the page is idle (the first run compiles the model's and
  // vega's code paths: about 0.5 s cold, under 0.1 s after): run the notebook
  // on its own values and draw its first chart off-page.
  const warm = async () => {
    try {
      const r = nb.run(Object.fromEntries(cfg.params.map((p) => [p.name, p.value])));
      const c = r.charts[0];
      if (c) {
        const { $schema: _schema, ...body } = c;
        const e = await embed(document.createElement("div"), body as never, { mode: "vega-lite", renderer: "svg", actions: false });
        e.finalize();
      }
    } catch {
      // a failure shows when the reader changes a value
    }
    state.ready = true;
  };
  const idle = (window as unknown as { requestIdleCallback?: (f: () => void) => void }).requestIdleCallback;
  if (idle) idle(() => void warm());
  else setTimeout(() => void warm(), 50);
}

function init(): void {
  const el = document.getElementById("dma-live");
  if (!el) return;
  const cfg = JSON.parse(el.textContent ?? "{}") as LiveConfig;
  const nb = LIVE_NOTEBOOKS[cfg.key];
  if (nb) start(cfg, nb);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
