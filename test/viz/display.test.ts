import { describe, expect, it } from "vitest";
import { collectedDisplays, showChart, showTable } from "../../lib/viz/display.js";

describe("display helpers outside a kernel", () => {
  it("renders a vega-lite chart to SVG and keeps the spec and summary", async () => {
    process.env["DMA_WORKBOOK_QUIET"] = "1";
    const before = collectedDisplays.length;
    const spec = {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      data: { values: [{ seg: "a", len: 64 }, { seg: "b", len: 16 }] },
      mark: "bar",
      encoding: { x: { field: "seg", type: "nominal" }, y: { field: "len", type: "quantitative" } },
    };
    await showChart(spec, "two bars");
    const b = collectedDisplays[before]!;
    const svg = String(b["image/svg+xml"]);
    expect(svg.startsWith("<svg")).toBe(true);
    // two data points -> two bar marks (vega draws each bar as a path with role mark)
    expect((svg.match(/<path[^>]*aria-roledescription="bar"/g) ?? []).length).toBe(2);
    expect(b["application/vnd.vegalite.v5+json"]).toBe(spec);
    expect(b["text/plain"]).toBe("two bars");
  });
  it("renders tables as HTML and aligned text", () => {
    const before = collectedDisplays.length;
    showTable([{ kernel: "v4.4", contiguous: 81920 }, { kernel: "v6.19", contiguous: 147456 }], "contiguity");
    const b = collectedDisplays[before]!;
    expect(String(b["text/html"])).toContain("<td>81920</td>");
    expect(String(b["text/plain"]).split("\n")).toEqual(["contiguity", "kernel  contiguous", "------  ----------", "v4.4    81920", "v6.19   147456"]);
  });
});
