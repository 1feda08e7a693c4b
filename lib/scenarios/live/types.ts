/**
 * The shapes shared by the live modules (lib/scenarios/live/NN.ts): what a
 * notebook's code cells display, as plain data the HTML export's page script
 * (scripts/live/runtime.ts) renders, and the small helpers they share.
 */
import type { VlSpec } from "../../viz/types.js";

/** A table cell, as lib/viz/display.ts showTable takes it. */
export type LiveCell = string | number | boolean | null;

/** One output of a code cell, in the order the notebook displays them. */
export type LiveOutput =
  | { kind: "markdown"; md: string }
  | { kind: "table"; rows: Array<Record<string, LiveCell>>; caption: string }
  | { kind: "chart"; spec: VlSpec; summary: string };

/**
 * The outputs of one code cell. null (the whole cell, or one output) means
 * "as exported": the live page keeps the executed notebook's output, because
 * it depends only on parameters that still have the notebook's values (see
 * {@link SameAsNotebook}) or on none at all.
 */
export type LiveCellOutputs = Array<LiveOutput | null> | null;

/**
 * What a live module's cell generator yields: a cell's outputs, or
 * `undefined` between two steps of a long cell ("still working": the page
 * may paint, and drop the run when a newer change came in). The next
 * LiveCellOutputs is always the same cell's.
 */
export type LiveStep = LiveCellOutputs | undefined;

/**
 * Asked by a live module before it computes an output: true when every
 * named parameter still has the notebook's value, so the executed output
 * can stay. Without it (Node, tests) everything is computed.
 */
export type SameAsNotebook = (names: readonly string[]) => boolean;

/**
 * What a notebook computes from its parameters.
 * - `cells`: the outputs of each code cell after the parameters cell, one
 *   array per code cell, in notebook order (a cell without output has [];
 *   null: the cell does not depend on the parameters, the page keeps the
 *   executed notebook's outputs);
 * - `charts`: every chart's vega-lite spec, in order;
 * - `texts`: every markdown output, in order.
 */
export interface LiveResult {
  cells: LiveCellOutputs[];
  charts: VlSpec[];
  texts: string[];
}

/** A markdown output (showMarkdown). */
export function md(text: string): LiveOutput {
  return { kind: "markdown", md: text };
}

/** A table output (showTable). */
export function table(rows: Array<Record<string, LiveCell>>, caption: string): LiveOutput {
  return { kind: "table", rows: rows, caption: caption };
}

/** A chart output (showChart). */
export function chart(spec: VlSpec, summary: string): LiveOutput {
  return { kind: "chart", spec: spec, summary: summary };
}

/** A LiveResult from the outputs of each code cell, in order (the `undefined` progress steps of a generator are dropped). */
export function liveResult(steps: Iterable<LiveStep>): LiveResult {
  const cells: LiveCellOutputs[] = [];
  for (const c of steps) if (c !== undefined) cells.push(c);
  const all = cells.flatMap((c) => c ?? []);
  return {
    cells: cells,
    charts: all.flatMap((o) => (o && o.kind === "chart" ? [o.spec] : [])),
    texts: all.flatMap((o) => (o && o.kind === "markdown" ? [o.md] : [])),
  };
}

/**
 * A memo of the last `size` results of `fn`, keyed by the JSON of its
 * argument: a live page re-runs a cell only when the parameters it reads
 * changed (the model is deterministic, so a cached result is the result).
 * The returned function throws what `fn` throws (nothing is cached then).
 */
export function memoLast<A, R>(fn: (a: A) => R, size = 4): (a: A) => R {
  const keys: string[] = [];
  const vals: R[] = [];
  return (a: A) => {
    const k = JSON.stringify(a);
    const i = keys.indexOf(k);
    if (i >= 0) return vals[i]!;
    const v = fn(a);
    keys.push(k);
    vals.push(v);
    if (keys.length > size) {
      keys.shift();
      vals.shift();
    }
    return v;
  };
}

/**
 * The notebook parameter a ModelConfigError's field names: its first path
 * element, mapped through `aliases` (scenario names to the notebook's),
 * else itself when it is one of `params`, else null.
 */
export function paramOfField(field: string, params: readonly string[], aliases: Record<string, string> = {}): string | null {
  const head = field.split(".")[0]!;
  if (head in aliases) return aliases[head]!;
  return params.includes(head) ? head : null;
}
