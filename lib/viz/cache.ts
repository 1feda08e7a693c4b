/**
 * Chart builders for the cache model (case 00): the state of each cache
 * line of a buffer after every step of a driver (what the CPU cache holds,
 * what memory holds, what the device would read), and the modelled cost of
 * each DMA API call per platform. Inputs are plain rows (structurally the
 * ones lib/scenarios/00-tour.ts returns), so this module depends only on
 * the spec type.
 */
import type { VlSpec } from "./types.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** One cell: a line's token in one view after one step. */
export interface LineCellInput {
  step: number;
  stepLabel: string;
  /** Line physical address, hex string. */
  line: string;
  view: string;
  token: string;
  /** init / cpu / dev / dirty / none. */
  who: string;
}

const WHO = {
  domain: ["init", "cpu", "dirty", "dev", "none"],
  range: ["#d9d9d9", "#9ecae9", "#f58518", "#54a24b", "#ffffff"],
};

/**
 * A grid per view (rows: CPU cache / memory / device view): x = step,
 * y = cache line (hex physical address), colour = who wrote the token
 * (dirty CPU lines in orange), text = the token. Hazard steps can be read
 * off where the CPU view disagrees with the device's write.
 * @param title chart title.
 */
export function lineStateChart(cells: ReadonlyArray<LineCellInput>, title: string): VlSpec {
  const lines = new Set(cells.map((c) => c.line)).size;
  const steps = new Set(cells.map((c) => c.step)).size;
  return {
    $schema: SCHEMA,
    title: { text: title, subtitle: "rows: cache lines (physical address); columns: steps; per view: the CPU's cached copy, memory, what the device would read" },
    data: { values: cells.map((c) => ({ ...c })) },
    facet: { row: { field: "view", type: "nominal", sort: ["CPU cache", "memory", "device view"], title: null, header: { labelAngle: 0, labelAlign: "left", labelFontWeight: "bold" } } },
    spec: {
      width: Math.max(360, steps * 46),
      height: Math.max(80, Math.min(lines, 64) * 14),
      layer: [
        {
          mark: { type: "rect", stroke: "#999", strokeWidth: 0.3 },
          encoding: {
            x: { field: "step", type: "ordinal", title: "step (see the step table)", axis: { labelAngle: 0 } },
            y: { field: "line", type: "ordinal", title: null, sort: "ascending" },
            color: { field: "who", type: "nominal", scale: WHO, title: "last writer", legend: { labelLimit: 260,  labelExpr: "datum.label == 'dirty' ? 'CPU, dirty (not in memory)' : datum.label == 'none' ? 'not cached' : datum.label == 'dev' ? 'device' : datum.label == 'cpu' ? 'CPU' : 'initial contents'" } },
            tooltip: [
              { field: "stepLabel", title: "step" },
              { field: "line", title: "line" },
              { field: "view", title: "view" },
              { field: "token", title: "token" },
            ],
          },
        },
        {
          mark: { type: "text", fontSize: 8 },
          encoding: {
            x: { field: "step", type: "ordinal" },
            y: { field: "line", type: "ordinal", sort: "ascending" },
            text: { field: "token" },
          },
        },
      ],
    },
    resolve: { scale: { y: "shared" } },
  };
}

/** One bar: the cost of one call on one platform. */
export interface CallCostInput {
  platform: string;
  call: string;
  ns: number;
  estimate: boolean;
}

/**
 * Grouped bars: x = call, one bar per platform, y = modelled cost in ns
 * (log scale, since the platforms differ by orders of magnitude); hatched
 * opacity marks figures that rest on estimated parameters.
 */
export function callCostChart(rows: ReadonlyArray<CallCostInput>, title: string): VlSpec {
  return {
    $schema: SCHEMA,
    title: { text: title, subtitle: "modelled from data/costs; lighter bars rest on estimated parameters" },
    data: { values: rows.map((r) => ({ ...r, nsPlot: Math.max(r.ns, 1), basis: r.estimate ? "estimate" : "measured" })) },
    width: 520,
    height: 260,
    mark: { type: "bar" },
    encoding: {
      x: { field: "call", type: "nominal", title: "call", sort: null, axis: { labelAngle: -30 } },
      xOffset: { field: "platform", type: "nominal" },
      y: { field: "nsPlot", type: "quantitative", title: "cost per call (ns, log scale)", scale: { type: "log", domainMin: 1 }, stack: null },
      y2: { datum: 1 },
      color: { field: "platform", type: "nominal", title: "platform", legend: { labelLimit: 260 } },
      opacity: { field: "basis", type: "ordinal", sort: ["measured", "estimate"], scale: { domain: ["measured", "estimate"], range: [1, 0.5] }, title: "basis" },
      tooltip: [
        { field: "platform" },
        { field: "call" },
        { field: "ns", title: "ns" },
        { field: "basis" },
      ],
    },
  };
}
