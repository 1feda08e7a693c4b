/**
 * Case 02: coherent memory without struct page, dma_get_sgtable and dma-buf.
 *
 * Two threads meet here:
 * - 2017, Shuah Khan's RFC "arm: dma: fix sharing of coherent DMA memory
 *   without struct page" (Message-ID 20170405160242.14195-1-shuahkh@osg.samsung.com):
 *   on an Exynos board a decode (s5p-mfc, buffers from a no-map per-device
 *   pool) -> convert (GScaler, dma-buf importer) -> display pipeline page-faulted
 *   in the importer. The RFC tagged such memory DMA_ATTR_DEV_COHERENT_NOPAGE
 *   (never merged); Marek Szyprowski answered (Message-ID
 *   e49715a3-b925-79ad-7d1d-ce2cb5673a97@samsung.com) that an importer behind
 *   an IOMMU still could not use it and proposed pfn arrays instead of
 *   scatterlists; Russell King's pfn_valid check turned the fault into -ENXIO.
 * - 2021, Sumit Garg, "DMA direct mapping fix for 5.4 and earlier stable
 *   branches" (Message-ID CAFA6WYNazCmYN20irLdNV+2vcv5dqR+grvaY-FA7q2WOBMs__g@mail.gmail.com):
 *   on the UniPhier PXS3 the codec's no-map pool is memremapped into vmalloc
 *   space and v5.4's dma_common_get_sgtable used virt_to_page on that address;
 *   34dc0ea6bc96 (v5.5) decodes the page from the DMA address instead.
 *
 * {@link runCase02} builds the machine, allocates the exporter's buffer,
 * exports it with videobuf2-dma-contig, imports it into the second device and
 * classifies what happened from the model (never from a table of expectations).
 */
import { hex } from "../core/arith.js";
import { DMA_MAPPING_ERROR, type DmaAddr, type PhysAddr } from "../core/addr.js";
import { ENXIO, errnoName } from "../core/errno.js";
import { KernelOops } from "../core/errors.js";
import type { TraceEvent } from "../core/trace.js";
import { parseKernelVersion } from "../kernel/version.js";
import { createMachine, type Machine } from "../platform/machine.js";
import { dmaToPhys, type Device } from "../platform/device.js";
import { loadPlatformProfile, type PlatformProfile } from "../platform/profile.js";
import { DMA_MAP_RESOURCE, dmaMapResource, getSgtablePaths, useDmaIommu } from "../dma/mapping.js";
import { DMA_BIDIRECTIONAL } from "../core/dma-types.js";
import "../dma/coherent.js";
import { vb2DcAlloc, vb2DcGetDmabuf, vb2DcImportDmabuf } from "../drivers/videobuf2-dma-contig.js";
import { DMABUF_DEBUG } from "../drivers/dma-buf.js";
import type { MemoryModel } from "../mm/memory.js";
import { atLeast } from "../kernel/version.js";
import type { MemmapBar, MemmapInput, MemmapMark } from "../viz/memmap.js";
import { parseScenarioParams, zBool, zInt, zKernel, zOneOf } from "./params.js";
import { z } from "zod";

/** Boards of the case. */
export type Case02Board = "uniphier-pxs3" | "exynos5422-odroidxu4";

/** The boards with a no-map shared-dma-pool exporter and a dma-buf importer (data/platforms). */
export const CASE02_BOARDS: readonly Case02Board[] = ["uniphier-pxs3", "exynos5422-odroidxu4"];

/** What-if variants the notebook compares. */
export type Case02Variant =
  | "baseline"
  | "page-touching importer"
  | "dmabuf-debug"
  | "rk-pfn-valid"
  | "rfc-nopage"
  | "map-resource"
  | "pfn-array";

/** All variants, in table order. */
export const CASE02_VARIANTS: readonly Case02Variant[] = ["baseline", "page-touching importer", "dmabuf-debug", "rk-pfn-valid", "rfc-nopage", "map-resource", "pfn-array"];

/** One-line description of each variant. */
export const CASE02_VARIANT_TEXT: Record<Case02Variant, string> = {
  baseline: "vb2-dma-contig exporter and importer as the kernel has them (importer uses DMA addresses only)",
  "page-touching importer": "the importer also reads sg_page() of the mapped table (CPU access through the pages)",
  "dmabuf-debug": "page-touching importer with CONFIG_DMABUF_DEBUG (84335675f222, v5.12+): page pointers mangled",
  "rk-pfn-valid": "what-if: Russell King's pfn_valid check in dma_get_sgtable on this arch/release (-ENXIO)",
  "rfc-nopage": "what-if: the 2017 RFC DMA_ATTR_DEV_COHERENT_NOPAGE (never merged)",
  "map-resource": "importer maps the buffer's physical address with dma_map_resource (v4.9+), no sg_table pages",
  "pfn-array": "what-if: Marek's pfn-array dma-buf with a dma_map_pfn() (never merged; nearest today: dma_map_phys, v6.18+)",
};

/** Types and ranges of {@link Case02Params} (lib/scenarios/params.ts). */
export const CASE02_PARAMS = z
  .object({
    board: zOneOf(CASE02_BOARDS as [Case02Board, ...Case02Board[]], "the boards with a no-map shared-dma-pool exporter and a dma-buf importer, data/platforms"),
    kernel: zKernel,
    variant: zOneOf(CASE02_VARIANTS as [Case02Variant, ...Case02Variant[]], "CASE02_VARIANTS in lib/scenarios/02-coherent-no-page.ts"),
    importerIommu: zBool("put the importer behind an IOMMU").optional(),
    importerCoherent: zBool("override the importer's dma-coherent property").optional(),
    bufferSize: zInt(4096, 2 ** 27, "buffer size in bytes, at most the 128 MiB pool").optional(),
  })
  .strict();

/** Outcomes, as the notebook's table shows them. */
export type Case02Outcome = "works" | "-ENXIO" | "oops" | "silent wrong page" | "map fails" | "n/a";

/** Parameters of one run. */
export interface Case02Params {
  board: Case02Board;
  /** Kernel release, e.g. "v5.4". */
  kernel: string;
  variant: Case02Variant;
  /** Put the importer behind an IOMMU (PXS3: a hypothetical SMMU; Exynos: the GScaler System MMU). */
  importerIommu?: boolean;
  /** Override the importer's dma-coherent property (default: the profile's). */
  importerCoherent?: boolean;
  /** Buffer size, bytes (default 1 MiB). */
  bufferSize?: number;
}

/** What one run found. */
export interface Case02Result {
  params: Required<Omit<Case02Params, "importerCoherent">> & { importerCoherent: boolean };
  outcome: Case02Outcome;
  /** One sentence explaining the outcome in kernel terms. */
  detail: string;
  exporterName: string;
  importerName: string;
  /** The exporter's buffer: CPU address (printed), DMA handle, physical address, how it was allocated. */
  buffer: { cpuAddr: number; cpuAddrText: string; dmaHandle: number; phys: number; how: string } | null;
  /** The exported sg entry's page, as dma_get_sgtable computed it. */
  sgPage: { pfn: number; phys: number; addressText: string; hasMemmap: boolean; valid: boolean; path: string } | null;
  /** The physical address the importer's DMA really targets (null if it has none). */
  importerPhys: number | null;
  /** The DMA address the importer got. */
  importerDma: number | null;
  oops: { message: string; address: number; callChain: readonly string[] } | null;
  /** The machine (for charts). */
  machine: Machine;
  events: readonly TraceEvent[];
}

function boardProfile(board: Case02Board, importerIommu: boolean, importerCoherent: boolean | undefined): { profile: PlatformProfile; exporter: string; importer: string } {
  const base = loadPlatformProfile(board);
  const p = JSON.parse(JSON.stringify(base)) as PlatformProfile;
  const exporter = board === "uniphier-pxs3" ? "codec" : "mfc";
  const importer = board === "uniphier-pxs3" ? "display" : "gsc";
  const imp = p.devices.find((d) => d.name === importer)!;
  if (importerCoherent !== undefined) imp.dmaCoherent = importerCoherent;
  if (importerIommu) {
    if (board === "uniphier-pxs3") {
      // Hypothetical: the PXS3 has no IOMMU in front of these masters.
      p.iommus = [...p.iommus, { name: "smmu", driver: "arm-smmu-v3", granule: 4096, pageSizes: [4096, 2097152, 1073741824], apertureBits: 32, strict: true }];
      imp.iommu = "smmu";
    } else imp.iommu = "sysmmu-gscl0";
  }
  return { profile: p, exporter, importer };
}

function physRange(mm: MemoryModel, phys: number): string {
  const r = mm.regionOf(phys);
  return r.kind === "hole" ? `${hex(phys)} (not RAM, no region)` : `${hex(phys)} (${r.kind} ${r.name})`;
}

/**
 * Run case 02 once.
 * @throws ModelConfigError for a parameter outside {@link CASE02_PARAMS}
 * (unknown board or variant, a release outside the modelled range, a string
 * where a boolean belongs), before anything is built.
 */
export function runCase02(params: Case02Params): Case02Result {
  parseScenarioParams(CASE02_PARAMS, params, "runCase02");
  const kernel = parseKernelVersion(params.kernel).name;
  const importerIommu = !!params.importerIommu;
  const size = params.bufferSize ?? 1048576;
  const { profile, exporter, importer } = boardProfile(params.board, importerIommu, params.importerCoherent);
  const m = createMachine(profile, { kernel });
  const exp = m.device(exporter);
  const imp = m.device(importer);
  const v = params.variant;
  const res: Case02Result = {
    params: { board: params.board, kernel, variant: v, importerIommu, importerCoherent: imp.dmaCoherent, bufferSize: size },
    outcome: "works",
    detail: "",
    exporterName: exporter,
    importerName: importer,
    buffer: null,
    sgPage: null,
    importerPhys: null,
    importerDma: null,
    oops: null,
    machine: m,
    events: m.trace.events(),
  };
  if (v === "dmabuf-debug" && !atLeast(kernel, DMABUF_DEBUG)) {
    res.outcome = "n/a";
    res.detail = `CONFIG_DMABUF_DEBUG does not exist before ${DMABUF_DEBUG.since}`;
    return res;
  }
  if ((v === "map-resource") && !atLeast(kernel, DMA_MAP_RESOURCE)) {
    res.outcome = "n/a";
    res.detail = "dma_map_resource does not exist before v4.9";
    return res;
  }
  const mm = m.mm;
  const buf = vb2DcAlloc(exp, size, { rfcDevCoherentNopage: v === "rfc-nopage", rkPfnValidCheck: v === "rk-pfn-valid", dmabufDebug: v === "dmabuf-debug" });
  if (!buf) {
    res.outcome = "map fails";
    res.detail = "dma_alloc_attrs returned NULL";
    return res;
  }
  const bufPhys = dmaToPhys(exp, buf.dmaAddr) ?? buf.dmaAddr;
  res.buffer = { cpuAddr: buf.cookie, cpuAddrText: mm.fmtVa(buf.cookie), dmaHandle: buf.dmaAddr, phys: bufPhys, how: buf.how };

  if (v === "map-resource" || v === "pfn-array") {
    // The importer never sees pages: it maps the exporter's physical range itself.
    let d: DmaAddr;
    if (v === "map-resource") d = dmaMapResource(imp, bufPhys as PhysAddr, size, DMA_BIDIRECTIONAL);
    else d = mapPfnHypothetical(m, imp, bufPhys, size);
    if (d === DMA_MAPPING_ERROR) {
      res.outcome = "map fails";
      res.detail = v === "map-resource" ? `dma_map_resource(${hex(bufPhys)}) returned DMA_MAPPING_ERROR` : "dma_map_pfn (hypothetical) failed";
      return res;
    }
    res.importerDma = d;
    res.importerPhys = useDmaIommu(imp) ? bufPhys : dmaToPhys(imp, d);
    res.outcome = res.importerPhys === bufPhys ? "works" : "silent wrong page";
    res.detail =
      v === "map-resource"
        ? `dma_map_resource gave ${hex(d)} for phys ${hex(bufPhys)}${useDmaIommu(imp) ? " (an IOVA: iommu_dma_map_resource)" : ""}: no struct page involved, no cache maintenance`
        : `dma_map_pfn (never merged) would map pfn ${hex(bufPhys / mm.pageSize)} directly: ${hex(d)}`;
    return res;
  }

  try {
    const db = vb2DcGetDmabuf(buf, { dmabufDebug: v === "dmabuf-debug" });
    const info = buf.sgtBase ? getSgtablePaths.get(buf.sgtBase) : undefined;
    if (buf.sgtBase && info && info.pfn !== null) {
      const pg = mm.pfnToPage(info.pfn);
      res.sgPage = { pfn: info.pfn, phys: info.pfn * mm.pageSize, addressText: pg.addressText, hasMemmap: pg.hasMemmap, valid: pg.valid, path: info.path };
    } else if (info) {
      res.sgPage = null;
    }
    if (typeof db === "number") {
      res.outcome = db === -ENXIO ? "-ENXIO" : "map fails";
      res.detail = `dma_get_sgtable returned ${errnoName(db)}: "failed to get scatterlist from DMA API", no dma-buf is exported (a clean failure)`;
      return res;
    }
    const r = vb2DcImportDmabuf(imp, db, { touchesPages: v === "page-touching importer" || v === "dmabuf-debug" });
    if (r.ok === false) {
      const fail = r as Extract<typeof r, { ok: false }>;
      if (res.sgPage && res.sgPage.phys !== bufPhys) {
        // The table names the wrong memory; the model's streaming map refused the computed
        // address (beyond the importer's mask). The kernel would bounce through swiotlb --
        // without copying, as vb2 maps with DMA_ATTR_SKIP_CPU_SYNC -- or fail: either way the
        // importer never sees the buffer.
        res.outcome = "silent wrong page";
        res.importerPhys = res.sgPage.phys;
        res.detail = `dma_get_sgtable's page is not the buffer's (sg_phys ${physRange(mm, res.sgPage.phys)} instead of ${hex(bufPhys)}); the importer's map of that address failed in the model (${fail.message}); a kernel with swiotlb bounces it without copying (DMA_ATTR_SKIP_CPU_SYNC): the importer never sees the buffer's data`;
        return res;
      }
      res.outcome = "map fails";
      res.detail = `the importer's map failed: ${fail.message} (${errnoName(fail.err)})`;
      return res;
    }
    const okr = r as Extract<typeof r, { ok: true }>;
    res.importerDma = okr.dmaAddr;
    // The physical address the importer's DMA targets: what the map computed from sg_page (sg_phys),
    // or, for RFC page-less entries on the direct path, the translated exporter address.
    const e = okr.sgt.sgl[0]!;
    const used = e.pfn !== null ? e.pfn * mm.pageSize + e.offset : dmaToPhys(imp, e.dmaAddress);
    res.importerPhys = used;
    if (used === bufPhys) {
      res.outcome = "works";
      res.detail = `the importer's DMA address ${hex(okr.dmaAddr)} reaches the buffer at ${hex(bufPhys)}` + (res.sgPage && !res.sgPage.valid ? " (through a page that pfn_valid() denies: the table is still not a valid scatterlist)" : "");
    } else {
      res.outcome = "silent wrong page";
      res.detail = `sg_page() is not the buffer's page: the importer's DMA targets ${physRange(mm, used ?? 0)} instead of ${hex(bufPhys)}`;
    }
  } catch (err) {
    if (!(err instanceof KernelOops)) throw err;
    res.outcome = "oops";
    res.oops = { message: err.message.split("\n")[0]!, address: err.address, callChain: err.callChain };
    res.detail = `${res.oops.message}; call trace: ${err.callChain.join(" <- ")}`;
  }
  return res;
}

/**
 * The pfn-array what-if: a dma_map_pfn(dev, pfn, offset, size, dir) that never
 * existed. Modelled as dma_map_resource without the RAM refusal (the pool
 * memory is coherent/WC, so no cache maintenance is needed).
 */
function mapPfnHypothetical(m: Machine, imp: Device, phys: number, size: number): DmaAddr {
  imp.trace.record({ fn: "dma_map_pfn", kind: "hypothetical", msg: `dma_map_pfn (never merged): pfn ${hex(phys / m.pageSize)} for ${imp.name}`, data: { phys } });
  return dmaMapResource(imp, phys as PhysAddr, size, DMA_BIDIRECTIONAL, 0, { asDmaMapPfn: true });
}

/** One row of the outcome table. */
export interface Case02Row {
  [key: string]: string | number | boolean | null;
  board: string;
  kernel: string;
  variant: string;
  importer: string;
  outcome: Case02Outcome;
  detail: string;
}

/**
 * Run every (kernel, variant) pair for a board and importer setup.
 * @returns one row per pair, in the given order.
 */
export function case02OutcomeTable(board: Case02Board, kernels: readonly string[], variants: readonly Case02Variant[] = CASE02_VARIANTS, opts: { importerIommu?: boolean; importerCoherent?: boolean } = {}): Case02Row[] {
  const rows: Case02Row[] = [];
  for (const k of kernels) {
    for (const v of variants) {
      const r = runCase02({ board, kernel: k, variant: v, ...(opts.importerIommu !== undefined ? { importerIommu: opts.importerIommu } : {}), ...(opts.importerCoherent !== undefined ? { importerCoherent: opts.importerCoherent } : {}) });
      rows.push({
        board,
        kernel: r.params.kernel,
        variant: v,
        importer: `${r.importerName}${r.params.importerIommu ? " (IOMMU)" : ""}${r.params.importerCoherent ? ", coherent" : ", non-coherent"}`,
        outcome: r.outcome,
        detail: r.detail,
      });
    }
  }
  return rows;
}

/**
 * Plain data for the memory map chart (lib/viz/memmap.ts) of one run: the
 * physical map with struct-page validity, the kernel VA regions, the pool's
 * memremap, the buffer and the page dma_get_sgtable computed (with its
 * struct page pointer: the one virt_to_page invents on v5.4 for a vmalloc address).
 */
export function case02MemmapData(r: Case02Result): MemmapInput {
  const m = r.machine;
  const mm = m.mm;
  const l = mm.layout;
  const p = m.profile;
  const phys: MemmapBar[] = [];
  const physMarks: MemmapMark[] = [];
  for (const b of p.ram) phys.push({ lane: "RAM (memory node)", start: b.base, end: b.base + b.size, label: `RAM ${hex(b.base)} +${hex(b.size)}`, kind: "ram" });
  for (const x of p.reserved) phys.push({ lane: "reserved-memory", start: x.base, end: x.base + x.size, label: `${x.name}${x.compatible ? " (" + x.compatible + ")" : ""}${x.noMap ? ", no-map" : ""}`, kind: x.noMap ? "nomap" : "reserved" });
  for (const x of p.mmio) phys.push({ lane: "MMIO", start: x.base, end: x.base + x.size, label: x.name, kind: "mmio" });
  const lo = Math.min(...phys.map((b) => b.start));
  const hi = Math.max(...phys.map((b) => b.end));
  const edges = new Set<number>([lo, hi]);
  for (const b of phys) {
    edges.add(b.start);
    edges.add(b.end);
  }
  const sorted = [...edges].filter((e) => e >= lo && e <= hi).sort((a, b) => a - b);
  for (let i = 0; i + 1 < sorted.length; i++) {
    const s = sorted[i]!;
    const e = sorted[i + 1]!;
    const valid = mm.pfnValid(Math.floor(s / mm.pageSize));
    const alias = mm.hasLinearAlias(s);
    phys.push({ lane: "struct page (pfn_valid)", start: s, end: e, label: valid ? "pfn_valid: struct page" : "no struct page (pfn_valid false)", kind: valid ? "valid" : "no struct page" });
    if (alias) phys.push({ lane: "linear-map alias", start: s, end: e, label: "mapped in the linear map", kind: "linear" });
  }
  if (r.buffer) physMarks.push({ lane: "reserved-memory", at: r.buffer.phys, label: `buffer ${hex(r.buffer.phys)}`, kind: "buffer" });
  if (r.sgPage) {
    const inView = r.sgPage.phys >= lo && r.sgPage.phys <= hi;
    physMarks.push({ lane: "struct page (pfn_valid)", at: inView ? r.sgPage.phys : hi, label: inView ? `sg_page pfn ${hex(r.sgPage.pfn)}` : `sg_page pfn ${hex(r.sgPage.pfn)} = phys ${hex(r.sgPage.phys)}, off the chart`, kind: r.sgPage.phys === r.buffer?.phys ? "sg-page" : "bogus" });
  }

  const virt: MemmapBar[] = [];
  const virtMarks: MemmapMark[] = [];
  for (const b of p.ram) {
    const s = mm.linearAddress(b.base);
    virt.push({ lane: "linear map (RAM aliases)", start: s, end: s + Math.min(b.size, l.linearSpan), label: `__va(${hex(b.base)})`, kind: "linear" });
  }
  virt.push({ lane: "vmalloc area", start: l.vmallocStart, end: l.vmallocEnd, label: "VMALLOC_START..VMALLOC_END", kind: "vmalloc" });
  for (const a of mm.vmapSpace.list()) virt.push({ lane: "vmalloc: live areas", start: a.start, end: a.start + a.size, label: `${a.caller} (${a.kind}, ${a.prot})${a.physBase !== null ? " -> phys " + hex(a.physBase) : ""}`, kind: a.kind === "memremap" ? "pool-remap" : "vmalloc" });
  const ramLo = Math.min(...p.ram.map((b) => b.base));
  const ramHi = Math.max(...p.ram.map((b) => b.base + b.size));
  const vs = mm.pageAddressOf(ramLo / mm.pageSize);
  virt.push({ lane: "vmemmap (struct pages of RAM)", start: vs, end: vs + ((ramHi - ramLo) / mm.pageSize) * l.structPageSize, label: "struct page array", kind: "vmemmap" });
  if (r.buffer) virtMarks.push({ lane: "vmalloc: live areas", at: r.buffer.cpuAddr, label: `cpu_addr ${r.buffer.cpuAddrText}`, kind: "buffer" });
  if (r.sgPage) {
    const wrapped = !r.sgPage.addressText.startsWith(l.vaBits === 48 ? "0xffff" : "0x");
    if (wrapped || (l.vaBits === 48 && !r.sgPage.addressText.startsWith("0xffff"))) {
      virtMarks.push({ lane: "struct page pointer outside the kernel half", at: l.pageOffset, label: `page ${r.sgPage.addressText} (wrapped past 2^64: no memory there)`, kind: "bogus" });
    } else {
      virtMarks.push({ lane: "vmemmap (struct pages of RAM)", at: mm.pageAddressOf(r.sgPage.pfn), label: `sg_page ${r.sgPage.addressText}${r.sgPage.hasMemmap ? "" : " (no memmap)"}`, kind: r.sgPage.phys === r.buffer?.phys ? "sg-page" : "bogus" });
    }
  }
  return {
    title: `${p.name}: ${r.params.kernel}, ${r.params.variant}`,
    vaBits: l.vaBits,
    phys,
    physMarks,
    virt,
    virtMarks,
  };
}
