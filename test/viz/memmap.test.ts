/** lib/viz/memmap.ts: lane labels drawn in full, panels inside the column, mark labels inside the plot. */
import { describe, expect, it } from "vitest";
import { LANE_LABEL_LIMIT, memmapChartSpec, PANEL_WIDTH } from "../../lib/viz/memmap.js";

describe("memmapChartSpec", () => {
  it("keeps the longest lane label whole and the chart inside the 992 px column", () => {
    // "struct page pointer outside the kernel half": 43 characters; the SVG renderer estimates 0.8 * 11 px each = 378.4 px
    expect(LANE_LABEL_LIMIT).toBeGreaterThanOrEqual(0.8 * 11 * 43);
    expect(PANEL_WIDTH + LANE_LABEL_LIMIT + 60).toBeLessThanOrEqual(992);
  });

  it("puts a mark's label left of a mark in the right half of the axis, right of one in the left half", () => {
    const spec = memmapChartSpec({
      title: "t",
      vaBits: 48,
      phys: [{ lane: "RAM", start: 0, end: 0x10000, label: "RAM", kind: "ram" }],
      physMarks: [
        { lane: "RAM", at: 0x1000, label: "left", kind: "buffer" },
        { lane: "RAM", at: 0xf000, label: "right", kind: "bogus" },
      ],
      virt: [{ lane: "vmalloc area", start: 0, end: 0x10000, label: "v", kind: "vmalloc" }],
      virtMarks: [],
    }) as unknown as { vconcat: Array<{ layer: Array<{ mark: { type: string; align?: string }; data: { values: Array<{ label: string }> } }> }> };
    const texts = spec.vconcat[0]!.layer.filter((l) => l.mark.type === "text");
    expect(texts.map((t) => [t.mark.align, t.data.values.map((v) => v.label)])).toEqual([
      ["left", ["left"]],
      ["right", ["right"]],
    ]);
  });
});
