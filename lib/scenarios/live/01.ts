/**
 * Notebook 01 live: what the code cells of
 * notebooks/01-iommu-dma-map-sg-gaps.ipynb compute from its parameters cell,
 * as plain data, so that the HTML export can re-run the notebook in the
 * browser when a reader changes a parameter (scripts/live/runtime.ts).
 *
 * It calls the same scenario functions and spec builders as the notebook
 * (runIommuGapsReleases, iommuGapsTable, iommuGapsSpec) and builds the same
 * texts; test/pipeline/live-html.test.ts checks that, run on the notebook's
 * own parameters, it gives exactly the executed notebook's outputs (so a
 * change to the notebook that this module does not follow fails a test).
 * The notebook stays the source of truth for default values: the export
 * reads them from its parameters cell.
 */
import { z } from "zod";
import { fmtSize, hex } from "../../core/arith.js";
import { iommuGapsSpec } from "../../viz/iova.js";
import { iommuGapsTable, runIommuGapsReleases } from "../01-iommu-gaps.js";
import { parseScenarioParams, zInt, zKernel, zSeed } from "../params.js";
import { liveResult, type LiveOutput, type LiveResult } from "./types.js";

export type { LiveCell, LiveOutput, LiveResult } from "./types.js";

/**
 * The parameters of notebook 01, named as in its parameters cell. Ranges
 * are those of CASE01_PARAMS (lib/scenarios/01-iommu-gaps.ts); the scenario
 * checks the rest (multiples of the page size, masks 2^k - 1).
 */
export const NOTEBOOK01_PARAMS = z
  .object({
    segments: z.array(zInt(1, 2 ** 31, "bytes per piece of the user buffer, a multiple of the page size")).min(1).describe("a non-empty list of piece sizes in bytes, each a multiple of the page size"),
    iovaGranule: zInt(1, 65536, "IOVA granule in bytes, a power of two up to the page size"),
    kernels: z.array(zKernel).min(1).describe("a non-empty list of releases \"vX.Y\" within the modelled range (lib/kernel/version.ts)"),
    maxSegSize: zInt(1, 0xffffffff, "max_seg_size in bytes (dma_parms), or null for the device default").nullable(),
    segBoundaryMask: zInt(0, Number.MAX_SAFE_INTEGER, "segment boundary mask 2^k - 1, or null for the release default").nullable(),
    seed: zSeed,
  })
  .strict();

/** Notebook 01's parameters (the variables of its parameters cell). */
export type Notebook01Params = z.infer<typeof NOTEBOOK01_PARAMS>;

/** Units of the number parameters, shown next to their controls. */
export const NOTEBOOK01_UNITS: Record<string, string> = { segments: "bytes each", iovaGranule: "bytes", maxSegSize: "bytes", segBoundaryMask: "mask" };

/** Scenario field (CASE01_PARAMS path head) -> notebook parameter, for errors raised inside the scenario. */
const FIELD_TO_PARAM: Record<string, keyof Notebook01Params> = {
  segments: "segments",
  iovaGranule: "iovaGranule",
  granule: "iovaGranule",
  kernel: "kernels",
  kernels: "kernels",
  maxSegSize: "maxSegSize",
  segBoundaryMask: "segBoundaryMask",
  seed: "seed",
};

/**
 * The notebook parameter a ModelConfigError from {@link notebook01Live}
 * concerns (its field's first path element, scenario names mapped to the
 * notebook's), or null when it names none of them.
 */
export function notebook01ParamOf(field: string): string | null {
  const head = field.split(".")[0]!;
  return FIELD_TO_PARAM[head] ?? null;
}

/**
 * Run notebook 01 on `params`: the outputs of its code cells after the
 * parameters cell, in order (the buffer summary with the IOVA/DMA segment
 * chart, one folded table per release, the videobuf2 verdicts, the
 * per-release table, the raised max_seg_size table).
 * @throws ModelConfigError naming the bad parameter (notebook name for type
 *   and range errors; scenario name, see {@link notebook01ParamOf}, for the
 *   scenario's own checks) before anything is computed.
 */
export function notebook01Live(params: Notebook01Params): LiveResult {
  parseScenarioParams(NOTEBOOK01_PARAMS, params, "notebook 01");
  const { segments, iovaGranule, kernels, maxSegSize, segBoundaryMask, seed } = params;
  // first code cell: the buffer summary and the IOVA/DMA segment chart
  const results = runIommuGapsReleases({ segments: segments, granule: iovaGranule, maxSegSize: maxSegSize, segBoundaryMask: segBoundaryMask, seed: seed }, kernels);
  const first = results[0]!;
  const failing = results.filter((r) => !r.ok).map((r) => r.kernel);
  const cellLayout: LiveOutput[] = [
    {
      kind: "markdown",
      md:
        `Buffer: ${segments.map(fmtSize).join(" + ")} = ${first.requestedSize} bytes, pinned as ${first.segments.length} physically separate pieces at ` +
        first.segments.map((s) => hex(s.phys)).join(", ") +
        ` on ${first.device} (M4U, ${fmtSize(first.granule)} IOVA granule).`,
    },
    {
      kind: "chart",
      spec: iommuGapsSpec(results),
      summary:
        (failing.length ? `The import fails on ${failing.join(", ")}: padding after a piece breaks the contiguous range. ` : `Every release lays the pieces out back to back: the import succeeds everywhere. `) +
        results.map((r) => `${r.kernel}: pieces at ${r.segments.map((s) => "+" + hex(s.iovaOffset)).join(", ")}, contiguous ${r.contiguousSize}/${r.requestedSize}`).join("; ") +
        ".",
    },
  ];
  // one folded table per release
  const cellPieces: LiveOutput[] = results.map((r) => ({
    kind: "table",
    rows: r.segments.map((s) => ({
      piece: s.index,
      phys: hex(s.phys),
      length: fmtSize(s.length),
      IOVA: hex(s.iova),
      "offset from base": "+" + hex(s.iovaOffset),
      "padding after": s.padding ? fmtSize(s.padding) : "0",
    })),
    caption: `Details: ${r.kernel} (${r.form}): IOVA allocation ${hex(r.iovaBase)}, ${fmtSize(r.iovaLen)} laid out, ${fmtSize(r.iovaAllocBytes)} allocated, ${r.pteWrites} PTE writes`,
  }));
  // the videobuf2 verdicts
  const cellVerdicts: LiveOutput[] = [
    {
      kind: "markdown",
      md: results
        .map((r) =>
          r.ok
            ? `- **${r.kernel}**: contiguous ${r.contiguousSize}/${r.requestedSize}: import succeeds, the codec is given DMA address ${hex(r.iovaBase)} (${r.dmaSegments.length} DMA segment${r.dmaSegments.length > 1 ? "s" : ""}).`
            : `- **${r.kernel}**: \`${r.message}\` → \`vb2_dc_get_userptr\` returns ${r.errName}.`,
        )
        .join("\n"),
    },
  ];
  // the per-release table
  const cellTable: LiveOutput[] = [{ kind: "table", rows: iommuGapsTable(results), caption: "Case 01 per kernel release (model output)" }];
  // the same buffer with max_seg_size raised
  const raised = runIommuGapsReleases({ segments: segments, granule: iovaGranule, maxSegSize: maxSegSize ?? 0xffffffff, segBoundaryMask: segBoundaryMask, seed: seed }, kernels);
  const cellRaised: LiveOutput[] = [
    {
      kind: "table",
      rows: raised.map((r) => ({
        kernel: r.kernel,
        max_seg_size: r.maxSegSize % 1024 === 0 ? fmtSize(r.maxSegSize) : hex(r.maxSegSize),
        "set by": r.maxSegSizeSource,
        "DMA segments": r.dmaSegments.map((s) => fmtSize(s.length)).join(" + "),
        result: r.ok ? "ok" : `${r.errName}: ${r.message}`,
      })),
      caption: "Same buffer with max_seg_size raised",
    },
  ];
  return liveResult([cellLayout, cellPieces, cellVerdicts, cellTable, cellRaised]);
}
