/**
 * A minimal IOMMU page table: which IOVA pages map which physical pages,
 * with the page (block) sizes the hardware supports, so that the number of
 * PTE writes is known for costs and an access to an unmapped IOVA can be
 * reported as an IOMMU fault.
 *
 * What is modelled (drivers/iommu/iommu.c, v6.19; the same rules in v4.4):
 * - iommu_map(): iova, paddr and size must be aligned to the smallest
 *   supported page size (else -EINVAL); the range is split by
 *   iommu_pgsize(): at each step the greatest supported page size that
 *   fits the remaining size and to which both the IOVA and the physical
 *   address are aligned. Each such page is one PTE write. Mapping over an
 *   existing mapping fails with -EEXIST (io-pgtable-arm and -arm-v7s WARN
 *   and refuse), after undoing what this call mapped.
 * - iommu_unmap(): removes every mapped page that starts inside the range
 *   and returns the bytes unmapped.
 * - iommu_map_sg(): maps each entry at consecutive IOVAs; from v5.0
 *   (5d95f40e62e4 "iommu: Do physical merging in iommu_map_sg()") runs of
 *   physically contiguous entries are mapped with one iommu_map call, so
 *   larger pages can be used. Returns the bytes mapped, or a negative
 *   errno (v5.15+; older releases returned 0), after unmapping on failure.
 *
 * - the page sizes: each domain's pgsize_bitmap comes from its driver's
 *   table, per release ({@link IOMMU_DRIVER_PGSIZES}: arm-smmu(-v3) per
 *   granule, intel-iommu, amd-iommu, mtk-iommu, exynos-sysmmu); a profile's
 *   `pageSizes` that disagrees is rejected ({@link checkIommuPgsizes}).
 *
 * Not modelled: the page-table levels and their memory, replicated
 * descriptors (a v7s 64 KiB large page or 16 MiB supersection is 16 slots,
 * an AMD v1 8 KiB page two: one PTE write here), old intel-iommu's own split
 * of a large power-of-two piece into its super pages (one PTE write here per
 * piece iommu_pgsize chose), protection faults (prot is recorded only). The
 * IOTLB is lib/iommu/iotlb.ts.
 */
import { checkInt } from "../core/arith.js";
import type { PhysAddr } from "../core/addr.js";
import { EEXIST, EINVAL } from "../core/errno.js";
import { ModelConfigError } from "../core/errors.js";
import { NEWEST_MODELLED, atLeast, defineChange, type KernelVersion } from "../kernel/version.js";
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
 * The page table of one domain: mapped pages keyed by their IOVA (every
 * page is naturally aligned to its size, as iommu_pgsize guarantees, so
 * the page covering an address is found by aligning the address down to
 * each supported size), plus counters of PTE writes and clears (for costs).
 */
export class IoPgtable {
  /** Mapped pages by IOVA start. */
  readonly ptes = new Map<number, IoPte>();
  /** Total PTEs written by map calls. */
  pteWrites = 0;
  /** Total PTEs cleared by unmap calls. */
  pteClears = 0;
  /**
   * @param granule smallest page size, bytes.
   * @param pageSizes supported page sizes, bytes, ascending.
   */
  constructor(
    readonly granule: number,
    readonly pageSizes: readonly number[] = [granule],
  ) {}
  /** Bytes currently mapped. */
  get mappedBytes(): number {
    let t = 0;
    for (const p of this.ptes.values()) t += p.size;
    return t;
  }
  /** The mapped page covering `iova`, or null. */
  lookup(iova: number): IoPte | null {
    for (let i = this.pageSizes.length - 1; i >= 0; i--) {
      const p = this.pageSizes[i]!;
      const pte = this.ptes.get(iova - (iova % p));
      if (pte && pte.size === p) return pte;
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
  let best = 0;
  for (const p of pageSizes) {
    // Page sizes are powers of two (checked when the IOMMU is created): plain modulo is exact.
    if (p <= size && p > best && iova % p === 0 && paddr % p === 0) best = p;
  }
  if (best === 0) throw new ModelConfigError("iommuPgsize(size)", size, "a size and addresses aligned to the smallest page size");
  return best;
}

/**
 * iommu_map(domain, iova, paddr, size, prot): map [iova, iova + size) to
 * [paddr, paddr + size).
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
  while (done < size) {
    const pg = iommuPgsize(domain.pageSizes, iova + done, paddr + done, size - done);
    const pte: IoPte = { iova: iova + done, paddr: paddr + done, size: pg, prot };
    pt.ptes.set(pte.iova, pte);
    done += pg;
    writes++;
  }
  pt.pteWrites += writes;
  if (domain.trace.keepEvents) {
    domain.trace.record({
      fn: "iommu_map",
      kind: "iommu_map",
      msg: `map iova 0x${iova.toString(16)} -> pa 0x${paddr.toString(16)} size 0x${size.toString(16)} (${writes} PTE writes)`,
      data: { iova, paddr, size, ptes: writes },
    });
  }
  return 0;
}

/**
 * iommu_unmap(domain, iova, size): remove every mapped page that starts
 * in [iova, iova + size) (a large page is removed whole, as io-pgtable
 * does when asked to unmap a block at its start).
 * @returns bytes unmapped (0 if nothing was mapped there).
 * @throws ModelConfigError for negative or non-integer values.
 * Source: drivers/iommu/iommu.c, iommu_unmap(), __iommu_unmap() (v6.19).
 */
export function iommuUnmap(domain: IommuDomain, iova: number, size: number): number {
  checkInt("iommuUnmap(iova)", iova);
  checkInt("iommuUnmap(size)", size);
  const pt = domain.pgtable;
  let unmapped = 0;
  let clears = 0;
  if (size / pt.granule > pt.ptes.size) {
    // Pages never overlap, so the walk below removes exactly the pages that start in the range: test each page.
    const end = iova + size;
    for (const p of pt.ptes.values()) {
      if (p.iova >= iova && p.iova < end) {
        pt.ptes.delete(p.iova);
        unmapped += p.size;
        clears++;
      }
    }
  } else {
    let a = iova;
    while (a < iova + size) {
      const pte = pt.lookup(a);
      if (!pte) {
        a += pt.granule;
        continue;
      }
      if (pte.iova === a) {
        pt.ptes.delete(a);
        unmapped += pte.size;
        clears++;
      }
      a = pte.iova + pte.size;
    }
  }
  pt.pteClears += clears;
  if (domain.trace.keepEvents && unmapped > 0) {
    domain.trace.record({
      fn: "iommu_unmap",
      kind: "iommu_unmap",
      msg: `unmap iova 0x${iova.toString(16)} size 0x${size.toString(16)}: 0x${unmapped.toString(16)} bytes (${clears} PTEs)`,
      data: { iova, size, unmapped, ptes: clears },
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
