/**
 * Chart builders for IOVA layouts (case 01): where iommu_dma_map_sg put each
 * piece of a scatterlist, the padding between them, and the DMA segments
 * the driver gets back. Inputs are plain result rows (no model types), so
 * this module depends on nothing but the spec type.
 *
 * Addresses are drawn relative to each release's IOVA allocation base and
 * labelled in hex ("+0x14000"), sizes in the tooltips in bytes and KiB.
 */
import type { VlSpec } from "./types.js";

/** One release's layout, as lib/scenarios/01-iommu-gaps.ts returns it (structurally). */
export interface IovaLayoutInput {
  kernel: string;
  iovaBase: number;
  iovaLen: number;
  iovaAllocBytes: number;
  contiguousSize: number;
  requestedSize: number;
  ok: boolean;
  segments: ReadonlyArray<{ index: number; length: number; iovaOffset: number; iovaLength: number; padding: number }>;
  dmaSegments: ReadonlyArray<{ offset: number; length: number }>;
}

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";
const HEX_LABEL = "'+0x' + format(datum.value, 'x')";
const KIND_COLORS = {
  domain: ["piece (mapped)", "padding (mapped, not in the buffer)", "allocated, unused"],
  range: ["#4c78a8", "#e45756", "#d3d3d3"],
};

/** Tick values at a power-of-two step (at least 4K) giving at most 12 ticks over [0, xmax]. */
function hexTicks(xmax: number): number[] {
  let step = 4096;
  while (xmax / step > 12) step *= 2;
  const out: number[] = [];
  for (let v = 0; v <= xmax; v += step) out.push(v);
  return out;
}

function kib(n: number): string {
  return n % 1024 === 0 ? `${n / 1024}K` : `${n}`;
}

/**
 * Rows of the IOVA layout chart: one bar per piece, per padding run and per
 * unused allocation tail, for each release. Offsets in bytes from the
 * allocation base.
 */
export function iovaLayoutRows(results: readonly IovaLayoutInput[]): Array<Record<string, string | number>> {
  const rows: Array<Record<string, string | number>> = [];
  for (const r of results) {
    for (const s of r.segments) {
      rows.push({ kernel: r.kernel, kind: "piece (mapped)", start: s.iovaOffset, end: s.iovaOffset + s.iovaLength, label: `#${s.index} ${kib(s.length)}`, bytes: s.iovaLength, startHex: "0x" + s.iovaOffset.toString(16) });
      if (s.padding > 0) {
        const st = s.iovaOffset + s.iovaLength;
        rows.push({ kernel: r.kernel, kind: "padding (mapped, not in the buffer)", start: st, end: st + s.padding, label: `pad ${kib(s.padding)}`, bytes: s.padding, startHex: "0x" + st.toString(16) });
      }
    }
    if (r.iovaAllocBytes > r.iovaLen) {
      rows.push({ kernel: r.kernel, kind: "allocated, unused", start: r.iovaLen, end: r.iovaAllocBytes, label: "", bytes: r.iovaAllocBytes - r.iovaLen, startHex: "0x" + r.iovaLen.toString(16) });
    }
  }
  return rows;
}

/**
 * IOVA layout chart: one row per release, pieces as blue bars on an IOVA
 * offset axis (hex, from the allocation base), padding in red, the unused
 * tail of the allocation in grey; a black tick marks where the contiguous
 * prefix that vb2_dc_get_contiguous_size measures ends, and the text at
 * the right says "contiguous/requested".
 */
export function iovaLayoutSpec(results: readonly IovaLayoutInput[], title = "iommu_dma_map_sg: IOVA layout of the pieces, per kernel release"): VlSpec {
  const rows = iovaLayoutRows(results);
  const marks = results.map((r) => ({
    kernel: r.kernel,
    contig: r.contiguousSize,
    text: `${r.contiguousSize}/${r.requestedSize} ${r.ok ? "ok" : "too small"}`,
    xmax: Math.max(r.iovaAllocBytes, r.iovaLen),
  }));
  const xmax = Math.max(1, ...marks.map((m) => m.xmax));
  return {
    $schema: SCHEMA,
    title,
    width: 560,
    height: { step: 34 },
    layer: [
      {
        data: { values: rows },
        mark: { type: "bar", stroke: "white", strokeWidth: 1 },
        encoding: {
          y: { field: "kernel", type: "nominal", title: "kernel release", sort: results.map((r) => r.kernel) },
          x: { field: "start", type: "quantitative", title: "IOVA offset from the allocation base (bytes, hex)", scale: { domain: [0, xmax] }, axis: { labelExpr: HEX_LABEL, values: hexTicks(xmax), labelAngle: -30 } },
          x2: { field: "end" },
          color: { field: "kind", type: "nominal", title: "", scale: KIND_COLORS, legend: { orient: "bottom", labelLimit: 320 } },
          tooltip: [
            { field: "kernel", type: "nominal" },
            { field: "kind", type: "nominal" },
            { field: "label", type: "nominal" },
            { field: "startHex", type: "nominal", title: "offset" },
            { field: "bytes", type: "quantitative", title: "bytes" },
          ],
        },
      },
      {
        data: { values: rows.filter((r) => r["label"] !== "") },
        mark: { type: "text", color: "white", fontSize: 10, dx: 3, align: "left" },
        encoding: {
          y: { field: "kernel", type: "nominal", sort: results.map((r) => r.kernel) },
          x: { field: "start", type: "quantitative" },
          text: { field: "label", type: "nominal" },
        },
      },
      {
        data: { values: marks },
        mark: { type: "tick", thickness: 3, size: 30 },
        encoding: {
          y: { field: "kernel", type: "nominal", sort: results.map((r) => r.kernel) },
          x: { field: "contig", type: "quantitative" },
          fill: { datum: "end of the contiguous prefix (vb2_dc_get_contiguous_size)", type: "nominal", scale: { range: ["#000000"] }, legend: { title: null, orient: "bottom", labelLimit: 480, symbolType: "stroke", symbolStrokeColor: "#000000", symbolStrokeWidth: 3 } },
          tooltip: [{ field: "text", type: "nominal", title: "contiguous/requested" }],
        },
      },
      {
        data: { values: marks },
        mark: { type: "text", align: "left", dx: 6, fontSize: 11 },
        encoding: {
          y: { field: "kernel", type: "nominal", sort: results.map((r) => r.kernel) },
          x: { field: "xmax", type: "quantitative" },
          text: { field: "text", type: "nominal" },
        },
      },
    ],
  };
}

/**
 * DMA segments chart: one row per release, each DMA segment the driver gets
 * back (sg_dma_address, sg_dma_len after __finalise_sg) as a bar on the same
 * hex offset axis, alternating colours so adjacent segments stay visible.
 */
export function dmaSegmentsSpec(results: readonly IovaLayoutInput[], title = "DMA segments returned by dma_map_sg (after merging), per release"): VlSpec {
  const rows: Array<Record<string, string | number>> = [];
  for (const r of results) {
    r.dmaSegments.forEach((s, i) => {
      rows.push({ kernel: r.kernel, seg: `segment ${i}`, parity: i % 2 === 0 ? "even" : "odd", start: s.offset, end: s.offset + s.length, label: kib(s.length), startHex: "0x" + s.offset.toString(16) });
    });
  }
  const xmax = Math.max(1, ...results.map((r) => Math.max(r.iovaAllocBytes, r.iovaLen)));
  return {
    $schema: SCHEMA,
    title,
    width: 560,
    height: { step: 34 },
    layer: [
      {
        data: { values: rows },
        mark: { type: "bar", stroke: "white", strokeWidth: 2 },
        encoding: {
          y: { field: "kernel", type: "nominal", title: "kernel release", sort: results.map((r) => r.kernel) },
          x: { field: "start", type: "quantitative", title: "DMA address offset from the allocation base (bytes, hex)", scale: { domain: [0, xmax] }, axis: { labelExpr: HEX_LABEL, values: hexTicks(xmax), labelAngle: -30 } },
          x2: { field: "end" },
          color: { field: "parity", type: "nominal", scale: { domain: ["even", "odd"], range: ["#54a24b", "#88d27a"] }, legend: { title: null, orient: "bottom", labelLimit: 420, labelExpr: "datum.label == 'even' ? 'DMA segment 0, 2, ... (sg_dma_address, sg_dma_len)' : 'DMA segment 1, 3, ...'" } },
          tooltip: [
            { field: "kernel", type: "nominal" },
            { field: "seg", type: "nominal" },
            { field: "startHex", type: "nominal", title: "offset" },
            { field: "label", type: "nominal", title: "length" },
          ],
        },
      },
      {
        data: { values: rows },
        mark: { type: "text", color: "black", fontSize: 10, dx: 3, align: "left" },
        encoding: {
          y: { field: "kernel", type: "nominal", sort: results.map((r) => r.kernel) },
          x: { field: "start", type: "quantitative" },
          text: { field: "label", type: "nominal" },
        },
      },
    ],
  };
}

/** Both charts stacked: the IOVA layout above, the DMA segments below. */
export function iommuGapsSpec(results: readonly IovaLayoutInput[]): VlSpec {
  const a = iovaLayoutSpec(results);
  const b = dmaSegmentsSpec(results);
  delete a["$schema"];
  delete b["$schema"];
  return { $schema: SCHEMA, vconcat: [a, b], resolve: { scale: { color: "independent" } } };
}
