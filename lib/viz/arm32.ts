/**
 * Case 03 charts (vega-lite v5): the 32-bit ARM linear map (sections vs the
 * CMA area in 4 KiB PTEs, the atomic pool, a restricted pool), the path each
 * coherent allocation takes per release and variant, the atomic pool filling
 * up, the cost of an attribute change and the restricted-DMA outcome. Inputs
 * are plain rows (lib/scenarios/03-arm32-coherent.ts builds them);
 * addresses are bytes, drawn in MiB. Every chart is at most ~950 px wide.
 */
import type { VlSpec } from "./types.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";
const MiB = 1048576;

/** One bar of the map: [start, end) bytes on a lane, with its colour class. */
export interface Arm32MapBarInput {
  lane: string;
  start: number;
  end: number;
  kind: string;
  label: string;
}

const MAP_KINDS = ["sections", "cma (4 KiB PTEs)", "atomic pool", "restricted pool", "highmem / not mapped"];
const MAP_COLOURS = ["#9ecae9", "#54a24b", "#f58518", "#d62728", "#bab0ac"];

/**
 * The physical memory map in MiB: one lane per fact; regions too narrow to
 * see get a tick. With `zoom` [from, to) bytes, only that window is drawn and
 * every section boundary in it is a thin rule on the linear-map lane (the
 * CMA area has none: it is 4 KiB PTEs).
 */
export function arm32MemoryMapSpec(bars: readonly Arm32MapBarInput[], title: string, o: { zoom?: { from: number; to: number }; sectionSize?: number } = {}): VlSpec {
  const lo = o.zoom ? o.zoom.from : Math.min(...bars.map((b) => b.start));
  const hi = o.zoom ? o.zoom.to : Math.max(...bars.map((b) => b.end));
  const rows = bars
    .filter((b) => b.end > lo && b.start < hi)
    .map((b) => ({ ...b, s: Math.max(b.start, lo) / MiB, e: Math.min(b.end, hi) / MiB, startHex: "0x" + b.start.toString(16), endHex: "0x" + b.end.toString(16), MiB: Math.round(((b.end - b.start) / MiB) * 1000) / 1000 }));
  const lanes = ["linear map", "atomic pool", "restricted pool"].filter((l) => rows.some((r) => r.lane === l));
  const x = { field: "s", type: "quantitative", title: "physical address (MiB)", scale: { domain: [lo / MiB, hi / MiB], nice: false, zero: false } };
  const layers: VlSpec[] = [
    {
      data: { values: rows },
      mark: { type: "bar", height: 22, tooltip: true },
      encoding: {
        x,
        x2: { field: "e" },
        y: { field: "lane", type: "nominal", title: null, sort: lanes },
        color: { field: "kind", type: "nominal", title: "what", scale: { domain: MAP_KINDS, range: MAP_COLOURS }, legend: { orient: "bottom", columns: 5, labelLimit: 200 } },
        tooltip: [{ field: "label" }, { field: "startHex", title: "start" }, { field: "endHex", title: "end (excl.)" }, { field: "MiB", title: "MiB" }],
      },
    },
    {
      data: { values: rows.filter((r) => r.e - r.s < (hi - lo) / MiB / 150) },
      mark: { type: "tick", thickness: 3, size: 28 },
      encoding: { x, y: { field: "lane", type: "nominal", sort: lanes }, color: { field: "kind", type: "nominal", scale: { domain: MAP_KINDS, range: MAP_COLOURS } } },
    },
  ];
  if (o.zoom && o.sectionSize) {
    const cuts: Array<{ at: number; lane: string }> = [];
    const cmaBars = rows.filter((r) => r.kind === "cma (4 KiB PTEs)");
    for (let a = Math.ceil(lo / o.sectionSize) * o.sectionSize; a < hi; a += o.sectionSize) {
      if (cmaBars.some((c) => a / MiB >= c.s && a / MiB < c.e)) continue;
      cuts.push({ at: a / MiB, lane: "linear map" });
    }
    layers.push({
      data: { values: cuts },
      mark: { type: "tick", thickness: 1, size: 22, color: "#1f3b57" },
      encoding: { x: { field: "at", type: "quantitative" }, y: { field: "lane", type: "nominal", sort: lanes } },
    });
  }
  return { $schema: SCHEMA, title: { text: title, anchor: "start" }, width: 720, height: { step: 36 }, layer: layers };
}

/** One cell of the allocation grid. */
export interface Arm32PathCell {
  release: string;
  variant: string;
  request: string;
  via: string;
  outcome: string;
}

const OUTCOMES = ["ok, no cacheable alias", "ok, cacheable linear alias", "ok, outside the restricted pool", "incoherent (cached)", "NULL", "no restricted pools"];
const OUTCOME_COLOURS = ["#54a24b", "#eeca3b", "#b279a2", "#d62728", "#7f7f7f", "#e7e7e7"];

function releaseSort(rels: readonly string[]): string[] {
  const key = (r: string) => r.replace(/^v/, "").split(".").map((n) => Number(n));
  return [...new Set(rels)].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return x[0]! - y[0]! || (x[1] ?? 0) - (y[1] ?? 0);
  });
}

/** Short cell text for a path or "path: allocator" label (the notebook's prose spells them out). */
function arm32ShortVia(via: string): string {
  const m = /^(arm_dma_ops|arch_dma_alloc): (\w+)$/.exec(via);
  if (m) return `${m[1] === "arm_dma_ops" ? "ops" : "arch"}: ${m[2]}`;
  const t: Record<string, string> = {
    arm_dma_ops: "arm ops",
    direct_remap: "remap",
    "direct_remap (arm64)": "remap",
    direct_atomic_pool: "dma/pool.c",
    direct_set_uncached: "uncached",
    restricted_cached_alias: "cached alias",
    direct_pages: "pages",
    null: "NULL",
    "no restricted pools": "none",
  };
  return t[via] ?? via;
}

/**
 * A grid: one block per variant (rows), requests down, releases across;
 * colour = what the CPU gets, text = the path/allocator ({@link arm32ShortVia}).
 */
export function arm32PathGridSpec(cells: readonly Arm32PathCell[], title: string, o: { yField?: "request" | "arch"; yTitle?: string } = {}): VlSpec {
  const yField = o.yField ?? "request";
  const releases = releaseSort(cells.map((c) => c.release));
  const cellW = Math.max(64, Math.min(110, Math.floor(640 / Math.max(1, releases.length))));
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: "start" },
    data: { values: cells.map((c) => ({ ...c, short: arm32ShortVia(c.via) })) },
    config: { axis: { labelLimit: 300 }, legend: { labelLimit: 300 } },
    facet: { row: { field: "variant", type: "nominal", title: null, header: { labelAngle: 0, labelAlign: "left", labelAnchor: "start", labelOrient: "top", labelFontWeight: "bold", labelLimit: 900 } } },
    spacing: 8,
    spec: {
      width: cellW * releases.length,
      height: { step: 30 },
      layer: [
        {
          mark: { type: "rect", stroke: "white", strokeWidth: 1, tooltip: true },
          encoding: {
            x: { field: "release", type: "ordinal", sort: releases, title: "release", axis: { labelAngle: 0, orient: "top" } },
            y: { field: yField, type: "nominal", title: o.yTitle ?? null, axis: { labelLimit: 260 } },
            color: { field: "outcome", type: "nominal", title: "the CPU gets", scale: { domain: OUTCOMES, range: OUTCOME_COLOURS }, legend: { orient: "bottom", columns: 3, labelLimit: 260 } },
          },
        },
        {
          mark: { type: "text", fontSize: 10 },
          encoding: {
            x: { field: "release", type: "ordinal", sort: releases },
            y: { field: yField, type: "nominal", title: o.yTitle ?? null, axis: { labelLimit: 260 } },
            text: { field: "short" },
          },
        },
      ],
    },
  };
}

/** One request against the atomic pool. */
export interface Arm32PoolPoint {
  n: number;
  size: number;
  ok: boolean;
  fragmented: boolean;
  availAfter: number;
}

/**
 * The atomic pool filling up: a bar per GFP_ATOMIC request (its size in
 * KiB, coloured by the result) and the pool's free bytes after it (line).
 */
export function arm32PoolFillSpec(points: readonly Arm32PoolPoint[], poolBytes: number, title: string): VlSpec {
  const rows = points.map((p) => ({ n: p.n, KiB: p.size / 1024, availKiB: p.availAfter / 1024, result: p.ok ? "allocated" : p.fragmented ? "NULL, enough bytes free (fragmented)" : "NULL, not enough free" }));
  const x = { field: "n", type: "ordinal", title: "GFP_ATOMIC request #", axis: { labelAngle: 0 } };
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: "start", subtitle: "bars: request size; line: bytes free in the pool after the request" },
    width: Math.min(760, Math.max(300, points.length * 40)),
    height: 260,
    layer: [
      {
        data: { values: rows },
        mark: { type: "bar", tooltip: true, width: { band: 0.7 } },
        encoding: {
          x,
          y: { field: "KiB", type: "quantitative", title: "KiB", scale: { domain: [0, poolBytes / 1024] } },
          color: { field: "result", type: "nominal", title: "__alloc_from_pool", scale: { domain: ["allocated", "NULL, enough bytes free (fragmented)", "NULL, not enough free"], range: ["#4c78a8", "#f58518", "#d62728"] }, legend: { orient: "bottom", labelLimit: 300 } },
        },
      },
      {
        data: { values: rows },
        mark: { type: "line", point: true, color: "#333333", tooltip: true },
        encoding: { x, y: { field: "availKiB", type: "quantitative" } },
      },
    ],
  };
}

/** One point of the attribute-change cost chart. */
export interface Arm32CostPoint {
  format: string;
  where: string;
  processes: number;
  tlbiOps: number;
  entriesWritten: number;
}

/**
 * TLB invalidate operations (log scale) for one attribute change against the
 * number of user processes: a section rewritten in every mm vs __dma_remap
 * of 4 KiB PTEs in the CMA area, per page-table format.
 */
export function arm32AttrCostSpec(points: readonly Arm32CostPoint[], title: string): VlSpec {
  const rows = points.map((p) => ({ ...p, series: `${p.format.startsWith("LPAE") ? "LPAE, 2 MiB blocks" : "2-level, 1 MiB sections"}: ${p.where}` }));
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: "start" },
    width: 620,
    height: 300,
    data: { values: rows },
    mark: { type: "line", point: true, tooltip: true },
    encoding: {
      x: { field: "processes", type: "quantitative", title: "user processes (each with its own pgd)" },
      y: { field: "tlbiOps", type: "quantitative", title: "TLB invalidates per change (log)", scale: { type: "log" } },
      color: { field: "series", type: "nominal", title: "page tables: where the 64 KiB buffer is", legend: { orient: "bottom", columns: 1, labelLimit: 400, titleLimit: 400 } },
      tooltip: [{ field: "series" }, { field: "processes" }, { field: "entriesWritten", title: "entries written" }, { field: "tlbiOps", title: "TLBIs" }],
    },
  };
}
