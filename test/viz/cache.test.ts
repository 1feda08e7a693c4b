/** lib/viz/cache.ts: the line-state chart's rows (stale copies, hazards, no device view) and the cost chart's layout. */
import { describe, expect, it } from "vitest";
import { callCostChart, lineChartRows, lineStateChart, LINE_WHO, OUTCOME_COLOURS, tourOutcomeChart } from "../../lib/viz/cache.js";
import { runTour, tourCellsAround, tourOutcome } from "../../lib/scenarios/00-tour.js";

const NO_SYNC = { rxSyncForCpu: false, rxUnmap: true, txSyncForDevice: true };
const cell = (step: number, line: string, view: string, token: string, who: string) => ({ step, stepLabel: `${step}. x`, line, view, token, who });

describe("lineChartRows", () => {
  it("drops the device view, marks a clean CPU copy that differs from memory as stale, and attaches hazards to the CPU cell", () => {
    const cells = [
      // step 0: the CPU holds init, memory init: same token, not stale
      cell(0, "0x100", "CPU cache", "init", "init"),
      cell(0, "0x100", "memory", "init", "init"),
      cell(0, "0x100", "device view", "init", "init"),
      // step 1: the device wrote dev:1 to memory under the CPU's clean init copy: stale
      cell(1, "0x100", "CPU cache", "init", "init"),
      cell(1, "0x100", "memory", "dev:1", "dev"),
      cell(1, "0x100", "device view", "dev:1", "dev"),
      // a dirty CPU line differs from memory by definition: not "stale"
      cell(1, "0x140", "CPU cache", "cpu:1", "dirty"),
      cell(1, "0x140", "memory", "dev:1", "dev"),
      // not cached: stays "none"
      cell(1, "0x180", "CPU cache", "-", "none"),
      cell(1, "0x180", "memory", "dev:1", "dev"),
    ];
    const rows = lineChartRows(cells, [{ step: 1, line: "0x100", kind: "stale_read" }]);
    expect(rows.length).toBe(8); // 10 cells minus 2 device-view cells
    expect(rows.every((r) => r.view !== "device view")).toBe(true);
    const at = (step: number, line: string, view: string) => rows.find((r) => r.step === step && r.line === line && r.view === view)!;
    expect(at(0, "0x100", "CPU cache").who).toBe("init");
    expect(at(1, "0x100", "CPU cache").who).toBe("stale");
    expect(at(1, "0x100", "CPU cache").hazard).toBe("stale_read");
    expect(at(1, "0x100", "memory").hazard).toBe(""); // hazards mark the CPU's cell only
    expect(at(1, "0x140", "CPU cache").who).toBe("dirty");
    expect(at(1, "0x180", "CPU cache").who).toBe("none");
  });

  it("every colour class has its own colour and a legend label", () => {
    expect(new Set(LINE_WHO.range).size).toBe(LINE_WHO.domain.length);
    expect(LINE_WHO.labels.length).toBe(LINE_WHO.domain.length);
  });
});

describe("lineStateChart", () => {
  it("the missing-sync run on the BeagleBone: the stale line is outlined at the step the CPU reads it", () => {
    const r = runTour({ platform: "am335x-beaglebone-black", syncs: NO_SYNC });
    const spec = lineStateChart(r.cells, "t", r.hazardCells) as unknown as {
      data: { values: Array<{ step: number; view: string; hazard: string; who: string }> };
      facet: { row: { sort: string[] } };
      spec: { width: number; layer: Array<{ encoding: Record<string, { legend?: unknown }> }> };
    };
    expect(spec.facet.row.sort).toEqual(["CPU cache", "memory"]);
    const marked = spec.data.values.filter((v) => v.hazard !== "");
    expect(marked.length).toBeGreaterThan(0);
    for (const v of marked) {
      expect(r.steps[v.step]!.label).toBe("CPU reads the packet");
      expect(v.view).toBe("CPU cache");
      // what the CPU read is older than memory: drawn as a stale copy
      expect(v.who).toBe("stale");
    }
    // the outline layer has its own legend ("hazard")
    expect(spec.spec.layer.length).toBe(3);
    expect(spec.spec.layer[2]!.encoding["stroke"]).toBeDefined();
    // 46 px per step: 10 steps = 460 px of plot, well inside the 992 px column
    expect(spec.spec.width).toBe(r.steps.length * 46);
    expect(spec.spec.width).toBeLessThanOrEqual(14 * 46);
  });

  it("without hazards there is no outline layer", () => {
    const r = runTour({ platform: "am335x-beaglebone-black", specFillProb: 0 });
    const spec = lineStateChart(r.cells, "t", r.hazardCells) as unknown as { spec: { layer: unknown[] } };
    expect(r.hazardCells).toEqual([]);
    expect(spec.spec.layer.length).toBe(2);
  });
});

describe("callCostChart", () => {
  it("puts the call names on the y axis with room for the longest (26 characters)", () => {
    const spec = callCostChart([{ platform: "a", call: "dma_sync_single_for_cpu rx", ns: 10, estimate: true }], "t") as unknown as {
      encoding: { y: { field: string; axis: { labelLimit: number } }; x: { scale: { type: string } } };
      width: number;
    };
    expect(spec.encoding.y.field).toBe("call");
    // about 7 px per character at vega's 10 px label font: 26 * 7 = 182 px < 260
    expect(spec.encoding.y.axis.labelLimit).toBeGreaterThanOrEqual(26 * 7);
    expect(spec.encoding.x.scale.type).toBe("log");
    expect(spec.width + spec.encoding.y.axis.labelLimit).toBeLessThan(992);
  });
});

describe("the picture around the hazard and the outcome grid", () => {
  it("tourCellsAround keeps the lines within 2 lines of the stale line", () => {
    const r = runTour({ platform: "am335x-beaglebone-black", syncs: NO_SYNC });
    // seed 1: one stale line; 64-byte lines, so the kept lines are the stale line +-2 lines that exist in the chart
    expect(r.hazardCells.length).toBe(1);
    const h = parseInt(r.hazardCells[0]!.line, 16);
    const lines = [...new Set(tourCellsAround(r, 2).map((c) => parseInt(c.line, 16)))].sort((a, b) => a - b);
    const all = new Set(r.cells.map((c) => parseInt(c.line, 16)));
    expect(lines).toEqual([h - 128, h - 64, h, h + 64, h + 128].filter((l) => all.has(l)));
    // no hazard: every cell
    const ok = runTour({ platform: "am335x-beaglebone-black", specFillProb: 0 });
    expect(tourCellsAround(ok, 2)).toEqual(ok.cells);
  });

  it("tourOutcome names the hazards or says correct; the grid's legend lists only outcomes present", () => {
    const good = tourOutcome("correct", runTour({ platform: "am335x-beaglebone-black" }));
    const shared = tourOutcome("shared", runTour({ platform: "am335x-beaglebone-black", bufferSize: 1500, sharedLine: true }));
    expect(good.outcome).toBe("correct");
    // the sync's clean+invalidate writes the dirty line back (lost write), then the CPU reads its old copy (stale read)
    expect(shared.outcome).toBe("lost_write, stale_read");
    const spec = tourOutcomeChart([good, shared], "t") as unknown as { layer: Array<{ encoding?: { color?: { scale: { domain: string[]; range: string[] } } } }> };
    const scale = spec.layer[0]!.encoding!.color!.scale;
    expect(scale.domain).toEqual(["correct", "lost_write, stale_read"]);
    expect(scale.range).toEqual([OUTCOME_COLOURS.range[0], OUTCOME_COLOURS.range[OUTCOME_COLOURS.domain.indexOf("lost_write, stale_read")]]);
  });
});
