/**
 * Case 04 charts (vega-lite v5): the physical memory map with zones, the
 * device's DMA mask line and where a buffer's pages landed; the per-frame
 * cost of each strategy as the buffer grows; swiotlb slots in use against
 * the pool. Inputs are plain rows (lib/scenarios/04-dma32-vmalloc.ts builds
 * them); addresses are bytes, labelled in hex.
 */
import type { VlSpec } from "./types.js";
import { wrapText } from "./text.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** One bar of the zone map: [start, end) bytes on a lane. */
export interface ZoneMapBar {
  /** "zones", "RAM", "swiotlb", "buffer pages", ... */
  lane: string;
  start: number;
  end: number;
  /** Colour class: "ZONE_DMA", "ZONE_DMA32", "ZONE_NORMAL", "ZONE_HIGHMEM", "ram", "mmio", "swiotlb", "below mask", "above mask". */
  kind: string;
  label: string;
}

/** Input of {@link zoneMapChartSpec}. */
export interface ZoneMapInput {
  title: string;
  bars: ZoneMapBar[];
  /** The first address the device cannot reach (mask + 1), bytes; drawn as a vertical rule. */
  maskLine: number;
  maskLabel: string;
}

const KINDS = ["ZONE_DMA", "ZONE_DMA32", "ZONE_NORMAL", "ZONE_HIGHMEM", "ram", "mmio", "swiotlb", "below mask", "above mask"];
/** One colour per kind; "below mask" is teal, not a second green beside ZONE_DMA32. */
const COLOURS = ["#f58518", "#54a24b", "#4c78a8", "#b279a2", "#9ecae9", "#bab0ac", "#eeca3b", "#17becf", "#d62728"];

/** Ticks every 1 GiB up to `hi` (more than 16: every 2^k GiB). */
function gibTicks(hi: number): number[] {
  let step = 2 ** 30;
  while (hi / step > 16) step *= 2;
  const out: number[] = [];
  for (let v = 0; v <= hi; v += step) out.push(v);
  return out;
}

/** Plot width of the zone map, px: with the lane labels and the legend on the right the chart stays inside the 992 px text column at 1024 px. */
export const ZONE_MAP_WIDTH = 640;

/**
 * The memory map chart: one lane per kind of fact, x = physical address
 * (hex labels), a red rule at the mask line.
 */
export function zoneMapChartSpec(input: ZoneMapInput): VlSpec {
  const hi = Math.max(input.maskLine, ...input.bars.map((b) => b.end));
  const rows = input.bars.map((b) => ({ ...b, startHex: "0x" + b.start.toString(16), endHex: "0x" + b.end.toString(16), MiB: Math.round(((b.end - b.start) / 2 ** 20) * 100) / 100 }));
  const lanes = [...new Set(input.bars.map((b) => b.lane))];
  const x = {
    field: "start",
    type: "quantitative",
    title: "physical address (bytes, hex)",
    scale: { domain: [0, hi], nice: false, zero: true },
    axis: { values: gibTicks(hi), labelExpr: "'0x' + format(datum.value, 'x')", labelAngle: -30 },
  };
  return {
    $schema: SCHEMA,
    title: { text: wrapText(input.title, 70), anchor: "start" },
    width: ZONE_MAP_WIDTH,
    height: { step: 38 },
    layer: [
      {
        data: { values: rows },
        mark: { type: "bar", height: 22, tooltip: true },
        encoding: {
          x,
          x2: { field: "end" },
          y: { field: "lane", type: "nominal", title: null, sort: lanes },
          color: { field: "kind", type: "nominal", title: "what", scale: { domain: KINDS, range: COLOURS } },
          tooltip: [{ field: "label" }, { field: "startHex", title: "start" }, { field: "endHex", title: "end (excl.)" }, { field: "MiB", title: "MiB" }],
        },
      },
      {
        // Regions too narrow to see at this scale (ZONE_DMA, the buffer's page runs, the pool) get a tick.
        data: { values: rows.filter((r) => r.end - r.start < hi / 150) },
        mark: { type: "tick", thickness: 3, size: 28 },
        encoding: {
          x: { field: "start", type: "quantitative" },
          y: { field: "lane", type: "nominal", sort: lanes },
          color: { field: "kind", type: "nominal", scale: { domain: KINDS, range: COLOURS } },
          tooltip: [{ field: "label" }, { field: "startHex", title: "start" }, { field: "endHex", title: "end (excl.)" }, { field: "MiB", title: "MiB" }],
        },
      },
      {
        data: { values: [{ at: input.maskLine, label: input.maskLabel }] },
        mark: { type: "rule", color: "#d62728", strokeWidth: 2, strokeDash: [6, 3] },
        encoding: { x: { field: "at", type: "quantitative" } },
      },
      {
        data: { values: [{ at: input.maskLine, label: input.maskLabel }] },
        mark: { type: "text", align: "left", dx: 4, dy: -6, color: "#d62728", fontSize: 11 },
        encoding: { x: { field: "at", type: "quantitative" }, y: { value: 0 }, text: { field: "label" } },
      },
    ],
  };
}

/** One point of the sweep charts. */
export interface SweepPoint {
  strategy: string;
  bufferMiB: number;
  ok: boolean;
  costPerFrameUs: number;
  bouncedMiBPerFrame: number;
  swiotlbSlotsUsed: number;
  swiotlbSlots: number;
  /** Pages of all buffers above 4 GiB (each bounced through swiotlb without an IOMMU); gives the "requested" mark of a failed run. */
  pagesAbove4G?: number;
}

/** Where the cost chart draws a cost below it (0 µs has no place on a log scale) and a failed run, µs. */
export const COST_FLOOR_US = 0.01;

/**
 * CPU cost per frame (µs, log scale) against buffer size per strategy;
 * failed runs are drawn as crosses at the bottom of the chart, and a cost
 * below {@link COST_FLOOR_US} (0 µs: a run whose syncs charged nothing, as
 * behind VT-d on a coherent x86) at that floor, which the y axis title
 * says. When every run that mapped costs 0 µs, their lines lie on one
 * another at the floor, and a subtitle says so (the tooltips and the
 * caption give each run's figure).
 */
export function costPerFrameChartSpec(points: readonly SweepPoint[], title: string): VlSpec {
  const ok = points.filter((p) => p.ok);
  const okRows = ok.map((p) => ({ ...p, cost: Math.max(p.costPerFrameUs, COST_FLOOR_US) }));
  const failRows = points.filter((p) => !p.ok).map((p) => ({ ...p, cost: COST_FLOOR_US }));
  const x = { field: "bufferMiB", type: "quantitative", title: "capture buffer (MiB)", scale: { type: "log", base: 2 } };
  const y = { field: "cost", type: "quantitative", title: `CPU cost per frame (µs, log; 0 drawn at ${COST_FLOOR_US})`, scale: { type: "log" } };
  const color = { field: "strategy", type: "nominal", title: "strategy" };
  const allZero = ok.length > 0 && ok.every((p) => p.costPerFrameUs === 0);
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: "start", ...(allZero ? { subtitle: "Every run that mapped costs 0 µs per frame (its syncs charged nothing): the lines lie on one another at the floor." } : {}) },
    width: 640,
    height: 320,
    layer: [
      { data: { values: okRows }, mark: { type: "line", point: true, tooltip: true }, encoding: { x, y, color } },
      { data: { values: failRows }, mark: { type: "point", shape: "cross", size: 120, filled: true, tooltip: true }, encoding: { x, y, color } },
    ],
  };
}

/** swiotlb slots one bounced page takes: PAGE_SIZE / IO_TLB_SIZE = 4096 / 2048 (IO_TLB_SHIFT 11, kernel/dma/swiotlb.c nr_slots()). */
export const SLOTS_PER_PAGE = 2;

/**
 * swiotlb slots in use after mapping against the buffer size (bars), with
 * the pool size as a dashed rule. Where a request failed, a black tick
 * marks what was requested: every page above 4 GiB bounced, so
 * `pagesAbove4G * SLOTS_PER_PAGE` slots (for a 32-bit mask, where the pages
 * above 4 GiB are the pages the device cannot reach); the bar shows what
 * was still in use after the failed dma_map_sg undid its own slots.
 */
export function swiotlbSlotsChartSpec(points: readonly SweepPoint[], title: string): VlSpec {
  const rows = points.map((p) => ({ ...p, label: p.ok ? "mapped" : "map failed" }));
  const pool = points.length ? points[0]!.swiotlbSlots : 0;
  const requested = points
    .filter((p) => !p.ok && p.pagesAbove4G !== undefined)
    .map((p) => ({ bufferMiB: p.bufferMiB, requested: p.pagesAbove4G! * SLOTS_PER_PAGE, what: "requested (failed)" }));
  const x = { field: "bufferMiB", type: "ordinal", title: "capture buffer (MiB)", axis: { labelAngle: 0 } };
  const layers: unknown[] = [
    {
      data: { values: rows },
      mark: { type: "bar", tooltip: true },
      encoding: {
        x,
        y: { field: "swiotlbSlotsUsed", type: "quantitative", title: "swiotlb slots (2 KiB each)" },
        color: { field: "label", type: "nominal", title: "slots in use", scale: { domain: ["mapped", "map failed"], range: ["#4c78a8", "#d62728"] } },
      },
    },
    {
      data: { values: [{ pool: pool, limit: `pool (${pool} slots)` }] },
      mark: { type: "rule", strokeDash: [6, 3], strokeWidth: 2 },
      encoding: {
        y: { field: "pool", type: "quantitative" },
        strokeDash: { field: "limit", type: "nominal", title: null, scale: { range: [[6, 3]] }, legend: { symbolType: "stroke", symbolStrokeWidth: 2, symbolStrokeColor: "#7f7f7f" } },
        color: { value: "#7f7f7f" },
      },
    },
  ];
  if (requested.length) {
    layers.push({
      data: { values: requested },
      mark: { type: "tick", thickness: 3, size: 30, tooltip: true },
      encoding: {
        x,
        y: { field: "requested", type: "quantitative" },
        stroke: { field: "what", type: "nominal", title: null, scale: { range: ["#000000"] }, legend: { symbolType: "stroke", symbolStrokeWidth: 3 } },
        color: { value: "#000000" },
      },
    });
  }
  return {
    $schema: SCHEMA,
    title: { text: wrapText(title, 70), anchor: "start" },
    width: 560,
    height: 260,
    layer: layers,
  };
}

/** One row of the VIPT chart: a variant at one buffer size, how many lines the CPU read fresh or stale and what the CPU-side work after the DMA cost. */
export interface ViptPoint {
  /** "with invalidate_kernel_vmap_range" or "without invalidate_kernel_vmap_range". */
  variant: string;
  freshLines: number;
  staleLines: number;
  /** CPU-side cost after the DMA (dma_unmap_sg, plus invalidate_kernel_vmap_range when made), ns. */
  costNs: number;
}

/**
 * The VIPT trade-off of case 04: per buffer size, the CPU-side cost after
 * the DMA with and without invalidate_kernel_vmap_range() (grouped bars,
 * µs, log scale), each bar labelled with the stale lines the CPU then read
 * through the vmalloc alias. The buffer size is the lines read times
 * `lineSize`.
 * @param lineSize bytes per data-cache line of the profile the rows come from (parisc-c8000: 128).
 */
export function viptStaleChartSpec(points: readonly ViptPoint[], title: string, lineSize = 128): VlSpec {
  const rows = points.map((p) => {
    const kib = ((p.freshLines + p.staleLines) * lineSize) / 1024;
    return {
      variant: p.variant.startsWith("with ") ? "with invalidate_kernel_vmap_range()" : "without it",
      size: kib >= 1024 ? `${kib / 1024} MiB` : `${kib} KiB`,
      kib,
      us: Math.max(p.costNs / 1000, 1),
      costUs: p.costNs / 1000,
      staleLines: p.staleLines,
      note: `${p.staleLines}/${p.freshLines + p.staleLines} stale`,
      stale: p.staleLines ? "stale read" : "device's data",
    };
  });
  const sizes = [...new Set(rows.sort((a, b) => a.kib - b.kib).map((r) => r.size))];
  const x = { field: "size", type: "ordinal", title: "vmalloc buffer", sort: sizes, axis: { labelAngle: 0 } };
  const xOffset = { field: "variant", type: "nominal", sort: ["without it", "with invalidate_kernel_vmap_range()"] };
  // Log scale from 1 µs: the bars start at 1 (a log axis has no zero), costs below 1 µs are drawn at 1.
  const y = { field: "us", type: "quantitative", title: "CPU-side cost after the DMA (µs, log)", scale: { type: "log", domainMin: 1, nice: true } };
  return {
    $schema: SCHEMA,
    title: { text: wrapText(title, 60), anchor: "start", subtitle: ["bar: the CPU's work after dma_unmap_sg;", "label: stale lines / lines the CPU then reads through the vmalloc alias"] },
    width: Math.max(300, sizes.length * 170),
    height: 240,
    data: { values: rows },
    layer: [
      {
        mark: { type: "bar", tooltip: true },
        encoding: {
          x,
          xOffset,
          y,
          y2: { datum: 1 },
          color: {
            field: "variant",
            type: "nominal",
            title: "after dma_unmap_sg",
            sort: ["without it", "with invalidate_kernel_vmap_range()"],
            scale: { domain: ["without it", "with invalidate_kernel_vmap_range()"], range: ["#bab0ac", "#4c78a8"] },
            legend: { labelLimit: 320, orient: "bottom", direction: "vertical" },
          },
          tooltip: [{ field: "variant" }, { field: "size" }, { field: "costUs", title: "µs" }, { field: "note", title: "the CPU then reads" }],
        },
      },
      {
        mark: { type: "text", dy: -8, fontSize: 10 },
        encoding: {
          x,
          xOffset,
          y,
          text: { field: "note" },
          color: { field: "stale", type: "nominal", title: "label", scale: { domain: ["stale read", "device's data"], range: ["#d62728", "#2ca02c"] }, legend: { orient: "bottom", direction: "vertical" } },
        },
      },
    ],
    resolve: { scale: { color: "independent" } },
  };
}
