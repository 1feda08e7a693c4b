/**
 * Chart builders for the cache model (case 00): the state of each cache
 * line of a buffer after every step of a driver (what the CPU cache holds,
 * what memory holds, what the device would read), and the modelled cost of
 * each DMA API call per platform. Inputs are plain rows (structurally the
 * ones lib/scenarios/00-tour.ts returns), so this module depends only on
 * the spec type.
 */
import type { VlSpec } from "./types.js";
import { wrapText } from "./text.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** One cell: a line's token in one view after one step. */
export interface LineCellInput {
  step: number;
  stepLabel: string;
  /** Line physical address, hex string. */
  line: string;
  /** "CPU cache" or "memory"; "device view" cells are accepted and left out of the chart (on these boards it repeats memory). */
  view: string;
  token: string;
  /** init / cpu / dev / dirty / none. */
  who: string;
}

/** A hazard the cache model found: the step it happened in, the line (hex physical address, as in the cells) and its kind. */
export interface LineHazardInput {
  step: number;
  line: string;
  /** "stale_read", "lost_write", "device_stale_read", ... (lib/cache/model.ts HazardKind). */
  kind: string;
}

/**
 * Colour classes of the line-state chart: who wrote the token a view holds,
 * plus "stale" for a clean CPU copy that no longer equals memory (the device
 * wrote memory after the line was filled: a read now returns old data).
 */
export const LINE_WHO = {
  domain: ["init", "cpu", "dirty", "dev", "stale", "none"],
  range: ["#d9d9d9", "#9ecae9", "#f58518", "#54a24b", "#e377c2", "#ffffff"],
  labels: ["initial contents", "CPU (clean)", "CPU, dirty (not in memory)", "device", "stale copy (older than memory)", "not cached"],
};

/** The chart's rows: one per cell of the CPU cache and memory views, with the stale and hazard marks. */
export interface LineChartRow extends LineCellInput {
  /** The hazard kind when the model reported one on this line at this step, else "". */
  hazard: string;
}

/**
 * The rows {@link lineStateChart} draws: the "device view" cells dropped, a
 * clean CPU copy whose token differs from memory's at the same step marked
 * `who: "stale"` (memory only changes under a clean line by a device write,
 * so the copy is older than the device's data), and each hazard attached to
 * the CPU cache cell of its step and line.
 */
export function lineChartRows(cells: ReadonlyArray<LineCellInput>, hazards: ReadonlyArray<LineHazardInput> = []): LineChartRow[] {
  const mem = new Map<string, string>();
  for (const c of cells) if (c.view === "memory") mem.set(`${c.step}|${c.line}`, c.token);
  const hz = new Map<string, string>();
  for (const h of hazards) {
    const k = `${h.step}|${h.line}`;
    hz.set(k, hz.has(k) ? `${hz.get(k)}, ${h.kind}` : h.kind);
  }
  const out: LineChartRow[] = [];
  for (const c of cells) {
    if (c.view === "device view") continue;
    const k = `${c.step}|${c.line}`;
    const cpu = c.view === "CPU cache";
    const stale = cpu && c.who !== "none" && c.who !== "dirty" && mem.has(k) && mem.get(k) !== c.token;
    out.push({ ...c, who: stale ? "stale" : c.who, hazard: cpu ? hz.get(k) ?? "" : "" });
  }
  return out;
}

/** Outline colour of each hazard kind: stale_read dark red, lost_write black, device_read_stale dark purple; a cell with two kinds ("lost_write, stale_read") dark orange. */
export const HAZARD_STROKES: Record<string, string> = { stale_read: "#7f0000", lost_write: "#000000", device_read_stale: "#3f007d" };

function hazardStroke(kind: string): string {
  return HAZARD_STROKES[kind] ?? "#b35806";
}

/** The step axis: one column per step, labelled with the step's own text ("3. device writes packet, burst 2"), read upwards. */
const STEP_X = { field: "stepLabel", type: "ordinal", sort: { field: "step", op: "min" }, title: null, axis: { labelAngle: -90, labelLimit: 310 } };
const STEP_X_PLAIN = { field: "stepLabel", type: "ordinal", sort: { field: "step", op: "min" } };

/**
 * Two grids, the CPU cache above memory: x = step (labelled with its text), y = cache line (hex
 * physical address), colour = who wrote the token the view holds (dirty CPU
 * lines orange, stale CPU copies pink), text = the token; a thick outline (one
 * colour per hazard kind, {@link HAZARD_STROKES}) on the CPU cell where the model reported a hazard (legend
 * "hazard"). The device view is not drawn: it equals memory except for a
 * coherent device snooping a dirty line.
 * Width: 46 px per step (at most 14 steps fit the 992 px column with the
 * axis and headers); height 14 px per line (at most 64 lines).
 * @param title chart title.
 * @param hazards hazards to outline (step, line, kind); default none.
 */
export function lineStateChart(cells: ReadonlyArray<LineCellInput>, title: string, hazards: ReadonlyArray<LineHazardInput> = []): VlSpec {
  const rows = lineChartRows(cells, hazards);
  const lines = new Set(rows.map((c) => c.line)).size;
  const steps = new Set(rows.map((c) => c.step)).size;
  const kinds = [...new Set(rows.map((r) => r.hazard).filter((h) => h !== ""))];
  const labelExpr = LINE_WHO.domain.map((d, i) => `datum.label == '${d}' ? '${LINE_WHO.labels[i]}' : `).join("") + "datum.label";
  const layers: unknown[] = [
    {
      mark: { type: "rect", stroke: "#999", strokeWidth: 0.3 },
      encoding: {
        x: STEP_X,
        y: { field: "line", type: "ordinal", title: null, sort: "ascending" },
        color: { field: "who", type: "nominal", scale: { domain: LINE_WHO.domain, range: LINE_WHO.range }, title: "the line holds", legend: { labelLimit: 260, labelExpr, columns: 2, symbolStrokeColor: "#999" } },
        tooltip: [
          { field: "stepLabel", title: "step" },
          { field: "line", title: "line" },
          { field: "view", title: "view" },
          { field: "token", title: "token" },
          { field: "hazard", title: "hazard" },
        ],
      },
    },
    {
      mark: { type: "text", fontSize: 8 },
      encoding: {
        x: STEP_X_PLAIN,
        y: { field: "line", type: "ordinal", sort: "ascending" },
        text: { field: "token" },
      },
    },
  ];
  if (kinds.length) {
    layers.push({
      transform: [{ filter: "datum.hazard != ''" }],
      mark: { type: "rect", fill: null, strokeWidth: 2.5 },
      encoding: {
        x: STEP_X_PLAIN,
        y: { field: "line", type: "ordinal", sort: "ascending" },
        stroke: { field: "hazard", type: "nominal", title: "hazard (model)", scale: { domain: kinds, range: kinds.map(hazardStroke) }, legend: { labelLimit: 260, symbolType: "square", symbolStrokeWidth: 2.5 } },
      },
    });
  }
  return {
    $schema: SCHEMA,
    title: { text: wrapText(title, 70), subtitle: ["rows: cache lines (physical address); columns: steps", "top: the CPU's cached copy; bottom: memory, what a non-coherent device reads"], anchor: "start" },
    data: { values: rows },
    facet: { row: { field: "view", type: "nominal", sort: ["CPU cache", "memory"], title: null, header: { labelAngle: 0, labelAlign: "left", labelFontWeight: "bold", labelOrient: "top" } } },
    spec: {
      width: Math.max(360, steps * 46),
      height: Math.max(60, Math.min(lines, 64) * 14),
      layer: layers,
    },
    resolve: { scale: { y: "shared" } },
    config: { legend: { orient: "bottom", direction: "vertical" } },
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
 * Grouped horizontal bars: y = call (full names, up to 260 px), one bar per
 * platform, x = modelled cost in ns (log scale, since the platforms differ
 * by orders of magnitude; a zero cost is drawn at 1 ns); lighter bars rest
 * on estimated parameters. Width 440 px plus labels: fits the 992 px column.
 */
export function callCostChart(rows: ReadonlyArray<CallCostInput>, title: string): VlSpec {
  return {
    $schema: SCHEMA,
    title: { text: wrapText(title, 70), subtitle: "modelled from data/costs; lighter bars rest on estimated parameters", anchor: "start" },
    data: { values: rows.map((r) => ({ ...r, nsPlot: Math.max(r.ns, 1), basis: r.estimate ? "estimate" : "measured" })) },
    width: 440,
    height: { step: 9 },
    mark: { type: "bar" },
    encoding: {
      y: { field: "call", type: "nominal", title: null, sort: null, axis: { labelLimit: 260 } },
      yOffset: { field: "platform", type: "nominal" },
      x: { field: "nsPlot", type: "quantitative", title: "cost per call (ns, log scale)", scale: { type: "log", domainMin: 1 }, stack: null },
      x2: { datum: 1 },
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

/** One cell of {@link tourOutcomeChart}. */
export interface OutcomeCellInput {
  variant: string;
  platform: string;
  outcome: string;
}

/** Outcome classes and their colours: green for a correct run, one colour per hazard kind. */
export const OUTCOME_COLOURS = {
  domain: ["correct", "stale_read", "lost_write", "device_read_stale", "stale_read, lost_write", "lost_write, stale_read", "wrong data"],
  range: ["#54a24b", "#e377c2", "#f58518", "#9467bd", "#d62728", "#d62728", "#7f7f7f"],
};

/**
 * The outcome grid of case 00: one row per driver variant, one column per
 * platform, each cell coloured and labelled with what went wrong
 * ("correct" or the hazard kinds the cache model reported). Row order as
 * given. The legend lists only the outcomes present; an outcome outside
 * {@link OUTCOME_COLOURS} is drawn red.
 */
export function tourOutcomeChart(rows: ReadonlyArray<OutcomeCellInput>, title: string): VlSpec {
  const variants = [...new Set(rows.map((r) => r.variant))];
  const platforms = [...new Set(rows.map((r) => r.platform))];
  // Only the outcomes present get a legend entry; each keeps its colour.
  const present = new Set(rows.map((r) => r.outcome));
  const keep = OUTCOME_COLOURS.domain.map((d, i) => ({ d, c: OUTCOME_COLOURS.range[i]! })).filter((x) => present.has(x.d));
  const extra = [...present].filter((o) => !OUTCOME_COLOURS.domain.includes(o)).map((d) => ({ d, c: "#d62728" }));
  const scale = { domain: [...keep, ...extra].map((x) => x.d), range: [...keep, ...extra].map((x) => x.c) };
  return {
    $schema: SCHEMA,
    title: { text: wrapText(title, 70), anchor: "start" },
    data: { values: rows.map((r) => ({ ...r })) },
    width: { step: 200 },
    height: { step: 28 },
    config: { legend: { orient: "bottom", columns: 3 } },
    encoding: {
      x: { field: "platform", type: "nominal", title: null, sort: platforms, axis: { labelAngle: 0, orient: "top", labelLimit: 200 } },
      y: { field: "variant", type: "nominal", title: null, sort: variants, axis: { labelLimit: 330 } },
    },
    layer: [
      {
        mark: { type: "rect", stroke: "#ffffff", strokeWidth: 2 },
        encoding: { color: { field: "outcome", type: "nominal", title: "outcome", scale: scale, legend: { labelLimit: 260 } } },
      },
      { mark: { type: "text", fontSize: 11, color: "#000000" }, encoding: { text: { field: "outcome" } } },
    ],
  };
}
