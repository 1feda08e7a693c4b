/**
 * Notebook 04 live: what the code cells of
 * notebooks/04-32bit-dma-and-vmalloc.ipynb compute from its parameters cell,
 * as plain data for the HTML export's page script (scripts/live/runtime.ts).
 *
 * The cells call the same scenario functions and spec builders as the
 * notebook (case04Run, case04Sweep, case04ZoneMap, case04Vipt, the row
 * builders of lib/scenarios/04-dma32-vmalloc.ts); test/pipeline/live-html.test.ts
 * checks that on the notebook's parameters they give exactly the executed
 * notebook's outputs.
 *
 * Speed: the cost sweep maps `buffers` x 1, 4, 16 and 40 MiB page by page
 * for each strategy, each run on a fresh machine (up to 327,680 pages
 * per run at 32 buffers: seconds of model work). The page keeps an
 * exported output while the parameters it reads have the notebook's values
 * (`same`), and each computation is memoized on exactly the parameters it
 * reads ({@link memoLast}, {@link LastResults}), so changing the strategy,
 * the buffer size or the fragmentation re-runs the single-run cells only;
 * the release, the IOMMU, the RAM, the mask, the buffer count, the swiotlb
 * size and the seed (the machines' seed) re-run the sweep, whose runs are
 * task calls ({@link CASE04_SWEEP_RUN}) the page runs in Web Workers. The
 * single run is a task as well ({@link CASE04_SINGLE_RUN}, started first),
 * so the page's thread runs no model code. As case04Sweep does, one task
 * runs vmalloc32 and zone-dma32 for a size (their runs make the same model
 * calls on x86-64), and behind VT-d one task runs vmalloc and iommu (both
 * map a vmalloc() buffer through iommu-dma there): case04SameRun, so one
 * run gives both rows. When
 * the single run is one of the sweep's runs (an unfragmented run of a
 * sweep strategy and size, as the notebook's vmalloc 4 MiB is), its rows
 * come from the single run and no task repeats it. The model is
 * deterministic: a memoized result, or one computed in a worker, is the result.
 */
import { z } from "zod";
import { hex } from "../../core/arith.js";
import { DMA_FROM_DEVICE } from "../../core/dma-types.js";
import { dmaAllocNoncontiguous, dmaAllocPages, dmaAllocSgWhatIf } from "../../dma/noncontiguous.js";
import { kernelChanges } from "../../kernel/version.js";
import { vmalloc32PageGfpText } from "../../mm/vmalloc32.js";
import { costPerFrameChartSpec, swiotlbSlotsChartSpec, viptStaleChartSpec, zoneMapChartSpec } from "../../viz/zones.js";
import { CASE04_DEFAULTS, CASE04_PARAMS, CASE04_STRATEGIES, case04Machine, case04Run, case04Sweep, case04SweepRowAs, case04Vipt, case04ZoneMap, type Case04Params, type Case04Result, type Case04Strategy, type Case04SweepRow } from "../04-dma32-vmalloc.js";
import { parseScenarioParams, zKernel } from "../params.js";
import { chart, defineLiveTask, LastResults, liveResult, md, memoLast, paramOfField, prefetchTasks, runTasks, table, type LiveOutput, type LiveResult, type LiveStep, type LiveTaskCall, type SameAsNotebook } from "./types.js";

/**
 * The parameters of notebook 04, named as in its parameters cell: those of
 * case04Run ({@link CASE04_PARAMS}) and the releases of the page-table table.
 */
export const NOTEBOOK04_PARAMS = CASE04_PARAMS.extend({
  pgtableReleases: z.array(zKernel).min(1).max(8).describe("1 to 8 releases \"vX.Y\" within the modelled range, for the saa7146 page table behind VT-d"),
}).strict();

/** Notebook 04's parameters (the variables of its parameters cell). */
export type Notebook04Params = z.infer<typeof NOTEBOOK04_PARAMS>;

/** Units of the number parameters, shown next to their controls. */
export const NOTEBOOK04_UNITS: Record<string, string> = { ramGiB: "GiB", dmaMaskBits: "bits", bufferSize: "bytes", swiotlbSize: "bytes" };

/**
 * The notebook parameter a ModelConfigError from {@link notebook04Live}
 * concerns, or null.
 */
export function notebook04ParamOf(field: string): string | null {
  return paramOfField(field, Object.keys(NOTEBOOK04_PARAMS.shape));
}

/** The buffer sizes of notebook 04's cost sweep, bytes (cell "Cost per frame as the buffer grows"): 1, 4, 16 and 40 MiB. */
export const CASE04_SWEEP_SIZES: readonly number[] = [1, 4, 16, 40].map((m) => m * 2 ** 20);
const SWEEP_SIZES = CASE04_SWEEP_SIZES;
/** The releases of the vmalloc_32() table. */
const VMALLOC32_RELEASES = ["v4.11", "v4.12", "v4.13", "v6.19"];

/**
 * Notebook 04, the single run: its summary (markdown) and the memory map
 * chart (zoneMapChartSpec of case04ZoneMap).
 * @param run case04Run(params).
 * @param params the run's parameters (strategy, buffers, bufferSize, kernel, iommu are named in the text).
 */
export function case04RunOutputs(run: Case04Result, params: Case04Params): LiveOutput[] {
  const { strategy, buffers, bufferSize, kernel, iommu } = params;
  const zmap = case04ZoneMap(run);
  return [
    md(
      `**Run:** ${strategy}, ${buffers} × ${bufferSize / 2 ** 20} MiB, ${kernel}, IOMMU ${iommu ? "on" : "off"}: ${run.ok ? "the card can reach every page" : "**fails**: " + run.reason}. ` +
        `Pages above 4 GiB: ${run.pagesAbove4G} of ${run.pages}. swiotlb slots in use: ${run.swiotlbSlotsUsed} of ${run.swiotlbSlots}. ` +
        `CPU cost per frame: ${(run.costPerFrameNs / 1000).toFixed(1)} µs (${(run.bouncedBytesPerFrame / 2 ** 20).toFixed(1)} MiB copied by swiotlb).`,
    ),
    chart(zoneMapChartSpec(zmap), `Memory map: ${zmap.bars.filter((b) => b.lane === "buffer pages").map((b) => `${hex(b.start)}-${hex(b.end)} ${b.kind}`).join("; ")}; mask line ${zmap.maskLabel}`),
  ];
}

/** Notebook 04: the table of the run's capture buffers (where the pages are, what the card sees). @param run case04Run(params). */
export function case04BuffersOutputs(run: Case04Result): LiveOutput[] {
  return [
    table(
      run.buffers.map((b, i) => ({
        buffer: i,
        ok: b.ok,
        reason: b.reason,
        "first page (phys)": b.pagePhys.length ? hex(b.pagePhys[0]!) : null,
        "DMA segments": b.dmaSegments,
        "first entries the card reads": b.deviceAddrs.slice(0, 3).map((a) => hex(a)).join(", "),
        "bounced entries": b.bounced,
        tables: b.tables,
        "truncated entries": b.truncated,
      })),
      "Each capture buffer: where its pages are and what the card sees",
    ),
  ];
}

/**
 * Notebook 04: the saa7146 page table behind VT-d, one 1 MiB buffer, per
 * release (case04Run with the iommu strategy; the params' RAM, mask, swiotlb
 * size and seed are kept, the rest replaced).
 * @throws ModelConfigError from case04Run for a bad parameter or release.
 */
export function case04PgtableOutputs(params: Case04Params, releases: readonly string[]): LiveOutput[] {
  const rows = releases.map((k) => {
    // (the rows read no trace event: the machine stores none)
    const r = case04Run({ ...params, kernel: k, iommu: true, strategy: "iommu", bufferSize: 2 ** 20, buffers: 1, fragmentFraction: 0 }, { keepEvents: false });
    const b = r.buffers[0]!;
    return { kernel: k, "DMA segments for 256 pages": b.dmaSegments, "frame pages sent to the wrong IOVA": b.misdirected, "entries to an unmapped IOVA": b.unmappedEntries, result: r.ok ? "table right" : r.reason };
  });
  return [table(rows, "saa7146 behind VT-d, one 1 MiB buffer: the page table per release")];
}

/**
 * Notebook 04: vmalloc_32() per release (v4.11, v4.12, v4.13, v6.19): its
 * page flags, where a 1 MiB buffer's first page lands, whether 16 MiB
 * succeeds (the params' RAM, mask, IOMMU, swiotlb size and seed are kept).
 * @throws ModelConfigError from case04Run for a bad parameter.
 */
export function case04Vmalloc32Outputs(params: Case04Params): LiveOutput[] {
  const rows = VMALLOC32_RELEASES.map((k) => {
    // (the rows read no trace event: the machines store none)
    const r16 = case04Run({ ...params, kernel: k, strategy: "vmalloc32", bufferSize: 16 * 2 ** 20, buffers: 1, fragmentFraction: 0 }, { keepEvents: false });
    const r1 = case04Run({ ...params, kernel: k, strategy: "vmalloc32", bufferSize: 2 ** 20, buffers: 1, fragmentFraction: 0 }, { keepEvents: false });
    return {
      kernel: k,
      "page flags": vmalloc32PageGfpText(r1.machine).split("|").join(" | "),
      "1 MiB: first page": r1.buffers[0]!.pagePhys.length ? hex(r1.buffers[0]!.pagePhys[0]!) : null,
      "16 MiB": r16.ok ? "ok" : r16.reason,
    };
  });
  return [table(rows, "vmalloc_32() on the 8 GiB PC per release")];
}

/** Notebook 04: the cost-per-frame chart of a case04Sweep and its folded table, run by run. @param params the sweep's base (buffers, kernel, iommu are named in the title). */
export function case04SweepOutputs(sweep: readonly Case04SweepRow[], params: Case04Params): LiveOutput[] {
  const { buffers, kernel, iommu } = params;
  return [
    chart(costPerFrameChartSpec(sweep, `CPU cost per frame, ${buffers} buffers, ${kernel}, IOMMU ${iommu ? "on" : "off"}`), sweep.map((r) => `${r.strategy} ${r.bufferMiB} MiB: ${r.ok ? r.costPerFrameUs + " µs" : "failed"}`).join("; ")),
    table(sweep.map((r) => ({ strategy: r.strategy, MiB: r.bufferMiB, ok: r.ok, "µs per frame": r.costPerFrameUs, "MiB bounced per frame": r.bouncedMiBPerFrame, "pages above 4 GiB": r.pagesAbove4G, reason: r.reason })), "Details: the sweep, run by run"),
  ];
}

/**
 * Notebook 04: the allocators merged instead of dma_alloc_sg on v6.19
 * machines without and with VT-d (4 and 16 MiB), and the folded table of
 * the behaviour changes they use.
 * @throws ModelConfigError from case04Machine for a bad parameter.
 */
export function case04AllocOutputs(params: Case04Params): LiveOutput[] {
  const rows: Array<Record<string, string | number>> = [];
  for (const vtd of [false, true]) {
    for (const mib of [4, 16]) {
      // (the rows read no trace event: the machine stores none)
      const m = case04Machine({ ...params, kernel: "v6.19", iommu: vtd, strategy: vtd ? "iommu" : "vmalloc" }, false);
      const d = m.device("0000:03:00.0");
      const size = mib * 2 ** 20;
      const pg = dmaAllocPages(d, size, DMA_FROM_DEVICE);
      const nc = dmaAllocNoncontiguous(d, size, DMA_FROM_DEVICE);
      const sg = dmaAllocSgWhatIf(d, size, DMA_FROM_DEVICE);
      rows.push({
        machine: vtd ? "VT-d" : "no IOMMU",
        MiB: mib,
        "dma_alloc_pages (v5.10)": pg ? `one block at DMA ${hex(pg.dmaHandle)}` : "fails",
        "dma_alloc_noncontiguous (v5.13)": nc ? `${nc.pfns.length} pages, ${nc.sgt.nents} DMA segment(s)` : "fails",
        "dma_alloc_sg (proposed 2018, never merged)": sg ? `${sg.pfns.length} pages, ${sg.sgt.nents} DMA segment(s)` : "fails",
      });
    }
  }
  return [
    table(rows, "Allocating a capture buffer the card can reach, v6.19"),
    table(
      kernelChanges()
        .filter((c) => ["dma-alloc-pages", "dma-alloc-noncontiguous", "saa7146-sg-dma-len", "amd-iommu-dma-iommu", "intel-iommu-dma-iommu"].includes(c.id))
        .map((c) => ({ since: c.since, commit: c.commit, subject: c.subject })),
      "Details: behaviour changes used in this notebook's allocator and page-table sections",
    ),
  ];
}

/**
 * Notebook 04: the swiotlb slots chart of a vmalloc sweep without IOMMU,
 * then what the single run's kernel log says about the pool.
 * @param bounce the vmalloc rows of a case04Sweep without IOMMU.
 * @param run case04Run(params), or its pool figures (its first swiotlb_full message, its slots).
 * @param params buffers and swiotlbSize are named in the chart title.
 */
export function case04SwiotlbOutputs(bounce: readonly Case04SweepRow[], run: Case04PoolFigures, params: Case04Params): LiveOutput[] {

  return [
    chart(swiotlbSlotsChartSpec(bounce, `swiotlb slots in use with ${params.buffers} vmalloc buffers (pool ${params.swiotlbSize / 2 ** 20} MiB)`), bounce.map((r) => `${r.bufferMiB} MiB: ${r.swiotlbSlotsUsed}/${r.swiotlbSlots} slots, ${r.ok ? "mapped" : "map failed"}`).join("; ")),
    md(run.swiotlbFull !== null ? `This run's kernel log: \`${run.swiotlbFull}\`` : `This run did not fill the pool (${run.swiotlbSlotsUsed} of ${run.swiotlbSlots} slots in use).`),
  ];
}

/**
 * Notebook 04: PA-RISC, reading a device-written vmalloc buffer through its
 * vmalloc alias (case04Vipt without and with the flush, 16, 64 and 256 KiB):
 * the folded table and the chart.
 * @throws ModelConfigError from case04Vipt for a bad release.
 */
export function case04ViptOutputs(kernel: string): LiveOutput[] {
  const viptRows = [16, 64, 256].flatMap((k) => [case04Vipt(false, k * 1024, kernel), case04Vipt(true, k * 1024, kernel)]);
  return [
    table(
      viptRows.map((r) => ({ variant: r.variant, "lines read (128 B)": r.freshLines + r.staleLines, "fresh lines": r.freshLines, "stale lines": r.staleLines, "stale_read events": r.staleReadEvents, "CPU-side cost after the DMA (µs)": r.costNs / 1000, "linear alias colour": r.linearColour, "vmalloc alias colour": r.vmallocColour })),
      "Details: PA-RISC, reading a device-written vmalloc buffer through its vmalloc alias",
    ),
    chart(viptStaleChartSpec(viptRows, "What the CPU reads through the vmalloc alias after dma_unmap_sg (16, 64 and 256 KiB)"), viptRows.map((r) => `${r.variant}: ${r.freshLines} fresh, ${r.staleLines} stale lines`).join("; ")),
  ];
}

// The parameters each computation reads (the live page keeps an exported output while they have the notebook's values).
// The seed: case04Run reads it only to fragment memory (BuddyAllocator.fragment, when fragmentFraction > 0); the
// machine's PRNG streams (lib/platform/machine.ts) feed only CacheModel.step's speculative fills and random
// evictions, whose probabilities case 04 leaves at 0 (every draw is taken, none changes anything). So every
// computation below that runs unfragmented (the page table, vmalloc_32(), the sweep, the allocators) does not
// read the seed: it is left out of their dependencies and memo keys (SEED_UNREAD), and the single run reads
// it only when fragmentFraction > 0 (test/scenarios/live-04.test.ts checks both against runs on other seeds).
const RUN_DEPS = ["ramGiB", "dmaMaskBits", "kernel", "iommu", "bufferSize", "buffers", "swiotlbSize", "strategy", "fragmentFraction"];
const PGTABLE_DEPS = ["ramGiB", "dmaMaskBits", "swiotlbSize", "pgtableReleases"];
const VMALLOC32_DEPS = ["ramGiB", "dmaMaskBits", "iommu", "swiotlbSize"];
const SWEEP_DEPS = ["ramGiB", "dmaMaskBits", "kernel", "iommu", "buffers", "swiotlbSize"];
const ALLOC_DEPS = ["ramGiB", "dmaMaskBits", "swiotlbSize"];
const VIPT_DEPS = ["kernel"];
/** The seed the unfragmented computations run with (any seed gives the same result, see above): the notebook's. */
const SEED_UNREAD = 1;

/** The swiotlb figures of a case04Run that the swiotlb cell reads. */
export type Case04PoolFigures = Pick<Case04Result, "swiotlbFull" | "swiotlbSlotsUsed" | "swiotlbSlots">;

/** What notebook 04's page shows of its single run, as plain data (a worker computes it: {@link CASE04_SINGLE_RUN}). */
export interface Case04SingleRun {
  /** {@link case04RunOutputs}: the summary and the memory map. */
  run: LiveOutput[];
  /** {@link case04BuffersOutputs}: the table of capture buffers. */
  buffers: LiveOutput[];
  /** The pool figures the swiotlb cell names. */
  pool: Case04PoolFigures;
  /**
   * The run's row as the cost sweep would compute it, and the rows of the
   * other strategies whose runs make the same model calls on its machine
   * (case04SweepRowAs): the sweep's rows for them when the run is one of its runs.
   */
  rows: Case04SweepRow[];
}

/**
 * Notebook 04's single run as a task the page runs in a Web Worker
 * (LiveTask): case04Run(p) without stored events (the outputs read its
 * figures and its swiotlb_full message, no event), and what the page shows
 * of it. Off the page's thread, the page stays responsive and its thread
 * compiles no model code; in Node it runs in place, with the same result.
 * @throws ModelConfigError from case04Run (a bad parameter, or a strategy the machine cannot take: iommu without VT-d).
 */
export const CASE04_SINGLE_RUN = defineLiveTask("case04SingleRun", (p: Case04Params): Case04SingleRun => {
  const run = case04Run(p, { keepEvents: false });
  const rows = CASE04_STRATEGIES.map((s) => case04SweepRowAs(run, s)).filter((r): r is Case04SweepRow => r !== null);
  return { run: case04RunOutputs(run, p), buffers: case04BuffersOutputs(run), pool: { swiotlbFull: run.swiotlbFull, swiotlbSlotsUsed: run.swiotlbSlotsUsed, swiotlbSlots: run.swiotlbSlots }, rows: rows };
});
const singleRuns = new LastResults<Case04Params, Case04SingleRun>(2);
/** A call that puts the single run first on the workers (the cells after it wait for it; the sweep's runs come after). */
const SINGLE_RUN_WEIGHT = Number.MAX_VALUE;
/**
 * One task of the cost sweep: its base (the sweep's), the strategies it runs
 * (one, or the two whose runs may be the same: {@link SAME_RUN_GROUPS}) and
 * the buffer size (bytes).
 */
export interface Case04SweepRunArg {
  base: Case04Params;
  strategies: Case04Strategy[];
  size: number;
}

/**
 * Strategies one sweep task runs together, whose runs may make the same
 * model calls (case04SameRun): vmalloc32 and zone-dma32 when vmalloc_32()
 * passes GFP_KERNEL | GFP_DMA32, as on x86-64 in every modelled release;
 * vmalloc and iommu when the card maps through iommu-dma (VT-d on: without
 * it the sweep skips iommu, and vmalloc runs alone). The task checks it on
 * its machine: case04Sweep runs the second strategy too if its run would
 * differ.
 */
const SAME_RUN_GROUPS: readonly (readonly Case04Strategy[])[] = [["vmalloc", "iommu"], ["vmalloc32", "zone-dma32"]];

/**
 * One task of notebook 04's cost sweep, as a task the page may run in a Web
 * Worker (LiveTask): case04Sweep on its strategies and one size gives their
 * rows (case04Sweep runs strategies outer, sizes inner, each on a fresh
 * machine, so the runs of different tasks are independent; within a task it
 * runs once for two strategies when their runs are the same). The sweep
 * ignores the strategy and the buffer size of its base (each run sets its
 * own) and runs unfragmented.
 * @returns the rows of its strategies in their order (none for a skipped strategy), as case04Sweep returns them.
 * @throws ModelConfigError for bad parameters.
 */
export const CASE04_SWEEP_RUN = defineLiveTask("case04SweepRun", (a: Case04SweepRunArg): Case04SweepRow[] => case04Sweep(a.base, [a.size], a.strategies));
const sweepRuns = new LastResults<Case04SweepRunArg, Case04SweepRow[]>(64);

/** The strategies of a sweep on `strategies`, grouped by task (SAME_RUN_GROUPS; iommu skipped without VT-d), in their order. */
function sweepGroups(base: Case04Params, strategies: readonly Case04Strategy[]): Case04Strategy[][] {
  const groups: Case04Strategy[][] = [];
  for (const s of strategies) {
    if (s === "iommu" && !base.iommu) continue;
    const together = SAME_RUN_GROUPS.find((g) => g.includes(s));
    const g = together === undefined ? undefined : groups.find((x) => together.includes(x[0]!));
    if (g !== undefined) g.push(s);
    else groups.push([s]);
  }
  return groups;
}

/** The tasks of case04Sweep(base, SWEEP_SIZES, strategies): its strategies' groups outer, sizes inner. */
function sweepRunArgs(a: { base: Case04Params; strategies: readonly Case04Strategy[] }): Case04SweepRunArg[] {
  const runs: Case04SweepRunArg[] = [];
  for (const g of sweepGroups(a.base, a.strategies)) for (const size of SWEEP_SIZES) runs.push({ base: a.base, strategies: g, size: size });
  return runs;
}

/**
 * The sweep task whose first run the single run `p` is, or null: when the
 * single run is unfragmented and its strategy and buffer size are among the
 * sweep's, it runs case 04 on exactly that run's parameters (the sweep's
 * base is the params with the strategy, size and fragmentation replaced),
 * so the task's rows come from the single run (its own and those of the
 * strategies whose runs are the same: {@link Case04SingleRun.rows}) and no
 * task runs it again.
 */
function sweepRunOfMain(p: Case04Params, sweepBase: Case04Params): Case04SweepRunArg | null {
  if (p.fragmentFraction > 0 || !SWEEP_SIZES.includes(p.bufferSize) || !CASE04_STRATEGIES.includes(p.strategy)) return null;
  if (p.strategy === "iommu" && !p.iommu) return null;
  const g = sweepGroups(sweepBase, CASE04_STRATEGIES).find((x) => x.includes(p.strategy))!;
  return { base: sweepBase, strategies: g, size: p.bufferSize };
}

/** The buffer size (MiB) and count of each strategy group's warm-up run (see {@link case04WarmCalls}), by the group's first strategy. */
const WARM_RUNS: Partial<Record<Case04Strategy, { mib: number; buffers: number }>> = {
  vmalloc: { mib: 40, buffers: 8 },
  noncontiguous: { mib: 4, buffers: 6 },
};
/** Every other group's warm-up run. */
const WARM_RUN = { mib: 16, buffers: 6 };
/** How many times each worker runs the warm-up calls. */
const WARM_PASSES = 2;

/**
 * The calls a live page runs in each of its workers once it is idle after
 * loading, so that the first change finds the model's code compiled: one
 * sweep task per group of strategies on the notebook's values (its
 * release, RAM, mask and pool: the allocation, map, bounce and sync paths
 * the single run and the sweep's runs take there), 6 buffers of 16 MiB,
 * with two exceptions. vmalloc runs 8 buffers of 40 MiB: with the
 * notebook's 64 MiB pool the first buffer bounces 40 MiB and each of the
 * next seven fills the rest of the pool, fails and unmaps its half-mapped
 * list, as the heaviest runs of a change to many buffers do.
 * noncontiguous runs 6 buffers of 4 MiB: dma-direct has no 16 MiB block
 * (the top buddy order is 4 MiB), so 16 MiB would only warm its failure.
 * The list is run twice (WARM_PASSES): the second pass has V8 optimize
 * again, with the type feedback of every path, the functions the first
 * pass sent back to slower code when it took a new path. Measured in
 * Chromium on these 2-core machines (docs/benchmarks.md): the first change
 * to 32 buffers then starts less background compilation on the two cores
 * (TurboFan about 1,000 -> 550-650 ms) and, with noncontiguous warmed at
 * 4 MiB, takes about 140 ms less (869-925 -> 729-780 ms); the page is
 * ready about 300 ms later (1.1 -> 1.4 s after navigation). The results
 * are not kept.
 */
export function case04WarmCalls(params: Notebook04Params): LiveTaskCall[] {
  const { ramGiB, dmaMaskBits, kernel, iommu, swiotlbSize } = params;
  const base: Case04Params = { ...CASE04_DEFAULTS, ramGiB: ramGiB, dmaMaskBits: dmaMaskBits, kernel: kernel, iommu: iommu, swiotlbSize: swiotlbSize, seed: SEED_UNREAD, fragmentFraction: 0 };
  const calls: LiveTaskCall[] = [];
  for (const g of sweepGroups(base, CASE04_STRATEGIES)) {
    const w = WARM_RUNS[g[0]!] ?? WARM_RUN;
    calls.push({ task: CASE04_SWEEP_RUN, arg: { base: { ...base, buffers: w.buffers }, strategies: g, size: w.mib * 2 ** 20 } satisfies Case04SweepRunArg, weight: 1 });
  }
  return Array.from({ length: WARM_PASSES }, () => calls).flat();
}

/** The task calls of the runs not memoized (weight = buffers x size: the page starts the heaviest first). */
function sweepCalls(runs: readonly Case04SweepRunArg[]): LiveTaskCall[] {
  return runs.filter((r) => sweepRuns.get(r) === undefined).map((r) => ({ task: CASE04_SWEEP_RUN, arg: r, weight: r.size * r.base.buffers }));
}

/**
 * case04Sweep(base, SWEEP_SIZES, strategies): the tasks not computed before
 * handed to the driver in one tasks step (the page runs them in its
 * workers), the rows in case04Sweep's order (strategies outer, sizes inner).
 */
function* sweepOf(a: { base: Case04Params; strategies: readonly Case04Strategy[] }): Generator<LiveStep, Case04SweepRow[], unknown> {
  const runs = sweepRunArgs(a);
  const calls = sweepCalls(runs);
  const got = yield* runTasks<Case04SweepRow[]>(calls);
  calls.forEach((c, i) => sweepRuns.put(c.arg as Case04SweepRunArg, got[i]!));
  const bySize = new Map<string, Case04SweepRow>();
  for (const r of runs) sweepRuns.get(r)!.value.forEach((row) => bySize.set(`${row.strategy} ${r.size}`, row));
  const rows: Case04SweepRow[] = [];
  for (const s of a.strategies) for (const size of SWEEP_SIZES) {
    const row = bySize.get(`${s} ${size}`);
    if (row !== undefined) rows.push(row);
  }
  return rows;
}
// memoized on exactly the parameters each reads (the callers normalize the rest)
const pgOutputsOf = memoLast((a: { p: Case04Params; releases: string[] }) => case04PgtableOutputs(a.p, a.releases));
const vmalloc32OutputsOf = memoLast((p: Case04Params) => case04Vmalloc32Outputs(p));
const allocOutputsOf = memoLast((p: Case04Params) => case04AllocOutputs(p));
const viptOutputsOf = memoLast((kernel: string) => case04ViptOutputs(kernel));

/**
 * Notebook 04's code cells after the parameters cell, one output list per
 * cell, computed one cell at a time (the page draws each as it comes); the
 * cost sweep's runs not computed before are one tasks step (LiveTasksStep:
 * the page runs them in Web Workers, a plain `for...of` here), announced
 * by a prefetch step before the first cell (the page's workers start them
 * while the cells before the sweep are computed).
 * With `same` (the live page), a cell or output whose parameters still have
 * the notebook's values is null and not computed.
 * @throws ModelConfigError naming the bad parameter, before the first cell.
 */
export function* notebook04Cells(params: Notebook04Params, same: SameAsNotebook = () => false): Generator<LiveStep> {
  parseScenarioParams(NOTEBOOK04_PARAMS, params, "notebook 04");
  const { ramGiB, dmaMaskBits, kernel, iommu, bufferSize, buffers, swiotlbSize, strategy, seed, fragmentFraction, pgtableReleases } = params;
  const p: Case04Params = { ramGiB: ramGiB, dmaMaskBits: dmaMaskBits, kernel: kernel, iommu: iommu, bufferSize: bufferSize, buffers: buffers, swiotlbSize: swiotlbSize, strategy: strategy, seed: seed, fragmentFraction: fragmentFraction };
  // the unfragmented computations, on the seed they all give one result for
  const u: Case04Params = { ...p, seed: SEED_UNREAD };
  const keepRun = same(fragmentFraction > 0 ? [...RUN_DEPS, "seed"] : RUN_DEPS);
  const sweepBase: Case04Params = { ...u, strategy: "vmalloc", bufferSize: SWEEP_SIZES[0]!, fragmentFraction: 0 };
  const keepSweep = same(SWEEP_DEPS);
  // the single run (a task: the page's workers run it first) and the cost sweep's runs (and, behind VT-d, the
  // swiotlb cell's sweep without it) may start now on the page's workers, while the cells between are computed here
  // (not the sweep run the single run is: its row comes from the single run)
  const pm: Case04Params = fragmentFraction > 0 ? p : u;
  const mainArg = sweepRunOfMain(p, sweepBase);
  const mainKey = mainArg === null ? null : JSON.stringify(mainArg);
  const singleCalls: LiveTaskCall[] = singleRuns.get(pm) === undefined ? [{ task: CASE04_SINGLE_RUN, arg: pm, weight: SINGLE_RUN_WEIGHT }] : [];
  const sweepAhead = keepSweep ? [] : sweepCalls([...sweepRunArgs({ base: sweepBase, strategies: CASE04_STRATEGIES }), ...(iommu ? sweepRunArgs({ base: { ...sweepBase, iommu: false }, strategies: ["vmalloc"] }) : [])].filter((r) => JSON.stringify(r) !== mainKey));
  yield* prefetchTasks([...singleCalls, ...sweepAhead]);
  // the single run: summary and memory map
  // checks strategy against iommu (a ModelConfigError names strategy) even when the run's outputs are kept
  if (singleCalls.length > 0) singleRuns.put(pm, (yield* runTasks<Case04SingleRun>(singleCalls))[0]!);
  const single = singleRuns.get(pm)!.value;
  if (mainArg !== null && sweepRuns.get(mainArg) === undefined) {
    // the task's rows, when the single run gives each of them (else the task runs with the sweep's others)
    const rows = mainArg.strategies.map((s) => single.rows.find((r) => r.strategy === s));
    if (rows.every((r) => r !== undefined)) sweepRuns.put(mainArg, rows as Case04SweepRow[]);
  }
  yield keepRun ? null : single.run;
  // each capture buffer
  yield keepRun ? null : single.buffers;
  // the page table behind VT-d per release (the run's strategy, size and kernel are replaced)
  yield same(PGTABLE_DEPS) ? null : pgOutputsOf({ p: { ...u, kernel: "v6.19", iommu: true, strategy: "iommu", bufferSize: 2 ** 20, buffers: 1, fragmentFraction: 0 }, releases: pgtableReleases });
  // vmalloc_32() per release
  yield same(VMALLOC32_DEPS) ? null : vmalloc32OutputsOf({ ...u, kernel: "v6.19", strategy: "vmalloc32", bufferSize: 2 ** 20, buffers: 1, fragmentFraction: 0 });
  // the cost sweep
  const sweep = keepSweep ? [] : yield* sweepOf({ base: sweepBase, strategies: CASE04_STRATEGIES });
  yield keepSweep ? null : case04SweepOutputs(sweep, p);
  // the allocators merged instead of dma_alloc_sg (v6.19 machines)
  yield same(ALLOC_DEPS) ? null : allocOutputsOf({ ...u, kernel: "v6.19", iommu: false, strategy: "vmalloc", bufferSize: 2 ** 20, buffers: 1, fragmentFraction: 0 });
  // swiotlb slots
  const bounce = keepSweep ? [] : iommu ? yield* sweepOf({ base: { ...sweepBase, iommu: false }, strategies: ["vmalloc"] }) : sweep.filter((r) => r.strategy === "vmalloc");
  const slots = case04SwiotlbOutputs(bounce, single.pool, p);
  yield [keepSweep ? null : slots[0]!, keepRun ? null : slots[1]!];
  // PA-RISC VIPT
  yield same(VIPT_DEPS) ? null : viptOutputsOf(kernel);
}

/**
 * Run notebook 04 on `params`: every code cell's outputs (see {@link notebook04Cells}).
 * @throws ModelConfigError naming the bad parameter (see {@link notebook04ParamOf}).
 */
export function notebook04Live(params: Notebook04Params): LiveResult {
  return liveResult(notebook04Cells(params));
}
