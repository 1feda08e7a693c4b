/**
 * The IOMMU DMA ops for scatterlists (drivers/iommu/dma-iommu.c) and the
 * segment limits they read (include/linux/dma-mapping.h), per release.
 *
 * Releases read (trees fetched as single-commit imports, Makefile checked):
 * v4.4.1 (zanpocc/linux-4.4.1), v4.6.2 (xing393939/linux-4.6.2),
 * v4.7.4 (calebwilliamsd/linux-4.7.4-casio), v4.19.1 (chens37/linux-4.19.1),
 * v5.2.1 (wangliang-cs/linux-5.2.1), v5.3.1 (github-lvbing/linux-5.3.1),
 * v5.4.6 (hxb-gt/linux-5.4.6), v6.19 (matankalina/linux-6.19.10-fork).
 *
 * iommu_dma_map_sg() in two forms:
 *
 * - v4.4..v4.6 (0db2e5d18f76 "iommu: Implement common IOMMU ops for DMA
 *   mapping", v4.4): every entry is aligned to the IOVA granule (its offset
 *   inside the granule kept aside) and, before laying out entry i, the
 *   previous entry is padded so that entry i starts at a multiple of
 *   roundup_pow_of_two(its aligned length):
 *   pad = (roundup_pow_of_two(len_i) - iova_len) mod roundup_pow_of_two(len_i).
 *   One size-aligned IOVA allocation covers the total, iommu_map_sg maps it
 *   (padding included: the padded entry maps the physical pages after its
 *   own), and __finalise_sg gives back one DMA segment per entry: nents.
 * - v4.7+ (809eac54cdd6 "iommu/dma: Implement scatterlist segment merging";
 *   absent in v4.6.2, present in v4.7.4): padding only where an entry would
 *   otherwise cross the device's segment boundary:
 *   pad = (mask - iova_len + 1) & mask, applied if pad != 0 and
 *   pad < len_i - 1; __finalise_sg merges IOVA-contiguous entries while the
 *   merged segment stays <= dma_get_max_seg_size(dev) and does not start a
 *   new boundary window, and returns the number of DMA segments.
 *   The length check was `cur_len + s_length <= max_len` in 32 bits, which
 *   overflows when max_len is UINT_MAX; v5.3 (ab2cbeb0ed30 "iommu/dma: Handle
 *   SG length overflow better"; absent in v5.2.1, present in v5.3.1) uses
 *   `max_len - cur_len >= s_length`.
 *
 * Failure: 0 before v5.15; from v5.15 (dabb16f67215 "iommu/dma: return
 * error code from iommu_dma_map_sg()") -ENOMEM when no IOVA space is left,
 * else -EINVAL. dma_map_sg() still turns errors into 0; dma_map_sgtable()
 * passes them on (lib/dma/mapping.ts).
 *
 * Cache maintenance (see the section "Streaming single buffers, syncs and
 * cache maintenance" below): map_sg syncs every CPU entry for the device
 * and unmap_sg for the CPU on a non-coherent device, through the machine's
 * arch rules and cache model; single buffers (iommuDmaMapPage), the sync
 * calls, and device accesses through the IOMMU page table
 * (iommuDeviceRead/Write, an IOMMU fault for an unmapped IOVA) live there
 * too. Coherent allocations: lib/iommu/dma-iommu-alloc.ts.
 *
 * Not modelled: swiotlb bouncing of untrusted devices, PCI P2P bus
 * addresses, the IOVA rcaches (iova.ts leaves them out), the 2025 sg
 * length overflow checks (not in v6.19).
 */
import { IOVA_RANGE_CACHE_MAX_SIZE, allocIovaFast, freeIovaFast, freeIovaFastAnyOrder, orderBase2 } from "./iova-rcache.js";
import { queueIova } from "./flush-queue.js";
import { iotlbAccess, iotlbHeldPhys, iotlbInvalidateRange } from "./iotlb.js";
import { DMA_BIT_MASK, MAX_ADDR, andMask, checkInt, fls, hex, minNotZero, roundupPowOfTwo, u32, wrapToMask } from "../core/arith.js";
import { DMA_MAPPING_ERROR, type DmaAddr, type Pfn } from "../core/addr.js";
import { DMA_ATTR_MMIO, DMA_ATTR_PRIVILEGED, DMA_ATTR_SKIP_CPU_SYNC, DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE, checkAttrs, checkDirection, dirName, hasAttr, withAttr } from "../core/dma-types.js";
import { EINVAL, ENOMEM, EREMOTEIO } from "../core/errno.js";
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange } from "../kernel/version.js";
import { CHANGE_MAP_SG_ERRNO, kernelFunctionName } from "../kernel/api-changes.js";
export { CHANGE_MAP_SG_ERRNO };
import type { Device } from "../platform/device.js";
import { checkSgEntries, forEachSg, sgInitEntry, sgPhys, type Scatterlist } from "../sg/scatterlist.js";
import { IOVA_DEPOT_DELAY_NS, type IommuDomain } from "./domain.js";
import { iommuDmaCookieOf, type IommuMappedPiece, type IommuStreamingMapping, type MapSgLayout } from "./dma-cookie.js";
import { IOMMU_CACHE, IOMMU_MMIO, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE, iommuDeviceAccess, iommuIovaToPhys, iommuMap, iommuMapSg, iommuUnmap } from "./io-pgtable.js";
import { allocIova, findIova, freeIova, iovaAlign, iovaOffset, iovaSize, type IovaDomain } from "./iova.js";
import type { TokenRun } from "../cache/model.js";
import { physToVirt } from "../mm/linear-map.js";
import { dmaGetMask, dmaGetMaxSegSize, dmaGetSegBoundary } from "../dma/parms.js";
import { archSyncDmaForCpuOn, archSyncDmaForDeviceOn, describeOps, noSync, type SyncOutcome } from "../dma/arch/index.js";
import { dmaKmallocNeedsBounce } from "../dma/map-ops.js";
import { machineCosts } from "../cost/machine.js";
import type { DmaMachine } from "../dma/state.js";

// --- Behaviour changes

/** v4.4: iommu-dma arrives with natural-alignment padding per segment. */
export const CHANGE_IOMMU_DMA_COMMON_OPS = defineChange({
  id: "iommu-dma-common-ops",
  since: "v4.4",
  commit: "0db2e5d18f76",
  subject: "iommu: Implement common IOMMU ops for DMA mapping",
  files: ["drivers/iommu/dma-iommu.c"],
  effect: "iommu_dma_map_sg pads each segment so the next starts at an IOVA aligned to its own rounded-up power-of-two size; one DMA segment per sg entry.",
  bracket: "unbracketed: no readable tree before v4.4 holds drivers/iommu/dma-iommu.c (this commit creates the file); present in v4.4.1 (zanpocc/linux-4.4.1, drivers/iommu/dma-iommu.c:iommu_dma_map_sg)",
});

/** v4.7: boundary-only padding and segment merging. */
export const CHANGE_IOMMU_DMA_SG_MERGING = defineChange({
  id: "iommu-dma-sg-merging",
  since: "v4.7",
  commit: "809eac54cdd6",
  subject: "iommu/dma: Implement scatterlist segment merging",
  files: ["drivers/iommu/dma-iommu.c"],
  effect: "padding only to avoid crossing dma_get_seg_boundary(dev); __finalise_sg merges IOVA-contiguous segments up to dma_get_max_seg_size(dev). Release checked: absent in v4.6.2, present in v4.7.4.",
  bracket: "absent in v4.6.2 (xing393939/linux-4.6.2, drivers/iommu/dma-iommu.c:iommu_dma_map_sg), present in v4.7.4 (calebwilliamsd/linux-4.7.4-casio, drivers/iommu/dma-iommu.c:__finalise_sg)",
});

/** v5.3: the merge length check no longer overflows. */
export const CHANGE_IOMMU_DMA_SG_OVERFLOW = defineChange({
  id: "iommu-dma-sg-length-overflow",
  since: "v5.3",
  commit: "ab2cbeb0ed30",
  subject: "iommu/dma: Handle SG length overflow better",
  files: ["drivers/iommu/dma-iommu.c"],
  effect: "__finalise_sg tests max_len - cur_len >= s_length instead of cur_len + s_length <= max_len (32-bit wrap when max_len is UINT_MAX). Release checked: absent in v5.2.1, present in v5.3.1.",
  bracket: "absent in v5.2.1 (wangliang-cs/linux-5.2.1, drivers/iommu/dma-iommu.c:__finalise_sg), present in v5.3.1 (github-lvbing/linux-5.3.1, drivers/iommu/dma-iommu.c:__finalise_sg); the fix was marked for stable, so late 4.x/5.x stable releases have it too",
});

/**
 * iommu_dma_alloc_iova grew in five steps (drivers/iommu/dma-iommu.c); each
 * is a change of its own, read by {@link iommuDmaAllocIova}.
 * v4.9: the limit is clamped to the domain's aperture end.
 */
export const CHANGE_IOMMU_DMA_APERTURE_CLAMP = defineChange({
  id: "iommu-dma-alloc-iova-aperture-clamp",
  since: "v4.9",
  commit: "c987ff0d3cb3 (recalled, not verified)",
  subject: "iommu/dma: Respect IOMMU aperture when allocating",
  files: ["drivers/iommu/dma-iommu.c"],
  effect: "__alloc_iova takes the domain and lowers dma_limit to geometry.aperture_end when geometry.force_aperture is set; before, the DMA mask alone was the limit.",
  bracket: "absent in v4.7.4 (calebwilliamsd/linux-4.7.4-casio, drivers/iommu/dma-iommu.c:__alloc_iova(iovad, size, dma_limit): no clamp), present in v4.9.0 (pengdonglin137/linux-4.9, drivers/iommu/dma-iommu.c:__alloc_iova(domain, size, dma_limit): clamp to aperture_end); v4.8.15 (squirrel20/linux-4.8.15) has the clamp too, but the commit was taken into stable (it is in 4.4.223), so 4.8.15 may carry a backport and v4.8 is not certain: the model switches at v4.9",
});

/** v4.11: a PCI device with a limit above 4 GiB first tries below 4 GiB (the SAC address trick). */
export const CHANGE_IOMMU_DMA_PCI_SAC_FIRST = defineChange({
  id: "iommu-dma-alloc-iova-pci-32bit-first",
  since: "v4.11",
  commit: "122fac030e91 (recalled, not verified)",
  subject: "iommu/dma: Implement PCI allocation optimisation",
  files: ["drivers/iommu/dma-iommu.c"],
  effect: "for a PCI device whose limit is above 32 bits, __alloc_iova first tries alloc_iova below DMA_BIT_MASK(32) and uses the full limit only when that fails (retried on every allocation until v6.6).",
  bracket: "absent in v4.10.17 (pengdonglin137/linux-4.10.17, drivers/iommu/dma-iommu.c:__alloc_iova: one alloc_iova), present in v4.11.0 (HCLS/linux-4.11, drivers/iommu/dma-iommu.c:__alloc_iova(domain, size, dma_limit, dev): 32-bit attempt first when dev_is_pci)",
});

/** v4.12: lengths below 32 IOVA pages are rounded up to a power of two and allocated with alloc_iova_fast (rcaches). */
export const CHANGE_IOMMU_DMA_ALLOC_IOVA = defineChange({
  id: "iommu-dma-alloc-iova-rcache",
  since: "v4.12",
  commit: "bb65a64c7285 \"iommu/dma: Use fast IOVA allocation\" with 842fe519f68b \"iommu/dma: Convert to address-based allocation\" (both recalled, not verified)",
  subject: "iommu/dma: Use fast IOVA allocation",
  files: ["drivers/iommu/dma-iommu.c"],
  effect: "iommu_dma_alloc_iova (renamed from __alloc_iova, returns a dma_addr_t) rounds iova_len below 2^(IOVA_RANGE_CACHE_MAX_SIZE - 1) = 32 pages up to a power of two and allocates with alloc_iova_fast on the calling CPU (the per-CPU rcaches of lib/iommu/iova-rcache.ts: a freed range of the same order comes back from the CPU's magazine); iommu_dma_free_iova gives the range back with free_iova_fast(pfn, size >> shift) into the CPU's rcache. Before, alloc_iova(..., size_aligned = true) with the unrounded length and __free_iova of the find_iova allocation (the rcaches existed from v4.7 but dma-iommu did not use them). The rounding moved into alloc_iova_fast around v5.17 (same result).",
  bracket: "absent in v4.11.0 (HCLS/linux-4.11, drivers/iommu/dma-iommu.c:__alloc_iova: alloc_iova with the unrounded length), present in v4.12.0 (jason50123/linux-4.12, drivers/iommu/dma-iommu.c:iommu_dma_alloc_iova: power-of-two rounding, alloc_iova_fast)",
});

/** v4.19: the bus DMA limit also bounds the IOVA. */
export const CHANGE_IOMMU_DMA_BUS_DMA_LIMIT = defineChange({
  id: "iommu-dma-alloc-iova-bus-dma-limit",
  since: "v4.19",
  commit: "unverified (the dev->bus_dma_mask work of 2018; hash not found)",
  subject: "iommu/dma: respect the bus DMA mask when allocating IOVAs",
  files: ["drivers/iommu/dma-iommu.c", "include/linux/device.h"],
  effect: "dma_limit is further limited by the device's bus DMA mask (v4.19: dma_limit &= bus_dma_mask when set; from v5.5 min_not_zero(dma_limit, bus_dma_limit): the same limit for a 2^n - 1 mask, which is what the model stores).",
  bracket: "absent in v4.18.0 (wulmx/linux-4.18, drivers/iommu/dma-iommu.c:iommu_dma_alloc_iova: no bus mask; also v4.14.177), present in v4.19.1 (chens37/linux-4.19.1, drivers/iommu/dma-iommu.c:iommu_dma_alloc_iova: dma_limit &= dev->bus_dma_mask)",
});

/** v6.6: the PCI 32-bit first attempt is given up for good after it fails once. */
export const CHANGE_IOMMU_DMA_PCI_32BIT_STICKY = defineChange({
  id: "iommu-dma-pci-32bit-workaround-sticky",
  since: "v6.6",
  commit: "791c2b17fb40 (hash from a later list mail naming it as the commit that first exposed a 6.6 problem)",
  subject: "iommu: Optimise PCI SAC address trick",
  files: ["drivers/iommu/dma-iommu.c", "drivers/iommu/iommu.c", "include/linux/iommu.h"],
  effect: "dev->iommu->pci_32bit_workaround (set for PCI devices unless iommu.forcedac) gates the below-4-GiB first attempt; the first time that attempt fails it is cleared (dev_notice \"Using N-bit DMA addresses\") and every later allocation of the device goes straight to its full limit. Before, the 32-bit attempt was made on every allocation.",
  bracket: "absent in v6.5.0 (sndrzt/linux-6.5, drivers/iommu/dma-iommu.c:iommu_dma_alloc_iova tests !iommu_dma_forcedac && dev_is_pci on every call, no pci_32bit_workaround; also v6.4.6 lewisevans2007/linux-6.4), present in v6.6.47 (Salpadding/linux-6.6-strip, include/linux/iommu.h:struct dev_iommu.pci_32bit_workaround; its dma-iommu.c is stripped) and v6.8.0 (vivo50kff/linux-6.8, drivers/iommu/dma-iommu.c:iommu_dma_alloc_iova clears it after a failed 32-bit attempt)",
});


/**
 * dma_info_to_prot(dir, coherent, attrs): IOMMU_READ/WRITE from the
 * direction, IOMMU_CACHE for a coherent device, IOMMU_MMIO for
 * DMA_ATTR_MMIO, IOMMU_PRIV for DMA_ATTR_PRIVILEGED; 0 for DMA_NONE.
 * Source: drivers/iommu/dma-iommu.c (v6.19; v4.4 dma_direction_to_prot without attrs).
 */
export function dmaInfoToProt(dir: number, coherent: boolean, attrs: number): number {
  if (dir !== DMA_BIDIRECTIONAL && dir !== DMA_TO_DEVICE && dir !== DMA_FROM_DEVICE && dir !== 3) throw new ModelConfigError("dmaInfoToProt(dir)", dir, "DMA_BIDIRECTIONAL (0), DMA_TO_DEVICE (1), DMA_FROM_DEVICE (2) or DMA_NONE (3)");
  if (typeof coherent !== "boolean") throw new ModelConfigError("dmaInfoToProt(coherent)", coherent, "a boolean (dev_is_dma_coherent)");
  if (!(Number.isSafeInteger(attrs) && attrs >= 0 && attrs <= 0x7fffffff)) checkAttrs("dmaInfoToProt(attrs)", attrs);
  let prot = hasAttr(attrs, DMA_ATTR_MMIO) ? IOMMU_MMIO : coherent ? IOMMU_CACHE : 0;
  if (hasAttr(attrs, DMA_ATTR_PRIVILEGED)) prot += IOMMU_PRIV;
  if (dir === DMA_BIDIRECTIONAL) return prot + IOMMU_READ + IOMMU_WRITE;
  if (dir === DMA_TO_DEVICE) return prot + IOMMU_READ;
  if (dir === DMA_FROM_DEVICE) return prot + IOMMU_WRITE;
  return 0;
}

// --- IOVA allocation

export { IOVA_RANGE_CACHE_MAX_SIZE };

/** Options of {@link iommuDmaAllocIova} that correspond to kernel command-line switches. */
export interface IommuDmaOptions {
  /** iommu.forcedac=1: PCI devices skip the below-4G first attempt (v5.13+ switch). */
  forcedac?: boolean;
  /**
   * The CPU the call runs on (smp_processor_id()): its rcache magazines and
   * its flush queue are used. An integer in [0, domain cpus - 1], default 0;
   * ModelConfigError otherwise (before any change).
   */
  cpu?: number;
}

/** opts.cpu checked against the domain's CPUs (default 0). */
function cpuOf(domain: IommuDomain, opts: IommuDmaOptions | undefined, fn: string): number {
  const c = opts?.cpu;
  if (c === undefined) return 0;
  if (!(Number.isSafeInteger(c) && c >= 0 && c < domain.cpus)) checkInt(`${fn}(opts.cpu)`, c, 0, domain.cpus - 1);
  return c;
}

/**
 * Check `opts.cpu` for a call on `dev` before anything changes (for callers
 * such as lib/dma/mapping.ts that do dma-debug bookkeeping first).
 * @throws ModelConfigError naming `${fn}(opts.cpu)` when it is not in [0, cpus - 1],
 * or for a device without an IOMMU DMA domain.
 */
export function iommuDmaCheckCpu(dev: Device, opts: IommuDmaOptions | undefined, fn: string): void {
  cpuOf(domainOf(dev).domain, opts, fn);
}

/** The domain's simulated time for the flush queue: the trace clock, whole ns. */
function nowNs(domain: IommuDomain): number {
  return Math.floor(domain.trace.nowNs);
}

function domainOf(dev: Device): { domain: IommuDomain; iovad: IovaDomain } {
  const domain = dev.iommuDomain;
  if (!domain || domain.type !== "DMA" || !domain.iovad) {
    throw new ModelConfigError(`device(${dev.name}).iommuDomain`, domain ? domain.type : null, "an initialised IOMMU DMA domain");
  }
  return { domain, iovad: domain.iovad };
}

/**
 * iommu_dma_alloc_iova(domain, size, dma_limit, dev): an IOVA range of
 * `size` bytes (a multiple of the granule, as callers pass it) below the
 * limit, size-aligned. Each step switches at its own release:
 * - v4.4 (`__alloc_iova`): alloc_iova(iovad, iova_align(size) >> shift,
 *   dma_limit >> shift, true);
 * - v4.9+ ({@link CHANGE_IOMMU_DMA_APERTURE_CLAMP}): limit = min(limit,
 *   aperture_end) with force_aperture;
 * - v4.11+ ({@link CHANGE_IOMMU_DMA_PCI_SAC_FIRST}): a PCI device (unless
 *   `forcedac`) first tries below 4 GiB when its limit is above, then the
 *   full limit;
 * - v4.12+ ({@link CHANGE_IOMMU_DMA_ALLOC_IOVA}): sizes below 32 pages are
 *   rounded up to a power of two (alloc_iova_fast; in alloc_iova_fast
 *   itself from v5.17, same result);
 * - v4.19+ ({@link CHANGE_IOMMU_DMA_BUS_DMA_LIMIT}): limit =
 *   min_not_zero(dma_limit, bus_dma_limit) before the aperture clamp;
 * - v6.6+ ({@link CHANGE_IOMMU_DMA_PCI_32BIT_STICKY}): after the first
 *   failed 32-bit attempt the device's flag (kept on its iommu-dma cookie,
 *   `pci32bitWorkaroundCleared`) is cleared, a "Using N-bit DMA addresses"
 *   notice is traced, and later allocations go straight to the full limit.
 * From v4.12 the allocation is alloc_iova_fast on `opts.cpu` (default 0):
 * the CPU's rcache magazine first, then the rbtree; the 32-bit attempt
 * without, the full-limit attempt with flush_rcache (v4.15+; always before).
 * @returns the DMA address, or 0 on failure (the kernel's 0 IOVA).
 * @throws ModelConfigError for a device without a DMA domain, a size that
 * is not a positive integer.
 * Source: drivers/iommu/dma-iommu.c __alloc_iova (v4.4.1, v4.7.4, v4.9.0,
 * v4.10.17, v4.11.0), iommu_dma_alloc_iova (v4.12.0, v4.19.1, v5.4.6,
 * v6.5.0, v6.8.0, v6.19); drivers/iommu/iova.c alloc_iova_fast (v6.19).
 */
export function iommuDmaAllocIova(domain: IommuDomain, size: number, dmaLimit: number, dev: Device, opts: IommuDmaOptions = {}): DmaAddr {
  checkInt("iommuDmaAllocIova(size)", size, 1);
  checkInt("iommuDmaAllocIova(dmaLimit)", dmaLimit);
  const iovad = domain.iovad;
  if (!iovad) throw new ModelConfigError("domain.iovad", null, "an initialised IOVA domain");
  const cpu = cpuOf(domain, opts, "iommuDmaAllocIova");
  const g = iovad.granule;
  const k = dev.kernel;
  const rounding = atLeast(k, CHANGE_IOMMU_DMA_ALLOC_IOVA);
  const rc = rounding ? iovad.rcaches : undefined;
  let pages = rounding ? Math.floor(size / g) : iovaAlign(iovad, size) / g;
  if (rounding && pages < 2 ** (IOVA_RANGE_CACHE_MAX_SIZE - 1)) pages = roundupPowOfTwo(pages);
  let limit = atLeast(k, CHANGE_IOMMU_DMA_BUS_DMA_LIMIT) ? minNotZero(dmaLimit, dev.busDmaLimit) : dmaLimit;
  if (atLeast(k, CHANGE_IOMMU_DMA_APERTURE_CLAMP) && domain.geometry.forceAperture) limit = Math.min(limit, domain.geometry.apertureEnd);
  const sticky = atLeast(k, CHANGE_IOMMU_DMA_PCI_32BIT_STICKY) ? iommuDmaCookieOf(dev) : null;
  const pci32First = atLeast(k, CHANGE_IOMMU_DMA_PCI_SAC_FIRST) && dev.bus === "pci" && !opts.forcedac && !(sticky && sticky.pci32bitWorkaroundCleared);
  let iova = 0;
  if (limit > DMA_BIT_MASK(32) && pci32First) {
    iova = tryAllocIova(domain, iovad, rc, cpu, pages, DMA_BIT_MASK(32), false);
    if (!iova && sticky) {
      sticky.pci32bitWorkaroundCleared = true;
      // bits_per(dma_limit); a limit saturated at MAX_ADDR stands for DMA_BIT_MASK(64) (the model keeps addresses below 2^53).
      dev.trace.record({ fn: "iommu_dma_alloc_iova", kind: "dev_notice", level: "info", msg: `${dev.name}: Using ${limit >= MAX_ADDR ? 64 : fls(limit)}-bit DMA addresses`, data: { limit } });
    }
  }
  if (!iova) iova = tryAllocIova(domain, iovad, rc, cpu, pages, limit, true);
  return iova as DmaAddr;
}

/**
 * One allocation attempt of iommuDmaAllocIova below `limit` (bytes, clamped
 * to the IOVA space): alloc_iova_fast on `cpu` when the rcaches are used
 * (`rc`), else alloc_iova size-aligned; counts the fast/slow path.
 * @returns the IOVA in bytes, 0 on failure.
 */
function tryAllocIova(domain: IommuDomain, iovad: IovaDomain, rc: IovaDomain["rcaches"] | undefined, cpu: number, pages: number, limit: number, flush: boolean): number {
  const g = iovad.granule;
  const lp = Math.min(Math.floor(limit / g), iovad.maxPfn);
  if (lp < iovad.startPfn || pages > lp - iovad.startPfn + 1) return 0;
  const st = domain.stats;
  if (rc) {
    // alloc_iova_fast on the calling CPU; before v4.15 it has no flush_rcache argument and always flushes.
    const before = rc.cachedCount;
    const pfn = allocIovaFast(iovad, pages, lp, flush || !rc.flushOptional, cpu);
    if (pfn) {
      if (rc.cachedCount === before - 1) st.iovaAllocFast++;
      else st.iovaAllocSlow++;
    }
    return pfn * g;
  }
  const r = allocIova(iovad, pages, lp, true);
  if (r) st.iovaAllocSlow++;
  return r ? r.pfnLo * g : 0;
}

/** Options of {@link iommuDmaFreeIova}. */
export interface IommuDmaFreeIovaOptions {
  /** The CPU giving the range back (its rcache / flush queue), default 0. */
  cpu?: number;
  /** The unmap path of a lazy domain: queue the range on the flush queue instead of freeing it (v4.20+). */
  queued?: boolean;
}

/**
 * iommu_dma_free_iova(cookie, dma_addr, size): give the IOVA range at
 * `dmaAddr` back.
 * - v4.12+ ({@link CHANGE_IOMMU_DMA_ALLOC_IOVA}): `size` bytes (the
 *   caller's iova_align'd length; absent: the allocated range's length) go
 *   back with free_iova_fast(pfn, size >> shift) into CPU `opts.cpu`'s rcache
 *   (orders 0..5; larger ranges to the rbtree), or, with `opts.queued` on a
 *   lazy domain, onto that CPU's flush queue (queue_iova: freed after the
 *   next IOTLB flush-all);
 * - v4.4..v4.11: `size` is not used: the allocation holding the pfn
 *   (find_iova) is freed whole (__free_iova).
 * @returns the bytes given back (or queued): v4.12+ `size` (the range's
 *   length when absent), before the whole allocation; 0 if no allocation
 *   starts (v4.12+) or lies (before) there.
 * @throws ModelConfigError naming the argument, before any change: a
 *   dmaAddr or size that is not a non-negative safe integer (size >= 1) or
 *   lies beyond the domain's IOVA space, a bad opts.cpu, a range already
 *   cached or queued (a double free). A size of another order than the
 *   allocated range is not refused: strict or lazy, the pfn is filed by
 *   order_base_2(size) (at once, or when the flush queue frees it) and the
 *   range stays allocated at its own length, with a "warn" event.
 * Source: drivers/iommu/dma-iommu.c __free_iova use in __iommu_dma_unmap
 * (v4.4.1, v4.11.0), iommu_dma_free_iova (v4.12.0, v4.20.0: queue_iova when
 * cookie->fq_domain, v5.4.6, v6.19: queue_iova when gather->queued).
 */
export function iommuDmaFreeIova(domain: IommuDomain, dmaAddr: number, size?: number, opts: IommuDmaFreeIovaOptions = {}): number {
  const iovad = domain?.iovad;
  if (!iovad) throw new ModelConfigError("iommuDmaFreeIova(domain)", domain ? domain.type : domain, "an initialised IOMMU DMA domain");
  const g = iovad.granule;
  const top = (iovad.maxPfn + 1) * g;
  if (!(Number.isSafeInteger(dmaAddr) && dmaAddr >= 0 && dmaAddr < top)) checkInt("iommuDmaFreeIova(dmaAddr)", dmaAddr, 0, top - 1);
  if (size !== undefined && !(Number.isSafeInteger(size) && size >= 1 && size <= top)) checkInt("iommuDmaFreeIova(size)", size, 1, top);
  const cpu = cpuOf(domain, opts, "iommuDmaFreeIova");
  const pfn = Math.floor(dmaAddr / g);
  const rc = iovad.rcaches;
  if (!atLeast(domain.kernel, CHANGE_IOMMU_DMA_ALLOC_IOVA) || !rc) {
    const r = findIova(iovad, pfn);
    if (!r) return 0;
    freeIova(iovad, r.pfnLo);
    domain.stats.iovaFreeDirect++;
    return iovaSize(r) * g;
  }
  const r = findIova(iovad, pfn);
  if (!r || r.pfnLo !== pfn) return 0;
  const pages = size === undefined ? iovaSize(r) : Math.ceil(size / g);
  const otherOrder = orderBase2(pages) !== orderBase2(iovaSize(r));
  if (domain.fq && opts.queued) {
    queueIova(domain.fq, pfn, pages, cpu, nowNs(domain));
    domain.stats.fqQueued++;
    if (otherOrder) {
      // Lazy: queue_iova keeps the size it is given; the flush's free_iova_fast files the pfn by it (flush-queue.ts).
      domain.trace.record({ fn: "iommu_dma_free_iova", kind: "warn", level: "warn", msg: `queue_iova(pfn ${hex(pfn)}, ${pages}) of a ${iovaSize(r)}-granule range: after the flush it is cached at order ${orderBase2(pages)}, the range stays allocated at its length`, data: { pfn, pages, rangePages: iovaSize(r) } });
    }
  } else {
    if (otherOrder) {
      // A driver unmapped another size than it mapped: the kernel files the pfn by the size it is given.
      domain.trace.record({ fn: "iommu_dma_free_iova", kind: "warn", level: "warn", msg: `free_iova_fast(pfn ${hex(pfn)}, ${pages}) of a ${iovaSize(r)}-granule range: cached at order ${orderBase2(pages)}, the range stays allocated at its length`, data: { pfn, pages, rangePages: iovaSize(r) } });
      freeIovaFastAnyOrder(iovad, pfn, pages, cpu);
    } else freeIovaFast(iovad, pfn, pages, cpu);
    domain.stats.iovaFreeDirect++;
    if (rc.depotList) scheduleDepotWork(domain);
  }
  return pages * g;
}

/** v6.7+: a depot push schedules iova_depot_work_func IOVA_DEPOT_DELAY later (lib/iommu/domain.ts iommuDomainAdvanceTime runs it). */
function scheduleDepotWork(domain: IommuDomain): void {
  const rc = domain.iovad!.rcaches!;
  for (let o = 0; o < IOVA_RANGE_CACHE_MAX_SIZE; o++) {
    if (rc.rcaches[o]!.workPending && domain.depotDueNs[o]! < 0) domain.depotDueNs[o] = nowNs(domain) + IOVA_DEPOT_DELAY_NS;
  }
}

/**
 * The IOTLB side of __iommu_dma_unmap after the PTEs of [iova, iova + len)
 * are gone: strict (and every release before v4.20): one range invalidation
 * (iommu_tlb_sync / iommu_iotlb_sync of the gathered range; iommu_unmap's own
 * sync before v4.20); lazy: nothing now (the flush queue flushes all later).
 */
function unmapSync(domain: IommuDomain, iova: number, len: number): void {
  if (domain.fq || len < 1) return;
  iotlbInvalidateRange(domain.iommu.iotlb, iova, len);
  domain.stats.iotlbInvalidateRange++;
}

// --- map_sg

export type { MapSgLayout, MapSgSegmentLayout } from "./dma-cookie.js";

/**
 * The layout of the last iommu_dma_map_sg call on `dev` (kept even when the
 * caller unmapped afterwards), or null. Model helper for charts and tests.
 */
export function iommuDmaLastMapSgLayout(dev: Device): MapSgLayout | null {
  return dev.iommuDmaCookie?.lastMapSgLayout ?? null;
}

/** __finalise_sg, v4.4 form: one DMA segment per entry. */
function finaliseSgV44(sgl: Scatterlist[], nents: number, dmaAddr: number): number {
  let addr = dmaAddr;
  forEachSg(sgl, nents, (s) => {
    const sOffset = s.dmaAddress as number; // stashed iova offset
    const sLength = s.dmaLength; // stashed original length
    const sDmaLen = s.length; // aligned length + padding
    s.offset = sOffset;
    s.length = sLength;
    s.dmaAddress = (addr + sOffset) as DmaAddr;
    addr += sDmaLen;
  });
  return nents;
}

/** __finalise_sg, v4.7+ form: merge IOVA-contiguous entries up to max_len, never at a boundary. */
function finaliseSgMerge(dev: Device, sgl: Scatterlist[], nents: number, dmaAddr: number): number {
  const segMask = dmaGetSegBoundary(dev);
  const maxLen = dmaGetMaxSegSize(dev);
  const newCheck = atLeast(dev.kernel, CHANGE_IOMMU_DMA_SG_OVERFLOW);
  let cur = 0;
  let curLen = 0;
  let count = 0;
  let addr = dmaAddr;
  for (let i = 0; i < nents; i++) {
    const s = sgl[i]!;
    const sIovaOff = u32(s.dmaAddress as number);
    const sLength = s.dmaLength;
    const sIovaLen = s.length;
    s.offset = u32(s.offset + sIovaOff);
    s.length = sLength;
    s.dmaAddress = DMA_MAPPING_ERROR;
    s.dmaLength = 0;
    const fits = newCheck ? u32(maxLen - curLen) >= sLength : u32(curLen + sLength) <= maxLen;
    if (curLen && !sIovaOff && andMask(addr, segMask) !== 0 && fits) {
      curLen = u32(curLen + sLength);
    } else {
      if (i > 0) cur++;
      curLen = sLength;
      count++;
      sgl[cur]!.dmaAddress = (addr + sIovaOff) as DmaAddr;
    }
    sgl[cur]!.dmaLength = curLen;
    addr += sIovaLen;
    if (u32(sLength + sIovaOff) < sIovaLen) curLen = 0;
  }
  return count;
}

/** __invalidate_sg: restore the entries after a failed map. */
function invalidateSg(dev: Device, sgl: Scatterlist[], nents: number): void {
  const old = !atLeast(dev.kernel, CHANGE_IOMMU_DMA_SG_MERGING);
  forEachSg(sgl, nents, (s) => {
    if (s.dmaAddress !== DMA_MAPPING_ERROR) s.offset = old ? (s.dmaAddress as number) : u32(s.offset + (s.dmaAddress as number));
    if (s.dmaLength) s.length = s.dmaLength;
    s.dmaAddress = DMA_MAPPING_ERROR;
    s.dmaLength = 0;
  });
}

/**
 * iommu_dma_map_sg(dev, sg, nents, dir, attrs): map the first `nents`
 * entries into one IOVA allocation (see the module comment for the two
 * layouts). On success the entries carry their DMA segments
 * (sg_dma_address / sg_dma_len; the first `ret` entries are the segments)
 * and the CPU fields are restored.
 * @returns the number of DMA segments (v4.4..v4.6: nents). On failure the
 * entries are restored with DMA_MAPPING_ERROR / 0 and the return is 0
 * before v5.15, -ENOMEM (no IOVA space) or -EINVAL (mapping failed) from v5.15.
 * @throws ModelConfigError for a device without an IOMMU DMA domain, an
 * invalid direction, or nents outside the list (nothing changed).
 * Source: drivers/iommu/dma-iommu.c iommu_dma_map_sg, __finalise_sg,
 * __invalidate_sg (v4.4.1, v4.7.4, v4.19.1, v5.4.6, v6.19).
 */
export function iommuDmaMapSg(dev: Device, sgl: Scatterlist[], nents: number, dir: number, attrs = 0, opts: IommuDmaOptions & { pageSize?: number } = {}): number {
  const { domain, iovad } = domainOf(dev);
  checkDirection("iommuDmaMapSg(dir)", dir);
  checkAttrs("iommuDmaMapSg(attrs)", attrs);
  // Every entry is checked before the first cache maintenance or field rewrite.
  checkSgEntries("iommuDmaMapSg", sgl, nents, 0);
  cpuOf(domain, opts, "iommuDmaMapSg");
  const pageSize = opts.pageSize ?? 4096;
  const merging = atLeast(dev.kernel, CHANGE_IOMMU_DMA_SG_MERGING);
  const errnoRet = atLeast(dev.kernel, CHANGE_MAP_SG_ERRNO);
  const mask = dmaGetSegBoundary(dev);
  const prot = dmaInfoToProt(dir, dev.dmaCoherent, attrs);
  const layout: MapSgLayout = {
    kernel: dev.kernel.name,
    form: merging ? "boundary-merge" : "natural-align",
    iovaBase: 0,
    iovaLen: 0,
    iovaAllocBytes: 0,
    segBoundaryMask: mask,
    maxSegSize: dmaGetMaxSegSize(dev),
    segments: [],
    pteWrites: 0,
    dmaSegments: [],
    ret: 0,
  };
  iommuDmaCookieOf(dev).lastMapSgLayout = layout;
  // v6.19 iommu_dma_map_sg (and v4.4's arm64 __iommu_map_sg_attrs) sync every CPU entry for the device first.
  if (!hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC)) iommuSyncSgEntries(dev, sgl, nents, dir, false, "iommu_dma_sync_sg_for_device", pageSize);

  let iovaLen = 0;
  let prev = -1;
  const rel: number[] = []; // IOVA offset of each entry's aligned start, relative to the allocation
  for (let i = 0; i < nents; i++) {
    const s = sgl[i]!;
    const sIovaOff = iovaOffset(iovad, s.offset);
    let sLength = s.length;
    layout.segments.push({ index: i, phys: s.pfn === null ? null : sgPhys(s, pageSize), offset: s.offset, length: s.length, iovaOffset: sIovaOff, iovaStart: 0, iovaLength: 0, padding: 0 });
    s.dmaAddress = sIovaOff as DmaAddr;
    s.dmaLength = sLength;
    s.offset -= sIovaOff;
    sLength = iovaAlign(iovad, sLength + sIovaOff);
    s.length = u32(sLength);
    let pad = 0;
    if (!merging) {
      if (prev >= 0) {
        const p2 = roundupPowOfTwo(Math.max(1, sLength));
        pad = wrapToMask(p2 - iovaLen, p2 - 1);
      }
    } else if (iovaLen !== 0 && sLength === 0 && mask === MAX_ADDR) {
      // The boundary mask is ULONG_MAX (MAX_ADDR stands for it): pad_len = 2^64 - iova_len, and
      // "pad_len < s_length - 1" holds because s_length - 1 wraps to SIZE_MAX. prev->length
      // (unsigned int) += pad_len leaves prev->length - iova_len mod 2^32, and iova_len wraps to 0
      // (v6.19 drivers/iommu/dma-iommu.c iommu_dma_map_sg, exact 64-bit arithmetic, no JS bitwise).
      const wrapped = (((sgl[prev]!.length - iovaLen) % 2 ** 32) + 2 ** 32) % 2 ** 32;
      dev.trace.record({ fn: "iommu_dma_map_sg", kind: "map_sg_pad_wrap", level: "warn", msg: `zero-length entry ${i} after ${hex(iovaLen)} bytes with a ULONG_MAX segment boundary: pad_len = 2^64 - ${hex(iovaLen)} wraps iova_len to 0 and sets entry ${prev}'s length to ${hex(wrapped)}`, data: { entry: i, prev, iovaLen, prevLength: wrapped } });
      sgl[prev]!.length = wrapped;
      iovaLen = 0;
    } else {
      // (mask - iova_len + 1) & mask; iova_len is 0 only before the first entry, where it is 0.
      const p = iovaLen === 0 ? 0 : wrapToMask(mask - iovaLen + 1, mask);
      if (p && (sLength === 0 || p < sLength - 1)) pad = p;
    }
    if (pad) {
      sgl[prev]!.length = u32(sgl[prev]!.length + pad);
      layout.segments[prev]!.padding += pad;
      iovaLen += pad;
    }
    rel.push(iovaLen);
    layout.segments[i]!.iovaLength = sLength;
    iovaLen += sLength;
    prev = i;
  }
  layout.iovaLen = iovaLen;

  const fail = (ret: number): number => {
    invalidateSg(dev, sgl, nents);
    layout.ret = errnoRet ? (ret !== -ENOMEM && ret !== -EREMOTEIO ? -EINVAL : ret) : 0;
    dev.trace.record({ fn: "iommu_dma_map_sg", kind: "map_sg_failed", level: "warn", msg: `iommu_dma_map_sg failed (${layout.ret})`, data: { nents, iovaLen } });
    return layout.ret;
  };

  if (iovaLen === 0) {
    // v6.19: nothing to map (only P2P bus addresses); not reachable before.
    const n = merging ? finaliseSgMerge(dev, sgl, nents, 0) : finaliseSgV44(sgl, nents, 0);
    layout.ret = n;
    return n;
  }
  const iova = iommuDmaAllocIova(domain, iovaLen, dmaGetMask(dev), dev, opts);
  if (!iova) return fail(-ENOMEM);
  const alloc = findIova(iovad, Math.floor(iova / iovad.granule));
  layout.iovaBase = iova;
  layout.iovaAllocBytes = alloc ? iovaSize(alloc) * iovad.granule : 0;
  layout.segments.forEach((seg, i) => {
    seg.iovaStart = iova + rel[i]!;
  });
  const before = domain.pgtable.pteWrites;
  const mapped = iommuMapSg(domain, iova, sgl, nents, prot, pageSize);
  layout.pteWrites = domain.pgtable.pteWrites - before;
  if (mapped < 0 || mapped < iovaLen) {
    iommuDmaFreeIova(domain, iova, iovaAlign(iovad, iovaLen), opts.cpu !== undefined ? { cpu: opts.cpu } : {});
    return fail(mapped < 0 ? mapped : -EINVAL);
  }
  const n = merging ? finaliseSgMerge(dev, sgl, nents, iova) : finaliseSgV44(sgl, nents, iova);
  layout.ret = n;
  for (let i = 0; i < n; i++) layout.dmaSegments.push({ dmaAddress: sgl[i]!.dmaAddress as number, dmaLength: sgl[i]!.dmaLength });
  registerSgMapping(dev, sgl, nents, n, dir, pageSize);
  if (dev.trace.keepEvents) {
    dev.trace.record({
      fn: "iommu_dma_map_sg",
      kind: "map_sg",
      msg: `mapped ${nents} entries at IOVA 0x${iova.toString(16)} (0x${iovaLen.toString(16)} bytes laid out, ${n} DMA segments)`,
      data: { nents, segments: n, iova, iovaLen, allocBytes: layout.iovaAllocBytes, ptes: layout.pteWrites },
    });
  }
  return n;
}

/**
 * iommu_dma_unmap_sg(dev, sg, nents, dir, attrs): unmap and free the one
 * IOVA allocation a successful iommu_dma_map_sg made.
 * - v4.4..v4.11: find the allocation containing sg_dma_address(first entry),
 *   unmap its whole size, free it (nents is not used);
 * - v4.12+ ({@link CHANGE_IOMMU_DMA_SIZED_UNMAP}): start = the first segment's DMA address, end = the end of the
 *   last segment with a non-zero sg_dma_len; unmap iova_align(end - start
 *   + offset) bytes from the granule-aligned start and free that range
 *   (strict: range invalidation, free_iova_fast on `opts.cpu`; lazy: queued).
 * @returns nothing in the kernel; the model returns the bytes unmapped.
 * @throws ModelConfigError for a device without an IOMMU DMA domain.
 * Source: drivers/iommu/dma-iommu.c iommu_dma_unmap_sg, __iommu_dma_unmap (v4.4.1, v4.11.0, v4.12.0, v4.19.1, v6.19).
 */
export function iommuDmaUnmapSg(dev: Device, sgl: Scatterlist[], nents: number, dir: number, attrs = 0, opts: IommuDmaOptions = {}): number {
  const { domain, iovad } = domainOf(dev);
  checkInt("iommuDmaUnmapSg(nents)", nents, 1, sgl.length);
  checkDirection("iommuDmaUnmapSg(dir)", dir);
  const cpu = cpuOf(domain, opts, "iommuDmaUnmapSg");
  // iommu_dma_unmap_sg: iommu_dma_sync_sg_for_cpu over the CPU entries (sg_phys, length) first.
  if (!hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC)) iommuSyncSgEntries(dev, sgl, nents, dir, true, "iommu_dma_sync_sg_for_cpu", pageSizeOf(dev));
  forgetMapping(dev, sgl[0]!.dmaAddress as number);
  if (!atLeast(dev.kernel, CHANGE_IOMMU_DMA_SIZED_UNMAP)) {
    // v4.4..v4.11: __iommu_dma_unmap(domain, sg_dma_address(sg)), nents unused.
    const a = sgl[0]!.dmaAddress as number;
    return a >= 0 ? unmapWholeIova(dev, a) : 0;
  }
  let start = -1;
  let end = 0;
  for (let i = 0; i < nents; i++) {
    const s = sgl[i]!;
    if (s.dmaLength === 0) break;
    if (start < 0) start = s.dmaAddress as number;
    end = (s.dmaAddress as number) + s.dmaLength;
  }
  if (start < 0 || !end) return 0;
  const off = iovaOffset(iovad, start);
  const base = start - off;
  const size = iovaAlign(iovad, end - start + off);
  const unmapped = iommuUnmap(domain, base, size);
  if (unmapped !== size) {
    dev.trace.record({ fn: "__iommu_dma_unmap", kind: "warn", level: "warn", msg: `WARN_ON(unmapped ${unmapped} != size ${size})`, data: { unmapped, size } });
  }
  unmapSync(domain, base, size);
  iommuDmaFreeIova(domain, base, size, { cpu, queued: true });
  return unmapped;
}

// --- Streaming single buffers, syncs and cache maintenance (the cache model on the IOMMU path)
//
// Rules (our words), per release read:
// - v6.19 drivers/iommu/dma-iommu.c: iommu_dma_map_phys syncs the physical
//   buffer for the device (arch_sync_dma_for_device) unless the device is
//   coherent or DMA_ATTR_SKIP_CPU_SYNC / DMA_ATTR_MMIO is set, then
//   __iommu_dma_map: IOVA of iova_align(size + iova_offset(phys)) bytes below
//   dma_get_mask(dev), iommu_map of the granule-aligned span, handle = IOVA +
//   the offset. iommu_dma_unmap_phys: iommu_iova_to_phys(handle) (WARN and
//   return if 0), arch_sync_dma_for_cpu unless coherent / SKIP_CPU_SYNC, then
//   __iommu_dma_unmap. iommu_dma_sync_single_for_cpu/_for_device: nothing on a
//   coherent device, else iommu_iova_to_phys then the arch sync.
//   iommu_dma_sync_sg_for_cpu/_for_device: for a non-coherent device the arch
//   sync on each entry's sg_phys for its sg->length (the CPU fields).
// - v5.4.6: iommu_dma_map_page maps first and syncs only if the map succeeded
//   (v6.19 syncs before mapping, whatever the outcome). The model follows
//   v5.4's order on every release: the cache outcome differs only when the
//   map fails.
// - v4.4.1: the same rules lived in arch/arm64/mm/dma-mapping.c
//   (__iommu_map_page, __iommu_unmap_page, __iommu_sync_single_for_cpu/
//   _for_device through iommu_iova_to_phys, __iommu_sync_sg_for_* per entry).
// Not modelled: the swiotlb bounce of dev_use_swiotlb / dev_use_sg_swiotlb
// (untrusted PCI devices behind an external-facing port, which the model's
// platforms do not have; and from v6.5 small kmalloc buffers that are not
// cache-line aligned on arm64, dma_kmalloc_needs_bounce: iommuDmaMapPage
// records a "would_bounce" warning and maps the buffer in place); the flush
// queue (unmaps are strict).

function pageSizeOf(dev: Device): number {
  return dev.cacheHost ? dev.cacheHost.profile.pageSize : 4096;
}

function hostMachine(dev: Device): DmaMachine | null {
  // The device's cacheHost is the Machine that created it, which implements DmaMachine.
  return dev.cacheHost ? (dev.cacheHost as unknown as DmaMachine) : null;
}

const NO_SYNC: SyncOutcome = noSync();

/** arch_sync_dma_for_device / _for_cpu on [paddr, paddr + size) through the machine's arch rules; nothing for a coherent device. */
function archSyncPhys(dev: Device, paddr: number, size: number, dir: number, toCpu: boolean): SyncOutcome {
  const m = hostMachine(dev);
  if (!m || dev.dmaCoherent || size < 1) return NO_SYNC;
  return toCpu ? archSyncDmaForCpuOn(m, paddr, size, dir) : archSyncDmaForDeviceOn(m, paddr, size, dir);
}

function addOutcome(a: SyncOutcome, b: SyncOutcome): SyncOutcome {
  return { ops: [...a.ops, ...b.ops], lines: a.lines + b.lines, writebacks: a.writebacks + b.writebacks, costNs: a.costNs + b.costNs };
}

function describe(dev: Device, out: SyncOutcome): string {
  if (dev.dmaCoherent) return "coherent device, no cache maintenance";
  return describeOps(out.ops);
}

function callCost(dev: Device): number {
  const m = hostMachine(dev);
  return m ? machineCosts(m).mapCallNs : 0;
}

function cacheStep(dev: Device, where: string): void {
  const m = hostMachine(dev);
  if (m) m.cpuCache.step(where);
}

export type { IommuMappedPiece, IommuStreamingMapping } from "./dma-cookie.js";

function addSpec(dev: Device, paddr: number, size: number): number {
  const m = hostMachine(dev);
  // Only RAM with a cacheable linear alias can be speculatively fetched (not MMIO or no-map memory).
  if (!m || size < 1 || !m.mm.isRam(paddr) || !m.mm.hasLinearAlias(paddr)) return 0;
  return m.cpuCache.addSpeculationRange(paddr, size, m.cpuCache.colourOf(physToVirt(m, paddr)));
}

function remember(dev: Device, rec: IommuStreamingMapping): void {
  iommuDmaCookieOf(dev).streaming.set(rec.dmaAddr, rec);
}

function forgetMapping(dev: Device, key: number): void {
  const map = dev.iommuDmaCookie?.streaming;
  if (!map) return;
  let rec = map.get(key);
  if (!rec) {
    // A handle with another in-granule offset (a stale handle whose IOVA was handed out again,
    // e.g. from an rcache magazine) unmaps the mapping that starts in the same granule.
    const g = dev.iommuDomain?.iovad?.granule ?? 4096;
    for (const [k, r] of map) {
      if (Math.floor(k / g) === Math.floor(key / g)) {
        rec = r;
        key = k;
        break;
      }
    }
    if (!rec) return;
  }
  const m = hostMachine(dev);
  if (m) for (const p of rec.pieces) if (p.specId) m.cpuCache.removeSpeculationRange(p.specId);
  map.delete(key);
}

function registerSgMapping(dev: Device, sgl: Scatterlist[], nents: number, segs: number, dir: number, pageSize: number): void {
  const pieces: IommuMappedPiece[] = [];
  for (let i = 0; i < nents; i++) {
    const s = sgl[i]!;
    if (s.pfn === null || s.length < 1) continue;
    const pa = sgPhys(s, pageSize);
    pieces.push({ paddr: pa, size: s.length, specId: addSpec(dev, pa, s.length) });
  }
  let size = 0;
  for (let i = 0; i < segs; i++) size += sgl[i]!.dmaLength;
  remember(dev, { kind: "sg", dmaAddr: sgl[0]!.dmaAddress as number, size, dir, pieces });
}

/**
 * The active iommu-dma streaming mappings of a device (model helper for
 * tests and charts; the kernel keeps no such list outside dma-debug).
 */
export function iommuActiveMappings(dev: Device): IommuStreamingMapping[] {
  const map = dev.iommuDmaCookie?.streaming;
  return map ? [...map.values()] : [];
}

/** The per-entry arch sync of iommu_dma_sync_sg_for_cpu/_for_device over the CPU fields (sg_phys, length). */
function iommuSyncSgEntries(dev: Device, sgl: Scatterlist[], nents: number, dir: number, toCpu: boolean, fn: string, pageSize: number): SyncOutcome {
  let out = NO_SYNC;
  if (dev.dmaCoherent || !dev.cacheHost) return out;
  for (let i = 0; i < nents; i++) {
    const s = sgl[i]!;
    if (s.pfn === null || s.length < 1) continue;
    out = addOutcome(out, archSyncPhys(dev, sgPhys(s, pageSize), s.length, dir, toCpu));
  }
  dev.trace.record({
    fn,
    kind: toCpu ? "dma_sync_for_cpu" : "dma_sync_for_device",
    msg: `${fn}(${dev.name}, ${nents} entries, ${dirName(dir)}): ${describe(dev, out)}`,
    costNs: out.costNs,
    data: { nents, dir, lines: out.lines, writebacks: out.writebacks, call: toCpu ? "sync_for_cpu" : "sync_for_device" },
  });
  return out;
}

/**
 * __iommu_dma_map(dev, phys, size, prot, dma_mask): an IOVA range of
 * iova_align(size + iova_offset(phys)) bytes below `dmaMask`
 * ({@link iommuDmaAllocIova}), iommu_map of the granule-aligned physical
 * span, and the handle IOVA + iova_offset(phys).
 * @returns the handle, or DMA_MAPPING_ERROR (no IOVA space; iommu_map failed,
 * the IOVA is then given back).
 * @throws ModelConfigError for a device without a DMA domain or bad numbers.
 * Source: drivers/iommu/dma-iommu.c __iommu_dma_map (v5.4.6, v6.19).
 */
export function iommuDmaMapPhysRange(dev: Device, phys: number, size: number, prot: number, dmaMask: number, opts: IommuDmaOptions = {}): DmaAddr {
  const { domain, iovad } = domainOf(dev);
  checkInt("__iommu_dma_map(phys)", phys);
  checkInt("__iommu_dma_map(size)", size, 1);
  checkInt("__iommu_dma_map(prot)", prot, 0, 63); // checked before the IOVA is allocated (iommuMap's own check comes too late)
  checkInt("__iommu_dma_map(dmaMask)", dmaMask);
  cpuOf(domain, opts, "__iommu_dma_map");
  const off = iovaOffset(iovad, phys);
  const len = iovaAlign(iovad, size + off);
  const iova = iommuDmaAllocIova(domain, len, dmaMask, dev, opts);
  if (!iova) return DMA_MAPPING_ERROR;
  if (iommuMap(domain, iova, phys - off, len, prot) !== 0) {
    iommuDmaFreeIova(domain, iova, len, opts.cpu !== undefined ? { cpu: opts.cpu } : {});
    return DMA_MAPPING_ERROR;
  }
  return (iova + off) as DmaAddr;
}

/**
 * v4.12: __iommu_dma_unmap takes a size. Before it (v4.4..v4.11) the unmap
 * looked up the IOVA allocation holding the handle (find_iova) and tore down
 * the allocation's whole size from the handle's granule, whatever size the
 * caller passed; from v4.12 the caller's size (plus the in-granule offset)
 * is what gets unmapped and freed.
 */
export const CHANGE_IOMMU_DMA_SIZED_UNMAP = defineChange({
  id: "iommu-dma-sized-unmap",
  since: "v4.12",
  commit: "842fe519f68b (recalled, not verified)",
  subject: "iommu/dma: Convert to address-based allocation",
  files: ["drivers/iommu/dma-iommu.c"],
  effect: "__iommu_dma_unmap(domain, dma_addr, size) unmaps iova_align(size + offset) bytes and frees them with iommu_dma_free_iova; before, __iommu_dma_unmap(domain, dma_addr) unmapped iova_size(find_iova(pfn)) granules from the handle's granule and __free_iova'd the whole allocation (iommu_dma_unmap_page/_sg/_resource ignored their size and nents).",
  bracket: "absent in v4.11.0 (HCLS/linux-4.11, drivers/iommu/dma-iommu.c:__iommu_dma_unmap(domain, dma_addr) with find_iova), present in v4.12.0 (jason50123/linux-4.12, same file:__iommu_dma_unmap(domain, dma_addr, size))",
});

/**
 * __iommu_dma_unmap for the handle `dmaAddr` and the caller's `size`:
 * - v4.12+ ({@link CHANGE_IOMMU_DMA_SIZED_UNMAP}): unmap iova_align(size +
 *   iova_offset(dma_addr)) bytes from the granule-aligned start (WARN if a
 *   different amount was mapped there), then strict: invalidate that IOVA
 *   range in the IOTLB and free it (free_iova_fast on `opts.cpu`); lazy
 *   (v4.20+, {@link iommuDomainStrict} false): queue it on that CPU's flush queue;
 * - v4.4..v4.11: `size` is ignored: find the IOVA allocation containing the
 *   handle's pfn (none: WARN and return 0), unmap its whole size starting at
 *   the handle's granule (WARN if less was mapped there), free the allocation.
 * @returns the bytes unmapped (the kernel returns nothing).
 * @throws ModelConfigError for a negative/non-integer address or a size below 1.
 * Source: drivers/iommu/dma-iommu.c __iommu_dma_unmap (v4.4.1, v4.11.0, v4.12.0, v5.4.6, v6.19).
 */
export function iommuDmaUnmapRange(dev: Device, dmaAddr: number, size: number, opts: IommuDmaOptions = {}): number {
  const { domain, iovad } = domainOf(dev);
  checkInt("__iommu_dma_unmap(dma_addr)", dmaAddr);
  checkInt("__iommu_dma_unmap(size)", size, 1);
  const cpu = cpuOf(domain, opts, "__iommu_dma_unmap");
  if (!atLeast(dev.kernel, CHANGE_IOMMU_DMA_SIZED_UNMAP)) return unmapWholeIova(dev, dmaAddr);
  const off = iovaOffset(iovad, dmaAddr);
  const base = dmaAddr - off;
  const len = iovaAlign(iovad, size + off);
  const unmapped = iommuUnmap(domain, base, len);
  if (unmapped !== len) {
    dev.trace.record({ fn: "__iommu_dma_unmap", kind: "warn", level: "warn", msg: `WARN_ON(unmapped ${unmapped} != size ${len}) at IOVA ${hex(base)}`, data: { unmapped, size: len } });
  }
  unmapSync(domain, base, len);
  iommuDmaFreeIova(domain, base, len, { cpu, queued: true });
  return unmapped;
}

/**
 * __iommu_dma_unmap(domain, dma_addr) of v4.4..v4.11: no size; the
 * allocation found by find_iova decides how much is unmapped.
 * Source: drivers/iommu/dma-iommu.c __iommu_dma_unmap (v4.4.1, v4.11.0).
 */
function unmapWholeIova(dev: Device, dmaAddr: number): number {
  const { domain, iovad } = domainOf(dev);
  const g = iovad.granule;
  const pfn = Math.floor(dmaAddr / g);
  const r = findIova(iovad, pfn);
  if (!r) {
    dev.trace.record({ fn: "__iommu_dma_unmap", kind: "warn", level: "warn", msg: `WARN_ON(!iova): no IOVA allocation holds ${hex(dmaAddr)}`, data: { dmaAddr } });
    return 0;
  }
  const len = iovaSize(r) * g;
  const unmapped = iommuUnmap(domain, pfn * g, len);
  if (unmapped < len) {
    dev.trace.record({ fn: "__iommu_dma_unmap", kind: "warn", level: "warn", msg: `WARN_ON(size > 0): unmapped ${unmapped} of ${len} at IOVA ${hex(pfn * g)}`, data: { unmapped, size: len } });
  }
  unmapSync(domain, pfn * g, len);
  freeIova(iovad, r.pfnLo);
  domain.stats.iovaFreeDirect++;
  return unmapped;
}

/**
 * iommu_dma_map_phys (v6.19) / iommu_dma_map_page (v5.4) for `size` bytes
 * at physical `phys`: map through the IOMMU (see
 * {@link iommuDmaMapPhysRange}; the offset inside the granule is kept in the
 * handle), then, for a non-coherent device without DMA_ATTR_SKIP_CPU_SYNC
 * (or DMA_ATTR_MMIO), arch_sync_dma_for_device on the physical buffer.
 * The swiotlb bounce for untrusted devices is not modelled.
 * @returns the DMA address (IOVA + offset), or DMA_MAPPING_ERROR.
 * @throws ModelConfigError for a device without an IOMMU DMA domain, a bad
 * direction, address or size (nothing changes).
 * Source: drivers/iommu/dma-iommu.c iommu_dma_map_phys (v6.19),
 * iommu_dma_map_page (v5.4.6); arch/arm64/mm/dma-mapping.c __iommu_map_page (v4.4.1).
 */
export function iommuDmaMapPage(dev: Device, phys: number, size: number, dir: number, attrs = 0, opts: IommuDmaOptions = {}): DmaAddr {
  checkAttrs("iommuDmaMapPage(attrs)", attrs);
  cpuOf(domainOf(dev).domain, opts, "iommuDmaMapPage");
  const d = checkDirection("iommuDmaMapPage(dir)", dir);
  checkInt("iommuDmaMapPage(phys)", phys);
  checkInt("iommuDmaMapPage(size)", size, 1);
  checkInt("iommuDmaMapPage(phys + size)", phys + size);
  const fn = kernelFunctionName(dev.kernel, "iommu_dma_map_page");
  const prot = dmaInfoToProt(d, dev.dmaCoherent, attrs);
  const g = dev.iommuDomain!.iovad!.granule;
  if ((phys % g !== 0 || size % g !== 0) && dev.cacheHost && !hasAttr(attrs, DMA_ATTR_MMIO) && dmaKmallocNeedsBounce(dev, size, d)) {
    // v6.5+ dev_use_swiotlb (dma_kmalloc_needs_bounce) && iova_unaligned: the kernel bounces here.
    dev.trace.record({ fn, kind: "would_bounce", level: "warn", msg: `${fn}(${dev.name}, phys ${hex(phys)}, ${size}, ${dirName(d)}): dev_use_swiotlb would bounce this small kmalloc buffer through swiotlb; not modelled on the IOMMU path, the buffer is mapped in place`, data: { paddr: phys, size } });
  }
  const dma = iommuDmaMapPhysRange(dev, phys, size, prot, dmaGetMask(dev), opts);
  if (dma === DMA_MAPPING_ERROR) {
    dev.trace.record({ fn, kind: "dma_map_error", level: "warn", msg: `${fn}(${dev.name}, phys ${hex(phys)}, ${size}, ${dirName(d)}): no IOVA space or iommu_map failed, DMA_MAPPING_ERROR`, costNs: callCost(dev), data: { paddr: phys, size } });
    cacheStep(dev, `after ${fn}`);
    return DMA_MAPPING_ERROR;
  }
  const skip = hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC) || hasAttr(attrs, DMA_ATTR_MMIO);
  const out = skip ? NO_SYNC : archSyncPhys(dev, phys, size, d, false);
  remember(dev, { kind: "single", dmaAddr: dma, size, dir: d, pieces: [{ paddr: phys, size, specId: hasAttr(attrs, DMA_ATTR_MMIO) ? 0 : addSpec(dev, phys, size) }] });
  if (!dev.trace.keepEvents) {
    // Events off (benchmarks): only the clock moves; the message and details are not built.
    dev.trace.record({ fn, kind: "dma_map", msg: "", costNs: callCost(dev) + out.costNs });
  } else {
    dev.trace.record({
      fn,
      kind: "dma_map",
      msg: `${fn}(${dev.name}, phys ${hex(phys)}, ${size}, ${dirName(d)}) = IOVA ${hex(dma)}: ${skip && !dev.dmaCoherent ? "DMA_ATTR_SKIP_CPU_SYNC, no cache maintenance" : describe(dev, out)}`,
      costNs: callCost(dev) + out.costNs,
      data: { dmaAddr: dma, paddr: phys, size, dir: d, lines: out.lines, writebacks: out.writebacks, call: "map" },
    });
  }
  cacheStep(dev, `after ${fn}`);
  return dma;
}

/**
 * iommu_dma_unmap_phys (v6.19) / iommu_dma_unmap_page (v5.4): find the
 * physical address with iommu_iova_to_phys (unmapped: WARN and return, as
 * the kernel does), arch_sync_dma_for_cpu on a non-coherent device unless
 * DMA_ATTR_SKIP_CPU_SYNC, then unmap and free the IOVA range.
 * @returns the bytes unmapped (0 after the WARN); the kernel returns nothing.
 * @throws ModelConfigError for a device without an IOMMU DMA domain, a bad direction or size.
 * Source: drivers/iommu/dma-iommu.c iommu_dma_unmap_phys (v6.19), iommu_dma_unmap_page (v5.4.6).
 */
export function iommuDmaUnmapPage(dev: Device, dmaHandle: number, size: number, dir: number, attrs = 0, opts: IommuDmaOptions = {}): number {
  checkAttrs("iommuDmaUnmapPage(attrs)", attrs);
  const { domain } = domainOf(dev);
  cpuOf(domain, opts, "iommuDmaUnmapPage");
  const d = checkDirection("iommuDmaUnmapPage(dir)", dir);
  checkInt("iommuDmaUnmapPage(dmaHandle)", dmaHandle);
  checkInt("iommuDmaUnmapPage(size)", size, 1);
  const fn = kernelFunctionName(dev.kernel, "iommu_dma_unmap_page");
  const phys = iommuIovaToPhys(domain, dmaHandle);
  if (phys === null) {
    dev.trace.record({ fn, kind: "warn", level: "warn", msg: `WARN_ON(!phys): ${dev.name} unmaps IOVA ${hex(dmaHandle)}, which is not mapped`, data: { dmaAddr: dmaHandle, size } });
    return 0;
  }
  const out = hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC) ? NO_SYNC : archSyncPhys(dev, phys, size, d, true);
  const unmapped = iommuDmaUnmapRange(dev, dmaHandle, size, opts);
  forgetMapping(dev, dmaHandle);
  if (!dev.trace.keepEvents) {
    dev.trace.record({ fn, kind: "dma_unmap", msg: "", costNs: callCost(dev) + out.costNs });
  } else {
    dev.trace.record({
      fn,
      kind: "dma_unmap",
      msg: `${fn}(${dev.name}, IOVA ${hex(dmaHandle)}, ${size}, ${dirName(d)}): ${describe(dev, out)}`,
      costNs: callCost(dev) + out.costNs,
      data: { dmaAddr: dmaHandle, paddr: phys, size, dir: d, lines: out.lines, writebacks: out.writebacks, call: "unmap" },
    });
  }
  cacheStep(dev, `after ${fn}`);
  return unmapped;
}

function syncSingle(dev: Device, dmaHandle: number, size: number, dir: number, toCpu: boolean): void {
  const { domain } = domainOf(dev);
  const fn = toCpu ? "iommu_dma_sync_single_for_cpu" : "iommu_dma_sync_single_for_device";
  const d = checkDirection(`${fn}(dir)`, dir);
  checkInt(`${fn}(dmaHandle)`, dmaHandle);
  checkInt(`${fn}(size)`, size, 1);
  let out = NO_SYNC;
  if (!dev.dmaCoherent) {
    const phys = iommuIovaToPhys(domain, dmaHandle);
    if (phys === null) {
      dev.trace.record({ fn, kind: "warn", level: "warn", msg: `${fn}(${dev.name}, IOVA ${hex(dmaHandle)}): not mapped (iommu_iova_to_phys returns 0), no maintenance`, data: { dmaAddr: dmaHandle, size } });
      return;
    }
    out = archSyncPhys(dev, phys, size, d, toCpu);
  }
  dev.trace.record({
    fn,
    kind: toCpu ? "dma_sync_for_cpu" : "dma_sync_for_device",
    msg: `${fn}(${dev.name}, IOVA ${hex(dmaHandle)}, ${size}, ${dirName(d)}): ${describe(dev, out)}`,
    costNs: callCost(dev) + out.costNs,
    data: { dmaAddr: dmaHandle, size, dir: d, lines: out.lines, writebacks: out.writebacks, call: toCpu ? "sync_for_cpu" : "sync_for_device" },
  });
  cacheStep(dev, `after ${fn}`);
}

/**
 * iommu_dma_sync_single_for_cpu(dev, handle, size, dir): nothing on a
 * coherent device; else iommu_iova_to_phys(handle) and
 * arch_sync_dma_for_cpu(phys, size, dir).
 * @throws ModelConfigError for a device without a DMA domain, a bad direction, handle or size.
 * Source: drivers/iommu/dma-iommu.c (v5.4.6, v6.19); arch/arm64/mm/dma-mapping.c __iommu_sync_single_for_cpu (v4.4.1).
 */
export function iommuDmaSyncSingleForCpu(dev: Device, dmaHandle: number, size: number, dir: number): void {
  syncSingle(dev, dmaHandle, size, dir, true);
}

/**
 * iommu_dma_sync_single_for_device(dev, handle, size, dir): nothing on a
 * coherent device; else iommu_iova_to_phys(handle) and
 * arch_sync_dma_for_device(phys, size, dir).
 * @throws ModelConfigError for a device without a DMA domain, a bad direction, handle or size.
 * Source: drivers/iommu/dma-iommu.c (v5.4.6, v6.19); arch/arm64/mm/dma-mapping.c __iommu_sync_single_for_device (v4.4.1).
 */
export function iommuDmaSyncSingleForDevice(dev: Device, dmaHandle: number, size: number, dir: number): void {
  syncSingle(dev, dmaHandle, size, dir, false);
}

function syncSg(dev: Device, sgl: Scatterlist[], nelems: number, dir: number, toCpu: boolean): void {
  domainOf(dev);
  const fn = toCpu ? "iommu_dma_sync_sg_for_cpu" : "iommu_dma_sync_sg_for_device";
  checkDirection(`${fn}(dir)`, dir);
  checkInt(`${fn}(nelems)`, nelems, 1, sgl.length);
  const out = iommuSyncSgEntries(dev, sgl, nelems, dir, toCpu, fn, pageSizeOf(dev));
  void out;
  cacheStep(dev, `after ${fn}`);
}

/**
 * iommu_dma_sync_sg_for_cpu(dev, sgl, nelems, dir): on a non-coherent
 * device arch_sync_dma_for_cpu(sg_phys(sg), sg->length, dir) for each of the
 * `nelems` CPU entries (not the DMA segments); nothing on a coherent one.
 * @throws ModelConfigError for a device without a DMA domain, a bad direction, nelems outside the list.
 * Source: drivers/iommu/dma-iommu.c (v5.4.6, v6.19); arch/arm64/mm/dma-mapping.c __iommu_sync_sg_for_cpu (v4.4.1).
 */
export function iommuDmaSyncSgForCpu(dev: Device, sgl: Scatterlist[], nelems: number, dir: number): void {
  syncSg(dev, sgl, nelems, dir, true);
}

/**
 * iommu_dma_sync_sg_for_device(dev, sgl, nelems, dir): arch_sync_dma_for_device
 * per CPU entry on a non-coherent device.
 * @throws ModelConfigError as {@link iommuDmaSyncSgForCpu}.
 * Source: drivers/iommu/dma-iommu.c (v5.4.6, v6.19); arch/arm64/mm/dma-mapping.c __iommu_sync_sg_for_device (v4.4.1).
 */
export function iommuDmaSyncSgForDevice(dev: Device, sgl: Scatterlist[], nelems: number, dir: number): void {
  syncSg(dev, sgl, nelems, dir, false);
}

/**
 * The physically contiguous pieces [iova, iova + len) translates to, through
 * the domain's page table, or, for an unmapped granule, through the IOTLB
 * translation still held for it (a stale hit; the caller checked that one is held).
 */
function translateRange(domain: IommuDomain, iova: number, len: number): Array<{ pa: number; len: number }> {
  const out: Array<{ pa: number; len: number }> = [];
  let a = iova;
  while (a < iova + len) {
    const pte = domain.pgtable.lookup(a);
    let n: number;
    let pa: number;
    if (pte) {
      n = Math.min(pte.iova + pte.size, iova + len) - a;
      pa = pte.paddr + (a - pte.iova);
    } else {
      n = Math.min(a - (a % domain.granule) + domain.granule, iova + len) - a;
      pa = iotlbHeldPhys(domain.iommu.iotlb, a)!;
    }
    const last = out[out.length - 1];
    if (last && last.pa + last.len === pa) last.len += n;
    else out.push({ pa, len: n });
    a += n;
  }
  return out;
}

function deviceAccessCheck(dev: Device, iova: number, size: number, write: boolean, fn: string): { domain: IommuDomain; m: DmaMachine } | null {
  const { domain } = domainOf(dev);
  checkInt(`${fn}(dmaAddr)`, iova);
  checkInt(`${fn}(size)`, size, 1);
  const m = hostMachine(dev);
  if (!m) throw new ModelConfigError(`${fn}(dev)`, dev.name, "a device of a machine (it has a CPU cache)");
  if (staleAccess(dev, domain, iova, size, write)) {
    iotlbWalk(domain, iova, size);
    return { domain, m };
  }
  if (!iommuDeviceAccess(domain, iova, size, write, dev.name)) {
    m.cpuCache.step("after an IOMMU fault");
    return null;
  }
  iotlbWalk(domain, iova, size);
  return { domain, m };
}

/**
 * A device access to [iova, iova + size) that reaches unmapped IOVAs which
 * the IOTLB still translates (lazy mode: the unmap cleared the PTEs and
 * queued the IOVA, the invalidation waits for the flush queue): the hardware
 * uses the held translation, so the device reaches the old page with no
 * fault. True when every unmapped granule of the range has a held
 * translation (and at least one is unmapped): each is counted as a stale
 * IOTLB hit (iotlb stats `staleHits`) and an "iotlb_stale_access" fault
 * event is recorded. False (nothing counted) otherwise: the caller faults.
 * Source: the IOTLB semantics behind drivers/iommu/dma-iommu.c queue_iova /
 * fq_flush_iotlb (v4.20+; the deferred invalidation is what iommu.strict=0
 * trades for speed).
 */
function staleAccess(dev: Device, domain: IommuDomain, iova: number, size: number, write: boolean): boolean {
  const tlb = domain.iommu.iotlb;
  const g = domain.granule;
  const stale: number[] = [];
  let a = iova;
  while (a < iova + size) {
    const pte = domain.pgtable.lookup(a);
    if (pte) {
      a = pte.iova + pte.size;
      continue;
    }
    if (iotlbHeldPhys(tlb, a) === null) return false;
    stale.push(a);
    a = a - (a % g) + g;
  }
  if (!stale.length) return false;
  for (const s of stale) iotlbAccess(tlb, s, g, false);
  const at = stale[0]!;
  dev.trace.record({
    fn: "iommu_iotlb",
    kind: "iotlb_stale_access",
    level: "fault",
    msg: `${dev.name} ${write ? "writes" : "reads"} IOVA ${hex(at)}, already unmapped: the IOTLB still holds its translation (invalidation deferred to the flush queue), the device reaches the old page ${hex(iotlbHeldPhys(tlb, at)!)}`,
    data: { iova: at, paddr: iotlbHeldPhys(tlb, at)!, granules: stale.length, write },
  });
  return true;
}

/**
 * The IOTLB lookups of a device access to [iova, iova + size) (all mapped):
 * one lookup per IOMMU page touched, tagged with the page's size (a 2 MiB
 * block is one translation); hits and misses are counted on the domain.
 */
function iotlbWalk(domain: IommuDomain, iova: number, size: number): void {
  const tlb = domain.iommu.iotlb;
  const end = iova + size;
  let a = iova;
  while (a < end) {
    const pte = domain.pgtable.lookup(a);
    if (!pte) {
      a += domain.granule;
      continue;
    }
    if (iotlbAccess(tlb, a, pte.size, true, pte.paddr) === "hit") domain.stats.iotlbHits++;
    else domain.stats.iotlbMisses++;
    a = pte.iova + pte.size;
  }
}

/**
 * The device reads `size` bytes at IOVA `dmaAddr`: each byte is translated
 * through the domain's page table (iommu_iova_to_phys), each IOMMU page
 * touched looked up in the IOMMU's IOTLB first (a hit or a miss, counted in
 * iommuDomainCounters; a miss fills the IOTLB); an unmapped IOVA is
 * an IOMMU fault (a "fault" event, iommu_report_device_fault) and the device
 * gets nothing, unless the IOTLB still holds its translation (lazy mode,
 * before the flush queue's invalidation): then the device reaches the old
 * page, counted as a stale IOTLB hit with an "iotlb_stale_access" fault event. A coherent device snoops the CPU cache; a non-coherent one
 * reads memory (a newer dirty CPU line is a "device_read_stale" hazard).
 * @returns the tokens read, as runs of physical bytes, or null on an IOMMU fault.
 * @throws ModelConfigError for a device without a DMA domain or outside a machine, bad numbers.
 */
export function iommuDeviceRead(dev: Device, dmaAddr: number, size: number): TokenRun[] | null {
  const c = deviceAccessCheck(dev, dmaAddr, size, false, "iommuDeviceRead");
  if (!c) return null;
  const runs: TokenRun[] = [];
  const pieces = translateRange(c.domain, dmaAddr, size);
  for (const p of pieces) runs.push(...c.m.cpuCache.deviceRead(p.pa, p.len, dev.dmaCoherent));
  dev.trace.record({ fn: "device", kind: "device_read", msg: `${dev.name} reads ${size} bytes at IOVA ${hex(dmaAddr)} (phys ${pieces.map((p) => hex(p.pa)).join(", ")}): ${runs.map((r) => r.label).join(", ")}`, data: { dmaAddr, paddr: pieces[0]!.pa, size } });
  c.m.cpuCache.step("during DMA");
  return runs;
}

/**
 * The device writes `size` bytes at IOVA `dmaAddr` (translated as in
 * {@link iommuDeviceRead}; an unmapped IOVA is an IOMMU fault and nothing is
 * written): memory gets a new "dev:n" token; a coherent device's write also
 * invalidates cached copies.
 * @returns the token's label ("dev:3"), or null on an IOMMU fault.
 * @throws ModelConfigError as {@link iommuDeviceRead}.
 */
export function iommuDeviceWrite(dev: Device, dmaAddr: number, size: number): string | null {
  const c = deviceAccessCheck(dev, dmaAddr, size, true, "iommuDeviceWrite");
  if (!c) return null;
  const pieces = translateRange(c.domain, dmaAddr, size);
  let lbl = "";
  for (const p of pieces) lbl = c.m.cpuCache.label(c.m.cpuCache.deviceWrite(p.pa, p.len, dev.dmaCoherent));
  dev.trace.record({ fn: "device", kind: "device_write", msg: `${dev.name} writes ${size} bytes at IOVA ${hex(dmaAddr)} (phys ${pieces.map((p) => hex(p.pa)).join(", ")}) as ${lbl}`, data: { dmaAddr, paddr: pieces[0]!.pa, size, token: lbl } });
  c.m.cpuCache.step("during DMA");
  return lbl;
}

// --- map_resource

/**
 * iommu_dma_map_resource(dev, phys, size, dir, attrs) (v4.10+): an IOVA
 * mapping of a physical range that need not have a struct page, modelled
 * through {@link iommuDmaMapSg} with a one-entry list whose pfn is the bare
 * frame number and DMA_ATTR_SKIP_CPU_SYNC (no page is touched). The entry is
 * kept in the device's cookie for {@link iommuDmaUnmapResource}.
 * @returns the IOVA of `phys`, or DMA_MAPPING_ERROR.
 * Source: drivers/iommu/dma-iommu.c iommu_dma_map_resource (v5.4.6, v6.19).
 */
export function iommuDmaMapResource(dev: Device, phys: number, size: number, dir: number, attrs: number, pageSize: number): DmaAddr {
  checkInt("iommuDmaMapResource(phys)", phys);
  checkInt("iommuDmaMapResource(size)", size, 1, 0xffffffff);
  checkDirection("iommuDmaMapResource(dir)", dir);
  checkAttrs("iommuDmaMapResource(attrs)", attrs);
  checkInt("iommuDmaMapResource(pageSize)", pageSize, 4096, 65536);
  const pfn = Math.floor(phys / pageSize);
  const e = sgInitEntry();
  e.pfn = pfn as Pfn;
  e.offset = phys - pfn * pageSize;
  e.length = size;
  e.isLast = true;
  const n = iommuDmaMapSg(dev, [e], 1, dir, withAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC), { pageSize });
  if (n <= 0) return DMA_MAPPING_ERROR;
  iommuDmaCookieOf(dev).resources.set(e.dmaAddress, e);
  dev.trace.record({ fn: "iommu_dma_map_resource", kind: "map_resource", msg: `${dev.name}: phys ${hex(phys)} +${hex(size)} -> IOVA ${hex(e.dmaAddress)}`, data: { phys, dma: e.dmaAddress, size } });
  return e.dmaAddress;
}

/**
 * iommu_dma_unmap_resource(dev, handle, size, dir, attrs): unmap and free the
 * IOVA range of a {@link iommuDmaMapResource} mapping.
 * @throws ModelConfigError for a handle that was not mapped on this device (nothing changes).
 */
export function iommuDmaUnmapResource(dev: Device, handle: DmaAddr, dir: number, attrs: number): void {
  checkDirection("iommuDmaUnmapResource(dir)", dir);
  checkAttrs("iommuDmaUnmapResource(attrs)", attrs);
  const m = dev.iommuDmaCookie?.resources;
  const e = m?.get(handle);
  if (!m || !e) throw new ModelConfigError("dmaUnmapResource(handle)", handle, "a handle returned by dmaMapResource for this device");
  iommuDmaUnmapSg(dev, [e], 1, dir, withAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC));
  m.delete(handle);
}
