import { describe, expect, it } from "vitest";
import { runTour, tourCosts, tourTailCells } from "../../lib/scenarios/00-tour.js";
import { callCostChart, lineStateChart } from "../../lib/viz/cache.js";

const BBB = "am335x-beaglebone-black";
const NO_RX_SYNC = { rxSyncForCpu: false, rxUnmap: true, txSyncForDevice: true };

describe("case 00: the tour", () => {
  it("the correct driver reads the device's packet and sends the CPU's on every platform, with no hazard and no report", () => {
    for (const platform of [BBB, "x86-64-pc", "arm64-server", "parisc-c8000"]) {
      const r = runTour({ platform });
      expect(r.rxOk && r.txOk).toBe(true);
      expect(r.hazards).toEqual([]);
      expect(r.checker).toEqual([]);
    }
  });

  it("without dma_sync_single_for_cpu: a stale read on the BeagleBone (a line speculatively filled during the DMA), none on x86", () => {
    // specFillProb 1: a fill after each step, so a line is cached between the map and the device's write.
    const bbb = runTour({ platform: BBB, syncs: NO_RX_SYNC, specFillProb: 1 });
    expect(bbb.rxOk).toBe(false);
    expect(bbb.hazards.map((h) => h.kind)).toContain("stale_read");
    expect(bbb.checker.some((m) => m.includes("CPU reads DMA memory the device owns"))).toBe(true);
    const pc = runTour({ platform: "x86-64-pc", syncs: NO_RX_SYNC, specFillProb: 1 });
    expect(pc.rxOk).toBe(true);
    expect(pc.hazards).toEqual([]);
  });

  it("the shared cache line: 1500-byte buffer, stats field at +1500 in line 1472..1535: lost write on the BeagleBone only", () => {
    const bbb = runTour({ platform: BBB, bufferSize: 1500, sharedLine: true, specFillProb: 0 });
    expect(bbb.hazards.map((h) => [h.kind, h.paddr - bbb.rxPhys])).toContainEqual(["lost_write", 1472]);
    expect(bbb.rxOk).toBe(false);
    // The kernel's dma-debug cannot see this: no report.
    expect(bbb.checker).toEqual([]);
    const pc = runTour({ platform: "x86-64-pc", bufferSize: 1500, sharedLine: true });
    expect(pc.hazards).toEqual([]);
  });

  it("a 1536-byte buffer at offset 0 owns its lines: the shared-line variant has nothing to share", () => {
    const r = runTour({ platform: BBB, bufferSize: 1536, sharedLine: true });
    expect(r.hazards).toEqual([]);
  });

  it("TX header patched after the map without dma_sync_single_for_device: the device reads stale data (non-coherent)", () => {
    const r = runTour({ platform: BBB, txLateWrite: true, syncs: { rxSyncForCpu: true, rxUnmap: true, txSyncForDevice: false } });
    expect(r.txOk).toBe(false);
    expect(r.hazards.map((h) => h.kind)).toEqual(["device_read_stale"]);
    const fixed = runTour({ platform: BBB, txLateWrite: true });
    expect(fixed.txOk).toBe(true);
  });

  it("same seed, same run", () => {
    const a = runTour({ platform: BBB, syncs: NO_RX_SYNC, seed: 42 });
    const b = runTour({ platform: BBB, syncs: NO_RX_SYNC, seed: 42 });
    expect(a.cells).toEqual(b.cells);
  });

  it("costs: BeagleBone map of 1536 bytes = 300 + 24 x 40 ns = 1260 ns; x86 = 30 ns", () => {
    const rows = tourCosts([BBB, "x86-64-pc"]);
    expect(rows.find((r) => r.platform === BBB && r.call === "dma_map_single rx")!.ns).toBe(1260);
    expect(rows.find((r) => r.platform === "x86-64-pc" && r.call === "dma_map_single rx")!.ns).toBe(30);
    // The CPU read of 1536 bytes at 10 ns/byte (pwc-derived) = 15360 ns.
    expect(rows.find((r) => r.platform === BBB && r.call === "CPU reads the packet")!.ns).toBe(15360);
  });

  it("bad parameters are rejected before anything runs", () => {
    expect(() => runTour({ bufferSize: 0 })).toThrow(/bufferSize/);
    expect(() => runTour({ offset: 5000 })).toThrow(/offset/);
    expect(() => runTour({ specFillProb: 2 })).toThrow(/specFillProb/);
    expect(() => runTour({ platform: "no-such-board" })).toThrow();
  });
});


describe("case 00 charts", () => {
  it("the line-state chart draws the CPU cache and memory (not the device view) per line and step, faceted by view", () => {
    const r = runTour({ platform: BBB, bufferSize: 128, specFillProb: 0 });
    // 128 bytes at offset 0 = 2 lines, plus the (unshared) field line = 3 lines; 3 views per line per step.
    expect(r.cells.length).toBe(r.steps.length * 3 * 3);
    const spec = lineStateChart(r.cells, "t") as { $schema: string; facet: { row: { field: string } }; data: { values: unknown[] } };
    expect(spec.$schema).toBe("https://vega.github.io/schema/vega-lite/v5.json");
    expect(spec.facet.row.field).toBe("view");
    // The device view is recorded (3 views) but not drawn: 2 of the 3 cells per line and step.
    expect(spec.data.values.length).toBe(r.steps.length * 3 * 2);
  });

  it("the cost chart keeps every row and marks estimates", () => {
    const rows = [
      { platform: "a", call: "map", ns: 0, estimate: true },
      { platform: "b", call: "map", ns: 1260, estimate: false },
    ];
    const spec = callCostChart(rows, "t") as { data: { values: Array<{ nsPlot: number; basis: string }> } };
    // log scale: a zero cost is drawn at 1 ns
    expect(spec.data.values.map((v) => [v.nsPlot, v.basis])).toEqual([
      [1, "estimate"],
      [1260, "measured"],
    ]);
  });
});

describe("case 00: the tail of the RX buffer for the chart", () => {
  it("picks the line with the buffer's last bytes and the three lines below it", () => {
    const r = runTour({ platform: BBB, bufferSize: 1500, sharedLine: true, specFillProb: 0 });
    // 64-byte lines: 1500 = 23 * 64 + 28, so the last bytes sit in the line at +1472 (= 23 * 64),
    // and the three lines below it start at +1280, +1344, +1408 (kmalloc gives a line-aligned buffer).
    expect(r.rxPhys % 64).toBe(0);
    const t = tourTailCells(r, 3);
    expect(t.sharedLine).toBe(r.rxPhys + 1472);
    const lines = [...new Set(t.cells.map((c) => parseInt(c.line, 16)))].sort((a, b) => a - b);
    expect(lines).toEqual([r.rxPhys + 1280, r.rxPhys + 1344, r.rxPhys + 1408, r.rxPhys + 1472]);
    expect(() => tourTailCells(r, -1)).toThrow(/linesBefore/);
  });
});
