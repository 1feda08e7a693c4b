/**
 * Notebook 00 live: what the code cells of
 * notebooks/00-streaming-dma-tour.ipynb compute from its parameters cell, as
 * plain data for the HTML export's page script (scripts/live/runtime.ts).
 *
 * The notebook's cells and this module build each cell's outputs with the
 * same functions (tourStaleCloseupOutputs and the rest, on runTour and
 * tourCosts results); test/pipeline/live-pages.test.ts checks that on the
 * notebook's parameters they give exactly the executed notebook's outputs.
 */
import { z } from "zod";
import { hex } from "../../core/arith.js";
import { listPlatformProfiles } from "../../platform/profile.js";
import { callCostChart, lineStateChart, tourOutcomeChart } from "../../viz/cache.js";
import { TOUR_PARAMS, TOUR_SYNCS, runTour, tourCellsAround, tourCosts, tourOutcome, tourTailCells, type TourCostRow, type TourParams, type TourResult } from "../00-tour.js";
import { parseScenarioParams, zInt } from "../params.js";
import { chart, liveResult, md, memoLast, paramOfField, table, type LiveOutput, type LiveResult, type LiveStep, type SameAsNotebook } from "./types.js";

/** True iff `id` names a platform profile in data/platforms. */
function isPlatform(id: unknown): boolean {
  return typeof id === "string" && listPlatformProfiles().includes(id);
}

/** A platform profile id (data/platforms/<id>.json). */
const zPlatform = z.string().refine(isPlatform).describe("a platform profile id: the name of a file in data/platforms without .json");

/** The parameters of notebook 00, named as in its parameters cell (the fields it shares with TOUR_PARAMS are TOUR_PARAMS' own, required). */
export const NOTEBOOK00_PARAMS = z
  .object({
    nonCoherentBoard: zPlatform,
    coherentBoard: zPlatform,
    bufferSize: TOUR_PARAMS.shape.bufferSize.unwrap(),
    offset: TOUR_PARAMS.shape.offset.unwrap(),
    syncs: TOUR_SYNCS,
    sharedLineBufferSize: zInt(1, 65536, "bytes of the RX buffer in the shared-cache-line variant"),
    seed: TOUR_PARAMS.shape.seed.unwrap(),
    specFillProb: TOUR_PARAMS.shape.specFillProb.unwrap(),
    costPlatforms: z.array(zPlatform).min(1).max(8).describe("1 to 8 platform profile ids (data/platforms) for the cost chart"),
  })
  .strict();

/** Notebook 00's parameters (the variables of its parameters cell). */
export type Notebook00Params = z.infer<typeof NOTEBOOK00_PARAMS>;

/** Units of the number parameters, shown next to their controls. */
export const NOTEBOOK00_UNITS: Record<string, string> = { bufferSize: "bytes", offset: "bytes", sharedLineBufferSize: "bytes", specFillProb: "per step" };

/** The choices of the platform parameters (the profiles in data/platforms). */
export function notebook00Choices(): Record<string, string[]> {
  const ids = listPlatformProfiles();
  return { nonCoherentBoard: ids, coherentBoard: ids, costPlatforms: ids };
}

/** The notebook parameter a ModelConfigError from {@link notebook00Live} concerns, or null (runTour's own fields map to the notebook's). */
export function notebook00ParamOf(field: string): string | null {
  return paramOfField(field, Object.keys(NOTEBOOK00_PARAMS.shape), { platform: "nonCoherentBoard" });
}

/** The outcome row of one run (the notebook's `outcome`). */
function outcome(r: TourResult) {
  return {
    platform: r.platform, device: r.device, coherent: r.coherent, "RX buffer (phys)": hex(r.rxPhys),
    "CPU read from RX": r.rxSeen.join(", "), "RX ok": r.rxOk, "device read from TX": r.txSeenByDevice.join(", "), "TX ok": r.txOk,
    hazards: r.hazards.map((h) => `${h.kind} at ${hex(h.paddr)}`).join("; ") || "none",
  };
}

/**
 * Notebook 00, first cell: the lines around the stale read of the driver
 * without dma_sync_single_for_cpu on the non-coherent board, and what it says.
 * @param r runTour on the non-coherent board without rxSyncForCpu.
 * @param seed the notebook's seed (named in the title and the text).
 */
export function tourStaleCloseupOutputs(r: TourResult, seed: number): LiveOutput[] {
  const h = r.hazardCells.filter((c) => c.kind === "stale_read");
  return [
    chart(
      lineStateChart(tourCellsAround(r, 2), `${r.platform}, no dma_sync_single_for_cpu: the lines around the stale read (seed ${seed})`, r.hazardCells),
      h.length
        ? `The CPU reads line${h.length > 1 ? "s" : ""} ${h.map((c) => c.line).join(", ")} at step ${h[0]!.step} (${r.steps[h[0]!.step]!.label}) from its cache, older than the device's data in memory. ` +
            `A speculative fill brought the line in after dma_map_single had invalidated it; only dma_sync_single_for_cpu would have dropped it again.`
        : `With seed ${seed} no line was filled while the device owned the buffer, so this run reads the right data by luck: try another seed.`,
    ),
  ];
}

/** Notebook 00: the correct driver's outcome on both boards and the steps on the first, folded. @param good runTour of the correct driver, one per board. */
export function tourCorrectOutputs(good: readonly TourResult[]): LiveOutput[] {
  return [
    table(good.map(outcome), "Details: the correct driver on both boards. The CPU reads the device's packet (dev:n tokens) and the device reads the CPU's (cpu:n) on both boards"),
    table(good[0]!.steps.map((s) => ({ step: s.step, what: s.label, "cost (ns)": Math.round(s.costNs) })), `Details: the steps on ${good[0]!.platform}, numbered as in the charts, with the modelled cost of each`),
  ];
}

/** Notebook 00: the RX lines after each step of the correct driver on the non-coherent board. @param r its runTour. */
export function tourCorrectChartOutputs(r: TourResult): LiveOutput[] {
  return [
    chart(
      lineStateChart(r.cells, `${r.platform}: RX buffer lines after each step (correct driver)`, r.hazardCells),
      `No line is pink or outlined: the CPU reads ${r.rxSeen.join(", ")}, the device's packet. On ${r.platform} dma_map_single invalidates the RX lines (v7_dma_inv_range), the device's bursts reach memory only, ` +
        `dma_sync_single_for_cpu drops any line filled meanwhile.`,
    ),
  ];
}

/** Notebook 00: the outcome without dma_sync_single_for_cpu on both boards, and the non-coherent board's hazards. @param missing runTour without rxSyncForCpu, one per board. */
export function tourMissingSyncOutputs(missing: readonly TourResult[]): LiveOutput[] {
  return [
    table(missing.map(outcome), "Details: no dma_sync_single_for_cpu before the CPU reads: stale data on the non-coherent board only"),
    table(missing[0]!.hazards.map((h) => ({ hazard: h.kind, line: hex(h.paddr), lines: h.lines, "CPU saw": h.seen, "device wrote": h.newer, "should have called": h.shouldHaveCalled })), "Hazards on the non-coherent board"),
  ];
}

/** Notebook 00: all RX lines without dma_sync_single_for_cpu on the non-coherent board. @param r its runTour. @param seed named in the title. */
export function tourMissingSyncChartOutputs(r: TourResult, seed: number): LiveOutput[] {
  return [chart(lineStateChart(r.cells, `${r.platform}: RX lines without dma_sync_single_for_cpu (seed ${seed})`, r.hazardCells), `${r.hazards.length} stale read(s) on ${r.platform}: the outlined line was filled before the device wrote it and is read from the cache (pink: older than memory).`)];
}

/** Notebook 00: the shared-cache-line variant's outcome on both boards and the non-coherent board's hazards. @param shared runTour with sharedLine, one per board. @param sharedLineBufferSize its RX size, bytes. */
export function tourSharedLineOutputs(shared: readonly TourResult[], sharedLineBufferSize: number): LiveOutput[] {
  return [
    table(shared.map(outcome), `Details: RX buffer of ${sharedLineBufferSize} bytes with a counter in its last cache line`),
    table(shared[0]!.hazards.map((h) => ({ hazard: h.kind, line: hex(h.paddr), "written back / seen": h.seen, "device's data": h.newer, fix: h.shouldHaveCalled })), "Hazards on the non-coherent board"),
  ];
}

/** Notebook 00: the last RX lines of the shared-cache-line variant on the non-coherent board. @param r its runTour. @param sharedLineBufferSize its RX size, bytes. */
export function tourSharedLineChartOutputs(r: TourResult, sharedLineBufferSize: number): LiveOutput[] {
  const tail = tourTailCells(r, 3);
  return [
    chart(
      lineStateChart(tail.cells, `${r.platform}: the last RX lines, counter at +${sharedLineBufferSize}`, r.hazardCells),
      `Line ${hex(tail.sharedLine)} holds the end of the packet and the counter: the CPU's dirty copy (orange) is written back over the device's data. ` +
        `Outlined: ${r.hazardCells.map((h) => `${h.kind} at step ${h.step}`).join(", ")}. ` +
        `The sync cleans and invalidates the partial line, which writes the CPU's old bytes to memory; the CPU then reads its own old copy of the packet's end.`,
    ),
  ];
}

/**
 * Notebook 00: the late TX write's outcome on both boards, then the chart of
 * every variant on both boards.
 * @param runs the runTour results of each variant, one per board: the correct driver, no rxSyncForCpu, the shared line, the late TX write.
 * @param seed named in the title.
 */
export function tourVariantsOutputs(runs: { good: readonly TourResult[]; missing: readonly TourResult[]; shared: readonly TourResult[]; late: readonly TourResult[] }, seed: number): LiveOutput[] {
  const variants = [
    ...runs.good.map((r) => tourOutcome("correct driver", r)),
    ...runs.missing.map((r) => tourOutcome("no dma_sync_single_for_cpu", r)),
    ...runs.shared.map((r) => tourOutcome("counter in the RX buffer's last line", r)),
    ...runs.late.map((r) => tourOutcome("TX write after map, no sync_for_device", r)),
  ];
  return [
    table(runs.late.map(outcome), "Details: TX header written after dma_map_single, no dma_sync_single_for_device"),
    chart(
      tourOutcomeChart(variants, `Every variant on both boards (seed ${seed})`),
      `Only the non-coherent board breaks: ${variants.filter((v) => v.outcome !== "correct").map((v) => `${v.variant} on ${v.platform}: ${v.outcome}`).join("; ") || "nothing breaks with this seed"}.`,
    ),
  ];
}

/**
 * Notebook 00: the modelled cost per call chart (with the two boards'
 * dma_map_single compared in its text) and its folded table.
 * @param costRows tourCosts(platforms, bufferSize, seed).
 * @param boards the non-coherent and the coherent board.
 * @param bufferSize bytes, named in the title.
 */
export function tourCostOutputs(costRows: readonly TourCostRow[], boards: { nonCoherent: string; coherent: string }, bufferSize: number): LiveOutput[] {
  const bbbMap = costRows.find((r) => r.platform === boards.nonCoherent && r.call === "dma_map_single rx");
  const pcMap = costRows.find((r) => r.platform === boards.coherent && r.call === "dma_map_single rx");
  return [
    chart(
      callCostChart(costRows, `Modelled cost per call, ${bufferSize}-byte buffers`),
      (bbbMap && pcMap ? `Cache maintenance dominates on the non-coherent board: dma_map_single costs ${bbbMap.ns} ns on ${boards.nonCoherent} against ${pcMap.ns} ns on ${boards.coherent}. ` : "") +
        costRows.map((r) => `${r.platform} ${r.call}: ${r.ns} ns${r.estimate ? " (estimate)" : ""}`).join("; ") +
        ".",
    ),
    table(costRows.map((r) => ({ platform: r.platform, call: r.call, ns: r.ns, basis: r.estimate ? "estimate" : "measured (end to end)" })), "Details: cost per call"),
  ];
}

/** Notebook 00: dma-debug's report for the broken variants, and what it misses. @param runs runTour results per board of each broken variant. */
export function tourReportOutputs(runs: { missing: readonly TourResult[]; shared: readonly TourResult[]; late: readonly TourResult[] }): LiveOutput[] {
  const reports = [
    ...runs.missing.map((r) => ({ variant: "missing sync_for_cpu", platform: r.platform, messages: r.checker })),
    ...runs.shared.map((r) => ({ variant: "shared cache line", platform: r.platform, messages: r.checker })),
    ...runs.late.map((r) => ({ variant: "TX write after map", platform: r.platform, messages: r.checker })),
  ].map((x) => ({ variant: x.variant, platform: x.platform, report: x.messages.join("\n") || "(nothing)" }));
  return [
    table(reports, "dma-debug's report for the broken variants (the model's own check is marked)"),
    md("The kernel's checker is silent on the shared-line bug: only alignment (`ARCH_DMA_MINALIGN`) prevents it. The missing sync is flagged only by the model's ownership check, because the kernel does not track CPU accesses."),
  ];
}

/** One row of notebook 00's seed sweep: a board and its counts over seeds 1 to 100. */
export interface TourSweepRow {
  platform: string;
  "no sync_for_cpu: runs with a stale read": number;
  "correct driver: runs with a hazard": number;
}

/**
 * Notebook 00's seed sweep on one board for one seed: whether the driver
 * without dma_sync_single_for_cpu reads stale data, whether the correct
 * driver meets any hazard (runTour with the seed replaced).
 * @throws ModelConfigError from runTour for a bad parameter.
 */
export function tourSeedOutcome(base: Partial<TourParams>, platform: string, seed: number, noSync: TourParams["syncs"]): { stale: boolean; hazard: boolean } {
  return {
    stale: runTour({ ...base, platform: platform, seed: seed, syncs: noSync }).hazards.some((h) => h.kind === "stale_read"),
    hazard: runTour({ ...base, platform: platform, seed: seed }).hazards.length > 0,
  };
}

/** Notebook 00: the seed sweep's table. @param rows one per board. @param specFillProb named in the caption. */
export function tourSweepOutputs(rows: readonly TourSweepRow[], specFillProb: number): LiveOutput[] {
  return [table(rows.map((r) => ({ ...r })), `Seeds 1 to 100, speculative fill probability ${specFillProb} per step`)];
}

/** The parameters the seed sweep reads (the live page keeps its exported table while they have the notebook's values). */
const SWEEP_DEPS = ["nonCoherentBoard", "coherentBoard", "bufferSize", "offset", "syncs", "specFillProb"];

const tour = memoLast((p: Partial<TourParams>) => runTour(p), 16);
const costsOf = memoLast((a: { platforms: string[]; bufferSize: number; seed: number }) => tourCosts(a.platforms, a.bufferSize, a.seed), 2);
type SweepArgs = { base: Partial<TourParams>; boards: string[]; noSync: TourParams["syncs"] };
type SweepRow = TourSweepRow;
/** The last two seed sweeps, by the JSON of their arguments (the model is deterministic: a kept result is the result). */
const sweepMemo: Array<{ key: string; rows: SweepRow[] }> = [];
/**
 * The seed sweep (seeds 1 to 100 per board, without dma_sync_single_for_cpu
 * and with the correct driver), ten seeds at a time with a step between
 * (LiveStep: the page paints and drops a run a newer change overtook); the
 * rows in board order. A sweep already done is returned without steps.
 */
function* sweepOf(a: SweepArgs): Generator<undefined, SweepRow[]> {
  // each run sets its own seed: the base's seed is not part of the key
  const key = JSON.stringify({ ...a, base: { ...a.base, seed: undefined } });
  const hit = sweepMemo.find((m) => m.key === key);
  if (hit) return hit.rows;
  const rows: SweepRow[] = [];
  for (const platform of a.boards) {
    let stale = 0;
    let hazard = 0;
    for (let s = 1; s <= 100; s++) {
      const o = tourSeedOutcome(a.base, platform, s, a.noSync);
      if (o.stale) stale++;
      if (o.hazard) hazard++;
      if (s % 10 === 0) yield undefined;
    }
    rows.push({ platform: platform, "no sync_for_cpu: runs with a stale read": stale, "correct driver: runs with a hazard": hazard });
  }
  sweepMemo.push({ key: key, rows: rows });
  if (sweepMemo.length > 2) sweepMemo.shift();
  return rows;
}

/**
 * Notebook 00's code cells after the parameters cell, one output list per
 * cell, with an `undefined` step after each ten seeds of the seed sweep
 * (LiveStep). With `same` (the live page), the seed sweep is null while its
 * parameters have the notebook's values.
 * @throws ModelConfigError naming the bad parameter, before the first cell.
 */
export function* notebook00Cells(params: Notebook00Params, same: SameAsNotebook = () => false): Generator<LiveStep> {
  parseScenarioParams(NOTEBOOK00_PARAMS, params, "notebook 00");
  const { nonCoherentBoard, coherentBoard, bufferSize, offset, sharedLineBufferSize, seed, specFillProb, costPlatforms } = params;
  // validated above: every flag is present (zod types them optional when compiled without strictNullChecks)
  const syncs = params.syncs as TourParams["syncs"];
  const boards = [nonCoherentBoard, coherentBoard];
  const base = { bufferSize: bufferSize, offset: offset, syncs: syncs, seed: seed, specFillProb: specFillProb };
  const noSync = { ...syncs, rxSyncForCpu: false };
  const missing = boards.map((platform) => tour({ ...base, platform: platform, syncs: noSync }));
  yield tourStaleCloseupOutputs(missing[0]!, seed);
  const good = boards.map((platform) => tour({ ...base, platform: platform }));
  yield tourCorrectOutputs(good);
  yield tourCorrectChartOutputs(good[0]!);
  yield tourMissingSyncOutputs(missing);
  yield tourMissingSyncChartOutputs(missing[0]!, seed);
  const shared = boards.map((platform) => tour({ ...base, platform: platform, bufferSize: sharedLineBufferSize, sharedLine: true }));
  yield tourSharedLineOutputs(shared, sharedLineBufferSize);
  yield tourSharedLineChartOutputs(shared[0]!, sharedLineBufferSize);
  const late = boards.map((platform) => tour({ ...base, platform: platform, txLateWrite: true, syncs: { ...syncs, txSyncForDevice: false } }));
  yield tourVariantsOutputs({ good: good, missing: missing, shared: shared, late: late }, seed);
  yield tourCostOutputs(costsOf({ platforms: costPlatforms, bufferSize: bufferSize, seed: seed }), { nonCoherent: nonCoherentBoard, coherent: coherentBoard }, bufferSize);
  yield tourReportOutputs({ missing: missing, shared: shared, late: late });
  // the seed sweep sets its own seeds
  if (same(SWEEP_DEPS)) {
    yield null;
    return;
  }
  const sweepRows = yield* sweepOf({ base: base, boards: boards, noSync: noSync });
  yield tourSweepOutputs(sweepRows, specFillProb);
}

/**
 * Run notebook 00 on `params`: every code cell's outputs (see {@link notebook00Cells}).
 * @throws ModelConfigError naming the bad parameter (see {@link notebook00ParamOf}).
 */
export function notebook00Live(params: Notebook00Params): LiveResult {
  return liveResult(notebook00Cells(params));
}
