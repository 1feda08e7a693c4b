/**
 * Notebook 02 live: what the code cells of
 * notebooks/02-coherent-memory-without-struct-page.ipynb compute from its
 * parameters cell, as plain data for the HTML export's page script
 * (scripts/live/runtime.ts).
 *
 * The notebook's cells and this module build each cell's outputs with the
 * same functions (case02RunOutputs and the rest, on runCase02 and
 * case02OutcomeTable results); test/pipeline/live-pages.test.ts checks
 * that on the notebook's parameters they give exactly the executed
 * notebook's outputs. The last cell (the list of behaviour changes) does
 * not depend on the parameters: the page keeps the notebook's output.
 */
import { z } from "zod";
import { hex } from "../../core/arith.js";
import { memmapChartSpec, outcomeGridSpec } from "../../viz/memmap.js";
import { CASE02_BOARDS, CASE02_VARIANTS, CASE02_VARIANT_TEXT, case02MemmapData, case02OutcomeTable, runCase02, type Case02Board, type Case02Result, type Case02Row, type Case02Variant } from "../02-coherent-no-page.js";
import { parseScenarioParams, zBool, zKernel, zOneOf } from "../params.js";
import { chart, liveResult, md, memoLast, paramOfField, table, type LiveCellOutputs, type LiveOutput, type LiveResult } from "./types.js";

/** The parameters of notebook 02, named as in its parameters cell (ranges of CASE02_PARAMS). */
export const NOTEBOOK02_PARAMS = z
  .object({
    board: zOneOf(CASE02_BOARDS as [Case02Board, ...Case02Board[]], "the boards with a no-map shared-dma-pool exporter and a dma-buf importer, data/platforms"),
    release: zKernel,
    variant: zOneOf(CASE02_VARIANTS as [Case02Variant, ...Case02Variant[]], "CASE02_VARIANTS in lib/scenarios/02-coherent-no-page.ts"),
    importerIommu: zBool("put the importer behind an IOMMU"),
    pxs3Kernels: z.array(zKernel).min(1).max(12).describe("1 to 12 releases \"vX.Y\" within the modelled range, for the PXS3 outcome table"),
    exynosKernels: z.array(zKernel).min(1).max(12).describe("1 to 12 releases \"vX.Y\" within the modelled range, for the Exynos outcome table"),
  })
  .strict();

/** Notebook 02's parameters (the variables of its parameters cell). */
export type Notebook02Params = z.infer<typeof NOTEBOOK02_PARAMS>;

/** The notebook parameter a ModelConfigError from {@link notebook02Live} concerns, or null (runCase02's `kernel` is the notebook's `release`). */
export function notebook02ParamOf(field: string): string | null {
  return paramOfField(field, Object.keys(NOTEBOOK02_PARAMS.shape), { kernel: "release" });
}

const outcomeTable = memoLast((a: { board: Case02Board; kernels: string[]; iommu: boolean }) => case02OutcomeTable(a.board, a.kernels, CASE02_VARIANTS, a.iommu ? { importerIommu: true } : {}), 4);
const details = (rows: readonly Case02Row[]) => rows.map((r) => ({ kernel: r.kernel, variant: r.variant, outcome: r.outcome, detail: r.detail }));
const outcomes = (rows: readonly Case02Row[]) => rows.map((r) => `${r.kernel} ${r.variant}: ${r.outcome}`).join("; ");

/**
 * Notebook 02, the single run: the memory map chart, the table of addresses
 * (linear map, vmalloc, vmemmap, the buffer, the page dma_get_sgtable found,
 * what the importer reaches) and the outcome.
 * @param run runCase02 on the notebook's board, release, variant and importerIommu.
 */
export function case02RunOutputs(run: Case02Result): LiveOutput[] {
  const { board, variant, importerIommu } = run.params;
  const mm = run.machine.mm;
  const lay = mm.layout;
  return [
    chart(
      memmapChartSpec(case02MemmapData(run)),
      `Memory map of ${board} on ${run.params.kernel}: buffer at ${run.buffer ? hex(run.buffer.phys) : "?"} (CPU ${run.buffer ? run.buffer.cpuAddrText : "?"}); sg page ${run.sgPage ? run.sgPage.addressText + " pfn " + hex(run.sgPage.pfn) : "none"}; outcome ${run.outcome}`,
    ),
    table(
      [
        { what: "PAGE_OFFSET (start of the linear map)", value: mm.fmtVa(lay.pageOffset) },
        { what: "VMALLOC_START .. VMALLOC_END", value: `${mm.fmtVa(lay.vmallocStart)} .. ${mm.fmtVa(lay.vmallocEnd)}` },
        { what: "VMEMMAP_START (struct page array)", value: mm.fmtVa(lay.vmemmapStart) },
        { what: "buffer: CPU address from dma_alloc_coherent (pool memremap)", value: run.buffer ? run.buffer.cpuAddrText : "(none)" },
        { what: "buffer: DMA handle / physical address", value: run.buffer ? `${hex(run.buffer.dmaHandle)} / ${hex(run.buffer.phys)}` : "(none)" },
        { what: "dma_get_sgtable: how the page was found", value: run.sgPage ? run.sgPage.path : "(no page: -ENXIO or page-less)" },
        { what: "dma_get_sgtable: pfn and struct page pointer", value: run.sgPage ? `pfn ${hex(run.sgPage.pfn)}, page ${run.sgPage.addressText}` : "(none)" },
        { what: "that page: memmap behind it? pfn_valid()?", value: run.sgPage ? `${run.sgPage.hasMemmap ? "memmap present" : "NO memmap"}, pfn_valid ${run.sgPage.valid}` : "(none)" },
        { what: "importer's DMA address / the physical address it reaches", value: `${run.importerDma === null ? "(none)" : hex(run.importerDma)} / ${run.importerPhys === null ? "(none)" : hex(run.importerPhys)}` },
        { what: "outcome", value: run.outcome },
      ],
      `${board}, ${run.params.kernel}, variant "${variant}", importer ${run.importerName}${importerIommu ? " behind an IOMMU" : ""}`,
    ),
    md(`**Outcome: ${run.outcome}.** ${run.detail}`),
  ];
}

/** Notebook 02: the table of the variants, then the PXS3 outcome grid (importer without IOMMU) and its folded rows. @param pxs3 case02OutcomeTable("uniphier-pxs3", releases). */
export function case02Pxs3Outputs(pxs3: readonly Case02Row[]): LiveOutput[] {
  return [
    table(CASE02_VARIANTS.map((v) => ({ variant: v, meaning: CASE02_VARIANT_TEXT[v] })), "Variants compared"),
    chart(outcomeGridSpec(pxs3, "UniPhier PXS3: codec pool exported to a coherent importer (dma-direct)"), outcomes(pxs3)),
    table(details(pxs3), "Details: PXS3, importer without IOMMU"),
  ];
}

/** Notebook 02: the PXS3 outcome grid with the importer behind an IOMMU, and its folded rows. @param rows case02OutcomeTable with importerIommu. */
export function case02Pxs3IommuOutputs(rows: readonly Case02Row[]): LiveOutput[] {
  return [
    chart(outcomeGridSpec(rows, "PXS3 with the importer behind a (hypothetical) IOMMU"), outcomes(rows)),
    table(details(rows), "Details: PXS3, importer behind an IOMMU (iommu_dma_map_sg uses sg_phys(), i.e. the page)"),
  ];
}

/**
 * Notebook 02: the Exynos5422 outcome grid (importer without IOMMU), its
 * folded rows, and the rows with the GScaler behind its System MMU.
 * @param exy case02OutcomeTable("exynos5422-odroidxu4", releases).
 * @param exyIommu the same with importerIommu.
 */
export function case02ExynosOutputs(exy: readonly Case02Row[], exyIommu: readonly Case02Row[]): LiveOutput[] {
  return [
    chart(outcomeGridSpec(exy, "Exynos5422: s5p-mfc pool exported to the GScaler (non-coherent, no IOMMU)"), outcomes(exy)),
    table(details(exy), "Details: Exynos5422, importer without IOMMU"),
    table(details(exyIommu), "Exynos5422 v4.11, GScaler behind its System MMU: the RFC does not help (arm_iommu_map_sg was not changed)"),
  ];
}

/**
 * Notebook 02's code cells after the parameters cell, one output list per
 * cell (built by the same functions the notebook's cells call); null for a
 * cell that does not depend on the parameters (the page keeps the
 * notebook's outputs).
 * @throws ModelConfigError naming the bad parameter, before the first cell.
 */
export function* notebook02Cells(params: Notebook02Params): Generator<LiveCellOutputs> {
  parseScenarioParams(NOTEBOOK02_PARAMS, params, "notebook 02");
  const { board, release, variant, importerIommu, pxs3Kernels, exynosKernels } = params;
  yield case02RunOutputs(runCase02({ board: board, kernel: release, variant: variant, importerIommu: importerIommu }));
  yield case02Pxs3Outputs(outcomeTable({ board: "uniphier-pxs3", kernels: pxs3Kernels, iommu: false }));
  yield case02Pxs3IommuOutputs(outcomeTable({ board: "uniphier-pxs3", kernels: ["v5.4", "v6.19"], iommu: true }));
  yield case02ExynosOutputs(outcomeTable({ board: "exynos5422-odroidxu4", kernels: exynosKernels, iommu: false }), outcomeTable({ board: "exynos5422-odroidxu4", kernels: ["v4.11"], iommu: true }));
  // the behaviour changes: independent of the parameters
  yield null;
}

/**
 * Run notebook 02 on `params`: every code cell's outputs (see {@link notebook02Cells}).
 * @throws ModelConfigError naming the bad parameter (see {@link notebook02ParamOf}).
 */
export function notebook02Live(params: Notebook02Params): LiveResult {
  return liveResult(notebook02Cells(params));
}
