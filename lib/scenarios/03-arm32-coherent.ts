/**
 * Case 03: coherent allocation on 32-bit ARM, restricted DMA and the
 * DMA_DIRECT_REMAP plan.
 *
 * The thread: Jim Quinlan's "[PATCH v1 1/1] ARM: Select DMA_DIRECT_REMAP to
 * fix restricted DMA" (2023; a Broadcom STB whose iwlwifi sat behind a
 * restricted-dma-pool), Christoph Hellwig's two-step plan (2023-10-06) and
 * Marek Szyprowski's reply (2023-10-20): the 32-bit ARM linear map is made of
 * 1 MiB sections copied into every process's page tables, so it cannot be
 * made uncached at run time; only CMA areas, remapped to 4 KiB PTEs at boot,
 * can.
 *
 * {@link runCase03} boots a board (createMachine for the profile and its
 * cache model, arm32CoherentBoot for the sidecar's linear map, CMA area and
 * atomic pool) and answers, from the model:
 * - the physical memory map: sections, the CMA area in 4 KiB PTEs, the atomic
 *   pool, a restricted-dma-pool;
 * - per release and variant, the path and allocator each request gets
 *   (lib/dma/arm32-restricted.ts arm32CoherentPath, ARM's __dma_alloc
 *   choice) and what the CPU ends up with;
 * - the atomic pool filling up under GFP_ATOMIC requests (genalloc,
 *   gen_pool_first_fit_order_align) until __alloc_from_pool returns NULL;
 * - the cost of an attribute change: sections rewritten in every mm versus
 *   __dma_remap of 4 KiB PTEs in the CMA area;
 * - the restricted-DMA outcome per release on 32-bit ARM (2-level and LPAE)
 *   and on arm64;
 * - the hazard of a cacheable linear alias (the remap allocator, step 1):
 *   seeded speculative fills through the alias (lib/cache/model.ts) leave
 *   lines that the device's later write makes stale.
 *
 * The variants beyond "mainline" are PROPOSALS from the thread; as of v6.19
 * none is merged (arch/arm/Kconfig v6.19 selects ARCH_HAS_DMA_ALLOC if MMU
 * and neither DMA_DIRECT_REMAP nor ARCH_HAS_DMA_SET_UNCACHED; dma_direct_alloc
 * still tests IS_ENABLED(CONFIG_ARCH_HAS_DMA_SET_UNCACHED) unconditionally:
 * kernel/dma/direct.c v6.19).
 *
 * The atomic-pool rows go through the DMA API: dma_alloc_attrs(dev, size,
 * GFP_ATOMIC) on a machine of the board (lib/dma/mapping.ts dmaAllocAttrs ->
 * lib/dma/arch/arm-dma-alloc.ts: arm_dma_ops or arch_dma_alloc -> __dma_alloc
 * -> __alloc_from_pool). The allocator table stays a decision table
 * (arm32CoherentPath, the same function the dispatcher asks) because its
 * variants are unmerged proposals the dispatcher does not model; the memory
 * map and costs use arm32CoherentBoot's linear map from the sidecar.
 */
import { z } from "zod";
import { ModelConfigError } from "../core/errors.js";
import type { Hazard } from "../cache/model.js";
import { compareVersions, parseKernelVersion, atLeast } from "../kernel/version.js";
import { createMachine } from "../platform/machine.js";
import { loadPlatformProfile } from "../platform/profile.js";
import { ARM_LPAE_SECTION_SIZE, ARM_SECTION_SIZE, changeAttributes, linearMapGranuleAt, type AttrChangeCost } from "../mm/arm32-sections.js";
import { genPoolAvail } from "../mm/genalloc.js";
import { arm32CoherentBoot, type Arm32CoherentBoard } from "../dma/arm32-coherent.js";
import { armDmaAllocBoot } from "../dma/arch/arm-dma-alloc.js";
import { dmaAllocAttrs } from "../dma/mapping.js";
import { dmaToPhys } from "../platform/device.js";
import { RESTRICTED_DMA_POOL, arm32CoherentPath, type Arm32CoherentPath } from "../dma/arm32-restricted.js";
import { DEFAULT_DMA_COHERENT_POOL_SIZE, type Arm32DmaAllocator } from "../dma/pool.js";
import { parseScenarioParams, zBool, zInt, zKernel, zOneOf, zSeed } from "./params.js";

/** The boards of the case (data/platforms + data/platforms/arm32 sidecars). */
export type Case03Board = "bcm2836-rpi-2-b" | "exynos5422-odroidxu4";
export const CASE03_BOARDS: readonly Case03Board[] = ["bcm2836-rpi-2-b", "exynos5422-odroidxu4"];

/** Mainline, or one of the thread's proposals (none merged as of v6.19). */
export type Case03Variant = "mainline" | "step1-dma-direct-remap" | "step2-set-uncached-cma";
export const CASE03_VARIANTS: readonly Case03Variant[] = ["mainline", "step1-dma-direct-remap", "step2-set-uncached-cma"];

/** One line per variant, for tables and legends. */
export const CASE03_VARIANT_TEXT: Record<Case03Variant, string> = {
  mainline: "as merged: ARM's own __dma_alloc behind arch_dma_alloc (ARCH_HAS_DMA_ALLOC); restricted pools unsupported",
  "step1-dma-direct-remap":
    "PROPOSAL (Christoph Hellwig, step 1, not merged): select DMA_DIRECT_REMAP, arch_dma_prep_coherent flushes the buffer, arch_dma_alloc/arch_dma_free removed; every non-coherent allocation is remapped in vmalloc space",
  "step2-set-uncached-cma":
    "PROPOSAL (step 2, not merged): step 1 plus ARCH_HAS_DMA_SET_UNCACHED used only for CMA pages: their 4 KiB linear-map PTEs are made uncached; section-mapped memory is still remapped",
};

/** The non-coherent, IOMMU-less device of each board whose allocations the pool rows make (its profile's first such device). */
export const CASE03_DEVICE: Record<Case03Board, string> = { "bcm2836-rpi-2-b": "3f980000.usb", "exynos5422-odroidxu4": "gsc" };

/** The releases the per-release tables show by default. */
export const CASE03_RELEASES: readonly string[] = ["v5.10", "v5.15", "v5.17", "v5.19", "v6.0", "v6.3", "v6.8", "v6.19"];

/** Types and ranges of {@link Case03Params}. */
export const CASE03_PARAMS = z
  .object({
    board: zOneOf(CASE03_BOARDS as [Case03Board, ...Case03Board[]], "the 32-bit ARM boards with an arm32 sidecar, data/platforms/arm32"),
    kernel: zKernel,
    releases: z.array(zKernel).min(1).max(16).describe("releases for the per-release tables, each within the modelled range").optional(),
    cmaEnabled: zBool("boot with the default CMA area (false: cma=0)"),
    cmaSize: zInt(4194304, 268435456, "default CMA area size in bytes, a multiple of 4 MiB (the sidecar's base is kept)").optional(),
    coherentPoolSize: zInt(4096, 16777216, "coherent_pool= in bytes, a multiple of 4096 (ARM default 262144 = 256 KiB)"),
    processes: zInt(0, 4096, "user processes running when an attribute is changed (each has its own pgd)"),
    allocSizes: z.array(zInt(1, 4194304, "a GFP_ATOMIC dma_alloc_coherent size in bytes")).min(1).max(256).describe("GFP_ATOMIC request sizes, in order, thrown at the atomic pool"),
    variant: zOneOf(CASE03_VARIANTS as [Case03Variant, ...Case03Variant[]], "CASE03_VARIANTS in lib/scenarios/03-arm32-coherent.ts"),
    restrictedPoolSize: zInt(1048576, 67108864, "size in bytes of a hypothetical restricted-dma-pool, a multiple of 1 MiB (the boards have none)").optional(),
    seed: zSeed.optional(),
    specFillProb: z.number().min(0).max(1).describe("probability of a speculative fill per step in the hazard run, [0, 1]").optional(),
    speculationSteps: zInt(0, 1024, "CPU steps between allocation and the device's write in the hazard run").optional(),
  })
  .strict();

/** Arguments of {@link case03Costs}: a release and up to 64 process counts (the range of CASE03_PARAMS.processes). */
const CASE03_COSTS_PARAMS = z
  .object({
    kernel: zKernel,
    processCounts: z.array(zInt(0, 4096, "user processes when the attribute is changed")).max(64).describe("process counts, at most 64"),
  })
  .strict();

/** Arguments of {@link case03Restricted}. */
const CASE03_RESTRICTED_PARAMS = z
  .object({
    releases: z.array(zKernel).min(1).max(16).describe("releases, each within the modelled range"),
    variants: z.array(zOneOf(CASE03_VARIANTS as [Case03Variant, ...Case03Variant[]], "CASE03_VARIANTS in lib/scenarios/03-arm32-coherent.ts")).min(1).describe("variants"),
  })
  .strict();

/** Arguments of {@link case03Hazard} (ranges as in CASE03_PARAMS). */
const CASE03_HAZARD_PARAMS = z
  .object({
    board: zOneOf(CASE03_BOARDS as [Case03Board, ...Case03Board[]], "the 32-bit ARM boards with an arm32 sidecar, data/platforms/arm32"),
    kernel: zKernel,
    alias: zOneOf(["cacheable", "non-cacheable"], "the buffer's linear-map alias"),
    phys: zInt(0, 0xffffffff, "physical address of the buffer (32-bit ARM)"),
    size: zInt(1, 4194304, "buffer size in bytes"),
    seed: zSeed,
    specFillProb: z.number().min(0).max(1).describe("probability of a speculative fill per step, [0, 1]"),
    steps: zInt(0, 1024, "CPU steps between allocation and the device's write"),
  })
  .strict();

/** Parameters of {@link runCase03} (see {@link CASE03_PARAMS}). */
export interface Case03Params {
  board: Case03Board;
  /** The release of the single-release views (memory map, pool, costs, hazard). */
  kernel: string;
  /** Releases of the per-release tables; default {@link CASE03_RELEASES}. */
  releases?: string[];
  cmaEnabled: boolean;
  /** Bytes; default: the sidecar's area. */
  cmaSize?: number;
  /** coherent_pool=, bytes. */
  coherentPoolSize: number;
  processes: number;
  /** GFP_ATOMIC request sizes (bytes), in order. */
  allocSizes: number[];
  variant: Case03Variant;
  /** Hypothetical restricted-dma-pool, bytes (default 4 MiB). */
  restrictedPoolSize?: number;
  /** Seed of the machine (speculative fills). Default 3. */
  seed?: number;
  /** Default 0.25. */
  specFillProb?: number;
  /** Default 32. */
  speculationSteps?: number;
}

/** One bar of the memory map (bytes); `granule` says how the linear map covers it. */
export interface Case03MapBar {
  lane: string;
  start: number;
  end: number;
  kind: "sections" | "cma (4 KiB PTEs)" | "atomic pool" | "restricted pool" | "highmem / not mapped";
  label: string;
}

/** A request of the allocator table. */
export interface Case03Request {
  id: string;
  label: string;
  size: number;
  allowBlock: boolean;
  restricted: boolean;
}

/** The requests every release/variant is asked. */
export const CASE03_REQUESTS: readonly Case03Request[] = [
  { id: "kernel-64k", label: "GFP_KERNEL 64 KiB", size: 65536, allowBlock: true, restricted: false },
  { id: "kernel-4k", label: "GFP_KERNEL 4 KiB", size: 4096, allowBlock: true, restricted: false },
  { id: "atomic-16k", label: "GFP_ATOMIC 16 KiB", size: 16384, allowBlock: false, restricted: false },
  { id: "restricted-64k", label: "restricted pool, 64 KiB", size: 65536, allowBlock: true, restricted: true },
];

/** The path plus the step 2 case dma-direct would add ("direct_set_uncached"). */
export type Case03Path = Arm32CoherentPath | "direct_set_uncached";

/** What the CPU gets back. */
export type Case03Outcome = "ok, no cacheable alias" | "ok, cacheable linear alias" | "ok, outside the restricted pool" | "incoherent (cached)" | "NULL";

/** One row of the allocator table. */
export interface Case03AllocRow {
  release: string;
  variant: Case03Variant;
  request: string;
  path: Case03Path;
  /** ARM's allocator when __dma_alloc runs, else the dma-direct path name. */
  allocator: Arm32DmaAllocator | null;
  /** "arm cma", "dma-direct remap", ... : allocator or path in one label for charts. */
  via: string;
  outcome: Case03Outcome;
  warning: string | null;
  proposal: boolean;
}

/** One GFP_ATOMIC request against the atomic pool. */
export interface Case03PoolRow {
  n: number;
  size: number;
  /** Offset in the pool (bytes), or null for NULL. */
  offset: number | null;
  ok: boolean;
  /** gen_pool_avail after the request, bytes. */
  availAfter: number;
  /** The request failed although avail >= size (fragmentation / order alignment). */
  fragmented: boolean;
}

/** One row of the attribute-change cost table. */
export interface Case03CostRow {
  board: string;
  format: "2-level (1 MiB sections)" | "LPAE (2 MiB blocks)";
  processes: number;
  mechanism: AttrChangeCost["mechanism"];
  /** "64 KiB in a section" or "64 KiB in CMA". */
  where: string;
  entriesWritten: number;
  tlbFlushCalls: number;
  tlbiOps: number;
  processesTouched: number;
  stopMachine: boolean;
  collateralBytes: number;
}

/** One row of the restricted-DMA table. */
export interface Case03RestrictedRow {
  release: string;
  arch: "arm (2-level)" | "arm (LPAE)" | "arm64";
  variant: Case03Variant;
  path: Case03Path | "direct_remap (arm64)" | "no restricted pools";
  outcome: Case03Outcome | "no restricted pools";
  warning: string | null;
}

/** The cache-model run of one mapping choice. */
export interface Case03HazardRun {
  /** "cacheable linear alias (remap)" or "no cacheable alias (CMA, __dma_remap)". */
  alias: "cacheable" | "non-cacheable";
  phys: number;
  size: number;
  specFills: number;
  /** Lines with a clean cached copy older than the device's write after the device wrote: an uncached access may hit them (ARMv7 mismatched attributes), a cacheable one will. */
  staleLines: number;
  /** stale_read hazards when the freed page is read through the linear map. */
  hazards: Hazard[];
}

/** The thread's facts and what v6.19 has. */
export interface Case03Merged {
  selectsDmaDirectRemap: boolean;
  selectsArchHasDmaSetUncached: boolean;
  selectsArchHasDmaAlloc: boolean;
  text: string;
}

/** What {@link runCase03} returns. */
export interface Case03Result {
  params: Required<Omit<Case03Params, "cmaSize">> & { cmaSize: number | null };
  board: { id: string; lpae: boolean; sectionSize: number; sections: number; lowmemLimit: number; physOffset: number; cma: { base: number; size: number } | null; pool: { phys: number | null; size: number; backing: string | null }; restricted: { base: number; size: number } };
  memoryMap: Case03MapBar[];
  allocations: Case03AllocRow[];
  /** The rows of `kernel` and `variant` (the run the parameters select). */
  selected: Case03AllocRow[];
  pool: Case03PoolRow[];
  /** First failing request (1-based) or null. */
  poolFirstFailure: number | null;
  costs: Case03CostRow[];
  restricted: Case03RestrictedRow[];
  hazard: { remap: Case03HazardRun; cma: Case03HazardRun };
  merged: Case03Merged;
}

const PAGE = 4096;

/** Facts read in arch/arm/Kconfig and kernel/dma/direct.c of v6.19 (matankalina/linux-6.19.10-fork). */
export const CASE03_MERGED_V619: Case03Merged = {
  selectsDmaDirectRemap: false,
  selectsArchHasDmaSetUncached: false,
  selectsArchHasDmaAlloc: true,
  text:
    "v6.19: arch/arm/Kconfig selects ARCH_HAS_DMA_ALLOC if MMU, DMA_GLOBAL_POOL if !MMU, HAVE_DMA_CONTIGUOUS if MMU, and neither DMA_DIRECT_REMAP nor ARCH_HAS_DMA_SET_UNCACHED; " +
    "kernel/dma/direct.c dma_direct_alloc still reads IS_ENABLED(CONFIG_ARCH_HAS_DMA_SET_UNCACHED) unconditionally. Neither step of the plan is merged: restricted-pool devices get NULL and the warning.",
};

function variantPath(kernel: string, lpae: boolean, variant: Case03Variant, req: Case03Request, hasCma: boolean): { path: Case03Path; allocator: Arm32DmaAllocator | null; warning: string | null; incoherent: boolean } {
  const r = arm32CoherentPath({ kernel, lpae, coherent: false, restrictedPool: req.restricted, allowBlock: req.allowBlock, hasCmaArea: hasCma, dmaDirectRemap: variant !== "mainline" });
  const restricted = req.restricted && atLeast(kernel, RESTRICTED_DMA_POOL);
  // Step 2: dma_alloc_contiguous (kernel/dma/contiguous.c v6.19) gives CMA pages to blocking requests above PAGE_SIZE
  // from the default area; those are PTE-mapped and can be set uncached. Restricted-pool pages are not CMA.
  if (variant === "step2-set-uncached-cma" && r.path === "direct_remap" && !restricted && hasCma && req.allowBlock && req.size > PAGE) {
    return { path: "direct_set_uncached", allocator: null, warning: null, incoherent: false };
  }
  return r;
}

function outcomeOf(path: Case03Path, allocator: Arm32DmaAllocator | null, req: Case03Request, kernel: string, poolFromCma: boolean): Case03Outcome {
  if (path === "null") return "NULL";
  if (path === "restricted_cached_alias") return "incoherent (cached)";
  if (path === "direct_set_uncached") return "ok, no cacheable alias";
  if (path === "direct_remap" || path === "direct_atomic_pool") return "ok, cacheable linear alias";
  if (path === "arm_dma_ops" && req.restricted && atLeast(kernel, RESTRICTED_DMA_POOL)) return "ok, outside the restricted pool";
  if (allocator === "cma") return "ok, no cacheable alias";
  if (allocator === "pool") return poolFromCma ? "ok, no cacheable alias" : "ok, cacheable linear alias";
  return "ok, cacheable linear alias";
}

function viaOf(path: Case03Path, allocator: Arm32DmaAllocator | null): string {
  if (allocator) return `${path === "arm_dma_ops" ? "arm_dma_ops" : "arch_dma_alloc"}: ${allocator}`;
  return path;
}

/** A bump allocator standing in for the buddy allocator (GFP_KERNEL | GFP_DMA pages) of the no-CMA pool and the remap allocator: order-aligned blocks from 16 MiB up. */
function bumpPages(start: number): (size: number, order: number) => number {
  let next = start;
  return (_size: number, order: number) => {
    const align = PAGE * 2 ** order;
    const p = Math.ceil(next / align) * align;
    next = p + align;
    return p;
  };
}

function boot(id: Case03Board, kernel: string, o: { cmaEnabled: boolean; cmaSize?: number; coherentPool: number; processes: number }): Arm32CoherentBoard {
  const prof = loadPlatformProfile(id);
  const physOffset = prof.layout?.physOffset ?? Math.min(...prof.ram.map((r) => r.base));
  return arm32CoherentBoot(id, { kernel, noCma: !o.cmaEnabled, cmaSize: o.cmaSize, coherentPool: o.coherentPool, processes: o.processes, allocPages: bumpPages(physOffset + 16777216) });
}

/** The hypothetical restricted pool: right below the CMA area (or the lowmem limit), aligned down to 2 MiB. */
function restrictedPlacement(b: Arm32CoherentBoard, size: number): { base: number; size: number } {
  const top = b.board.cma ? b.board.cma.base : b.map.lowmemLimit;
  const base = Math.floor((top - size) / 2097152) * 2097152;
  return { base, size };
}

/**
 * The attribute-change cost of a 64 KiB buffer in a section (the restricted
 * pool's memory) and in the CMA area, for each process count, on both
 * boards' page-table formats. Sections: every mm rewritten (the
 * update_sections_early pattern; no kernel DMA path does this). CMA:
 * __dma_remap.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function case03Costs(kernel: string, processCounts: readonly number[]): Case03CostRow[] {
  parseScenarioParams(CASE03_COSTS_PARAMS, { kernel, processCounts }, "case03Costs");
  const rows: Case03CostRow[] = [];
  for (const id of CASE03_BOARDS) {
    for (const n of processCounts) {
      const b = boot(id, kernel, { cmaEnabled: true, coherentPool: DEFAULT_DMA_COHERENT_POOL_SIZE, processes: n });
      const format = b.map.lpae ? "LPAE (2 MiB blocks)" : "2-level (1 MiB sections)";
      const rp = restrictedPlacement(b, 4194304);
      const sec = changeAttributes(b.map, { phys: rp.base, size: 65536 }, "noncacheable");
      rows.push({ board: id, format, processes: n, where: "64 KiB in a section", ...sec });
      const cmaPhys = b.cma ? b.board.cma!.base + 8388608 : null;
      if (cmaPhys !== null) {
        const c = changeAttributes(b.map, { phys: cmaPhys, size: 65536 }, "noncacheable");
        rows.push({ board: id, format, processes: n, where: "64 KiB in CMA", ...c });
      }
    }
  }
  return rows;
}

/**
 * The restricted-DMA outcome of a GFP_KERNEL allocation by a non-coherent
 * device with a restricted-dma-pool, per release and variant: 32-bit ARM
 * 2-level and LPAE (arm32CoherentPath), and arm64, which selects
 * DMA_DIRECT_REMAP: dma_direct_alloc takes the pool's pages (swiotlb_alloc)
 * and remaps them (kernel/dma/direct.c v5.15, v6.19; arch/arm64/Kconfig).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function case03Restricted(releases: readonly string[], variants: readonly Case03Variant[] = CASE03_VARIANTS): Case03RestrictedRow[] {
  parseScenarioParams(CASE03_RESTRICTED_PARAMS, { releases, variants }, "case03Restricted");
  const req = CASE03_REQUESTS.find((r) => r.id === "restricted-64k")!;
  const rows: Case03RestrictedRow[] = [];
  for (const release of releases) {
    const has = atLeast(release, RESTRICTED_DMA_POOL);
    for (const variant of variants) {
      for (const lpae of [false, true]) {
        const arch = lpae ? "arm (LPAE)" : "arm (2-level)";
        if (!has) {
          rows.push({ release, arch, variant, path: "no restricted pools", outcome: "no restricted pools", warning: null });
          continue;
        }
        const r = variantPath(release, lpae, variant, req, true);
        rows.push({ release, arch, variant, path: r.path, outcome: outcomeOf(r.path, r.allocator, req, release, true), warning: r.warning });
      }
      rows.push(has ? { release, arch: "arm64", variant, path: "direct_remap (arm64)", outcome: "ok, cacheable linear alias", warning: null } : { release, arch: "arm64", variant, path: "no restricted pools", outcome: "no restricted pools", warning: null });
    }
  }
  return rows;
}

/**
 * The cacheable-alias hazard on the board's cache model: a `size`-byte
 * buffer is zeroed and flushed (__dma_clear_buffer: memset through the linear
 * map, clean+invalidate), the CPU runs `steps` seeded steps in which the
 * cache may speculatively fill lines of a cacheable alias, the non-coherent
 * device writes the buffer, and after dma_free_coherent the page's next
 * owner reads it through the linear map. With a non-cacheable alias (CMA
 * after __dma_remap) no speculation range exists.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function case03Hazard(board: Case03Board, kernel: string, o: { alias: "cacheable" | "non-cacheable"; phys: number; size: number; seed: number; specFillProb: number; steps: number }): Case03HazardRun {
  parseScenarioParams(CASE03_HAZARD_PARAMS, { board, kernel, ...(typeof o === "object" && o !== null ? o : { o }) }, "case03Hazard");
  const m = createMachine(board, { kernel, seed: o.seed });
  const cache = m.cpuCache;
  cache.specFillProb = o.specFillProb;
  const L = cache.lineSize;
  cache.cpuWrite(o.phys, o.size);
  cache.maintain({ kind: "cleanInvalidate", start: o.phys, end: o.phys + o.size, level: "inner", fn: "dmac_flush_range" });
  const spec = o.alias === "cacheable" ? cache.addSpeculationRange(o.phys, o.size) : null;
  const before = cache.stats.specFills;
  for (let i = 0; i < o.steps; i++) cache.step("while the buffer is allocated");
  const specFills = cache.stats.specFills - before;
  cache.deviceWrite(o.phys, o.size, false);
  let staleLines = 0;
  for (let p = o.phys; p < o.phys + o.size; p += L) {
    const mem = cache.memoryToken(p);
    if (cache.cachedCopies(p).some((c) => c.token !== cache.label(mem))) staleLines++;
  }
  if (spec !== null) cache.removeSpeculationRange(spec);
  const h0 = cache.hazards.length;
  cache.cpuRead(o.phys, o.size);
  return { alias: o.alias, phys: o.phys, size: o.size, specFills, staleLines, hazards: cache.hazards.slice(h0) };
}

/**
 * Run case 03 once.
 * @throws ModelConfigError for a parameter outside {@link CASE03_PARAMS}, a
 * coherent_pool= not a multiple of 4096, a CMA size not a multiple of 4 MiB,
 * or a restricted pool not a multiple of 1 MiB, before anything is built.
 */
export function runCase03(params: Case03Params): Case03Result {
  parseScenarioParams(CASE03_PARAMS, params, "runCase03");
  if (params.coherentPoolSize % PAGE !== 0) throw new ModelConfigError("coherentPoolSize", params.coherentPoolSize, "a multiple of 4096 bytes");
  if (params.cmaSize !== undefined && params.cmaSize % 4194304 !== 0) throw new ModelConfigError("cmaSize", params.cmaSize, "a multiple of 4 MiB (4194304 bytes)");
  const rSize = params.restrictedPoolSize ?? 4194304;
  if (rSize % 1048576 !== 0) throw new ModelConfigError("restrictedPoolSize", rSize, "a multiple of 1 MiB (1048576 bytes)");
  const kernel = parseKernelVersion(params.kernel).name;
  const releases = (params.releases ?? [...CASE03_RELEASES]).map((r) => parseKernelVersion(r).name).sort((a, b) => compareVersions(a, b));
  const seed = params.seed ?? 3;
  const specFillProb = params.specFillProb ?? 0.25;
  const steps = params.speculationSteps ?? 32;

  const b = boot(params.board, kernel, { cmaEnabled: params.cmaEnabled, cmaSize: params.cmaSize, coherentPool: params.coherentPoolSize, processes: params.processes });
  const restricted = restrictedPlacement(b, rSize);

  // ---- memory map ----
  const memoryMap: Case03MapBar[] = [];
  const secLabel = b.map.lpae ? "2 MiB blocks (LPAE, shared by all processes)" : "1 MiB sections (copied into every process's pgd)";
  const cmaRange = b.cma ? { base: b.board.cma!.base, size: params.cmaSize ?? b.board.cma!.size } : null;
  const cuts = [b.map.physOffset, b.map.lowmemLimit];
  if (cmaRange) cuts.push(Math.min(cmaRange.base, b.map.lowmemLimit), Math.min(cmaRange.base + cmaRange.size, b.map.lowmemLimit));
  const sortedCuts = [...new Set(cuts)].sort((x, y) => x - y);
  for (let i = 0; i + 1 < sortedCuts.length; i++) {
    const s = sortedCuts[i]!;
    const e = sortedCuts[i + 1]!;
    const pte = linearMapGranuleAt(b.map, s) === "pte";
    memoryMap.push({ lane: "linear map", start: s, end: e, kind: pte ? "cma (4 KiB PTEs)" : "sections", label: pte ? `CMA area, ${(e - s) / PAGE} PTEs of 4 KiB (dma_contiguous_remap)` : `${(e - s) / b.map.sectionSize} ${secLabel}` });
  }
  const ramEnd = Math.max(...b.profile.ram.map((r) => r.base + r.size));
  if (ramEnd > b.map.lowmemLimit) memoryMap.push({ lane: "linear map", start: b.map.lowmemLimit, end: ramEnd, kind: "highmem / not mapped", label: b.board.highmem ? "highmem" : "RAM above lowmem, dropped (no HIGHMEM)" });
  if (b.pool.phys !== null) memoryMap.push({ lane: "atomic pool", start: b.pool.phys, end: b.pool.phys + b.pool.size, kind: "atomic pool", label: `atomic pool ${b.pool.size / 1024} KiB (${b.pool.backing === "cma" ? "from CMA, PTEs non-cacheable" : "buddy pages remapped; section alias cacheable"})` });
  memoryMap.push({ lane: "restricted pool", start: restricted.base, end: restricted.base + restricted.size, kind: "restricted pool", label: `hypothetical restricted-dma-pool ${restricted.size / 1048576} MiB (not no-map: in the linear map, ${b.map.lpae ? "2 MiB blocks" : "1 MiB sections"})` });

  // ---- allocator table ----
  const allocations: Case03AllocRow[] = [];
  const poolFromCma = b.pool.backing === "cma";
  for (const release of releases) {
    for (const variant of CASE03_VARIANTS) {
      for (const req of CASE03_REQUESTS) {
        const r = variantPath(release, b.map.lpae, variant, req, params.cmaEnabled);
        allocations.push({ release, variant, request: req.label, path: r.path, allocator: r.allocator, via: viaOf(r.path, r.allocator), outcome: outcomeOf(r.path, r.allocator, req, release, poolFromCma), warning: r.warning, proposal: variant !== "mainline" });
      }
    }
  }

  const selected: Case03AllocRow[] = CASE03_REQUESTS.map((req) => {
    const r = variantPath(kernel, b.map.lpae, params.variant, req, params.cmaEnabled);
    return { release: kernel, variant: params.variant, request: req.label, path: r.path, allocator: r.allocator, via: viaOf(r.path, r.allocator), outcome: outcomeOf(r.path, r.allocator, req, kernel, poolFromCma), warning: r.warning, proposal: params.variant !== "mainline" };
  });

  // ---- the atomic pool filling up ----
  const pool: Case03PoolRow[] = [];
  let poolFirstFailure: number | null = null;
  // Through the DMA API: dma_alloc_attrs(dev, size, GFP_ATOMIC) on a machine booted with the same CMA and
  // coherent_pool= options (lib/dma/arch/arm-dma-alloc.ts: arm_dma_ops or arch_dma_alloc -> __dma_alloc -> pool).
  const pm = createMachine(params.board, { kernel });
  const poolState = armDmaAllocBoot(pm.mm, { noCma: !params.cmaEnabled, cmaSize: params.cmaSize, coherentPool: params.coherentPoolSize });
  const poolDev = pm.device(CASE03_DEVICE[params.board]);
  params.allocSizes.forEach((size, i) => {
    const buf = dmaAllocAttrs(poolDev, size, 0, { blocking: false });
    const phys = buf ? dmaToPhys(poolDev, buf.dmaHandle) : null;
    const avail = poolState.pool.pool ? genPoolAvail(poolState.pool.pool) : 0;
    const aligned = Math.ceil(size / PAGE) * PAGE;
    const ok = phys !== null;
    if (!ok && poolFirstFailure === null) poolFirstFailure = i + 1;
    pool.push({ n: i + 1, size, offset: ok ? phys - poolState.pool.phys! : null, ok, availAfter: avail, fragmented: !ok && avail >= aligned });
  });

  // ---- costs ----
  const counts = [...new Set([0, 1, 8, 32, 128, params.processes])].sort((x, y) => x - y);
  const costs = case03Costs(kernel, counts);

  // ---- restricted DMA ----
  const restrictedRows = case03Restricted(releases);

  // ---- hazard ----
  const remapRun = case03Hazard(params.board, kernel, { alias: "cacheable", phys: restricted.base, size: PAGE, seed, specFillProb, steps });
  const cmaPhys = cmaRange ? cmaRange.base + Math.min(16777216, cmaRange.size / 2) : restricted.base;
  const cmaRun = case03Hazard(params.board, kernel, { alias: "non-cacheable", phys: cmaPhys, size: PAGE, seed, specFillProb, steps });

  return {
    params: { ...params, releases, cmaSize: params.cmaSize ?? null, restrictedPoolSize: rSize, seed, specFillProb, speculationSteps: steps },
    board: {
      id: params.board,
      lpae: b.map.lpae,
      sectionSize: b.map.lpae ? ARM_LPAE_SECTION_SIZE : ARM_SECTION_SIZE,
      sections: b.map.sections,
      lowmemLimit: b.map.lowmemLimit,
      physOffset: b.map.physOffset,
      cma: cmaRange,
      pool: { phys: b.pool.phys, size: b.pool.size, backing: b.pool.backing },
      restricted,
    },
    memoryMap,
    allocations,
    selected,
    pool,
    poolFirstFailure,
    costs,
    restricted: restrictedRows,
    hazard: { remap: remapRun, cma: cmaRun },
    merged: CASE03_MERGED_V619,
  };
}
