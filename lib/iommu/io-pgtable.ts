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
 * Not modelled: the page-table levels and their memory, the IOTLB (see
 * iotlb.ts when it exists), protection faults (prot is recorded only).
 */
import { checkInt } from "../core/arith.js";
import type { PhysAddr } from "../core/addr.js";
import { EEXIST, EINVAL } from "../core/errno.js";
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange } from "../kernel/version.js";
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
