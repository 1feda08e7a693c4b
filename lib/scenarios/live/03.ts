/**
 * Notebook 03 live: what the code cells of
 * notebooks/03-arm32-coherent-allocation.ipynb compute from its parameters
 * cell, as plain data for the HTML export's page script
 * (scripts/live/runtime.ts).
 *
 * The notebook's cells and this module build each cell's outputs with the
 * same functions (case03BoardOutputs and the rest, on runCase03's result);
 * test/pipeline/live-pages.test.ts checks that on the notebook's parameters
 * they give exactly the executed notebook's outputs.
 */
import { z } from "zod";
import { hex } from "../../core/arith.js";
import { arm32AttrCostSpec, arm32MemoryMapSpec, arm32PathGridSpec, arm32PoolFillSpec } from "../../viz/arm32.js";
import { CASE03_PARAMS, CASE03_VARIANT_TEXT, runCase03, type Case03Params, type Case03Result } from "../03-arm32-coherent.js";
import { parseScenarioParams } from "../params.js";
import { chart, liveResult, md, paramOfField, table, type LiveCellOutputs, type LiveOutput, type LiveResult } from "./types.js";

const S = CASE03_PARAMS.shape;

/** The parameters of notebook 03, named as in its parameters cell (ranges of CASE03_PARAMS). */
export const NOTEBOOK03_PARAMS = z
  .object({
    board: S.board,
    kernel: S.kernel,
    variant: S.variant,
    cmaEnabled: S.cmaEnabled,
    cmaSize: S.cmaSize.unwrap(),
    coherentPoolSize: S.coherentPoolSize,
    processes: S.processes,
    allocSizes: S.allocSizes,
    restrictedPoolSize: S.restrictedPoolSize.unwrap(),
    seed: S.seed.unwrap(),
    specFillProb: S.specFillProb.unwrap(),
    speculationSteps: S.speculationSteps.unwrap(),
  })
  .strict();

/** Notebook 03's parameters (the variables of its parameters cell). */
export type Notebook03Params = z.infer<typeof NOTEBOOK03_PARAMS>;

/** Units of the number parameters, shown next to their controls. */
export const NOTEBOOK03_UNITS: Record<string, string> = { cmaSize: "bytes", coherentPoolSize: "bytes", allocSizes: "bytes each", restrictedPoolSize: "bytes", speculationSteps: "CPU steps" };

/** The notebook parameter a ModelConfigError from {@link notebook03Live} concerns, or null. */
export function notebook03ParamOf(field: string): string | null {
  return paramOfField(field, Object.keys(NOTEBOOK03_PARAMS.shape));
}

/**
 * Notebook 03, first cell: the board (page-table format, sections, CMA,
 * atomic pool) and what each request of the chosen release and variant took.
 * @param run runCase03(params). @param params as passed to runCase03 (kernel and variant are named).
 */
export function case03BoardOutputs(run: Case03Result, params: Case03Params): LiveOutput[] {
  const B = run.board;
  return [
    md(
      `**Board:** ${B.id}, ${B.lpae ? "LPAE" : "2-level page tables"}, ${B.sections} ${B.lpae ? "2 MiB blocks" : "1 MiB sections"} of lowmem up to ${hex(B.lowmemLimit)}; ` +
        `CMA ${B.cma ? `${B.cma.size / 2 ** 20} MiB at ${hex(B.cma.base)}` : "off"}; atomic pool ${B.pool.size / 1024} KiB ${B.pool.phys === null ? "(not initialised)" : `at ${hex(B.pool.phys)}, from ${B.pool.backing}`}. ` +
        `**${params.kernel}, ${params.variant}** (${CASE03_VARIANT_TEXT[params.variant]}): ` +
        run.selected.map((r) => `${r.request} → ${r.via} (${r.outcome}${r.warning ? `, "${r.warning}"` : ""})`).join("; ") +
        ".",
    ),
  ];
}

/** Notebook 03: the physical memory map as the linear map covers it, and a zoom on the sections around CMA and the restricted pool. @param run runCase03's result. */
export function case03MemoryMapOutputs(run: Case03Result): LiveOutput[] {
  const B = run.board;
  const zoomFrom = Math.max(B.physOffset, B.restricted.base - 4 * 2 ** 20);
  const zoomTo = Math.min(B.lowmemLimit, (B.cma ? B.cma.base : B.restricted.base + B.restricted.size) + 8 * 2 ** 20);
  return [
    chart(arm32MemoryMapSpec(run.memoryMap, `${B.id}: physical memory as the linear map covers it`), run.memoryMap.map((b) => `${b.lane}: ${hex(b.start)}-${hex(b.end)} ${b.label}`).join("; ")),
    chart(
      arm32MemoryMapSpec(run.memoryMap, `Zoom ${hex(zoomFrom)}-${hex(zoomTo)}: sections (marks) against 4 KiB PTEs`, { zoom: { from: zoomFrom, to: zoomTo }, sectionSize: B.sectionSize }),
      `Section boundaries every ${B.sectionSize / 2 ** 20} MiB outside CMA; the CMA area and the atomic pool inside it are PTE-mapped.`,
    ),
  ];
}

/** Notebook 03: the dma_alloc_coherent path per release and variant, and what was merged as of v6.19. @param run runCase03(params). @param params kernel and cmaEnabled are named. */
export function case03PathOutputs(run: Case03Result, params: Case03Params): LiveOutput[] {
  const B = run.board;
  return [
    chart(
      arm32PathGridSpec(run.allocations, `${B.id}: dma_alloc_coherent path per release and variant (CMA ${params.cmaEnabled ? "on" : "off"})`),
      `At ${params.kernel}: ` + run.allocations.filter((r) => r.release === run.params.releases[run.params.releases.length - 1]).map((r) => `${r.variant} / ${r.request}: ${r.via}, ${r.outcome}`).join("; "),
    ),
    md(`**Merged as of v6.19:** ${run.merged.text}`),
  ];
}

/** Notebook 03: the GFP_ATOMIC requests against the atomic pool (chart) and every request's offset (folded table). @param run runCase03's result. */
export function case03PoolOutputs(run: Case03Result): LiveOutput[] {
  return [
    chart(
      arm32PoolFillSpec(run.pool, run.board.pool.size, `GFP_ATOMIC requests against the ${run.board.pool.size / 1024} KiB atomic pool`),
      `First NULL at request ${run.poolFirstFailure ?? "none"}; ` + run.pool.map((q) => `#${q.n} ${q.size / 1024} KiB: ${q.ok ? "@" + q.offset! / 1024 + " KiB" : "NULL"} (free ${q.availAfter / 1024} KiB)`).join("; "),
    ),
    table(
      run.pool.map((q) => ({ "#": q.n, "size (KiB)": q.size / 1024, result: q.ok ? `offset ${q.offset! / 1024} KiB` : "NULL", "free after (KiB)": q.availAfter / 1024, "failed with enough bytes free": q.fragmented })),
      "Details: every request, its offset in the pool and the free bytes after it",
    ),
  ];
}

/** Notebook 03: the cost of making 64 KiB uncached against the number of processes (chart) and the cost rows (folded table). @param run runCase03(params). @param params processes is the count named in the summary. */
export function case03CostOutputs(run: Case03Result, params: Case03Params): LiveOutput[] {
  const B = run.board;
  return [
    chart(
      arm32AttrCostSpec(run.costs, "TLB invalidates to make 64 KiB uncached, against the number of processes"),
      `A section costs (processes + 2) passes of ${B.lpae ? 512 : 256} TLB invalidates on this board; 64 KiB of CMA costs 16, flat. ` +
        run.costs.filter((c) => c.processes === params.processes).map((c) => `${c.format}, ${c.where}: ${c.entriesWritten} entries, ${c.tlbiOps} TLBIs`).join("; "),
    ),
    table(
      run.costs.map((c) => ({ board: c.board, format: c.format, processes: c.processes, where: c.where, mechanism: c.mechanism, "entries written": c.entriesWritten, "TLB flush calls": c.tlbFlushCalls, "TLB invalidates": c.tlbiOps, "page tables written": c.processesTouched, stop_machine: c.stopMachine, "collateral bytes": c.collateralBytes })),
      "Details: the cost rows for both page-table formats",
    ),
  ];
}

/** Notebook 03: the restricted-dma-pool device's dma_alloc_coherent path per release and arch. @param run runCase03's result. */
export function case03RestrictedOutputs(run: Case03Result): LiveOutput[] {
  const rrows = run.restricted.map((r) => ({ release: r.release, variant: r.variant, arch: r.arch, request: r.arch, via: String(r.path), outcome: r.outcome }));
  return [
    chart(
      arm32PathGridSpec(rrows, "Restricted-dma-pool device, dma_alloc_coherent(GFP_KERNEL)", { yField: "arch" }),
      run.restricted.filter((r) => r.variant === "mainline").map((r) => `${r.release} ${r.arch}: ${r.outcome}${r.warning ? " (warning)" : ""}`).join("; "),
    ),
  ];
}

/** Notebook 03: speculative fills through the cacheable and the non-cacheable linear-map alias. @param run runCase03(params). @param params seed, specFillProb and speculationSteps as passed (named in the caption). */
export function case03HazardOutputs(run: Case03Result, params: Case03Params): LiveOutput[] {
  const hz = [run.hazard.remap, run.hazard.cma];
  return [
    table(
      hz.map((h) => ({ "linear-map alias": h.alias === "cacheable" ? "cacheable (remap allocator, step 1)" : "non-cacheable (CMA + __dma_remap, step 2)", buffer: hex(h.phys), "speculative fills": h.specFills, "stale lines after the device's write": h.staleLines, "stale_read events": h.hazards.length })),
      `Seed ${params.seed}, fill probability ${params.specFillProb}, ${params.speculationSteps} CPU steps, a 4 KiB buffer`,
    ),
  ];
}

/**
 * Notebook 03's code cells after the parameters cell, one output list per
 * cell, built by the same functions the notebook's cells call.
 * @throws ModelConfigError naming the bad parameter, before the first cell.
 */
export function* notebook03Cells(params: Notebook03Params): Generator<LiveCellOutputs> {
  parseScenarioParams(NOTEBOOK03_PARAMS, params, "notebook 03");
  const { board, kernel, variant, cmaEnabled, cmaSize, coherentPoolSize, processes, allocSizes, restrictedPoolSize, seed, specFillProb, speculationSteps } = params;
  const p: Case03Params = {
    board: board, kernel: kernel, variant: variant, cmaEnabled: cmaEnabled, cmaSize: cmaEnabled ? cmaSize : undefined,
    coherentPoolSize: coherentPoolSize, processes: processes, allocSizes: allocSizes, restrictedPoolSize: restrictedPoolSize,
    seed: seed, specFillProb: specFillProb, speculationSteps: speculationSteps,
  };
  const run = runCase03(p);
  yield case03BoardOutputs(run, p);
  yield case03MemoryMapOutputs(run);
  yield case03PathOutputs(run, p);
  yield case03PoolOutputs(run);
  yield case03CostOutputs(run, p);
  yield case03RestrictedOutputs(run);
  yield case03HazardOutputs(run, p);
}

/**
 * Run notebook 03 on `params`: every code cell's outputs (see {@link notebook03Cells}).
 * @throws ModelConfigError naming the bad parameter (see {@link notebook03ParamOf}).
 */
export function notebook03Live(params: Notebook03Params): LiveResult {
  return liveResult(notebook03Cells(params));
}
