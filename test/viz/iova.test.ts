/** lib/viz/iova.ts: every colour and mark of the case 01 chart has a legend entry. */
import { describe, expect, it } from "vitest";
import { iommuGapsSpec } from "../../lib/viz/iova.js";
import { runIommuGapsReleases } from "../../lib/scenarios/01-iommu-gaps.js";

describe("iommuGapsSpec legends", () => {
  it("the contiguous-prefix tick and the DMA segment shades have legends", () => {
    const r = runIommuGapsReleases({ segments: [65536, 16384, 65536], granule: 4096, maxSegSize: null, segBoundaryMask: null, seed: 1 }, ["v4.4"]);
    const spec = iommuGapsSpec(r) as unknown as { vconcat: Array<{ layer: Array<{ mark: { type: string }; encoding: Record<string, { legend?: unknown }> }> }> };
    const tick = spec.vconcat[0]!.layer.find((l) => l.mark.type === "tick")!;
    expect(tick.encoding["fill"]!.legend).not.toBeNull();
    const seg = spec.vconcat[1]!.layer.find((l) => l.mark.type === "bar")!;
    expect(seg.encoding["color"]!.legend).not.toBeNull();
  });
});
