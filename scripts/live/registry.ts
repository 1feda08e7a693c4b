/**
 * The notebooks whose HTML page runs the model in the browser, keyed by the
 * number that starts their file name ("01" for 01-iommu-dma-map-sg-gaps.ipynb).
 * Shared by the export (which wires the page) and the page script (which
 * runs the notebook). No Node imports: this is bundled for the browser.
 * A notebook without an entry here is exported as a static page.
 */
import type { z } from "zod";
import { liveResult, type LiveResult, type LiveStep, type LiveTask, type LiveTaskCall, type SameAsNotebook } from "../../lib/scenarios/live/types.js";
import { NOTEBOOK00_PARAMS, NOTEBOOK00_UNITS, notebook00Cells, notebook00Choices, notebook00ParamOf, type Notebook00Params } from "../../lib/scenarios/live/00.js";
import { NOTEBOOK01_PARAMS, NOTEBOOK01_UNITS, notebook01Live, notebook01ParamOf, type Notebook01Params } from "../../lib/scenarios/live/01.js";
import { NOTEBOOK02_PARAMS, notebook02Cells, notebook02ParamOf, type Notebook02Params } from "../../lib/scenarios/live/02.js";
import { NOTEBOOK03_PARAMS, NOTEBOOK03_UNITS, notebook03Cells, notebook03ParamOf, type Notebook03Params } from "../../lib/scenarios/live/03.js";
import { CASE04_SINGLE_RUN, CASE04_SWEEP_RUN, NOTEBOOK04_PARAMS, case04WarmCalls, NOTEBOOK04_UNITS, notebook04Cells, notebook04ParamOf, type Notebook04Params } from "../../lib/scenarios/live/04.js";
import { NOTEBOOK06_PARAMS, NOTEBOOK06_UNITS, notebook06Cells, notebook06ParamOf, type Notebook06Params } from "../../lib/scenarios/live/06.js";

export type { LiveResult };

/** A live notebook: its computation, its parameter schema, and how its errors map to parameters. */
export interface LiveNotebook {
  /**
   * The outputs of the notebook's code cells after the parameters cell, one
   * cell at a time, on its parameters by name as in its parameters cell.
   * With `same`, a cell or output whose parameters still have the
   * notebook's values may be null (kept as exported). An `undefined` step
   * inside a long cell lets the page paint (LiveStep).
   * @throws ModelConfigError for a bad parameter, before the first cell.
   */
  cells(params: Record<string, unknown>, same?: SameAsNotebook): Iterable<LiveStep>;
  /** The parameter a ModelConfigError's field concerns, or null. */
  paramOf(field: string): string | null;
  /** The notebook's parameter schema (zod object): the page derives each control from its field (enum: select, boolean: checkbox, number: number input). */
  schema: z.ZodObject<z.ZodRawShape>;
  /** Units of number parameters, shown after their controls. */
  units?: Record<string, string>;
  /** Choices of string parameters that are not zod enums (e.g. platform ids). */
  choices?: () => Record<string, string[]>;
  /** Task calls the page runs in each of its workers once it is idle after loading, so the first change finds their code compiled (LiveTask; a few hundred ms of work per worker at most). @param defaults the notebook's parameter values. */
  warmTasks?: (defaults: Record<string, unknown>) => LiveTaskCall[];
}

/** Live notebooks by key. */
export const LIVE_NOTEBOOKS: Record<string, LiveNotebook> = {
  "00": { cells: (p, same) => notebook00Cells(p as Notebook00Params, same), paramOf: notebook00ParamOf, schema: NOTEBOOK00_PARAMS, units: NOTEBOOK00_UNITS, choices: notebook00Choices },
  "01": { cells: (p) => notebook01Live(p as Notebook01Params).cells, paramOf: notebook01ParamOf, schema: NOTEBOOK01_PARAMS, units: NOTEBOOK01_UNITS },
  "02": { cells: (p) => notebook02Cells(p as Notebook02Params), paramOf: notebook02ParamOf, schema: NOTEBOOK02_PARAMS },
  "03": { cells: (p) => notebook03Cells(p as Notebook03Params), paramOf: notebook03ParamOf, schema: NOTEBOOK03_PARAMS, units: NOTEBOOK03_UNITS },
  "04": {
    cells: (p, same) => notebook04Cells(p as Notebook04Params, same),
    paramOf: notebook04ParamOf,
    schema: NOTEBOOK04_PARAMS,
    units: NOTEBOOK04_UNITS,
    warmTasks: (d) => case04WarmCalls(d as Notebook04Params),
  },
  "06": { cells: (p, same) => notebook06Cells(p as Notebook06Params, same), paramOf: notebook06ParamOf, schema: NOTEBOOK06_PARAMS, units: NOTEBOOK06_UNITS },
};

/**
 * The tasks the live modules hand to the page (LiveTask), by name: a worker
 * (scripts/live/workers.ts) runs a task call by looking its name up here.
 */
export const LIVE_TASKS: Record<string, LiveTask<never, unknown>> = tasksByName([CASE04_SINGLE_RUN, CASE04_SWEEP_RUN]);

function tasksByName(tasks: ReadonlyArray<LiveTask<never, unknown>>): Record<string, LiveTask<never, unknown>> {
  const out: Record<string, LiveTask<never, unknown>> = {};
  for (const t of tasks) {
    if (t.name in out) throw new Error(`two live tasks named ${t.name}`);
    out[t.name] = t;
  }
  return out;
}

/** Run a live notebook to the end (all cells at once). */
export function runLive(nb: LiveNotebook, params: Record<string, unknown>): LiveResult {
  return liveResult(nb.cells(params));
}

/** The key of a notebook file ("01-x.ipynb" -> "01") when it is live, else null. */
export function liveKey(file: string): string | null {
  const m = /^(\d+)-/.exec(file.replace(/^.*[\\/]/, ""));
  return m && LIVE_NOTEBOOKS[m[1]!] ? m[1]! : null;
}
