/** lib/viz/zones.ts: the swiotlb chart's "requested" mark and the VIPT trade-off chart. */
import { describe, expect, it } from "vitest";
import { COST_FLOOR_US, costPerFrameChartSpec, SLOTS_PER_PAGE, swiotlbSlotsChartSpec, viptStaleChartSpec, ZONE_MAP_WIDTH, zoneMapChartSpec } from "../../lib/viz/zones.js";
import { case04Vipt } from "../../lib/scenarios/04-dma32-vmalloc.js";

const point = (bufferMiB: number, ok: boolean, used: number, pagesAbove4G: number) => ({
  strategy: "vmalloc", bufferMiB, ok, costPerFrameUs: 1, bouncedMiBPerFrame: 0, swiotlbSlotsUsed: used, swiotlbSlots: 32768, pagesAbove4G,
});

describe("swiotlbSlotsChartSpec", () => {
  it("marks what a failed request asked for: pages above 4 GiB x 2 slots", () => {
    // PAGE_SIZE 4096 / IO_TLB_SIZE 2048 = 2 slots per bounced page.
    expect(SLOTS_PER_PAGE).toBe(4096 / 2048);
    // 4 buffers of 32 MiB, all above 4 GiB: 4 * 8192 pages = 32768 pages -> 65536 slots requested, pool 32768.
    const spec = swiotlbSlotsChartSpec([point(16, true, 32768, 16384), point(32, false, 16384, 32768)], "t") as unknown as {
      layer: Array<{ data: { values: Array<Record<string, unknown>> } }>;
    };
    expect(spec.layer.length).toBe(3);
    expect(spec.layer[2]!.data.values).toEqual([{ bufferMiB: 32, requested: 65536, what: "requested (failed)" }]);
  });

  it("no failure, no requested mark", () => {
    const spec = swiotlbSlotsChartSpec([point(16, true, 32768, 16384)], "t") as unknown as { layer: unknown[] };
    expect(spec.layer.length).toBe(2);
  });
});

describe("costPerFrameChartSpec", () => {
  type Spec = { title: { text: string; subtitle?: string }; layer: Array<{ data: { values: Array<{ cost: number; costPerFrameUs: number }> }; encoding: { y: { title: string } } }> };
  const at = (strategy: string, bufferMiB: number, ok: boolean, costPerFrameUs: number) => ({ ...point(bufferMiB, ok, 0, 0), strategy, costPerFrameUs });

  it("draws 0 µs and failed runs at the floor a log scale needs, and its y axis says so", () => {
    const spec = costPerFrameChartSpec([at("vmalloc", 1, true, 0), at("vmalloc", 4, true, 125.5), at("vmalloc", 16, false, 0)], "t") as unknown as Spec;
    expect(spec.layer[0]!.data.values.map((r) => [r.costPerFrameUs, r.cost])).toEqual([[0, COST_FLOOR_US], [125.5, 125.5]]);
    expect(spec.layer[1]!.data.values.map((r) => r.cost)).toEqual([COST_FLOOR_US]);
    expect(spec.layer[0]!.encoding.y.title).toContain(`0 drawn at ${COST_FLOOR_US}`);
    // one run costs something: the lines are apart, no subtitle
    expect(spec.title.subtitle).toBeUndefined();
  });

  it("says so when every run that mapped costs 0 µs (their lines lie on one another), as behind VT-d on x86", () => {
    const spec = costPerFrameChartSpec([at("vmalloc", 1, true, 0), at("iommu", 1, true, 0), at("noncontiguous", 40, false, 0)], "t") as unknown as Spec;
    expect(spec.title.subtitle).toMatch(/costs 0 µs per frame/);
    // nothing mapped: nothing to say about costs
    expect((costPerFrameChartSpec([at("vmalloc", 40, false, 0)], "t") as unknown as Spec).title.subtitle).toBeUndefined();
  });
});

describe("viptStaleChartSpec", () => {
  it("shows, per buffer size, the cost with and without invalidate_kernel_vmap_range and the stale lines it prevents", () => {
    // 64 KiB on parisc-c8000 = 512 lines of 128 bytes; unmap 16 x 100 ns + 512 x 10 ns = 6720 ns = 6.72 us,
    // the invalidate adds a whole-cache flush of 500 us (test/scenarios/04-dma32-vmalloc.test.ts).
    const rows = [case04Vipt(false, 64 * 1024), case04Vipt(true, 64 * 1024)];
    const spec = viptStaleChartSpec(rows, "t") as unknown as { data: { values: Array<{ variant: string; size: string; costUs: number; note: string }> }; width: number };
    expect(spec.data.values.map((v) => [v.variant, v.size, v.costUs, v.note])).toEqual([
      ["without it", "64 KiB", 6.72, "512/512 stale"],
      ["with invalidate_kernel_vmap_range()", "64 KiB", 506.72, "0/512 stale"],
    ]);
    expect(spec.width).toBeLessThan(992);
  });
});

describe("zoneMapChartSpec", () => {
  it("leaves room for the lane labels and legend inside the 992 px column", () => {
    // lanes ("buffer pages", ~75 px) + legend ("ZONE_HIGHMEM", ~120 px) + padding: 640 + 250 < 992
    expect(ZONE_MAP_WIDTH + 250).toBeLessThan(992);
  });
});

describe("zone map colours", () => {
  it("gives every kind its own colour", () => {
    const spec = zoneMapChartSpec({ title: "t", bars: [], maskLine: 2 ** 32, maskLabel: "m" }) as unknown as { layer: Array<{ encoding?: { color?: { scale: { domain: string[]; range: string[] } } } }> };
    const scale = spec.layer[0]!.encoding!.color!.scale;
    expect(new Set(scale.range).size).toBe(scale.domain.length);
  });
});
