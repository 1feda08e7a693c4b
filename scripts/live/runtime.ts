/// <reference lib="dom" />
/**
 * The page script of the HTML export (bundled by scripts/live/bundle.ts into
 * build/html/workbook-live.js, one file for every page). On a live page
 * (one with a `script#dma-live` config, see LIVE_NOTEBOOKS) it turns the
 * notebook's parameters into form controls derived from the notebook's zod
 * schema (an enum or a release: a select; a boolean: a checkbox; an object
 * of booleans, or a list of platforms or enum values: a row of checkboxes; a list of releases: a grid of
 * checkboxes, one line per major release; a number: a number input with its range
 * and unit, a slider as well for a fraction; any other list: a text input). A change
 * re-runs the notebook's code in the browser, one cell at a time, and
 * replaces the outputs of its code cells as they come, charts drawn by
 * vega-embed from the same vega-lite specs. A bad value shows the model's
 * error next to its control and leaves the last good outputs; "reset"
 * restores the notebook's values and outputs; the URL fragment
 * (`#seed=2&iovaGranule=8192`) carries the changed parameters. Without
 * JavaScript the page is the executed notebook.
 *
 * Cells (or single outputs) whose inputs still have the notebook's values
 * are kept as exported (the live module yields null for them), so a change
 * re-computes only what depends on it.
 */
import embed from "vega-embed";
import { z } from "zod";
import { modelledReleases, zKernel } from "../../lib/scenarios/params.js";
import { isTasksStep, runTasksHere, taskCallKey, type LiveOutput, type LiveStep, type LiveTasksStep } from "../../lib/scenarios/live/types.js";
import type { NotebookParam, ParamValue } from "../workbook/params-cell.js";
import { esc } from "../workbook/render-output.js";
import { LIVE_NOTEBOOKS, LIVE_TASKS, type LiveNotebook } from "./registry.js";
import { createTaskPool, serveTasks, StaleRun, type TaskPool } from "./workers.js";
import { outputToHtml, type LiveConfig } from "./render.js";

/** What tests read from the page (window.__dmaLive). */
export interface LiveState {
  runs: number;
  /** Milliseconds of the last run, from the change to the last chart drawn. */
  lastMs: number;
  /** Milliseconds of the last run to its first cell on the page. */
  firstMs: number;
  /** The specs of the charts the last run computed (kept ones excluded), in order. */
  charts: unknown[];
  errors: Record<string, string>;
  ready: boolean;
  /** The vega views of the charts drawn by the last run, in the order of `charts` (vega View objects: `.data(name)`). */
  views: unknown[];
  /** Run the notebook on the controls' values even when they are those shown, computing every cell (scripts/check-html.ts checks the redrawn charts). */
  rerun(): Promise<void>;
  /** Web Workers running the notebook's task calls (scripts/live/workers.ts); 0 before the page is ready, or when every call runs in the page's thread. */
  workers: number;
}

/** How a parameter is edited, derived from its zod schema (and, for lists, its value in the notebook). */
type Spec =
  | { type: "select"; options: string[] }
  | { type: "checkbox" }
  | { type: "checks"; fields: string[] }
  | { type: "picks"; options: string[] }
  | { type: "releases"; options: string[] }
  | { type: "number"; min: number | null; max: number | null; int: boolean; nullable: boolean; slider: boolean }
  | { type: "list"; numbers: boolean }
  | { type: "json" };

/** Peel optional/nullable/default wrappers (not refinements: a release is a refined string). */
function peel(s: z.ZodTypeAny): { inner: z.ZodTypeAny; nullable: boolean } {
  let nullable = false;
  for (;;) {
    if (s instanceof z.ZodNullable) {
      nullable = true;
      s = s.unwrap();
    } else if (s instanceof z.ZodOptional) s = s.unwrap();
    else if (s instanceof z.ZodDefault) s = s._def.innerType;
    else return { inner: s, nullable: nullable };
  }
}

function specOf(field: z.ZodTypeAny | undefined, p: NotebookParam, choices: Record<string, string[]>): Spec {
  if (choices[p.name] && typeof p.value === "string") return { type: "select", options: choices[p.name]! };
  if (choices[p.name] && Array.isArray(p.value)) return { type: "picks", options: choices[p.name]! };
  if (!field) return { type: "json" };
  const { inner, nullable } = peel(field);
  if (inner instanceof z.ZodArray) {
    const el = peel(inner.element as z.ZodTypeAny).inner;
    if (el instanceof z.ZodEnum) return { type: "picks", options: [...(el.options as string[])] };
    // a list of releases: checkboxes over the modelled releases, unless the notebook lists one by another name ("v5.4.6")
    const all = modelledReleases();
    if (el === zKernel && (!Array.isArray(p.value) || p.value.every((v) => typeof v === "string" && all.includes(v)))) return { type: "releases", options: all };
  }
  if (inner === zKernel) return { type: "select", options: modelledReleases() };
  if (inner instanceof z.ZodEnum) return { type: "select", options: [...(inner.options as string[])] };
  if (inner instanceof z.ZodBoolean) return { type: "checkbox" };
  if (inner instanceof z.ZodNumber) {
    const min = inner.minValue;
    const max = inner.maxValue;
    return { type: "number", min: min, max: max, int: inner.isInt, nullable: nullable || p.nullable, slider: !inner.isInt && min === 0 && max !== null && max <= 1 };
  }
  if (inner instanceof z.ZodObject && Object.values(inner.shape as Record<string, z.ZodTypeAny>).every((f) => peel(f).inner instanceof z.ZodBoolean)) return { type: "checks", fields: Object.keys(inner.shape as object) };
  if (inner instanceof z.ZodArray) return { type: "list", numbers: peel(inner.element as z.ZodTypeAny).inner instanceof z.ZodNumber };
  return { type: "json" };
}

function parseNumber(t: string): number {
  const s = t.trim().replace(/_/g, "");
  if (!/^-?(0x[0-9a-f]+|\d+(\.\d+)?(e[-+]?\d+)?|\.\d+)$/i.test(s)) throw new Error(`not a number: ${JSON.stringify(t)}`);
  return Number(s);
}

/** One form control: reads and writes a parameter's value, and its text form for the URL fragment. */
interface Control {
  p: NotebookParam;
  /** The element that carries the id live-<name> (the input, select or fieldset). */
  el: HTMLElement;
  error: HTMLElement;
  /** The value the control shows. @throws Error when it is not a value of the parameter's type. */
  get(): ParamValue;
  set(v: ParamValue): void;
  /** The value as text (URL fragment). */
  text(): string;
  setText(t: string): void;
  /** Elements whose input/change events re-run the notebook. */
  inputs: HTMLElement[];
}

function makeControl(p: NotebookParam, spec: Spec, unit: string | undefined, row: HTMLElement): Control {
  const id = `live-${p.name}`;
  const name = esc(p.name);
  const label = `<label for="${id}">${name}</label>`;
  const hint = `<span class="hint">${esc(p.comment)}</span>`;
  const err = `<span class="error" role="alert" hidden></span>`;
  const unitHtml = unit ? `<span class="unit">${esc(unit)}</span>` : "";
  switch (spec.type) {
    case "select": {
      row.innerHTML = `${label}<span class="ctl"><select id="${id}" name="${name}">${spec.options.map((o) => `<option>${esc(o)}</option>`).join("")}</select></span>${hint}${err}`;
      const sel = row.querySelector("select")!;
      const c: Control = {
        p, el: sel, error: row.querySelector<HTMLElement>(".error")!, inputs: [sel],
        get: () => {
          if (!spec.options.includes(sel.value)) throw new Error(`not one of the choices: ${JSON.stringify(sel.value)}`);
          return sel.value;
        },
        set: (v) => {
          if (typeof v === "string" && !spec.options.includes(v)) sel.insertAdjacentHTML("beforeend", `<option>${esc(v)}</option>`);
          sel.value = String(v);
        },
        text: () => sel.value,
        setText: (t) => c.set(t),
      };
      return c;
    }
    case "checkbox": {
      row.innerHTML = `${label}<span class="ctl"><input type="checkbox" id="${id}" name="${name}"></span>${hint}${err}`;
      const box = row.querySelector("input")!;
      return {
        p, el: box, error: row.querySelector<HTMLElement>(".error")!, inputs: [box],
        get: () => box.checked, set: (v) => (box.checked = v === true), text: () => String(box.checked), setText: (t) => (box.checked = t.trim() === "true"),
      };
    }
    case "checks": {
      row.innerHTML = `<label for="${id}">${name}</label><span class="ctl checks" id="${id}" role="group" aria-label="${name}">${spec.fields.map((f) => `<label class="check"><input type="checkbox" id="${id}-${esc(f)}" data-field="${esc(f)}"> ${esc(f)}</label>`).join("")}</span>${hint}${err}`;
      const boxes = Array.from(row.querySelectorAll<HTMLInputElement>("input[type=checkbox]"));
      return {
        p, el: row.querySelector<HTMLElement>(`#${id}`)!, error: row.querySelector<HTMLElement>(".error")!, inputs: boxes,
        get: () => Object.fromEntries(boxes.map((b) => [b.dataset["field"]!, b.checked])),
        set: (v) => boxes.forEach((b) => (b.checked = (v as Record<string, ParamValue>)[b.dataset["field"]!] === true)),
        text: () => boxes.filter((b) => b.checked).map((b) => b.dataset["field"]).join(","),
        setText: (t) => {
          const on = t.split(",").map((x) => x.trim());
          boxes.forEach((b) => (b.checked = on.includes(b.dataset["field"]!)));
        },
      };
    }
    case "picks": {
      // a list of values from a fixed set (platform profiles, an enum): one checkbox per value; the list keeps the
      // order of the values already in it (the notebook's first) and appends a newly checked one at its end
      row.innerHTML = `<label for="${id}">${name}</label><span class="ctl checks" id="${id}" role="group" aria-label="${name}">${spec.options.map((o) => `<label class="check"><input type="checkbox" id="${id}-${esc(o)}" data-field="${esc(o)}"> ${esc(o)}</label>`).join("")}</span>${hint}${err}`;
      const boxes = Array.from(row.querySelectorAll<HTMLInputElement>("input[type=checkbox]"));
      let order: string[] = [];
      const sync = () => {
        const on = boxes.filter((b) => b.checked).map((b) => b.dataset["field"]!);
        order = order.filter((x) => on.includes(x)).concat(on.filter((x) => !order.includes(x)));
      };
      boxes.forEach((b) => b.addEventListener("change", sync));
      const c: Control = {
        p, el: row.querySelector<HTMLElement>(`#${id}`)!, error: row.querySelector<HTMLElement>(".error")!, inputs: boxes,
        get: () => {
          sync();
          return [...order];
        },
        set: (v) => {
          order = (Array.isArray(v) ? v : []).map(String).filter((x) => spec.options.includes(x));
          boxes.forEach((b) => (b.checked = order.includes(b.dataset["field"]!)));
        },
        text: () => order.join(","),
        setText: (t) => c.set(t.split(",").map((x) => x.trim()).filter(Boolean)),
      };
      return c;
    }
    case "releases": {
      // a list of releases: one line per major release ("v5." then 0, 1, ... 19, a minor release in the same column on
      // every line), a checkbox per release; the list is kept oldest first, the order of the per-release tables and
      // charts (unlike "picks", which keeps the order values were checked in)
      const majors = [...new Set(spec.options.map((o) => o.replace(/\.\d+$/, ".")))];
      const lines = majors.map((mj) => `<span class="rel-line"><span class="major">${esc(mj)}</span>${spec.options.filter((o) => o.startsWith(mj)).map((o) => `<label class="check rel" title="${esc(o)}" style="grid-column:${Number(o.slice(mj.length)) + 2}"><input type="checkbox" id="${id}-${esc(o)}" data-field="${esc(o)}" aria-label="${esc(o)}">${esc(o.slice(mj.length))}</label>`).join("")}</span>`);
      row.innerHTML = `<label for="${id}">${name}</label><span class="ctl wide releases" id="${id}" role="group" aria-label="${name}">${lines.join("")}</span>${hint.replace('class="hint"', 'class="hint below"')}${err}`;
      const boxes = Array.from(row.querySelectorAll<HTMLInputElement>("input[type=checkbox]"));
      // names no box stands for (a URL fragment's "v3.10") stay in the value until a box is changed, so the model
      // reports them at the control instead of their being dropped unseen
      let others: string[] = [];
      boxes.forEach((b) => b.addEventListener("change", () => (others = [])));
      const c: Control = {
        p, el: row.querySelector<HTMLElement>(`#${id}`)!, error: row.querySelector<HTMLElement>(".error")!, inputs: boxes,
        get: () => boxes.filter((b) => b.checked).map((b) => b.dataset["field"]!).concat(others),
        set: (v) => {
          const on = (Array.isArray(v) ? v : []).map(String);
          others = on.filter((x) => !spec.options.includes(x));
          boxes.forEach((b) => (b.checked = on.includes(b.dataset["field"]!)));
        },
        text: () => (c.get() as string[]).join(","),
        setText: (t) => c.set(t.split(",").map((x) => x.trim()).filter(Boolean)),
      };
      return c;
    }
    case "number": {
      // masks and limits the notebook writes in hex (0xffff) are typed as text: a number input takes decimals only
      const asText = spec.nullable || /0x/i.test(p.source + p.comment);
      const range = `${spec.min !== null ? ` min="${spec.min}"` : ""}${spec.max !== null ? ` max="${spec.max}"` : ""} step="${spec.int ? 1 : "any"}"`;
      const slider = spec.slider ? `<input type="range" aria-label="${name} (slider)"${range.replace('step="any"', 'step="0.05"')}>` : "";
      const size = unit === "bytes" ? `<span class="size"></span>` : "";
      row.innerHTML = `${label}<span class="ctl">${asText ? `<input type="text" inputmode="numeric" class="num" id="${id}" name="${name}" spellcheck="false"${spec.nullable ? ' placeholder="null"' : ""}>` : `<input type="number" id="${id}" name="${name}"${range}${spec.slider ? ' class="narrow"' : ""}>`}${slider}${unitHtml}${size}</span>${hint}${err}`;
      const input = row.querySelector<HTMLInputElement>(`#${id}`)!;
      const sl = row.querySelector<HTMLInputElement>("input[type=range]");
      const sizeEl = row.querySelector<HTMLElement>(".size");
      const showSize = () => {
        if (!sizeEl) return;
        const v = Number(input.value);
        sizeEl.textContent = input.value !== "" && Number.isInteger(v) && v >= 1024 ? `= ${bytesText(v)}` : "";
      };
      input.addEventListener("input", () => {
        if (sl) sl.value = input.value;
        showSize();
      });
      sl?.addEventListener("input", () => {
        input.value = sl.value;
        showSize();
      });
      const c: Control = {
        p, el: input, error: row.querySelector<HTMLElement>(".error")!, inputs: sl ? [input, sl] : [input],
        get: () => {
          // a number input whose text is not a number reports "" (badInput)
          if (input.validity.badInput) throw new Error("not a number");
          if (input.value.trim() === "") {
            if (spec.nullable) return null;
            throw new Error("a number is needed");
          }
          return parseNumber(input.value);
        },
        set: (v) => {
          input.value = v === null ? "" : v === p.value && asText ? p.source.replace(/^null$/, "") : String(v);
          if (sl) sl.value = input.value;
          showSize();
        },
        text: () => (input.value.trim() === "" ? "null" : input.value.trim()),
        setText: (t) => c.set(t.trim() === "null" || t.trim() === "" ? null : parseNumber(t)),
      };
      return c;
    }
    case "list":
    case "json": {
      // a list takes the width of the form, its hint goes below it
      row.innerHTML = `${label}<span class="ctl wide"><input type="text" id="${id}" name="${name}" spellcheck="false">${unitHtml}</span>${hint.replace('class="hint"', 'class="hint below"')}${err}`;
      const input = row.querySelector<HTMLInputElement>("input")!;
      const numbers = spec.type === "list" && spec.numbers;
      const c: Control = {
        p, el: input, error: row.querySelector<HTMLElement>(".error")!, inputs: [input],
        get: () => {
          const s = input.value.trim();
          if (spec.type === "json") return JSON.parse(s) as ParamValue;
          const parts = s === "" ? [] : s.split(numbers ? /[\s,]+/ : ",").map((x) => x.trim()).filter(Boolean);
          return numbers ? parts.map(parseNumber) : parts;
        },
        set: (v) => (input.value = spec.type === "json" ? JSON.stringify(v) : (v as ParamValue[]).join(", ")),
        text: () => input.value.trim(),
        setText: (t) => (input.value = t),
      };
      return c;
    }
  }
}

/** A byte count in binary units for the reader ("4 MiB", "1.5 KiB"), shown beside a bytes control. */
function bytesText(v: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let x = v / 1024;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${Number.isInteger(x) ? x : x.toFixed(2).replace(/0+$/, "")} ${units[i]}`;
}

const VEGA_OPTS = { mode: "vega-lite", renderer: "svg", actions: false } as const;

/** Draw a chart spec into `el` (the specs name vega-lite v5's schema for Jupyter's renderers; vega-embed would warn about it on every run). */
function draw(el: HTMLElement, spec: Extract<LiveOutput, { kind: "chart" }>["spec"]) {
  const { $schema: _schema, ...body } = spec;
  return embed(el, body as never, VEGA_OPTS as never);
}

/** Let the browser paint. */
const paint = () => new Promise<void>((r) => setTimeout(r, 0));

function start(cfg: LiveConfig, nb: LiveNotebook): void {
  const state: LiveState = { runs: 0, lastMs: 0, firstMs: 0, charts: [], errors: {}, ready: false, views: [], rerun: async () => {}, workers: 0 };
  (window as unknown as { __dmaLive: LiveState }).__dmaLive = state;
  const section = (i: number) => document.querySelector<HTMLElement>(`section.cell[data-cell="${i}"]`);
  const outputs = cfg.cells.map((i) => section(i)?.querySelector<HTMLElement>("div.outputs") ?? null);
  const paramsSection = section(cfg.paramsCell);
  if (!paramsSection || outputs.some((o) => !o)) return;
  const original = outputs.map((o) => o!.innerHTML);
  /** The exported elements of each output of each cell (inside the fold of a `details` cell). */
  const originalOutputs = outputs.map((o) => {
    const box = (o!.querySelector(":scope > details.fold") as HTMLElement | null) ?? o!;
    return Array.from(box.children).filter((e) => e.tagName !== "SUMMARY").map((e) => e.outerHTML);
  });

  const form = document.createElement("form");
  form.className = "live";
  form.setAttribute("aria-label", "parameters");
  form.innerHTML = `<div class="head"><strong>Parameters</strong> <span class="hint">change a value: the notebook re-runs in this page</span> <button type="button" class="reset">reset</button><span class="status" role="status"></span></div>`;
  const status = form.querySelector<HTMLElement>(".status")!;
  const shape = nb.schema.shape as Record<string, z.ZodTypeAny>;
  const choices = nb.choices ? nb.choices() : {};
  const controls: Control[] = cfg.params.map((p) => {
    const row = document.createElement("div");
    row.className = "row";
    form.appendChild(row);
    const c = makeControl(p, specOf(shape[p.name], p, choices), nb.units?.[p.name], row);
    c.set(p.value);
    return c;
  });
  paramsSection.appendChild(form);

  // the workers, started with the warm-up (or at the first task calls, if those come first)
  let pool: TaskPool | null = null;
  const tasks = (): TaskPool => {
    if (pool === null) {
      const cores = typeof navigator !== "undefined" && navigator.hardwareConcurrency > 0 ? navigator.hardwareConcurrency : 2;
      pool = createTaskPool(Math.min(4, cores));
      state.workers = pool.size;
    }
    return pool;
  };
  const setError = (c: Control, msg: string | null) => {
    c.error.hidden = msg === null;
    c.error.textContent = msg ?? "";
    c.el.classList.toggle("bad", msg !== null);
    if (msg === null) delete state.errors[c.p.name];
    else state.errors[c.p.name] = msg;
  };
  let views: Array<{ finalize(): void }> = [];
  const defaults: Record<string, ParamValue> = Object.fromEntries(cfg.params.map((p) => [p.name, p.value]));
  const defaultsKey = JSON.stringify(defaults);
  /** The parameters of the outputs on the page (the notebook's at first). */
  let shownKey = defaultsKey;
  let generation = 0;

  const writeHash = (vals: Record<string, ParamValue>) => {
    const changed = controls.filter((c) => JSON.stringify(vals[c.p.name]) !== JSON.stringify(c.p.value));
    const hash = changed.map((c) => `${encodeURIComponent(c.p.name)}=${encodeURIComponent(c.text())}`).join("&");
    try {
      history.replaceState(null, "", hash ? `#${hash}` : location.pathname + location.search);
    } catch {
      location.hash = hash;
    }
  };

  const run = async (full = false) => {
    const t0 = performance.now();
    const gen = ++generation;
    const vals: Record<string, ParamValue> = {};
    let bad = false;
    for (const c of controls) {
      try {
        vals[c.p.name] = c.get();
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
    if (key === shownKey && !full) {
      status.textContent = "";
      return;
    }
    /** True when every named parameter has the notebook's value (its exported outputs still hold). */
    const same = (names: readonly string[]) => !full && names.every((n) => JSON.stringify(vals[n]) === JSON.stringify(defaults[n]));
    const reject = (e: unknown) => {
      const err = e as Error & { field?: string };
      const name = err.name === "ModelConfigError" && typeof err.field === "string" ? nb.paramOf(err.field) : null;
      const c = controls.find((x) => x.p.name === name);
      if (c) setError(c, `${err.name}: ${err.message}`);
      status.textContent = c ? "not run: the model rejected a value (the outputs below are the last good ones)" : `${err.name}: ${err.message}`;
    };
    let it: Iterator<LiveStep>;
    let step: IteratorResult<LiveStep>;
    // task calls started ahead (prefetch steps) by key, for this run; a promise nobody awaits (a dropped run) is caught
    const started = new Map<string, Promise<unknown>>();
    const stale = () => gen !== generation;
    const prefetch = (st: LiveTasksStep) => {
      // without workers a call started ahead would run at once, before the cells it should overlap: wait for the tasks step
      if (st.kind === "prefetch" && tasks().size === 0) return;
      const todo = st.calls.filter((c) => !started.has(taskCallKey(c)));
      tasks()
        .start(todo, stale)
        .forEach((pr, i) => {
          pr.catch(() => undefined);
          started.set(taskCallKey(todo[i]!), pr);
        });
    };
    /** The results of a tasks step: the calls started ahead, the rest started now (all at once, heaviest first). */
    const results = (st: LiveTasksStep): Promise<unknown[]> => {
      prefetch(st);
      return Promise.all(st.calls.map((c) => started.get(taskCallKey(c))!));
    };
    try {
      it = nb.cells(vals, same)[Symbol.iterator]();
      step = it.next();
      // the first cell's progress steps (the parameters are checked when the cells start); prefetched task calls
      // start on the workers; task calls asked for before the first cell wait for the workers like any later ones
      // (below: an error they throw shows as a cell's would), or run here when there is no worker
      while (!step.done && (step.value === undefined || isTasksStep(step.value))) {
        const st: LiveStep = step.value;
        if (isTasksStep(st) && st.kind === "prefetch") {
          prefetch(st);
          step = it.next();
        } else if (isTasksStep(st) && tasks().size > 0) break;
        else step = it.next(isTasksStep(st) ? runTasksHere(st) : undefined);
      }
    } catch (e) {
      reject(e);
      return;
    }
    writeHash(vals);
    shownKey = key;
    for (const v of views) v.finalize();
    views = [];
    const charts: unknown[] = [];
    const pending: Array<Promise<{ view: { finalize(): void } }>> = [];
    outputs.forEach((o) => o!.classList.add("pending"));
    // the next step of the notebook's cells; false (error shown, outputs no longer greyed) when a cell threw
    const advance = (results?: unknown[]): boolean => {
      try {
        step = it.next(results);
        return true;
      } catch (e) {
        outputs.forEach((o) => o!.classList.remove("pending"));
        reject(e);
        return false;
      }
    };
    let j = 0;
    let lastPaint = performance.now();
    while (!step.done) {
      if (isTasksStep(step.value) && step.value.kind === "prefetch") {
        // calls a later step will ask for: start them on the workers, go on here
        prefetch(step.value);
        if (!advance()) return;
        continue;
      }
      if (isTasksStep(step.value)) {
        // task calls (a sweep's independent runs): on the workers, heaviest first; dropped when a newer change came in
        let got: unknown[];
        try {
          got = await results(step.value);
        } catch (e) {
          if (e instanceof StaleRun || gen !== generation) return;
          // the task's error goes back into the cell that asked, as if thrown there
          try {
            if (!it.throw) throw e;
            step = it.throw(e);
          } catch (e2) {
            outputs.forEach((o) => o!.classList.remove("pending"));
            reject(e2);
            return;
          }
          continue;
        }
        if (gen !== generation) return;
        lastPaint = performance.now();
        if (!advance(got)) return;
        continue;
      }
      if (step.value === undefined) {
        // a step inside a long cell: paint now and then, and give up when a newer change came in
        if (performance.now() - lastPaint > 50) {
          await paint();
          lastPaint = performance.now();
          if (gen !== generation) return;
        }
        if (!advance()) return;
        continue;
      }
      const outs = step.value;
      const box = outputs[j]!;
      if (outs === null) box.innerHTML = original[j]!;
      else {
        let html = outs.map((o, k) => (o === null ? (originalOutputs[j]![k] ?? "") : outputToHtml(o))).join("\n");
        if (cfg.foldCells.includes(cfg.cells[j]!) && html) html = `<details class="fold"><summary>Details (${outs.length} output${outs.length === 1 ? "" : "s"})</summary>${html}</details>`;
        box.innerHTML = html;
        const slots = box.querySelectorAll<HTMLElement>("div.vega-live");
        outs.filter((o): o is Extract<LiveOutput, { kind: "chart" }> => o !== null && o.kind === "chart").forEach((o, k) => {
          charts.push(o.spec);
          pending.push(draw(slots[k]!, o.spec));
        });
      }
      box.classList.remove("pending");
      if (j === 0) state.firstMs = performance.now() - t0;
      j++;
      // let the page show what is done before a long cell (always after the first one: the top of the page answers at once)
      if (j === 1 || performance.now() - lastPaint > 30) {
        status.textContent = `running… ${j} of ${outputs.length} cells`;
        await paint();
        lastPaint = performance.now();
        if (gen !== generation) return;
      }
      if (!advance()) return;
    }
    const drawn = await Promise.all(pending);
    if (gen !== generation) {
      for (const d of drawn) d.view.finalize();
      return;
    }
    views = drawn.map((d) => d.view);
    state.runs++;
    state.lastMs = performance.now() - t0;
    state.charts = charts;
    state.views = views;
    status.textContent = `re-run in ${state.lastMs.toFixed(0)} ms`;
  };

  state.rerun = () => run(true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => void run().catch((e) => (status.textContent = String(e))), ms);
  };
  for (const c of controls) {
    for (const el of c.inputs) {
      const typing = el instanceof HTMLInputElement && (el.type === "text" || el.type === "number");
      if (typing) el.addEventListener("input", () => schedule(600));
      el.addEventListener("change", () => schedule(0));
    }
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
      c.set(c.p.value);
      setError(c, null);
    }
    outputs.forEach((o, j) => {
      o!.innerHTML = original[j]!;
      o!.classList.remove("pending");
    });
    shownKey = defaultsKey;
    writeHash(defaults);
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
        try {
          c.setText(v);
          setError(c, null);
        } catch (e) {
          setError(c, (e as Error).message);
        }
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
  // vega's code paths): compute the notebook's first cell on its own values
  // (its task calls on the workers, if there are any, as a change would run
  // them) and draw a chart off-page.
  const warm = async () => {
    // the workers compile the task calls' code meanwhile (a failure shows when the reader changes a value)
    const warming = nb.warmTasks ? tasks().warm(nb.warmTasks(defaults)) : Promise.resolve();
    try {
      const it = nb.cells(defaults)[Symbol.iterator]();
      let first = it.next();
      while (!first.done && (first.value === undefined || isTasksStep(first.value))) {
        const st: LiveStep = first.value;
        first = isTasksStep(st) && st.kind === "tasks" && tasks().size > 0 ? it.next(await Promise.all(tasks().start(st.calls))) : it.next();
      }
      const spec = !first.done && !isTasksStep(first.value) ? first.value?.find((o): o is Extract<LiveOutput, { kind: "chart" }> => o !== null && o.kind === "chart") : undefined;
      if (spec) (await draw(document.createElement("div"), spec.spec)).finalize();
    } catch {
      // a failure shows when the reader changes a value
    }
    await warming;
    state.workers = pool === null ? 0 : pool.size;
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

// in a Web Worker (scripts/live/workers.ts) the page script runs task calls; in a page it builds the controls
if (typeof document === "undefined") serveTasks(LIVE_TASKS);
else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
