/**
 * Case 04 charts (vega-lite v5): the physical memory map with zones, the
 * device's DMA mask line and where a buffer's pages landed; the per-frame
 * cost of each strategy as the buffer grows; swiotlb slots in use against
 * the pool. Inputs are plain rows (lib/scenarios/04-dma32-vmalloc.ts builds
 * them); addresses are bytes, labelled in hex.
 */
import type { VlSpec } from "./types.js";

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
const COLOURS = ["#f58518", "#54a24b", "#4c78a8", "#b279a2", "#9ecae9", "#bab0ac", "#eeca3b", "#2ca02c", "#d62728"];

/** Ticks every 1 GiB up to `hi` (more than 16: every 2^k GiB). */
function gibTicks(hi: number): number[] {
  let step = 2 ** 30;
  while (hi / step > 16) step *= 2;
  const out: number[] = [];
  for (let v = 0; v <= hi; v += step) out.push(v);
  return out;
}

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
    title: { text: input.title, anchor: "start" },
    width: 760,
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
}

/**
 * CPU cost per frame (µs, log scale) against buffer size per strategy;
 * failed runs are drawn as crosses at the bottom of the chart.
 */
export function costPerFrameChartSpec(points: readonly SweepPoint[], title: string): VlSpec {
  const okRows = points.filter((p) => p.ok).map((p) => ({ ...p, cost: Math.max(p.costPerFrameUs, 0.01) }));
  const failRows = points.filter((p) => !p.ok).map((p) => ({ ...p, cost: 0.01 }));
  const x = { field: "bufferMiB", type: "quantitative", title: "capture buffer (MiB)", scale: { type: "log", base: 2 } };
  const y = { field: "cost", type: "quantitative", title: "CPU cost per frame (µs, log)", scale: { type: "log" } };
  const color = { field: "strategy", type: "nominal", title: "strategy" };
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: "start" },
    width: 640,
    height: 320,
    layer: [
      { data: { values: okRows }, mark: { type: "line", point: true, tooltip: true }, encoding: { x, y, color } },
      { data: { values: failRows }, mark: { type: "point", shape: "cross", size: 120, filled: true, tooltip: true }, encoding: { x, y, color } },
    ],
  };
}

/**
 * swiotlb slots in use after mapping against the buffer size (bars), with
 * the pool size as a rule: where the pool runs out.
 */
export function swiotlbSlotsChartSpec(points: readonly SweepPoint[], title: string): VlSpec {
  const rows = points.map((p) => ({ ...p, label: p.ok ? "mapped" : "map failed" }));
  const pool = points.length ? points[0]!.swiotlbSlots : 0;
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: "start" },
    width: 640,
    height: 260,
    layer: [
      {
        data: { values: rows },
        mark: { type: "bar", tooltip: true },
        encoding: {
          x: { field: "bufferMiB", type: "ordinal", title: "capture buffer (MiB)" },
          y: { field: "swiotlbSlotsUsed", type: "quantitative", title: "swiotlb slots in use (2 KiB each)" },
          color: { field: "label", type: "nominal", title: "dma_map_sg", scale: { domain: ["mapped", "map failed"], range: ["#4c78a8", "#d62728"] } },
        },
      },
      {
        data: { values: [{ pool: pool, label: `pool: ${pool} slots` }] },
        mark: { type: "rule", color: "#d62728", strokeDash: [6, 3], strokeWidth: 2 },
        encoding: { y: { field: "pool", type: "quantitative" } },
      },
    ],
  };
}

/** One row of the VIPT chart: a variant and how many lines the CPU read fresh or stale. */
export interface ViptPoint {
  variant: string;
  freshLines: number;
  staleLines: number;
}

/**
 * The VIPT variant of case 04: for each variant, a stacked bar of the
 * cache lines the CPU read through the vmalloc alias after the DMA,
 * split into the device's data ("fresh") and stale lines.
 */
export function viptStaleChartSpec(points: readonly ViptPoint[], title: string): VlSpec {
  const rows: Array<{ variant: string; what: string; lines: number }> = [];
  for (const p of points) {
    rows.push({ variant: p.variant, what: "device's data (fresh)", lines: p.freshLines });
    rows.push({ variant: p.variant, what: "stale (older than the device's write)", lines: p.staleLines });
  }
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: "start" },
    width: 520,
    height: 160,
    data: { values: rows },
    mark: { type: "bar", tooltip: true },
    encoding: {
      y: { field: "variant", type: "nominal", title: null },
      x: { field: "lines", type: "quantitative", title: "cache lines the CPU read through the vmalloc alias" },
      color: {
        field: "what",
        type: "nominal",
        title: "the CPU saw",
        scale: { domain: ["device's data (fresh)", "stale (older than the device's write)"], range: ["#4c78a8", "#d62728"] },
      },
    },
  };
}
