/**
 * Memory map chart (case 02): the physical address space (RAM banks, the
 * no-map pool, MMIO, which pfns have a struct page) above the kernel's
 * virtual address space (linear map, vmalloc area with the pool's memremap,
 * vmemmap), with markers for the buffer, the page dma_get_sgtable computed
 * and the struct page pointer virt_to_page invents.
 *
 * Inputs are plain rows (see lib/scenarios/02-coherent-no-page.ts
 * case02MemmapData); this module depends only on the spec type. Addresses are
 * bytes; 64-bit kernel VAs are in the model's stored form (low 48 bits) and
 * labelled with the 0xffff top restored.
 */
import type { VlSpec } from "./types.js";
import { wrapText } from "./text.js";

/** One bar: a region of an address space. */
export interface MemmapBar {
  /** Row label, e.g. "RAM", "reserved", "struct page (pfn_valid)". */
  lane: string;
  start: number;
  /** Exclusive end. */
  end: number;
  label: string;
  /** Colour class, e.g. "ram", "nomap", "mmio", "valid", "linear", "vmalloc", "pool-remap", "vmemmap". */
  kind: string;
}

/** One marker: an address of interest. */
export interface MemmapMark {
  lane: string;
  at: number;
  label: string;
  /** Colour class: "buffer", "sg-page", "bogus". */
  kind: string;
}

/** Input of {@link memmapChartSpec}. */
export interface MemmapInput {
  title: string;
  vaBits: 32 | 48;
  phys: MemmapBar[];
  physMarks: MemmapMark[];
  virt: MemmapBar[];
  virtMarks: MemmapMark[];
}

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

const KIND_DOMAIN = ["ram", "nomap", "reserved", "mmio", "valid", "no struct page", "linear", "vmalloc", "pool-remap", "vmemmap", "buffer", "sg-page", "bogus"];
/** One colour per kind (no two kinds share one): nomap brown, pool-remap cyan, vmemmap olive, bogus red. */
const KIND_RANGE = ["#9ecae9", "#9c755f", "#f2cf5b", "#bab0ac", "#54a24b", "#ff9d98", "#4c78a8", "#b279a2", "#17becf", "#bcbd22", "#000000", "#f58518", "#d62728"];

/** Plot width of each panel, px: with the lane labels (at most {@link LANE_LABEL_LIMIT} px) the chart fits the 992 px text column at 1024 px. */
export const PANEL_WIDTH = 440;
/** Lane labels are drawn in full up to this width, px: the longest, "struct page pointer outside the kernel half" (43 characters), is estimated at 0.8 * 11 px * 43 = 378 px by the SVG renderer (lib/viz/text.ts). */
export const LANE_LABEL_LIMIT = 390;

function hexLabel(vaBits: 32 | 48, virt: boolean): string {
  if (!virt) return "'0x' + format(datum.value, 'x')";
  return vaBits === 48 ? "'0xffff' + pad(format(datum.value, 'x'), 12, '0', 'left')" : "'0x' + pad(format(datum.value, 'x'), 8, '0', 'left')";
}

/** Tick values at a power-of-two step giving at most 9 ticks over [lo, hi] (exact up to 2^53). */
function pow2Ticks(lo: number, hi: number): number[] {
  let step = 4096;
  while ((hi - lo) / step > 8) step *= 2;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(v);
  return out;
}

function panel(title: string, bars: MemmapBar[], marks: MemmapMark[], xTitle: string, labelExpr: string, lanes: string[]): VlSpec {
  const all = [...bars.flatMap((b) => [b.start, b.end]), ...marks.map((m) => m.at)];
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const barRows = bars.map((b) => ({ ...b, mid: (b.start + b.end) / 2, startHex: "0x" + b.start.toString(16), endHex: "0x" + b.end.toString(16), bytes: b.end - b.start }));
  // A mark's label goes to the right of a mark in the left half and to the left of one in the right half, so it stays inside the plot.
  const markRows = marks.map((m) => ({ ...m, atHex: "0x" + m.at.toString(16), rightHalf: m.at > (lo + hi) / 2 }));
  const y = { field: "lane", type: "nominal", title: null, sort: lanes, axis: { labelLimit: LANE_LABEL_LIMIT } };
  const color = { field: "kind", type: "nominal", title: "what", scale: { domain: KIND_DOMAIN, range: KIND_RANGE } };
  return {
    title: { text: wrapText(title, 60), anchor: "start" },
    width: PANEL_WIDTH,
    height: { step: 34 },
    layer: [
      {
        data: { values: barRows },
        mark: { type: "bar", height: 18, tooltip: true },
        encoding: {
          x: { field: "start", type: "quantitative", title: xTitle, axis: { labelExpr, labelAngle: -30, values: pow2Ticks(lo, hi) }, scale: { zero: false, nice: false, domain: [lo, hi] } },
          x2: { field: "end" },
          y,
          color,
          tooltip: [{ field: "label" }, { field: "startHex", title: "start" }, { field: "endHex", title: "end (excl.)" }, { field: "bytes", title: "bytes" }],
        },
      },
      {
        data: { values: barRows },
        mark: { type: "tick", thickness: 2, size: 20 },
        encoding: { x: { field: "start", type: "quantitative" }, y, color },
      },
      {
        data: { values: markRows },
        mark: { type: "point", shape: "triangle-down", size: 140, filled: true, yOffset: -12 },
        encoding: { x: { field: "at", type: "quantitative" }, y, color, tooltip: [{ field: "label" }, { field: "atHex", title: "address" }] },
      },
      {
        data: { values: markRows.filter((m) => !m.rightHalf) },
        mark: { type: "text", align: "left", dx: 6, dy: -14, fontSize: 10 },
        encoding: { x: { field: "at", type: "quantitative" }, y, text: { field: "label" } },
      },
      {
        data: { values: markRows.filter((m) => m.rightHalf) },
        mark: { type: "text", align: "right", dx: -6, dy: -14, fontSize: 10 },
        encoding: { x: { field: "at", type: "quantitative" }, y, text: { field: "label" } },
      },
    ],
  };
}

/**
 * The two-panel memory map chart (physical above virtual), vega-lite v5.
 * Physical axis labels are hex bytes; virtual axis labels are kernel
 * addresses as the kernel prints them. Titles longer than 80 (panel: 60)
 * characters are broken into lines so the chart stays inside the column.
 */
export function memmapChartSpec(input: MemmapInput): VlSpec {
  const physLanes = [...new Set([...input.phys.map((b) => b.lane), ...input.physMarks.map((m) => m.lane)])];
  const virtLanes = [...new Set([...input.virt.map((b) => b.lane), ...input.virtMarks.map((m) => m.lane)])];
  return {
    $schema: SCHEMA,
    title: { text: wrapText(input.title, 80), anchor: "start" },
    vconcat: [
      panel("Physical address space", input.phys, input.physMarks, "physical address (bytes, hex)", hexLabel(input.vaBits, false), physLanes),
      panel("Kernel virtual address space (not to scale across regions: each bar is drawn at its address)", input.virt, input.virtMarks, "kernel virtual address (hex)", hexLabel(input.vaBits, true), virtLanes),
    ],
    resolve: { scale: { color: "shared" } },
    config: { legend: { orient: "bottom", columns: 4, labelLimit: 200 } },
  };
}

/** Outcome-table chart: one cell per (kernel, variant), coloured by outcome. */
export function outcomeGridSpec(rows: ReadonlyArray<{ kernel: string; variant: string; outcome: string; detail: string; importer: string }>, title: string): VlSpec {
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: "start" },
    data: { values: rows.map((r) => ({ ...r })) },
    width: { step: 90 },
    height: { step: 26 },
    encoding: {
      x: { field: "kernel", type: "nominal", title: "kernel release", sort: null, axis: { labelAngle: 0 } },
      y: { field: "variant", type: "nominal", title: null, sort: null, axis: { labelLimit: 240 } },
    },
    layer: [
      {
        mark: { type: "rect", tooltip: true },
        encoding: {
          color: {
            field: "outcome",
            type: "nominal",
            title: "outcome",
            scale: { domain: ["works", "-ENXIO", "map fails", "silent wrong page", "oops", "n/a"], range: ["#54a24b", "#f2cf5b", "#bab0ac", "#f58518", "#d62728", "#eeeeee"] },
          },
          tooltip: [{ field: "importer" }, { field: "outcome" }, { field: "detail" }],
        },
      },
      { mark: { type: "text", fontSize: 10 }, encoding: { text: { field: "outcome" } } },
    ],
  };
}
