/**
 * 32-bit ARM's linear map (lowmem) as page tables: 1 MiB sections in the
 * classic 2-level format, 2 MiB blocks with LPAE, kept per process, and what
 * changing memory attributes in it costs. This is the fact behind Marek
 * Szyprowski's reply in the 2023 DMA_DIRECT_REMAP thread (case 03).
 *
 * Page-table facts (v6.19, same shape in v5.4.6):
 * - 2-level (arch/arm/include/asm/pgtable-2level.h): SECTION_SIZE 1 MiB;
 *   a pgd_t is a PAIR of 1 MiB first-level entries (PGDIR_SIZE = PMD_SIZE =
 *   2 MiB, PTRS_PER_PGD 2048, a 16 KiB table); a second-level table maps 2
 *   MiB (PTRS_PER_PTE 512 Linux + 512 hardware entries).
 * - LPAE (pgtable-3level.h): SECTION_SIZE 2 MiB blocks in PMD tables;
 *   PTRS_PER_PGD 4 (1 GiB each).
 * - pgd_alloc (arch/arm/mm/pgd.c) gives each new mm a pgd whose kernel
 *   entries [USER_PTRS_PER_PGD, PTRS_PER_PGD) are copied from init_mm. In the
 *   2-level format those entries ARE the lowmem sections, so every process
 *   holds its own copy of every section descriptor. With LPAE the copied
 *   entries point to init_mm's shared PMD tables, so the 2 MiB blocks exist
 *   once. Either way a PTE-mapped range is shared: the copies point at the
 *   same second-level table.
 * - The kernel's only after-boot section rewrite is update_sections_early
 *   (arch/arm/mm/init.c, under stop_machine, for STRICT_KERNEL_RWX): for every
 *   user thread with an mm, then current->active_mm, then init_mm, per
 *   section: write one first-level entry (section_update), clean it
 *   (flush_pmd_entry) and local_flush_tlb_kernel_range(addr, addr +
 *   SECTION_SIZE), which on ARMv7 issues one TLB invalidate per 4 KiB page
 *   (v7wbi_flush_kern_tlb_range, arch/arm/mm/tlb-v7.S). The model prices a
 *   DMA attribute change on sections the same way.
 * - dma_contiguous_remap (arch/arm/mm/dma-mapping.c, paging_init time, only
 *   init_mm exists): for each CMA area clipped to lowmem, pmd_clear per 2 MiB
 *   step, one flush_tlb_kernel_range over the area, then iotable_init with
 *   MT_MEMORY_DMA_READY (prot_l1 PMD_TYPE_TABLE: 4 KiB PTEs). The function
 *   and __dma_remap are identical in v4.4.1, v5.4.6 and v6.19.
 * - __dma_remap (same file): apply_to_page_range(&init_mm) rewrites one PTE
 *   per page (set_pte_ext) and calls flush_tlb_kernel_range(start, end)
 *   once: per-page TLB invalidates, broadcast in hardware on ARMv7 SMP.
 *
 * Units of {@link AttrChangeCost}: entriesWritten = page-table descriptors
 * written (a 2-level set_pte_ext writes the Linux and the hardware word of
 * one PTE: counted once); tlbFlushCalls = flush_tlb_kernel_range /
 * local_flush_tlb_kernel_range calls; tlbiOps = TLB-invalidate-by-MVA
 * instructions those calls issue; processesTouched = mm_structs whose own
 * table memory is written; collateralBytes = bytes outside the requested
 * range whose attribute changes with it.
 */
import { checkInt } from "../core/arith.js";
import { ModelConfigError } from "../core/errors.js";
import type { PlatformProfile } from "../platform/profile.js";

/** SECTION_SIZE of the 2-level format: 1 MiB. */
export const ARM_SECTION_SIZE = 1048576;
/** SECTION_SIZE with LPAE: a 2 MiB block. */
export const ARM_LPAE_SECTION_SIZE = 2097152;
/** PMD_SIZE (both formats): 2 MiB, the span of one second-level table. */
export const ARM_PMD_SIZE = 2097152;
const PAGE = 4096;

/** Memory attributes of a linear-map range: MT_MEMORY_RWX (write-back), pgprot_dmacoherent, pgprot_writecombine. */
export type Arm32Attr = "cacheable" | "noncacheable" | "writecombine";

/** A process as update_sections_early sees it. */
export interface Arm32Process {
  readonly pid: number;
  readonly name: string;
  /** Threads sharing the mm (for_each_thread visits each). */
  readonly threads: number;
  /** PF_KTHREAD: no mm of its own, skipped. */
  readonly kthread: boolean;
}

/** One mm's first-level view of lowmem: the attribute of each section (2-level: a private copy). */
interface MmTables {
  readonly sectionAttr: Arm32Attr[];
}

/** The lowmem linear map of one machine. */
export interface Arm32LinearMap {
  readonly lpae: boolean;
  /** SECTION_SIZE in bytes: 1 MiB, or 2 MiB with LPAE. */
  readonly sectionSize: number;
  readonly pageOffset: number;
  readonly physOffset: number;
  /** arm_lowmem_limit: first physical address not in the linear map. */
  readonly lowmemLimit: number;
  /** Section i maps [physOffset + i * sectionSize, ...). */
  readonly sections: number;
  /** Section indexes rebuilt with PTEs (dma_contiguous_remap), and the attribute of each PTE by pfn (shared tables). */
  readonly pteMapped: Set<number>;
  readonly pteAttr: Map<number, Arm32Attr>;
  /** init_mm's tables. */
  readonly initMm: MmTables;
  /** User processes and their tables (2-level: copies; LPAE: init_mm's, shared). */
  readonly processes: Array<Arm32Process & { mm: MmTables }>;
  nextPid: number;
}

/** Options of {@link arm32LinearMap}. */
export interface Arm32LinearMapOptions {
  /** CONFIG_ARM_LPAE. Default false. */
  lpae?: boolean;
  /** PAGE_OFFSET (VMSPLIT_3G 0xc0000000, VMSPLIT_2G 0x80000000). Default: the profile layout, else 0xc0000000. */
  pageOffset?: number;
  /** arm_lowmem_limit override; default min(RAM end, PHYS_OFFSET + 0xf0000000 - PAGE_OFFSET): vmalloc_min with the 240 MiB vmalloc reserve. */
  lowmemLimit?: number;
}

/**
 * Build the boot-time linear map of a 32-bit ARM profile: every lowmem
 * section mapped cacheable, no user process yet.
 * @throws ModelConfigError if the profile is not arm, or lowmem is empty or
 *   not section-aligned.
 * Source: arch/arm/mm/mmu.c adjust_lowmem_bounds (vmalloc_size 240 MiB,
 * VMALLOC_OFFSET 8 MiB, VMALLOC_END 0xff800000), map_lowmem (v6.19).
 */
export function arm32LinearMap(profile: PlatformProfile, o: Arm32LinearMapOptions = {}): Arm32LinearMap {
  if (profile.arch !== "arm") throw new ModelConfigError("arm32LinearMap(profile.arch)", profile.arch, '"arm"');
  if (o.pageOffset !== undefined) checkInt("arm32LinearMap(pageOffset)", o.pageOffset, 0, 0xffffffff);
  if (o.lowmemLimit !== undefined) checkInt("arm32LinearMap(lowmemLimit)", o.lowmemLimit, 0, 2 ** 40);
  const lpae = o.lpae ?? false;
  const pageOffset = o.pageOffset ?? (profile.layout ? Number(BigInt(profile.layout.pageOffset)) : 0xc0000000);
  const bank = [...profile.ram].sort((a, b) => a.base - b.base)[0]!;
  const physOffset = profile.layout?.physOffset ?? bank.base;
  const ramEnd = bank.base + bank.size;
  const vmallocMin = 0xff800000 - 240 * 1048576 - 8 * 1048576;
  const lowmemLimit = o.lowmemLimit ?? Math.min(ramEnd, physOffset + (vmallocMin - pageOffset));
  const sectionSize = lpae ? ARM_LPAE_SECTION_SIZE : ARM_SECTION_SIZE;
  if (lowmemLimit <= physOffset || (lowmemLimit - physOffset) % sectionSize !== 0) {
    throw new ModelConfigError("arm32LinearMap(lowmemLimit)", lowmemLimit, `a limit above PHYS_OFFSET ${physOffset} by a multiple of ${sectionSize}`);
  }
  const sections = (lowmemLimit - physOffset) / sectionSize;
  const initMm: MmTables = { sectionAttr: new Array<Arm32Attr>(sections).fill("cacheable") };
  return { lpae, sectionSize, pageOffset, physOffset, lowmemLimit, sections, pteMapped: new Set(), pteAttr: new Map(), initMm, processes: [], nextPid: 1 };
}

/** Cost of building a new mm's kernel half (pgd_alloc). */
export interface PgdAllocCost {
  /** pgd_t entries copied from init_mm: (PTRS_PER_PGD - USER_PTRS_PER_PGD). */
  pgdEntriesCopied: number;
  /** Bytes copied (sizeof(pgd_t) = 8 in both formats). */
  bytesCopied: number;
}

/**
 * fork/exec of a user process: pgd_alloc copies init_mm's kernel pgd
 * entries. 2-level: USER_PTRS_PER_PGD = TASK_SIZE / 2 MiB with TASK_SIZE =
 * PAGE_OFFSET - 16 MiB, so 2048 - TASK_SIZE / 2 MiB pairs (520 for
 * VMSPLIT_3G); the process gets a private copy of every section. LPAE:
 * USER_PTRS_PER_PGD = PAGE_OFFSET / 1 GiB, 4 - that entries (1 for
 * VMSPLIT_3G), pointing at shared PMD tables.
 * @param threads threads that will share the mm (>= 1).
 * Source: arch/arm/mm/pgd.c pgd_alloc; asm/pgtable-2level.h, pgtable-3level.h (v6.19).
 */
export function pgdAlloc(map: Arm32LinearMap, name: string, threads = 1): { pid: number; cost: PgdAllocCost } {
  checkInt("pgdAlloc(threads)", threads, 1);
  const pid = map.nextPid++;
  let copied: number;
  let mm: MmTables;
  if (map.lpae) {
    copied = 4 - Math.floor(map.pageOffset / 2 ** 30);
    mm = map.initMm;
  } else {
    const taskSize = map.pageOffset - 16 * 1048576;
    copied = 2048 - Math.floor(taskSize / ARM_PMD_SIZE);
    mm = { sectionAttr: map.initMm.sectionAttr.slice() };
  }
  map.processes.push({ pid, name, threads, kthread: false, mm });
  return { pid, cost: { pgdEntriesCopied: copied, bytesCopied: copied * 8 } };
}

/** Add `n` processes with `threads` threads each (a workload for cost charts). */
export function spawnProcesses(map: Arm32LinearMap, n: number, threads = 1): void {
  checkInt("spawnProcesses(n)", n);
  for (let i = 0; i < n; i++) pgdAlloc(map, `proc${i}`, threads);
}

/** Cost of a boot-time CMA remap (dma_contiguous_remap). */
export interface ContiguousRemapCost {
  /** First-level entries cleared: pmd_clear per 2 MiB step (2-level: both 1 MiB words of the pair). */
  entriesCleared: number;
  /** Second-level tables allocated (one per 2 MiB). */
  pteTables: number;
  /** PTEs written by iotable_init (one per 4 KiB page). */
  ptesWritten: number;
  tlbFlushCalls: number;
  tlbiOps: number;
  /** Bytes of the area that are in lowmem and were remapped. */
  bytesRemapped: number;
}

/**
 * dma_contiguous_remap for CMA areas (dma_contiguous_early_fixup records
 * them): the lowmem part of each area is rebuilt with 4 KiB PTEs
 * (MT_MEMORY_DMA_READY) at paging_init, when init_mm is the only mm.
 * Highmem parts are skipped.
 * @param areas physical base and size, bytes.
 * @throws ModelConfigError if called after user processes exist, or for an
 *   area not aligned to 2 MiB (CMA areas are 4 MiB aligned).
 * Source: arch/arm/mm/dma-mapping.c dma_contiguous_remap (v5.4.6, v6.19).
 */
export function dmaContiguousRemap(map: Arm32LinearMap, areas: ReadonlyArray<{ base: number; size: number }>): ContiguousRemapCost {
  if (map.processes.length) throw new ModelConfigError("dmaContiguousRemap", map.processes.length, "0 user processes (it runs in paging_init)");
  for (const a of areas) {
    checkInt("dmaContiguousRemap(base)", a.base);
    checkInt("dmaContiguousRemap(size)", a.size, 1);
    if (a.base % ARM_PMD_SIZE !== 0 || a.size % ARM_PMD_SIZE !== 0) throw new ModelConfigError("dmaContiguousRemap(area)", a, "base and size multiples of 2 MiB");
  }
  const c: ContiguousRemapCost = { entriesCleared: 0, pteTables: 0, ptesWritten: 0, tlbFlushCalls: 0, tlbiOps: 0, bytesRemapped: 0 };
  for (const a of areas) {
    const start = Math.max(a.base, map.physOffset);
    const end = Math.min(a.base + a.size, map.lowmemLimit);
    if (start >= end) continue;
    const bytes = end - start;
    const steps = bytes / ARM_PMD_SIZE;
    c.entriesCleared += map.lpae ? steps : 2 * steps;
    c.tlbFlushCalls += 1;
    c.tlbiOps += bytes / PAGE;
    c.pteTables += steps;
    c.ptesWritten += bytes / PAGE;
    c.bytesRemapped += bytes;
    for (let s = (start - map.physOffset) / map.sectionSize; s < (end - map.physOffset) / map.sectionSize; s++) map.pteMapped.add(s);
  }
  return c;
}

/** What an attribute change costs (units in the module note). */
export interface AttrChangeCost {
  /** "dma_remap": 4 KiB PTEs (CMA areas); "section_update": rewrite sections in every mm; "section_update_init_only": init_mm only (the hazard case). */
  mechanism: "dma_remap" | "section_update" | "section_update_init_only";
  entriesWritten: number;
  tlbFlushCalls: number;
  tlbiOps: number;
  processesTouched: number;
  /** update_sections_early runs under stop_machine: every other CPU spins. */
  stopMachine: boolean;
  collateralBytes: number;
}

/**
 * Change the attribute of the lowmem range [phys, phys + size):
 * - wholly inside PTE-mapped (CMA) sections: __dma_remap, one PTE per page
 *   in init_mm's shared tables, one flush_tlb_kernel_range;
 * - otherwise the sections it touches are rewritten whole, in every mm, as
 *   update_sections_early does (no DMA path in the kernel does this: the
 *   model shows what it would take). `onlyInitMm` writes init_mm alone,
 *   leaving stale copies in the 2-level format (see {@link staleSectionCopies}).
 * @param phys bytes; size bytes >= 1; the range must be in lowmem.
 * @throws ModelConfigError for a range outside lowmem or bad numbers.
 */
export function changeAttributes(map: Arm32LinearMap, range: { phys: number; size: number }, attr: Arm32Attr, o: { onlyInitMm?: boolean } = {}): AttrChangeCost {
  checkInt("changeAttributes(phys)", range.phys);
  checkInt("changeAttributes(size)", range.size, 1);
  if (!["cacheable", "noncacheable", "writecombine"].includes(attr)) throw new ModelConfigError("changeAttributes(attr)", attr, "cacheable | noncacheable | writecombine");
  const end = range.phys + range.size;
  if (range.phys < map.physOffset || end > map.lowmemLimit) {
    throw new ModelConfigError("changeAttributes(range)", range, `inside lowmem [${map.physOffset}, ${map.lowmemLimit})`);
  }
  const first = Math.floor((range.phys - map.physOffset) / map.sectionSize);
  const last = Math.floor((end - 1 - map.physOffset) / map.sectionSize);
  let allPte = true;
  for (let s = first; s <= last; s++) if (!map.pteMapped.has(s)) allPte = false;
  if (allPte) {
    const p0 = Math.floor(range.phys / PAGE);
    const p1 = Math.ceil(end / PAGE);
    for (let p = p0; p < p1; p++) map.pteAttr.set(p, attr);
    const pages = p1 - p0;
    return { mechanism: "dma_remap", entriesWritten: pages, tlbFlushCalls: 1, tlbiOps: pages, processesTouched: 1, stopMachine: false, collateralBytes: pages * PAGE - range.size };
  }
  const nsec = last - first + 1;
  const perSectionTlbi = map.sectionSize / PAGE;
  // update_sections_early: each user thread with an mm, then current->active_mm, then init_mm.
  const userThreads = map.processes.filter((p) => !p.kthread).reduce((s, p) => s + p.threads, 0);
  const passes = o.onlyInitMm ? 1 : userThreads + 2;
  const mms: MmTables[] = o.onlyInitMm || map.lpae ? [map.initMm] : [map.initMm, ...map.processes.filter((p) => !p.kthread).map((p) => p.mm)];
  for (const mm of mms) for (let s = first; s <= last; s++) mm.sectionAttr[s] = attr;
  return {
    mechanism: o.onlyInitMm ? "section_update_init_only" : "section_update",
    entriesWritten: passes * nsec,
    tlbFlushCalls: passes * nsec,
    tlbiOps: passes * nsec * perSectionTlbi,
    processesTouched: mms.length,
    stopMachine: !o.onlyInitMm,
    collateralBytes: nsec * map.sectionSize - range.size,
  };
}

/**
 * The attribute a process sees for a lowmem physical address: its own
 * section copy (2-level), init_mm's shared table (LPAE), or the shared PTE.
 * @param pid a user pid, or 0 for init_mm.
 * @throws ModelConfigError for an unknown pid or an address outside lowmem.
 */
export function linearMapAttrAt(map: Arm32LinearMap, pid: number, phys: number): Arm32Attr {
  checkInt("linearMapAttrAt(phys)", phys);
  if (phys < map.physOffset || phys >= map.lowmemLimit) throw new ModelConfigError("linearMapAttrAt(phys)", phys, "a lowmem address");
  const s = Math.floor((phys - map.physOffset) / map.sectionSize);
  if (map.pteMapped.has(s)) return map.pteAttr.get(Math.floor(phys / PAGE)) ?? "cacheable";
  if (pid === 0) return map.initMm.sectionAttr[s]!;
  const p = map.processes.find((x) => x.pid === pid);
  if (!p) throw new ModelConfigError("linearMapAttrAt(pid)", pid, "0 (init_mm) or a pid from pgdAlloc");
  return p.mm.sectionAttr[s]!;
}

/** Granularity of the linear map at a lowmem address: "section" (1 MiB / 2 MiB block) or "pte" (4 KiB). */
export function linearMapGranuleAt(map: Arm32LinearMap, phys: number): "section" | "pte" {
  checkInt("linearMapGranuleAt(phys)", phys);
  if (phys < map.physOffset || phys >= map.lowmemLimit) throw new ModelConfigError("linearMapGranuleAt(phys)", phys, "a lowmem address");
  return map.pteMapped.has(Math.floor((phys - map.physOffset) / map.sectionSize)) ? "pte" : "section";
}

/**
 * Processes whose section copy disagrees with init_mm somewhere: after an
 * init_mm-only change they still map the memory with the old attribute, a
 * mismatched-attribute alias of the same physical memory. Always empty with
 * LPAE (shared tables).
 * @returns pids.
 */
export function staleSectionCopies(map: Arm32LinearMap): number[] {
  return map.processes.filter((p) => p.mm !== map.initMm && p.mm.sectionAttr.some((a, i) => a !== map.initMm.sectionAttr[i])).map((p) => p.pid);
}
