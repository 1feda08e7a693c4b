import { describe, expect, it } from "vitest";
import { runCase03 } from "../../lib/scenarios/03-arm32-coherent.js";
import { arm32AttrCostSpec, arm32MemoryMapSpec, arm32PathGridSpec, arm32PoolFillSpec } from "../../lib/viz/arm32.js";

const r = runCase03({ board: "bcm2836-rpi-2-b", kernel: "v6.19", cmaEnabled: true, coherentPoolSize: 262144, processes: 10, allocSizes: [4096, 131072, 131072], variant: "mainline" });

describe("case 03 chart specs", () => {
  it("stay within ~950 px and carry their rows", () => {
    const specs = [
      arm32MemoryMapSpec(r.memoryMap, "map"),
      arm32MemoryMapSpec(r.memoryMap, "zoom", { zoom: { from: 0x2b000000, to: 0x2d000000 }, sectionSize: 1048576 }),
      arm32PoolFillSpec(r.pool, 262144, "pool"),
      arm32AttrCostSpec(r.costs, "cost"),
    ];
    for (const s of specs) expect(Number(s["width"])).toBeLessThanOrEqual(950);
    const grid = arm32PathGridSpec(r.allocations, "grid") as { spec: { width: number } };
    // 8 releases share 640 px (80 each), leaving room for the request labels.
    expect(grid.spec.width).toBe(640);
  });
  it("the zoom draws a rule at every section boundary outside CMA: 0x2b000000..0x2c000000 = 16 boundaries", () => {
    const s = arm32MemoryMapSpec(r.memoryMap, "zoom", { zoom: { from: 0x2b000000, to: 0x2d000000 }, sectionSize: 1048576 }) as { layer: Array<{ data: { values: unknown[] } }> };
    expect(s.layer[2]!.data.values.length).toBe(16);
  });
});
