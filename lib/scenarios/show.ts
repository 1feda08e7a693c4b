/**
 * Showing a notebook cell's outputs built by lib/scenarios (the shared
 * builders of lib/scenarios/live/NN.ts): the notebook displays exactly what
 * the live HTML page renders, from the same function.
 */
import { showChart, showMarkdown, showTable } from "../viz/display.js";
import type { LiveOutput } from "./live/types.js";

/**
 * Display outputs in order: markdown with showMarkdown, tables with
 * showTable, charts with showChart (awaited, so the order is kept). A null
 * output (the live page's "as exported") is skipped.
 * @throws Error for an invalid chart spec (vega-lite's message), after the outputs before it were shown.
 */
export async function showOutputs(outputs: ReadonlyArray<LiveOutput | null>): Promise<void> {
  for (const o of outputs) {
    if (o === null) continue;
    if (o.kind === "markdown") showMarkdown(o.md);
    else if (o.kind === "table") showTable(o.rows, o.caption);
    else await showChart(o.spec, o.summary);
  }
}
