/**
 * A minimal IOMMU page table: which IOVA pages map which physical pages,
 * with the page (block) sizes the hardware supports, so that the number of
 * descriptor writes is known for costs and an access to an unmapped IOVA
 * can be reported as an IOMMU fault.
 *
 * What is modelled (drivers/iommu/iommu.c, v6.19; the same rules in v4.4):
 * - iommu_map(): iova, paddr and size must be aligned to the smallest
 *   supported page size (else -EINVAL); the range is split by
 *   iommu_pgsize(): at each step the greatest supported page size that
 *   fits the remaining size and to which both the IOVA and the physical
 *   address are aligned. Mapping over an existing mapping fails with
 *   -EEXIST (io-pgtable-arm and -arm-v7s WARN and refuse), after undoing
 *   what this call mapped.
 * - the pages the table holds ({@link IoPte}, what lookups, faults and the
 *   IOTLB see): the pieces iommu_pgsize chose, except where the driver
 *   writes other pages itself: intel-iommu before v5.15 advertised every
 *   power of two and __domain_mapping wrote each piece as the hardware's
 *   pages (4 KiB PTEs, 2 MiB / 1 GiB super pages where both addresses are
 *   aligned and the profile's hardware has them).
 * - the descriptors each page takes, per driver and release
 *   ({@link iommuPteFormat}, {@link IoPteFormat}): one per page or block for
 *   io-pgtable-arm (LPAE) and VT-d; 16 for an io-pgtable-arm-v7s 64 KiB large
 *   page or 16 MiB supersection (M4U) and for an Exynos 64 KiB large page;
 *   2^((log2 size - 12) mod 9) for an AMD v1 page (8 KiB: 2, 1 MiB: 256).
 *   {@link IoPgtable.pteWrites} and the iommu_map event's `ptes` count them.
 * - iommu_unmap(): removes every mapped page that starts inside the range
 *   (a large page whole) and returns the bytes unmapped. The descriptors
 *   cleared ({@link IoPgtable.pteClears}, the iommu_unmap event's `ptes`)
 *   follow the core's calls (__iommu_unmap: page sizes from the IOVA alone,
 *   per page, or per (pgsize, count) run from v5.15) and the driver's walk:
 *   LPAE, v7s and VT-d up to v6.18 clear the highest entries a call covers
 *   whole (a table entry instead of the PTEs below it), Exynos and AMD up to
 *   v6.18 clear page by page, generic_pt (AMD and VT-d from v6.19) clears
 *   every leaf and each table entry covered whole.
 *   {@link IoPgtable.pagesUnmapped} counts the pages removed.
 * - iommu_map_sg(): maps each entry at consecutive IOVAs; from v5.0
 *   (5d95f40e62e4 "iommu: Do physical merging in iommu_map_sg()") runs of
 *   physically contiguous entries are mapped with one iommu_map call, so
 *   larger pages can be used. Returns the bytes mapped, or a negative
 *   errno (v5.15+; older releases returned 0), after unmapping on failure.
 * - the page sizes: each domain's pgsize_bitmap comes from its driver's
 *   table, per release ({@link IOMMU_DRIVER_PGSIZES}: arm-smmu(-v3) per
 *   granule, intel-iommu, amd-iommu, mtk-iommu, exynos-sysmmu); a profile's
 *   `pageSizes` that disagrees is rejected ({@link checkIommuPgsizes}).
 *
 * Not modelled: the table levels as memory (installing a table entry when a
 * level is first needed is not counted; whether a table exists for a clear
 * is judged from the pages mapped under it now, where the kernel also
 * clears a table emptied earlier); splitting a large page on a partial unmap
 * (v5.4 arm_lpae_split_blk_unmap / arm_v7s_split_cont; v6.19 refuses): the
 * model removes the page whole and counts its descriptors; the kernel's stop
 * at the first hole of an unmap; a map without IOMMU_READ or IOMMU_WRITE
 * (nothing written, or -EINVAL); cache cleaning of the written entries for a
 * non-coherent walker (its cost is in the platform's per-PTE figure);
 * protection faults (prot is recorded only). The IOTLB is lib/iommu/iotlb.ts.
 */
import { checkInt, checkPowerOf2 } from "../core/arith.js";
import type { PhysAddr } from "../core/addr.js";
import { EEXIST, EINVAL } from "../core/errno.js";
import { ModelConfigError } from "../core/errors.js";
import { NEWEST_MODELLED, atLeast, defineChange, parseKernelVersion, type KernelVersion } from "../kernel/version.js";
import { CHANGE_MAP_SG_ERRNO } from "../kernel/api-changes.js";
import { sgPhys, type Scatterlist } from "../sg/scatterlist.js";
import type { IommuDomain } from "./domain.js";

/** IOMMU_READ / IOMMU_WRITE / IOMMU_CACHE / IOMMU_NOEXEC / IOMMU_MMIO / IOMMU_PRIV (include/linux/iommu.h, v6.19). */
export const IOMMU_READ = 1;
export const IOMMU_WRITE = 2;
export const IOMMU_CACHE = 4;
export const IOMMU_NOEXEC = 8;
export const IOMMU_MMIO = 16;
export const IOMMU_PRIV = 32;

/** One mapped IOMMU page (a PTE or block entry). Addresses and size in bytes. */
export interface IoPte {
  readonly iova: number;
  readonly paddr: number;
  readonly size: number;
  readonly prot: number;
}

/**
 * The page table of one domain: mapped pages keyed by their IOVA page
 * number (every page is naturally aligned to its size, as iommu_pgsize
 * guarantees, so the page covering an address is found by aligning the
 * address down to each page size the table holds), plus counters of PTE
 * writes and clears (for costs).
 */
export class IoPgtable {
  /**
   * Mapped pages by IOVA page number (IOVA start / granule: every page starts
   * on a granule; small integers hash faster than addresses above 2^30, and
   * need no boxed number per key), changed only through
   * {@link IoPgtable.put} and {@link IoPgtable.remove}.
   */
  private readonly pages = new Map<number, IoPte>();
  /** Mapped pages per page size (bytes): what {@link IoPgtable.lookup} needs to try. */
  private readonly perSize = new Map<number, number>();
  /** The supported page sizes that have mapped pages, ascending (recomputed when a size gains its first page or loses its last). */
  private sizesInUse: number[] = [];
  /** Descriptors written by map calls (a replicated large page counts every copy; see {@link IoPteFormat}). */
  pteWrites = 0;
  /** Descriptors cleared by unmap calls (leaf, replicated and table entries, each once; see {@link IoPteFormat}). */
  pteClears = 0;
  /** Mapped pages (IoPte entries) removed by unmap calls: what an IOTLB invalidation names, one per page. */
  pagesUnmapped = 0;
  /**
   * @param granule smallest page size, bytes.
   * @param pageSizes supported page sizes, bytes, ascending.
   * @param format how the driver writes and clears descriptors (default: one
   *   descriptor per page, each page its own level: {@link plainPteFormat}).
   */
  constructor(
    readonly granule: number,
    readonly pageSizes: readonly number[] = [granule],
    readonly format: IoPteFormat = plainPteFormat(pageSizes),
  ) {}
  /** Mapped pages by IOVA page number, IOVA start / granule (read only: iommuMap and iommuUnmap change them). */
  get ptes(): ReadonlyMap<number, IoPte> {
    return this.pages;
  }
  /** Record a mapped page (model helper for iommuMap: the caller checked that nothing is mapped there). */
  put(pte: IoPte): void {
    this.pages.set(pte.iova / this.granule, pte);
    const n = this.perSize.get(pte.size) ?? 0;
    this.perSize.set(pte.size, n + 1);
    if (n === 0) this.resize();
  }
  /** Remove a mapped page (model helper for iommuUnmap: `pte` is one of {@link IoPgtable.ptes}). */
  remove(pte: IoPte): void {
    this.pages.delete(pte.iova / this.granule);
    const n = this.perSize.get(pte.size)!;
    if (n > 1) this.perSize.set(pte.size, n - 1);
    else {
      this.perSize.delete(pte.size);
      this.resize();
    }
  }
  private resize(): void {
    this.sizesInUse = this.pageSizes.filter((p) => this.perSize.has(p));
  }
  /** Bytes currently mapped. */
  get mappedBytes(): number {
    let t = 0;
    for (const p of this.ptes.values()) t += p.size;
    return t;
  }
  /**
   * The mapped page covering `iova`, or null: the page of a supported size p
   * that starts at `iova` aligned down to p. Pages never overlap, so at most
   * one size finds one; only the sizes that have pages are tried.
   */
  lookup(iova: number): IoPte | null {
    const sizes = this.sizesInUse;
    for (let i = 0; i < sizes.length; i++) {
      const p = sizes[i]!;
      // the page number of iova aligned down to p (exact: divisions by powers of two)
      const pte = this.pages.get(Math.floor(iova / p) * (p / this.granule));
      if (pte !== undefined && pte.size === p) return pte;
    }
    return null;
  }
  /** True iff any byte of [iova, iova + size) is mapped (iova and size multiples of the granule). */
  anyMapped(iova: number, size: number): boolean {
    if (size / this.granule > this.ptes.size) {
      // Fewer pages than granules in the range (a large map): test each page for overlap instead.
      const end = iova + size;
      for (const p of this.ptes.values()) if (p.iova < end && p.iova + p.size > iova) return true;
      return false;
    }
    let a = iova;
    while (a < iova + size) {
      const pte = this.lookup(a);
      if (pte) return true;
      a += this.granule;
    }
    return false;
  }
}

/** Change: iommu_map_sg merges physically contiguous entries. */
export const CHANGE_IOMMU_MAP_SG_PHYS_MERGE = defineChange({
  id: "iommu-map-sg-physical-merging",
  since: "v5.0",
  commit: "5d95f40e62e4",
  subject: "iommu: Do physical merging in iommu_map_sg()",
  files: ["drivers/iommu/iommu.c"],
  effect: "iommu_map_sg maps runs of physically contiguous sg entries with one iommu_map call, so larger IOMMU pages can be used (fewer PTE writes).",
  bracket: "absent in v4.20.0 (a4913994/linux-4.20, drivers/iommu/iommu.c:iommu_map_sg: one iommu_map per entry), present in v5.0.1 (VVvector/linux-5.0.1, drivers/iommu/iommu.c:iommu_map_sg: runs of contiguous entries)",
});

/**
 * iommu_pgsize(): the greatest supported page size that fits `size` and to
 * which both `iova` and `paddr` are aligned.
 * @param pageSizes the pgsize_bitmap as a list of powers of two, bytes.
 * @throws ModelConfigError if none fits (the caller checked alignment to the smallest).
 * Source: drivers/iommu/iommu.c, iommu_pgsize() (v6.19; v4.4 form gives the same size).
 */
export function iommuPgsize(pageSizes: readonly number[], iova: number, paddr: number, size: number): number {
  checkInt("iommuPgsize(iova)", iova);
  checkInt("iommuPgsize(paddr)", paddr);
  checkInt("iommuPgsize(size)", size);
  const best = pgsizeOf(pageSizes, iova, paddr, size);
  if (best === 0) throw new ModelConfigError("iommuPgsize(size)", size, "a size and addresses aligned to the smallest page size");
  return best;
}

/** iommu_pgsize on checked integers: the page size, or 0 if none fits. */
function pgsizeOf(pageSizes: readonly number[], iova: number, paddr: number, size: number): number {
  let best = 0;
  for (let i = 0; i < pageSizes.length; i++) {
    const p = pageSizes[i]!;
    // Page sizes are powers of two (checked when the IOMMU is created): plain modulo is exact.
    if (p <= size && p > best && iova % p === 0 && paddr % p === 0) best = p;
  }
  return best;
}

/**
 * iommu_map(domain, iova, paddr, size, prot): map [iova, iova + size) to
 * [paddr, paddr + size), in the pages iommu_pgsize chooses (or, for
 * intel-iommu before v5.15, the hardware pages __domain_mapping writes for
 * each), adding each page's descriptors to pteWrites ({@link iommuPteFormat}).
 * @returns 0 (also for size 0, which writes no PTE); -EINVAL for addresses
 * or size not aligned to the smallest page size; -EEXIST if part of the range is already mapped
 * (nothing stays mapped from this call).
 * @throws ModelConfigError for negative or non-integer values.
 * Source: drivers/iommu/iommu.c, iommu_map(), __iommu_map() (v6.19).
 */
export function iommuMap(domain: IommuDomain, iova: number, paddr: PhysAddr | number, size: number, prot: number): number {
  checkInt("iommuMap(prot)", prot, 0, 63); // IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE | IOMMU_NOEXEC | IOMMU_MMIO | IOMMU_PRIV (include/linux/iommu.h)
  checkInt("iommuMap(iova)", iova);
  checkInt("iommuMap(paddr)", paddr);
  checkInt("iommuMap(size)", size);
  const pt = domain.pgtable;
  const min = domain.pageSizes[0]!; // ascending
  if (iova % min !== 0 || paddr % min !== 0 || size % min !== 0) {
    domain.trace.record({
      fn: "iommu_map",
      kind: "iommu_map_unaligned",
      level: "warn",
      msg: `unaligned: iova 0x${iova.toString(16)} pa 0x${paddr.toString(16)} size 0x${size.toString(16)} min_pagesz 0x${min.toString(16)}`,
      data: { iova, paddr, size, minPagesz: min },
    });
    return -EINVAL;
  }
  // Size 0 passes the alignment test and the page loop never runs: 0, no PTE written (v4.4.1 iommu_map, v6.19 iommu_map_nosync).
  if (size === 0) return 0;
  // Check for overlap first so a failing call leaves the table unchanged.
  if (pt.anyMapped(iova, size)) return -EEXIST;
  let done = 0;
  let writes = 0;
  let pages = 0;
  const hw = pt.format.hwPages;
  while (done < size) {
    // iommu_pgsize with its count (v5.15+): the pieces the older per-piece iommu_pgsize calls choose too (each
    // following piece keeps pg until a larger size can start), made once per run instead of once per piece
    const { pgsize: pg, count: run } = iommuPgsizeRun(domain.pageSizes, iova + done, paddr + done, size - done);
    // The driver writes each piece as its own pages (intel-iommu before v5.15 splits it) and each
    // page as its descriptors (replicated for a v7s / Exynos large page or an AMD v1 page).
    if (hw === null) {
      const per = ptesPerPage(pt.format, pg);
      for (let k = 0; k < run; k++) {
        pt.put({ iova: iova + done, paddr: paddr + done, size: pg, prot });
        done += pg;
      }
      writes += run * per;
      pages += run;
      continue;
    }
    const runEnd = done + run * pg;
    while (done < runEnd) {
      const pieceEnd = done + pg;
      while (done < pieceEnd) {
        const hp = hwPageOf(pt.format, iova + done, paddr + done, pieceEnd - done);
        pt.put({ iova: iova + done, paddr: paddr + done, size: hp, prot });
        done += hp;
        writes += ptesPerPage(pt.format, hp);
        pages++;
      }
    }
  }
  pt.pteWrites += writes;
  if (domain.trace.keepEvents) {
    domain.trace.record({
      fn: "iommu_map",
      kind: "iommu_map",
      msg: `map iova 0x${iova.toString(16)} -> pa 0x${paddr.toString(16)} size 0x${size.toString(16)} (${pages} pages, ${writes} PTE writes)`,
      data: { iova, paddr, size, ptes: writes, pages },
    });
  }
  return 0;
}

/**
 * iommu_unmap(domain, iova, size): remove every mapped page that starts
 * in [iova, iova + size) (a large page is removed whole, as io-pgtable
 * does when asked to unmap a block at its start), adding the descriptors
 * the driver clears to pteClears (the core's calls over the range, widened
 * to the end of a page removed whole, and the driver's walk:
 * {@link IoPteFormat}) and the pages removed to pagesUnmapped.
 * @returns bytes unmapped (0 if nothing was mapped there).
 * @throws ModelConfigError for negative or non-integer values.
 * Source: drivers/iommu/iommu.c, iommu_unmap(), __iommu_unmap() (v6.19).
 */
export function iommuUnmap(domain: IommuDomain, iova: number, size: number): number {
  checkInt("iommuUnmap(iova)", iova);
  checkInt("iommuUnmap(size)", size);
  const pt = domain.pgtable;
  const removed: IoPte[] = [];
  if (size / pt.granule > pt.ptes.size) {
    // Pages never overlap, so the walk below removes exactly the pages that start in the range: test each page.
    const end = iova + size;
    for (const p of pt.ptes.values()) if (p.iova >= iova && p.iova < end) removed.push(p);
    removed.sort((a, b) => a.iova - b.iova);
  } else {
    let a = iova;
    while (a < iova + size) {
      const pte = pt.lookup(a);
      if (!pte) {
        a += pt.granule;
        continue;
      }
      if (pte.iova === a) removed.push(pte);
      a = pte.iova + pte.size;
    }
  }
  let unmapped = 0;
  let end = iova + size;
  for (const p of removed) {
    pt.remove(p);
    unmapped += p.size;
    end = Math.max(end, p.iova + p.size);
  }
  // Descriptors cleared: the driver's calls over the range (a page removed whole extends it).
  const clears = unmapClears(domain, removed, iova, end);
  pt.pteClears += clears;
  pt.pagesUnmapped += removed.length;
  if (domain.trace.keepEvents && unmapped > 0) {
    domain.trace.record({
      fn: "iommu_unmap",
      kind: "iommu_unmap",
      msg: `unmap iova 0x${iova.toString(16)} size 0x${size.toString(16)}: 0x${unmapped.toString(16)} bytes (${removed.length} pages, ${clears} PTEs cleared)`,
      data: { iova, size, unmapped, ptes: clears, pages: removed.length },
    });
  }
  return unmapped;
}

/**
 * iommu_iova_to_phys(domain, iova): the physical address `iova` maps to, or
 * null if unmapped (the kernel returns 0).
 * Source: drivers/iommu/iommu.c, iommu_iova_to_phys() (v6.19).
 */
export function iommuIovaToPhys(domain: IommuDomain, iova: number): PhysAddr | null {
  checkInt("iommuIovaToPhys(iova)", iova);
  const pte = domain.pgtable.lookup(iova);
  if (!pte) return null;
  return (pte.paddr + (iova - pte.iova)) as PhysAddr;
}

/**
 * A device access through the IOMMU to [iova, iova + len): true if every
 * byte is mapped; otherwise an IOMMU fault event (level "fault", the first
 * unmapped IOVA) is recorded and false returned. Model helper (the
 * hardware raises the fault; mtk_iommu_isr prints "fault type=... iova=...").
 * @throws ModelConfigError for len < 1.
 */
export function iommuDeviceAccess(domain: IommuDomain, iova: number, len: number, write: boolean, who = "device"): boolean {
  checkInt("iommuDeviceAccess(iova)", iova);
  checkInt("iommuDeviceAccess(len)", len, 1);
  const pt = domain.pgtable;
  let a = iova;
  while (a < iova + len) {
    const pte = pt.lookup(a);
    if (pte) {
      a = pte.iova + pte.size;
      continue;
    }
    {
      const at = a;
      domain.trace.record({
        fn: "iommu_report_device_fault",
        kind: "iommu_fault",
        level: "fault",
        msg: `${domain.iommu.driver}: ${who} ${write ? "write" : "read"} fault at iova 0x${at.toString(16)} (unmapped)`,
        data: { iova: at, write, device: who },
      });
      return false;
    }
  }
  return true;
}

/**
 * iommu_map_sg(domain, iova, sg, nents, prot): map the entries at
 * consecutive IOVAs from `iova` (each entry's sg_phys for its `length`).
 * From v5.0 physically contiguous entries are merged into one iommu_map
 * call ({@link CHANGE_IOMMU_MAP_SG_PHYS_MERGE}).
 * @returns bytes mapped; on failure everything this call mapped is
 * unmapped and the error returned: a negative errno from v5.15
 * ("iommu: return full error code from iommu_map_sg[_atomic]()",
 * ad8f36e4b6b1), 0 before.
 * Source: drivers/iommu/iommu.c, iommu_map_sg() (v4.4, v5.4, v6.19).
 */
export function iommuMapSg(domain: IommuDomain, iova: number, sgl: readonly Scatterlist[], nents: number, prot: number, pageSize = 4096): number {
  checkInt("iommuMapSg(iova)", iova);
  checkInt("iommuMapSg(nents)", nents, 0, sgl.length);
  const merge = atLeast(domain.kernel, CHANGE_IOMMU_MAP_SG_PHYS_MERGE);
  let mapped = 0;
  let startPhys = 0;
  let len = 0;
  const fail = (ret: number): number => {
    if (mapped > 0) iommuUnmap(domain, iova, mapped);
    return atLeast(domain.kernel, CHANGE_MAP_SG_ERRNO) ? ret : 0;
  };
  for (let i = 0; i < nents; i++) {
    const s = sgl[i]!;
    const phys = sgPhys(s, pageSize);
    if (merge) {
      if (len > 0 && startPhys + len === phys) {
        len += s.length;
      } else {
        if (len > 0) {
          const r = iommuMap(domain, iova + mapped, startPhys, len, prot);
          if (r) return fail(r);
          mapped += len;
        }
        startPhys = phys;
        len = s.length;
      }
    } else {
      if (s.length === 0) continue;
      const r = iommuMap(domain, iova + mapped, phys, s.length, prot);
      if (r) return fail(r);
      mapped += s.length;
    }
  }
  if (merge && len > 0) {
    const r = iommuMap(domain, iova + mapped, startPhys, len, prot);
    if (r) return fail(r);
    mapped += len;
  }
  return mapped;
}

// --- Page sizes per IOMMU driver (pgsize_bitmap), per release

const SZ_4K = 4096;
const SZ_16K = 16384;
const SZ_64K = 65536;
const SZ_1M = 2 ** 20;
const SZ_2M = 2 ** 21;
const SZ_16M = 2 ** 24;
const SZ_32M = 2 ** 25;
const SZ_512M = 2 ** 29;
const SZ_1G = 2 ** 30;

/** Largest page size the model represents in an "every power of two" bitmap: 2^52 (addresses stay below 2^53). */
const PGSIZE_MODEL_TOP_LOG2 = 52;

/** Every power of two from 2^lo to 2^hi, bytes, ascending, leaving out those in `except`. */
function powersOfTwo(lo: number, hi: number, except: readonly number[] = []): number[] {
  const out: number[] = [];
  for (let k = lo; k <= hi; k++) if (!except.includes(2 ** k)) out.push(2 ** k);
  return out;
}

/**
 * v5.15: intel-iommu reports the page sizes its hardware supports instead of
 * every power of two.
 */
export const CHANGE_INTEL_IOMMU_REAL_PGSIZES = defineChange({
  id: "intel-iommu-real-pgsize-bitmap",
  since: "v5.15",
  commit: "unverified (Lu Baolu's 2021 series \"iommu/vt-d: Report real pgsize bitmap to iommu core\"; hash not checked)",
  subject: "iommu/vt-d: Report real pgsize bitmap to iommu core",
  files: ["drivers/iommu/intel/iommu.c"],
  effect: "intel_iommu_ops.pgsize_bitmap is SZ_4K and domain_update_iommu_cap ORs in domain_super_pgsize_bitmap (2M with one super-page level, 2M|1G with two, from cap_super_page_val); before, INTEL_IOMMU_PGSIZES (~0xFFFUL: every power of two from 4 KiB) went to the core, and __domain_mapping split each piece into the hardware's super pages itself.",
  bracket: "absent in v5.14.2 (Kingdo777/linux-5.14.2-faascale-host, drivers/iommu/intel/iommu.c: .pgsize_bitmap = INTEL_IOMMU_PGSIZES; also v4.4.1, v5.4.6, v5.11.0), present in v5.15.55 (wowk/linux-5.15, drivers/iommu/intel/iommu.c:domain_super_pgsize_bitmap; also v5.17.0, v6.8.0, and v6.19.0 where the first-/second-level table init clears 2M/1G the capability lacks)",
});

/**
 * The drivers whose page sizes the model derives (lowercase driver name as
 * in an IOMMU profile's `driver`). Each entry: the IOVA granules the driver
 * can run with, and its pgsize_bitmap for a granule, a release and the
 * hardware's own page sizes (for intel-iommu, the super-page capability).
 *
 * Sources (Makefile versions checked):
 * - arm-smmu-v3, arm-smmu (LPAE formats): the hardware granules (SMMUv3
 *   IDR5 GRAN4K/16K/64K; arm-smmu.c the AArch64 4K/16K/64K features) give
 *   4K|2M|1G, 16K|32M, 64K|512M, and io-pgtable-arm's
 *   arm_lpae_restrict_pgsizes keeps the group of the granule it picks
 *   (PAGE_SIZE when supported): drivers/iommu/io-pgtable-arm.c
 *   arm_lpae_restrict_pgsizes, drivers/iommu/arm-smmu-v3.c
 *   arm_smmu_device_probe (v4.4.1 zanpocc/linux-4.4.1), the same in v5.4.6
 *   (hxb-gt/linux-5.4.6) and v6.19.0 (matankalina/linux-6.19.10-fork,
 *   drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c arm_smmu_device_hw_probe).
 *   The 4 TB 64K-granule block of a >48-bit output size (v5.x+) is not
 *   modelled (apertures are below 2^53, page sizes below 2^41). The
 *   contiguous-hint bit is not used for iommu_map: io-pgtable-arm.c has no
 *   ARM_LPAE_PTE_CONT in v4.4.1, v5.4.6 or v6.19.0, so there is no 64 KiB
 *   "contiguous" page with a 4 KiB granule.
 * - intel-iommu: before v5.15 INTEL_IOMMU_PGSIZES = ~0xFFF, every power of
 *   two from 4 KiB (drivers/iommu/intel-iommu.c, v4.4.1 .. v5.4.6;
 *   drivers/iommu/intel/iommu.c v5.8.1 .. v5.14.2; the model stops at
 *   2^52); from v5.15 ({@link CHANGE_INTEL_IOMMU_REAL_PGSIZES}) 4K plus the
 *   super pages the hardware has (the profile's `pageSizes`: [4K], [4K, 2M]
 *   or [4K, 2M, 1G], cap_super_page_val's levels being cumulative; default
 *   all three).
 * - amd-iommu (v1 page table): AMD_IOMMU_PGSIZES, every power of two from
 *   4 KiB except 512 GiB: ((~0xFFFUL) & ~(2ULL << 38)) in
 *   drivers/iommu/amd_iommu.c (v4.4.1, v5.4.6), GENMASK_ULL(51, 12) ^
 *   SZ_512G in drivers/iommu/amd/amd_iommu_types.h (v6.19.0); the model stops at 2^52.
 * - mtk-iommu: SZ_4K | SZ_64K | SZ_1M | SZ_16M (io-pgtable-arm-v7s small
 *   page, large page, section, supersection): drivers/iommu/mtk_iommu.c
 *   mtk_iommu_ops (v4.6.2 xing393939/linux-4.6.2, v5.4.6) and
 *   mtk_iommu_domain_finalise (v6.19.0). The driver first appears in v4.6.
 * - exynos-sysmmu: SECT_SIZE | LPAGE_SIZE | SPAGE_SIZE = 1M | 64K | 4K
 *   (drivers/iommu/exynos-iommu.c, exynos_iommu_ops in v4.4.1 and v5.4.6,
 *   exynos_iommu_domain_alloc in v6.19.0): no 16 MiB pages.
 */
export const IOMMU_DRIVER_PGSIZES: Readonly<Record<string, { granules: readonly number[]; hwDefault: readonly number[] | null; pgsizes: (granule: number, kernel: string | KernelVersion, hw: readonly number[]) => number[] }>> = {
  "arm-smmu-v3": { granules: [SZ_4K, SZ_16K, SZ_64K], hwDefault: null, pgsizes: (g) => lpaeGroup(g) },
  "arm-smmu": { granules: [SZ_4K, SZ_16K, SZ_64K], hwDefault: null, pgsizes: (g) => lpaeGroup(g) },
  "intel-iommu": {
    granules: [SZ_4K],
    hwDefault: [SZ_4K, SZ_2M, SZ_1G],
    pgsizes: (_g, k, hw) => (atLeast(k, CHANGE_INTEL_IOMMU_REAL_PGSIZES) ? hw.slice() : powersOfTwo(12, PGSIZE_MODEL_TOP_LOG2)),
  },
  "amd-iommu": { granules: [SZ_4K], hwDefault: null, pgsizes: () => powersOfTwo(12, PGSIZE_MODEL_TOP_LOG2, [2 ** 39]) },
  "mtk-iommu": { granules: [SZ_4K], hwDefault: null, pgsizes: () => [SZ_4K, SZ_64K, SZ_1M, SZ_16M] },
  "exynos-sysmmu": { granules: [SZ_4K], hwDefault: null, pgsizes: () => [SZ_4K, SZ_64K, SZ_1M] },
};

function lpaeGroup(granule: number): number[] {
  if (granule === SZ_4K) return [SZ_4K, SZ_2M, SZ_1G];
  if (granule === SZ_16K) return [SZ_16K, SZ_32M];
  return [SZ_64K, SZ_512M];
}

/**
 * Check an IOMMU profile entry against its driver's page-size table
 * ({@link IOMMU_DRIVER_PGSIZES}), release-independent part: the granule
 * must be one the driver runs with; `pageSizes`, when given, must be what
 * the driver reports for that granule (arm-smmu, arm-smmu-v3, amd-iommu,
 * mtk-iommu, exynos-sysmmu) or, for intel-iommu, the hardware's page sizes
 * ([4K], [4K, 2M] or [4K, 2M, 1G]). A driver not in the table needs
 * `pageSizes` and is used as given.
 * @returns the page sizes to keep on the IOMMU (ascending, bytes): the
 *   profile's, or the driver's hardware default when absent.
 * @throws ModelConfigError naming `iommus(<name>).granule` or `iommus(<name>).pageSizes`.
 */
export function checkIommuPgsizes(p: { name: string; driver: string; granule: number; pageSizes?: readonly number[] | undefined }): number[] {
  const t = IOMMU_DRIVER_PGSIZES[p.driver];
  const given = p.pageSizes ? [...new Set(p.pageSizes)].sort((a, b) => a - b) : null;
  if (!t) {
    if (!given) throw new ModelConfigError(`iommus(${p.name}).pageSizes`, p.pageSizes, `a page-size list (driver "${p.driver}" is not one of ${Object.keys(IOMMU_DRIVER_PGSIZES).join(", ")}, whose sizes the model derives)`);
    return given;
  }
  if (!t.granules.includes(p.granule)) throw new ModelConfigError(`iommus(${p.name}).granule`, p.granule, `a granule ${p.driver} runs with: ${t.granules.join(", ")}`);
  if (t.hwDefault) {
    if (!given) return t.hwDefault.slice();
    // Super-page levels are cumulative (one level: 2M; two: 2M and 1G), so the list is a prefix of the default.
    if (given.length > t.hwDefault.length || given.some((s, i) => s !== t.hwDefault![i])) {
      const prefixes = t.hwDefault.map((_, i) => `[${t.hwDefault!.slice(0, i + 1).join(", ")}]`).join(", ");
      throw new ModelConfigError(`iommus(${p.name}).pageSizes`, p.pageSizes, `the hardware's page sizes: one of ${prefixes}`);
    }
    return given;
  }
  const want = t.pgsizes(p.granule, NEWEST_MODELLED, []);
  if (given && (given.length !== want.length || given.some((s, i) => s !== want[i]))) {
    throw new ModelConfigError(`iommus(${p.name}).pageSizes`, p.pageSizes, `${p.driver}'s pgsize_bitmap for a ${p.granule}-byte granule: [${want.join(", ")}] (or leave the field out)`);
  }
  return want;
}

/**
 * The pgsize_bitmap a domain of `driver` gets at release `kernel`, as an
 * ascending list of bytes: the driver table's ({@link IOMMU_DRIVER_PGSIZES})
 * for the granule and the hardware's sizes `hw` (as {@link checkIommuPgsizes}
 * returned them); for a driver not in the table, `hw` itself.
 * @throws ModelConfigError naming the granule (not one the driver runs with) or the kernel (not a release).
 */
export function iommuDriverPgsizes(driver: string, granule: number, kernel: string | KernelVersion, hw: readonly number[]): number[] {
  const t = IOMMU_DRIVER_PGSIZES[driver];
  if (t && !t.granules.includes(granule)) throw new ModelConfigError("iommuDriverPgsizes(granule)", granule, `a granule ${driver} runs with: ${t.granules.join(", ")}`);
  if (typeof kernel !== "string" && !(typeof kernel === "object" && kernel !== null && typeof (kernel as KernelVersion).major === "number")) throw new ModelConfigError("iommuDriverPgsizes(kernel)", kernel, "a kernel release (\"v6.19\" or a KernelVersion)");
  return t ? t.pgsizes(granule, kernel, hw) : hw.slice();
}

// --- Descriptors per page: what each driver's page table writes and clears, per release

/**
 * How one driver's page table stores the pages iommu_map gives it and clears
 * them on iommu_unmap: the numbers behind {@link IoPgtable.pteWrites} and
 * {@link IoPgtable.pteClears}. Build with {@link iommuPteFormat}.
 *
 * - `levels`: bytes one entry covers at each level of the table, ascending
 *   (level 0 first). A page of size S takes S / L descriptors, L the largest
 *   level size <= S: a page of its level's size is one descriptor, a larger
 *   one is replicated (v7s 64 KiB large page: 16 level-2 entries; AMD v1
 *   8 KiB: 2 level-0 entries).
 * - `hwPages`: the hardware's page sizes when the driver splits each piece
 *   iommu_pgsize chose into them itself (intel-iommu's __domain_mapping),
 *   else null (the piece is the page).
 * - `unmap`: how the driver's unmap clears a range R it is called with:
 *   "slots": the entries of the highest level R covers whole, each once,
 *   leaf or table (a covered table is freed, its leaves are not touched),
 *   descending only into partly covered entries (io-pgtable-arm
 *   __arm_lpae_unmap, io-pgtable-arm-v7s __arm_v7s_unmap, intel-iommu
 *   dma_pte_clear_level); "pages": every mapped page's descriptors, one
 *   page at a time (exynos_iommu_unmap, AMD v1 iommu_unmap_page /
 *   iommu_v1_unmap_pages); "generic-pt": every leaf's descriptors plus each
 *   table entry R covers whole (drivers/iommu/generic_pt/iommu_pt.h
 *   __unmap_range, v6.19).
 * - `unmapRuns`: the driver gets one call per run of same-size pages
 *   (pgsize x count, v5.15+ unmap_pages handled as one range), else one per page.
 */
export interface IoPteFormat {
  /** Page-table code, e.g. "io-pgtable-arm-v7s". */
  readonly name: string;
  /** Bytes one entry covers, per level, ascending. */
  readonly levels: readonly number[];
  /** Hardware page sizes the driver splits each piece into itself, ascending bytes; null when the piece is the page. */
  readonly hwPages: readonly number[] | null;
  /** How an unmap's clears are counted (see above). */
  readonly unmap: "slots" | "pages" | "generic-pt";
  /** One driver call per run of same-size pages (true) or per page (false). */
  readonly unmapRuns: boolean;
}

/** v6.19: AMD v1 page tables are the generic page table code (iommupt). */
export const CHANGE_AMD_IOMMU_GENERIC_PT = defineChange({
  id: "amd-iommu-generic-pt",
  since: "v6.19",
  commit: "unverified (Jason Gunthorpe's generic page table series, \"iommu/amd: Use the generic iommu page table\", 2025; hash not checked)",
  subject: "iommu/amd: Use the generic iommu page table",
  files: ["drivers/iommu/amd/iommu.c", "drivers/iommu/amd/io_pgtable.c", "drivers/iommu/generic_pt/fmt/amdv1.h", "drivers/iommu/generic_pt/iommu_pt.h"],
  effect: "AMD v1 domains map and unmap through generic_pt (amdv1_ops = IOMMU_PT_DOMAIN_OPS(amdv1)): a page still takes 2^((log2 size - 12) mod 9) entries (amdv1pt_install_leaf_entry), but unmap_pages clears every leaf under the range and also each table entry the range covers whole (__unmap_range); before, iommu_v1_unmap_pages cleared the leaves one page at a time (fetch_pte, PAGE_SIZE_PTE_COUNT) and left the tables.",
  bracket: "absent in v6.18.2 (gfunkmonk/linux-6.18.2, drivers/iommu/amd/io_pgtable.c:iommu_v1_unmap_pages; no drivers/iommu/generic_pt), present in v6.19.0 (matankalina/linux-6.19.10-fork, drivers/iommu/amd/iommu.c:amd_iommu_domain_alloc_paging_v1 (pt_iommu_amdv1_init); drivers/iommu/generic_pt/iommu_pt.h:__unmap_range)",
});

/** v6.19: intel-iommu's page tables are the generic page table code (iommupt). */
export const CHANGE_INTEL_IOMMU_GENERIC_PT = defineChange({
  id: "intel-iommu-generic-pt",
  since: "v6.19",
  commit: "unverified (Jason Gunthorpe's generic page table series, \"iommu/vt-d: Use the generic iommu page table\", 2025; hash not checked)",
  subject: "iommu/vt-d: Use the generic iommu page table",
  files: ["drivers/iommu/intel/iommu.c", "drivers/iommu/generic_pt/fmt/vtdss.h", "drivers/iommu/generic_pt/fmt/x86_64.h", "drivers/iommu/generic_pt/iommu_pt.h"],
  effect: "VT-d domains map and unmap through generic_pt (IOMMU_PT_DOMAIN_OPS(vtdss) / (x86_64)): unmap_pages clears every leaf under the range and each table entry the range covers whole (__unmap_range); before, intel_iommu_unmap -> domain_unmap -> dma_pte_clear_level cleared only the highest entries the range covered whole (a covered table's entry, not its leaves).",
  bracket: "absent in v6.18.2 (gfunkmonk/linux-6.18.2, drivers/iommu/intel/iommu.c:intel_iommu_unmap, dma_pte_clear_level; no drivers/iommu/generic_pt), present in v6.19.0 (matankalina/linux-6.19.10-fork, drivers/iommu/intel/iommu.c: pt_iommu_vtdss_init, IOMMU_PT_DOMAIN_OPS(vtdss); drivers/iommu/generic_pt/iommu_pt.h:__unmap_range)",
});

/** Entry sizes of a radix table: `first`, then x `fanout` per level, up to 2^52 bytes. */
function radixLevels(first: number, fanout: number): number[] {
  const out: number[] = [];
  for (let l = first; l <= 2 ** PGSIZE_MODEL_TOP_LOG2; l *= fanout) out.push(l);
  return out;
}

/**
 * The default format: one descriptor per page, cleared page by page (each
 * page size its own level). Used for drivers outside the table.
 */
function plainPteFormat(pageSizes: readonly number[]): IoPteFormat {
  return { name: "one descriptor per page", levels: pageSizes.slice(), hwPages: null, unmap: "pages", unmapRuns: false };
}

/**
 * The page-table format of an IOMMU driver at a release ({@link IoPteFormat}):
 * how many descriptors each page takes and how an unmap clears them.
 *
 * Sources (Makefile versions checked):
 * - arm-smmu, arm-smmu-v3 (io-pgtable-arm, LPAE): a page or block is one
 *   descriptor at the level of its size (levels granule x (granule / 8)^k:
 *   4K/2M/1G/512G, 16K/32M/64G, 64K/512M/4T); unmap clears the entry at the
 *   piece's level, leaf or table (__arm_lpae_map / __arm_lpae_unmap, v4.4.1
 *   zanpocc/linux-4.4.1 and v5.4.6 hxb-gt/linux-5.4.6; v6.19.0
 *   matankalina/linux-6.19.10-fork: __arm_lpae_map writes pgcount entries
 *   per call, one per page, and __arm_lpae_unmap clears num_entries at the
 *   level; a table entry is zeroed twice there, counted once).
 * - mtk-iommu (io-pgtable-arm-v7s, every release of mtk_iommu.c: MT8173's
 *   alloc_io_pgtable_ops(ARM_V7S, ...) in v4.6.2 xing393939/linux-4.6.2,
 *   v5.4.6 and v6.19.0): levels 1 MiB (level 1) and 4 KiB (level 2);
 *   __arm_v7s_map writes size >> ARM_V7S_LVL_SHIFT(lvl) entries through
 *   arm_v7s_init_pte: 16 MiB supersection = 16 level-1 entries, 1 MiB
 *   section = 1, 64 KiB large page = 16 level-2 entries (ARM_V7S_CONT_PAGES),
 *   4 KiB = 1; __arm_v7s_unmap clears as many at the piece's level.
 * - exynos-sysmmu (exynos-iommu.c, v4.4.1, v5.4.6, v6.19.0): lv1set_section
 *   writes 1 entry for 1 MiB, lv2set_page 1 for 4 KiB and SPAGES_PER_LPAGE
 *   (16) for 64 KiB; exynos_iommu_unmap clears the entry it finds at the
 *   IOVA (16 for a large page) and returns that page's size, so the core
 *   loops page by page.
 * - amd-iommu (v1): a page of size S is PAGE_SIZE_PTE_COUNT(S) =
 *   2^((log2 S - 12) mod 9) entries at level PAGE_SIZE_LEVEL(S) =
 *   (log2 S - 12) / 9 (drivers/iommu/amd_iommu.c iommu_map_page, v4.4.1,
 *   v5.4.6; drivers/iommu/amd/io_pgtable.c iommu_v1_map_pages, v6.18.2;
 *   generic_pt amdv1pt_install_leaf_entry, v6.19.0): 8 KiB = 2, 1 MiB = 256,
 *   2 MiB = 1, 4 MiB = 2. Unmap clears page by page (iommu_unmap_page /
 *   iommu_v1_unmap_pages: fetch_pte, PAGE_SIZE_PTE_COUNT) until v6.18; from
 *   v6.19 ({@link CHANGE_AMD_IOMMU_GENERIC_PT}) generic_pt's __unmap_range.
 * - intel-iommu: __domain_mapping writes the hardware's pages for each piece
 *   (hardware_largepage_caps: a 2 MiB / 1 GiB super page where the IOVA and
 *   the physical address are both aligned, the rest fits and the hardware
 *   has that level, else 4 KiB PTEs; v4.4.1 and v5.4.6
 *   drivers/iommu/intel-iommu.c, v5.15.55 and v6.18.2
 *   drivers/iommu/intel/iommu.c). Before v5.15 the core's pieces are any
 *   power of two (INTEL_IOMMU_PGSIZES), so a 64 KiB piece is sixteen 4 KiB
 *   PTEs and a 4 MiB piece two 2 MiB super pages; from v5.15 the pieces are
 *   already the hardware's. Unmap: domain_unmap -> dma_pte_clear_level
 *   clears the highest entries the range covers whole (slots), per
 *   intel_iommu_unmap call: one per piece before v5.15 (iommu_pgsize,
 *   v5.14.2), one per (pgsize, count) run from v5.15 (intel_iommu_unmap_pages,
 *   v5.15.55). The model walks each run as one range in every release: with
 *   every power of two in the bitmap (before v5.15) a piece is the largest
 *   aligned block at its address, so every slot the range covers whole lies
 *   inside one piece and the count is the same. From v6.19
 *   ({@link CHANGE_INTEL_IOMMU_GENERIC_PT}) generic_pt's __unmap_range.
 *   VT-d levels: 4K, 2M, 1G, 512G.
 * - other drivers: {@link plainPteFormat}.
 *
 * @param driver the profile's driver name; `granule` its granule (bytes);
 *   `hw` the IOMMU's hardware page sizes as {@link checkIommuPgsizes} gave them.
 * @throws ModelConfigError for a driver that is not a string, a granule that
 *   is not a power of two in [1 KiB, 1 GiB] or not one the driver runs with,
 *   page sizes that are not powers of two, or a kernel that is not a release name.
 */
export function iommuPteFormat(driver: string, granule: number, kernel: string | KernelVersion, hw: readonly number[]): IoPteFormat {
  if (typeof driver !== "string") throw new ModelConfigError("iommuPteFormat(driver)", driver, "an IOMMU driver name (a string, e.g. \"mtk-iommu\")");
  checkPowerOf2("iommuPteFormat(granule)", granule, 1024, 2 ** 30);
  const t = IOMMU_DRIVER_PGSIZES[driver];
  if (t && !t.granules.includes(granule)) throw new ModelConfigError("iommuPteFormat(granule)", granule, `a granule ${driver} runs with: ${t.granules.join(", ")}`);
  if (!Array.isArray(hw)) throw new ModelConfigError("iommuPteFormat(hw)", hw, "the IOMMU's page sizes (an array of byte counts)");
  hw.forEach((s, i) => checkPowerOf2(`iommuPteFormat(hw.${i})`, s, 1024, 2 ** PGSIZE_MODEL_TOP_LOG2));
  const k = parseKernelVersion(kernel, "iommuPteFormat(kernel)");
  switch (driver) {
    case "arm-smmu":
    case "arm-smmu-v3":
      return { name: "io-pgtable-arm (LPAE)", levels: radixLevels(granule, granule / 8), hwPages: null, unmap: "slots", unmapRuns: false };
    case "mtk-iommu":
      return { name: "io-pgtable-arm-v7s", levels: [SZ_4K, SZ_1M], hwPages: null, unmap: "slots", unmapRuns: false };
    case "exynos-sysmmu":
      return { name: "exynos-iommu", levels: [SZ_4K, SZ_1M], hwPages: null, unmap: "pages", unmapRuns: false };
    case "amd-iommu":
      return atLeast(k, CHANGE_AMD_IOMMU_GENERIC_PT)
        ? { name: "generic_pt amdv1", levels: radixLevels(SZ_4K, 512), hwPages: null, unmap: "generic-pt", unmapRuns: true }
        : { name: "amd io_pgtable (v1)", levels: radixLevels(SZ_4K, 512), hwPages: null, unmap: "pages", unmapRuns: false };
    case "intel-iommu": {
      const levels = radixLevels(SZ_4K, 512);
      if (atLeast(k, CHANGE_INTEL_IOMMU_GENERIC_PT)) return { name: "generic_pt vtdss", levels, hwPages: hw.slice(), unmap: "generic-pt", unmapRuns: true };
      // One intel_iommu_unmap per piece before v5.15, one per (pgsize, count) run from v5.15
      // (intel_iommu_unmap_pages): the same clears either way, see iommuPteFormat's docstring.
      return { name: "intel-iommu dma_pte", levels, hwPages: hw.slice(), unmap: "slots", unmapRuns: true };
    }
    default:
      return plainPteFormat(hw);
  }
}

/** Descriptors one page of `size` bytes takes: size / the largest level size <= size (1 if none). */
function ptesPerPage(format: IoPteFormat, size: number): number {
  let l = 0;
  for (const s of format.levels) if (s <= size && s > l) l = s;
  return l > 0 ? size / l : 1;
}

/**
 * The first hardware page a piece of `rest` bytes at iova / paddr is written
 * as: the piece itself, or (format with `hwPages`, intel-iommu's
 * __domain_mapping / hardware_largepage_caps) the largest hardware size
 * both addresses are aligned to that fits the rest. The caller steps on by
 * the size returned until the piece is written. Bytes.
 */
function hwPageOf(format: IoPteFormat, iova: number, paddr: number, rest: number): number {
  const hw = format.hwPages;
  if (!hw) return rest;
  let best = 0;
  for (let i = 0; i < hw.length; i++) {
    const h = hw[i]!;
    if (h <= rest && h > best && iova % h === 0 && paddr % h === 0) best = h;
  }
  return best === 0 ? rest : best; // 0 not reached: the piece is a multiple of the smallest size, which is the granule
}

/**
 * iommu_pgsize() with its count (v5.15+): the page size for [iova, iova +
 * size) and how many pages of it the run takes, up to where the next larger
 * supported size could start (only if the IOVA and the physical address are
 * equally offset in it and one fits), else all that fit. The model's
 * iommu_map uses it in every release: before v5.15 the core called
 * iommu_pgsize once per piece, which chooses the same size for each of those
 * `count` pieces (they stay aligned to it and to nothing larger that fits).
 * Source: drivers/iommu/iommu.c, iommu_pgsize() (v5.15.55, v6.19.0).
 */
function iommuPgsizeRun(pageSizes: readonly number[], iova: number, paddr: number, size: number): { pgsize: number; count: number } {
  const pgsize = iommuPgsize(pageSizes, iova, paddr, size);
  let next = 0;
  for (const p of pageSizes) if (p > pgsize && (next === 0 || p < next)) next = p;
  let rest = size;
  if (next > 0 && iova % next === paddr % next) {
    const offset = next - (iova % next);
    if (offset + next <= size) rest = offset;
  }
  return { pgsize, count: Math.floor(rest / pgsize) };
}

/** Index of the first page (sorted by IOVA, non-overlapping) that ends after `a`. */
function firstEndingAfter(pages: readonly IoPte[], a: number): number {
  let lo = 0;
  let hi = pages.length;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (pages[mid]!.iova + pages[mid]!.size > a) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * "slots" rule on [start, end) from level `k` down: every entry of that level
 * the range covers whole and that holds a mapped page counts once; a partly
 * covered one is descended into (dma_pte_clear_level, __arm_lpae_unmap,
 * __arm_v7s_unmap). `pages` sorted by IOVA.
 */
function slotClears(levels: readonly number[], k: number, pages: readonly IoPte[], start: number, end: number): number {
  const L = levels[k]!;
  let n = 0;
  let pos = start;
  let i = firstEndingAfter(pages, pos);
  while (i < pages.length && pages[i]!.iova < end) {
    const from = Math.max(pages[i]!.iova, pos);
    const s = from - (from % L);
    const e = s + L;
    const cs = Math.max(s, start);
    const ce = Math.min(e, end);
    if ((cs === s && ce === e) || k === 0) n += 1;
    else n += slotClears(levels, k - 1, pages, cs, ce);
    pos = e;
    while (i < pages.length && pages[i]!.iova + pages[i]!.size <= pos) i++;
  }
  return n;
}

/**
 * "generic-pt" rule on [start, end): each leaf's descriptors, plus each table
 * entry (level >= 1) the range covers whole that holds a smaller page
 * (generic_pt __unmap_range: pt_clear_entries on the leaves, then on a fully
 * covered table's entry). `pages` sorted by IOVA.
 */
function genericPtClears(format: IoPteFormat, pages: readonly IoPte[], start: number, end: number): number {
  let n = 0;
  const lastSlot = new Array<number>(format.levels.length).fill(-1);
  for (let i = firstEndingAfter(pages, start); i < pages.length && pages[i]!.iova < end; i++) {
    const p = pages[i]!;
    n += ptesPerPage(format, p.size);
    for (let k = 1; k < format.levels.length; k++) {
      const L = format.levels[k]!;
      if (p.size >= L) continue;
      const s = p.iova - (p.iova % L);
      if (s >= start && s + L <= end && s !== lastSlot[k]) {
        lastSlot[k] = s;
        n++;
      }
    }
  }
  return n;
}

/**
 * Descriptors the driver clears when iommu_unmap removes `removed` (sorted
 * by IOVA) from [iova, end): the core's calls (__iommu_unmap: iommu_pgsize
 * on the IOVA alone, per page or per run) and the format's rule.
 */
function unmapClears(domain: IommuDomain, removed: readonly IoPte[], iova: number, end: number): number {
  const f = domain.pgtable.format;
  let perPage = 0;
  for (const p of removed) perPage += ptesPerPage(f, p.size);
  const g = domain.pageSizes[0]!;
  if (f.unmap === "pages" || removed.length === 0 || iova % g !== 0 || (end - iova) % g !== 0) return perPage;
  let n = 0;
  let a = iova;
  while (a < end) {
    const { pgsize, count } = iommuPgsizeRun(domain.pageSizes, a, a, end - a);
    const runEnd = a + pgsize * count;
    const i = firstEndingAfter(removed, a);
    if (i < removed.length && removed[i]!.iova < runEnd) {
      if (f.unmap === "generic-pt") n += genericPtClears(f, removed, a, runEnd);
      else {
        // Per page (unmapRuns false): no call covers more than pgsize, so start at the largest level <= pgsize.
        let top = f.levels.length - 1;
        if (!f.unmapRuns) while (top > 0 && f.levels[top]! > pgsize) top--;
        n += slotClears(f.levels, top, removed, a, runEnd);
      }
    }
    a = runEnd;
  }
  return n;
}
