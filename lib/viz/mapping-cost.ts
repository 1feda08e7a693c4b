/**
 * Charts of case 06 (what a DMA mapping costs): cost per operation stacked
 * by component, IOVA space over time, and the dma_map_benchmark
 * reproduction against its calibration figures. Inputs are plain rows, so
 * this module needs nothing from the scenario layer above it.
 */
import type { VlSpec } from "./types.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** The stacking order and colours of the cost components (lib/cost/dma-op.ts DMA_COST_COMPONENTS). */
const COMPONENT_COLOURS: ReadonlyArray<[string, string]> = [
  ["map call", "#9e9e9e"],
  ["iommu-dma path", "#bab0ac"],
  ["cache maintenance", "#f58518"],
  ["bounce copy", "#e45756"],
  ["IOVA alloc (rcache)", "#a0cbe8"],
  ["IOVA alloc (rbtree)", "#4c78a8"],
  ["IOVA free (rcache)", "#b7e3b0"],
  ["IOVA free (rbtree)", "#54a24b"],
  ["PTE writes", "#eeca3b"],
  ["IOTLB invalidation", "#b279a2"],
  ["FQ flush", "#ff9da6"],
];

/** One segment of a stacked cost bar: a bar label, a facet group, a component and ns. */
export interface CostBarRow {
  run: string;
  group: string;
  component: string;
  ns: number;
}

/**
 * Stacked horizontal bars of cost per operation (ns, log-free linear
 * scale), one bar per backend, one row of bars per group (platform,
 * release or workload), stacked by component in a fixed order and colour.
 * Sized to fit a 1024 px page (640 px wide plots).
 */
export function costBreakdownChartSpec(rows: readonly CostBarRow[], title: string, unit: "ns" | "µs" = "ns"): VlSpec {
  const k = unit === "µs" ? 1000 : 1;
  const order = new Map(COMPONENT_COLOURS.map(([c], i) => [c, i]));
  const values = rows.map((r) => ({ ...r, value: r.ns / k, order: order.get(r.component) ?? 99 }));
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: "start" },
    data: { values },
    facet: { row: { field: "group", type: "nominal", title: null, header: { labelAngle: 0, labelAlign: "left", labelFontWeight: "bold" } } },
    spec: {
      width: 520,
      height: { step: 18 },
      mark: { type: "bar", tooltip: true },
      encoding: {
        y: { field: "run", type: "nominal", title: null, sort: null },
        x: { field: "value", type: "quantitative", title: `CPU cost per operation (${unit}, map + unmap)`, stack: "zero" },
        color: {
          field: "component",
          type: "nominal",
          title: "component",
          scale: { domain: COMPONENT_COLOURS.map(([c]) => c), range: COMPONENT_COLOURS.map(([, col]) => col) },
          legend: { orient: "bottom", columns: 3 },
        },
        order: { field: "order", type: "quantitative" },
      },
    },
    resolve: { scale: { x: "independent" } },
  };
}

/** One IOVA sample of a run: the run's label, the time (ms), and a measure. */
export interface IovaSampleRow {
  run: string;
  timeMs: number;
  measure: string;
  pages: number;
}

/**
 * IOVA space over time, one small panel per run (3 per row, 200 x 130 px
 * each, in the order of the rows' runs): allocated IOVA pages (solid) and
 * pages of live mappings (dashed) against simulated time (ms), one legend
 * for colour and dash.
 */
export function iovaOverTimeChartSpec(rows: readonly IovaSampleRow[], title: string): VlSpec {
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: "start" },
    data: { values: rows },
    // panels in the rows' order (a wrapped facet ignores sort: null and sorts by name)
    facet: { field: "run", type: "nominal", title: null, sort: rows.map((r) => r.run).filter((r, i, all) => all.indexOf(r) === i), header: { labelFontWeight: "bold" } },
    columns: 3,
    spec: {
      width: 200,
      height: 130,
      mark: { type: "line", tooltip: true },
      encoding: {
        x: { field: "timeMs", type: "quantitative", title: "simulated time (ms)" },
        y: { field: "pages", type: "quantitative", title: "IOVA pages" },
        color: { field: "measure", type: "nominal", title: null, scale: { domain: ["allocated IOVA", "mapped buffers"], range: ["#4c78a8", "#f58518"] }, legend: { orient: "bottom" } },
        strokeDash: { field: "measure", type: "nominal", title: null, scale: { domain: ["allocated IOVA", "mapped buffers"], range: [[1, 0], [4, 3]] }, legend: { orient: "bottom" } },
      },
    },
    // an x axis under each panel (shared scale): the empty cell of the last row gets none
    resolve: { axis: { x: "independent" } },
  };
}

/** One bar of the IOTLB chart: a run (platform and backend), hits or misses, lookups per completed buffer. */
export interface IotlbBarRow {
  platform: string;
  backend: string;
  outcome: "miss" | "hit";
  perBuffer: number;
}

/**
 * IOTLB lookups of the device's accesses per completed buffer, one bar per
 * backend through an IOMMU, stacked misses then hits, one row of bars per
 * platform (linear scale, 420 px wide plots).
 */
export function iotlbMissChartSpec(rows: readonly IotlbBarRow[], title: string): VlSpec {
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: "start" },
    data: { values: rows },
    facet: { row: { field: "platform", type: "nominal", title: null, header: { labelAngle: 0, labelAlign: "left", labelFontWeight: "bold" } } },
    spec: {
      width: 420,
      height: { step: 20 },
      mark: { type: "bar", tooltip: true },
      encoding: {
        y: { field: "backend", type: "nominal", title: null },
        x: { field: "perBuffer", type: "quantitative", title: "IOTLB lookups per buffer" },
        color: { field: "outcome", type: "nominal", title: null, scale: { domain: ["miss", "hit"], range: ["#e45756", "#54a24b"] }, legend: { orient: "bottom" } },
        order: { field: "outcome", sort: "descending" },
      },
    },
    resolve: { scale: { y: "independent" } },
  };
}

/** One row of the benchmark comparison: a label, who produced it (model or a measurement), map or unmap, µs and its standard deviation. */
export interface BenchmarkRow {
  case: string;
  source: string;
  op: "map" | "unmap";
  us: number;
  sdUs: number;
}

/**
 * dma_map_benchmark: the model's averages next to the published ones, as
 * grouped bars on a log scale (0.05 .. 100 µs; one group per case, one bar
 * per source, each labelled with its value, "± sd" where there is one);
 * map and unmap in two panels side by side, 2 x 260 px.
 */
export function mapBenchmarkChartSpec(rows: readonly BenchmarkRow[], title: string): VlSpec {
  const values = rows.map((r) => ({ ...r, bar: Math.max(r.us, 0.05), label: r.sdUs > 0 ? `${r.us} ± ${r.sdUs}` : `${r.us}` }));
  const y = { field: "case", type: "nominal", title: null, sort: null };
  const yOffset = { field: "source", type: "nominal" };
  const x = { field: "bar", type: "quantitative", title: "latency (µs, log)", scale: { type: "log", domain: [0.05, 100] } };
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: "start" },
    data: { values },
    facet: { column: { field: "op", type: "nominal", title: null, header: { labelFontWeight: "bold", labelFontSize: 12 } } },
    spec: {
      width: 260,
      height: { step: 18 },
      layer: [
        { mark: { type: "bar", tooltip: true }, encoding: { y, yOffset, x, x2: { datum: 0.05 }, color: { field: "source", type: "nominal", title: "source", legend: { orient: "bottom" } } } },
        { mark: { type: "text", align: "left", dx: 3, fontSize: 10 }, encoding: { y, yOffset, x, text: { field: "label" } } },
      ],
    },
  };
}
