/**
 * Notebook 01 live: what the code cells of
 * notebooks/01-iommu-dma-map-sg-gaps.ipynb compute from its parameters cell,
 * as plain data, so that the HTML export can re-run the notebook in the
 * browser when a reader changes a parameter (scripts/live/runtime.ts).
 *
 * The notebook's cells call the output builders below (case01LayoutOutputs
 * and the rest, shown with showOutputs), so both build the same texts,
 * tables and charts from one function; test/pipeline/live-html.test.ts
 * checks that, run on the notebook's
 * own parameters, it gives exactly the executed notebook's outputs (so a
 * change to the notebook that this module does not follow fails a test).
 * The notebook stays the source of truth for default values: the export
 * reads them from its parameters cell.
 */
import { z } from "zod";
import { fmtSize, hex } from "../../core/arith.js";
import { iommuGapsSpec } from "../../viz/iova.js";
import { iommuGapsTable, runIommuGapsReleases, type IommuGapsResult } from "../01-iommu-gaps.js";
import { parseScenarioParams, zInt, zKernel, zSeed } from "../params.js";
import { chart, liveResult, md, table, type LiveOutput, type LiveResult } from "./types.js";

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
 * Notebook 01's first code cell after the parameters: the buffer summary
 * (markdown) and the IOVA/DMA segment chart with its summary.
 * @param results runIommuGapsReleases on the notebook's parameters (at least one release).
 * @param segments the notebook's piece sizes, bytes.
 */
export function case01LayoutOutputs(results: readonly IommuGapsResult[], segments: readonly number[]): LiveOutput[] {
  const first = results[0]!;
  const failing = results.filter((r) => !r.ok).map((r) => r.kernel);
  return [
    md(
      `Buffer: ${segments.map(fmtSize).join(" + ")} = ${first.requestedSize} bytes, pinned as ${first.segments.length} physically separate pieces at ` +
        first.segments.map((s) => hex(s.phys)).join(", ") +
        ` on ${first.device} (M4U, ${fmtSize(first.granule)} IOVA granule).`,
    ),
    chart(
      iommuGapsSpec(results),
      (failing.length ? `The import fails on ${failing.join(", ")}: padding after a piece breaks the contiguous range. ` : `Every release lays the pieces out back to back: the import succeeds everywhere. `) +
        results.map((r) => `${r.kernel}: pieces at ${r.segments.map((s) => "+" + hex(s.iovaOffset)).join(", ")}, contiguous ${r.contiguousSize}/${r.requestedSize}`).join("; ") +
        ".",
    ),
  ];
}

/** Notebook 01: one folded table per release (the pieces, their IOVAs and the padding after each). */
export function case01PiecesOutputs(results: readonly IommuGapsResult[]): LiveOutput[] {
  return results.map((r) =>
    table(
      r.segments.map((s) => ({
        piece: s.index,
        phys: hex(s.phys),
        length: fmtSize(s.length),
        IOVA: hex(s.iova),
        "offset from base": "+" + hex(s.iovaOffset),
        "padding after": s.padding ? fmtSize(s.padding) : "0",
      })),
      `Details: ${r.kernel} (${r.form}): IOVA allocation ${hex(r.iovaBase)}, ${fmtSize(r.iovaLen)} laid out, ${fmtSize(r.iovaAllocBytes)} allocated, ${r.pteWrites} PTE writes`,
    ),
  );
}

/** Notebook 01: the videobuf2 verdict per release (one markdown list). */
export function case01VerdictOutputs(results: readonly IommuGapsResult[]): LiveOutput[] {
  return [
    md(
      results
        .map((r) =>
          r.ok
            ? `- **${r.kernel}**: contiguous ${r.contiguousSize}/${r.requestedSize}: import succeeds, the codec is given DMA address ${hex(r.iovaBase)} (${r.dmaSegments.length} DMA segment${r.dmaSegments.length > 1 ? "s" : ""}).`
            : `- **${r.kernel}**: \`${r.message}\` → \`vb2_dc_get_userptr\` returns ${r.errName}.`,
        )
        .join("\n"),
    ),
  ];
}

/** Notebook 01: the per-release table (iommuGapsTable). */
export function case01TableOutputs(results: readonly IommuGapsResult[]): LiveOutput[] {
  return [table(iommuGapsTable(results), "Case 01 per kernel release (model output)")];
}

/** Notebook 01: the table of the same buffer with max_seg_size raised. @param raised runIommuGapsReleases with maxSegSize ?? 0xffffffff. */
export function case01RaisedOutputs(raised: readonly IommuGapsResult[]): LiveOutput[] {
  return [
    table(
      raised.map((r) => ({
        kernel: r.kernel,
        max_seg_size: r.maxSegSize % 1024 === 0 ? fmtSize(r.maxSegSize) : hex(r.maxSegSize),
        "set by": r.maxSegSizeSource,
        "DMA segments": r.dmaSegments.map((s) => fmtSize(s.length)).join(" + "),
        result: r.ok ? "ok" : `${r.errName}: ${r.message}`,
      })),
      "Same buffer with max_seg_size raised",
    ),
  ];
}

/**
 * Run notebook 01 on `params`: the outputs of its code cells after the
 * parameters cell, in order (the buffer summary with the IOVA/DMA segment
 * chart, one folded table per release, the videobuf2 verdicts, the
 * per-release table, the raised max_seg_size table), built by the same
 * functions the notebook's cells call.
 * @throws ModelConfigError naming the bad parameter (notebook name for type
 *   and range errors; scenario name, see {@link notebook01ParamOf}, for the
 *   scenario's own checks) before anything is computed.
 */
export function notebook01Live(params: Notebook01Params): LiveResult {
  parseScenarioParams(NOTEBOOK01_PARAMS, params, "notebook 01");
  const { segments, iovaGranule, kernels, maxSegSize, segBoundaryMask, seed } = params;
  const results = runIommuGapsReleases({ segments: segments, granule: iovaGranule, maxSegSize: maxSegSize, segBoundaryMask: segBoundaryMask, seed: seed }, kernels);
  const raised = runIommuGapsReleases({ segments: segments, granule: iovaGranule, maxSegSize: maxSegSize ?? 0xffffffff, segBoundaryMask: segBoundaryMask, seed: seed }, kernels);
  return liveResult([case01LayoutOutputs(results, segments), case01PiecesOutputs(results), case01VerdictOutputs(results), case01TableOutputs(results), case01RaisedOutputs(raised)]);
}
