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
 * Failure: 0 before v5.16; from v5.16 (dabb16f67215 "iommu/dma: return
 * error code from iommu_dma_map_sg()") -ENOMEM when no IOVA space is left,
 * else -EINVAL. dma_map_sg() still turns errors into 0; dma_map_sgtable()
 * passes them on (lib/dma/mapping.ts).
 *
 * Not modelled: swiotlb bouncing of untrusted devices, PCI P2P bus
 * addresses, the IOVA rcaches (iova.ts leaves them out), the 2025 sg
 * length overflow checks (not in v6.19).
 */
import { DMA_BIT_MASK, MAX_ADDR, SZ_64K, andMask, checkInt, minNotZero, roundupPowOfTwo, u32, wrapToMask } from "../core/arith.js";
import { DMA_MAPPING_ERROR, type DmaAddr } from "../core/addr.js";
import {
  DMA_ATTR_MMIO,
  DMA_ATTR_PRIVILEGED,
  DMA_ATTR_SKIP_CPU_SYNC,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
  hasAttr,
  validDmaDirection,
} from "../core/dma-types.js";
import { EINVAL, EIO, ENOMEM, EREMOTEIO } from "../core/errno.js";
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange } from "../kernel/version.js";
import type { Device } from "../platform/device.js";
import { forEachSg, sgPhys, type Scatterlist } from "../sg/scatterlist.js";
import type { IommuDomain } from "./domain.js";
import { IOMMU_CACHE, IOMMU_MMIO, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE, iommuMapSg, iommuUnmap } from "./io-pgtable.js";
import { allocIova, findIova, freeIova, iovaAlign, iovaOffset, iovaSize, type IovaDomain } from "./iova.js";

// --- DMA direction and attributes: defined in lib/core/dma-types.ts, re-exported for existing importers.
export {
  DMA_BIDIRECTIONAL,
  DMA_TO_DEVICE,
  DMA_FROM_DEVICE,
  DMA_NONE,
  DMA_ATTR_WEAK_ORDERING,
  DMA_ATTR_WRITE_COMBINE,
  DMA_ATTR_NO_KERNEL_MAPPING,
  DMA_ATTR_SKIP_CPU_SYNC,
  DMA_ATTR_FORCE_CONTIGUOUS,
  DMA_ATTR_ALLOC_SINGLE_PAGES,
  DMA_ATTR_NO_WARN,
  DMA_ATTR_PRIVILEGED,
  DMA_ATTR_MMIO,
  hasAttr,
  validDmaDirection,
  type DmaDataDirection,
} from "../core/dma-types.js";

// --- Behaviour changes

/** v4.4: iommu-dma arrives with natural-alignment padding per segment. */
export const CHANGE_IOMMU_DMA_COMMON_OPS = defineChange({
  id: "iommu-dma-common-ops",
  since: "v4.4",
  commit: "0db2e5d18f76",
  subject: "iommu: Implement common IOMMU ops for DMA mapping",
  files: ["drivers/iommu/dma-iommu.c"],
  effect: "iommu_dma_map_sg pads each segment so the next starts at an IOVA aligned to its own rounded-up power-of-two size; one DMA segment per sg entry.",
});

/** v4.7: boundary-only padding and segment merging. */
export const CHANGE_IOMMU_DMA_SG_MERGING = defineChange({
  id: "iommu-dma-sg-merging",
  since: "v4.7",
  commit: "809eac54cdd6",
  subject: "iommu/dma: Implement scatterlist segment merging",
  files: ["drivers/iommu/dma-iommu.c"],
  effect: "padding only to avoid crossing dma_get_seg_boundary(dev); __finalise_sg merges IOVA-contiguous segments up to dma_get_max_seg_size(dev). Release checked: absent in v4.6.2, present in v4.7.4.",
});

/** v5.3: the merge length check no longer overflows. */
export const CHANGE_IOMMU_DMA_SG_OVERFLOW = defineChange({
  id: "iommu-dma-sg-length-overflow",
  since: "v5.3",
  commit: "ab2cbeb0ed30",
  subject: "iommu/dma: Handle SG length overflow better",
  files: ["drivers/iommu/dma-iommu.c"],
  effect: "__finalise_sg tests max_len - cur_len >= s_length instead of cur_len + s_length <= max_len (32-bit wrap when max_len is UINT_MAX). Release checked: absent in v5.2.1, present in v5.3.1.",
});

/** v4.19 (release of the change not pinned): fast IOVA allocation, aperture and bus limits, PCI SAC first. */
export const CHANGE_IOMMU_DMA_ALLOC_IOVA = defineChange({
  id: "iommu-dma-alloc-iova-rcache",
  since: "v4.19",
  commit: "(several; see effect)",
  subject: "iommu/dma: iommu_dma_alloc_iova with rcache rounding, aperture clamp and PCI 32-bit first attempt",
  files: ["drivers/iommu/dma-iommu.c"],
  effect: "sizes below 32 IOVA pages are rounded up to a power of two (rcache), the limit is clamped to the bus limit and the aperture end, PCI devices try below 4 GiB first. Present in v4.19.1, absent in v4.7.4 (plain alloc_iova with the DMA mask); the release in between that brought it is not pinned: the model switches at v4.19.",
});

/** v5.10: default segment boundary ULONG_MAX. */
export const CHANGE_SEG_BOUNDARY_ULONG_MAX = defineChange({
  id: "dma-default-seg-boundary-ulong-max",
  since: "v5.10",
  commit: "(Nicolin Chen, 2020-09, dma-mapping-5.10 pull)",
  subject: "dma-mapping: set default segment_boundary_mask to ULONG_MAX",
  files: ["include/linux/dma-mapping.h"],
  effect: "dma_get_seg_boundary() without dma_parms returns ULONG_MAX instead of DMA_BIT_MASK(32). v5.4.6 returns DMA_BIT_MASK(32), v6.19 ULONG_MAX; merged with the dma-mapping pull for v5.10.",
});

/** v5.16: iommu_dma_map_sg returns -errno. */
export const CHANGE_MAP_SG_ERRNO = defineChange({
  id: "dma-map-sg-errno",
  since: "v5.16",
  commit: "dabb16f67215",
  subject: "iommu/dma: return error code from iommu_dma_map_sg()",
  files: ["drivers/iommu/dma-iommu.c", "kernel/dma/mapping.c"],
  effect: "map_sg ops return -EINVAL/-ENOMEM (-EIO, -EREMOTEIO) on failure; dma_map_sg_attrs still returns 0, dma_map_sgtable returns the error.",
});

/** v6.12: dma_set_max_seg_size returns nothing. */
export const CHANGE_SET_MAX_SEG_VOID = defineChange({
  id: "dma-set-max-seg-size-void",
  since: "v6.12",
  commit: "334304ac2bac",
  subject: "dma-mapping: don't return errors from dma_set_max_seg_size",
  files: ["include/linux/dma-mapping.h"],
  effect: "dma_set_max_seg_size is void and WARNs (doing nothing) without dma_parms, instead of returning -EIO. Committed 2024-08-29 for the 6.12 merge window.",
});

// --- dma_parms accessors (include/linux/dma-mapping.h)

/**
 * dma_get_max_seg_size(dev): dev->dma_parms->max_segment_size if set and
 * non-zero, else 64 KiB (SZ_64K, every release modelled). Bytes.
 * Source: include/linux/dma-mapping.h (v4.4, v5.4, v6.19).
 */
export function dmaGetMaxSegSize(dev: Device): number {
  if (dev.dmaParms && dev.dmaParms.maxSegmentSize) return dev.dmaParms.maxSegmentSize;
  return SZ_64K;
}

/**
 * dma_get_seg_boundary(dev): dev->dma_parms->segment_boundary_mask if set
 * and non-zero, else DMA_BIT_MASK(32) before v5.10 and ULONG_MAX from v5.10
 * (the model's saturated MAX_ADDR: no boundary below 2^53).
 * Source: include/linux/dma-mapping.h (v5.4: DMA_BIT_MASK(32); v6.19: ULONG_MAX);
 * {@link CHANGE_SEG_BOUNDARY_ULONG_MAX}.
 */
export function dmaGetSegBoundary(dev: Device): number {
  if (dev.dmaParms && dev.dmaParms.segmentBoundaryMask) return dev.dmaParms.segmentBoundaryMask;
  return atLeast(dev.kernel, CHANGE_SEG_BOUNDARY_ULONG_MAX.since) ? MAX_ADDR : DMA_BIT_MASK(32);
}

/**
 * dma_set_max_seg_size(dev, size): store it in dev->dma_parms.
 * Before v6.12 returns 0, or -EIO if the device has no dma_parms; from v6.12
 * ({@link CHANGE_SET_MAX_SEG_VOID}) it returns nothing (the model: 0) and only
 * WARNs (a warn event) without dma_parms.
 * @throws ModelConfigError for a size outside unsigned int.
 * Source: include/linux/dma-mapping.h (v4.4, v5.4, v6.19).
 */
export function dmaSetMaxSegSize(dev: Device, size: number): number {
  checkInt("dmaSetMaxSegSize(size)", size, 0, 0xffffffff);
  if (!dev.dmaParms) {
    if (atLeast(dev.kernel, CHANGE_SET_MAX_SEG_VOID.since)) {
      dev.trace.record({ fn: "dma_set_max_seg_size", kind: "warn", level: "warn", msg: `WARNING: dma_set_max_seg_size on ${dev.name} without dma_parms`, data: { size } });
      return 0;
    }
    return -EIO;
  }
  dev.dmaParms.maxSegmentSize = size;
  return 0;
}

/**
 * dma_get_mask(dev): *dev->dma_mask if the device has one, else
 * DMA_BIT_MASK(32). Inclusive limit, bytes.
 */
export function dmaGetMask(dev: Device): number {
  return dev.dmaMask ?? DMA_BIT_MASK(32);
}

/**
 * dma_info_to_prot(dir, coherent, attrs): IOMMU_READ/WRITE from the
 * direction, IOMMU_CACHE for a coherent device, IOMMU_MMIO for
 * DMA_ATTR_MMIO, IOMMU_PRIV for DMA_ATTR_PRIVILEGED; 0 for DMA_NONE.
 * Source: drivers/iommu/dma-iommu.c (v6.19; v4.4 dma_direction_to_prot without attrs).
 */
export function dmaInfoToProt(dir: number, coherent: boolean, attrs: number): number {
  let prot = hasAttr(attrs, DMA_ATTR_MMIO) ? IOMMU_MMIO : coherent ? IOMMU_CACHE : 0;
  if (hasAttr(attrs, DMA_ATTR_PRIVILEGED)) prot += IOMMU_PRIV;
  if (dir === DMA_BIDIRECTIONAL) return prot + IOMMU_READ + IOMMU_WRITE;
  if (dir === DMA_TO_DEVICE) return prot + IOMMU_READ;
  if (dir === DMA_FROM_DEVICE) return prot + IOMMU_WRITE;
  return 0;
}

// --- IOVA allocation

/** IOVA_RANGE_CACHE_MAX_SIZE (include/linux/iova.h): sizes below 2^(6-1) = 32 pages are cached. */
export const IOVA_RANGE_CACHE_MAX_SIZE = 6;

/** Options of {@link iommuDmaAllocIova} that correspond to kernel command-line switches. */
export interface IommuDmaOptions {
  /** iommu.forcedac=1: PCI devices skip the below-4G first attempt (v5.13+ switch). */
  forcedac?: boolean;
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
 * limit, size-aligned.
 * - before v4.19 (v4.4, v4.7 form `__alloc_iova`): alloc_iova(iovad,
 *   iova_align(size) >> shift, dma_limit >> shift, true);
 * - v4.19+ ({@link CHANGE_IOMMU_DMA_ALLOC_IOVA}): sizes below 32 pages are
 *   rounded up to a power of two (in alloc_iova_fast from v5.x; same
 *   result); limit = min_not_zero(dma_limit, bus_dma_limit), then
 *   min(limit, aperture_end) with force_aperture; a PCI device (unless
 *   `forcedac`) first tries below 4 GiB when its limit is above; then
 *   alloc_iova(..., true) below the limit. The rcaches are not modelled.
 * @returns the DMA address, or 0 on failure (the kernel's 0 IOVA).
 * @throws ModelConfigError for a device without a DMA domain, a size that
 * is not a positive integer.
 * Source: drivers/iommu/dma-iommu.c iommu_dma_alloc_iova (v4.19, v5.4,
 * v6.19), __alloc_iova (v4.4, v4.7); drivers/iommu/iova.c alloc_iova_fast (v6.19).
 */
export function iommuDmaAllocIova(domain: IommuDomain, size: number, dmaLimit: number, dev: Device, opts: IommuDmaOptions = {}): DmaAddr {
  checkInt("iommuDmaAllocIova(size)", size, 1);
  checkInt("iommuDmaAllocIova(dmaLimit)", dmaLimit);
  const iovad = domain.iovad;
  if (!iovad) throw new ModelConfigError("domain.iovad", null, "an initialised IOVA domain");
  const g = iovad.granule;
  const clampPfn = (limit: number) => Math.min(Math.floor(limit / g), iovad.maxPfn);
  const tryAlloc = (pages: number, limit: number): number => {
    const lp = clampPfn(limit);
    if (lp < iovad.startPfn || pages > lp - iovad.startPfn + 1) return 0;
    const r = allocIova(iovad, pages, lp, true);
    return r ? r.pfnLo * g : 0;
  };
  if (!atLeast(dev.kernel, CHANGE_IOMMU_DMA_ALLOC_IOVA.since)) {
    return tryAlloc(iovaAlign(iovad, size) / g, dmaLimit) as DmaAddr;
  }
  let pages = Math.floor(size / g);
  if (pages < 2 ** (IOVA_RANGE_CACHE_MAX_SIZE - 1)) pages = roundupPowOfTwo(pages);
  let limit = minNotZero(dmaLimit, dev.busDmaLimit);
  if (domain.geometry.forceAperture) limit = Math.min(limit, domain.geometry.apertureEnd);
  let iova = 0;
  if (limit > DMA_BIT_MASK(32) && dev.bus === "pci" && !opts.forcedac) iova = tryAlloc(pages, DMA_BIT_MASK(32));
  if (!iova) iova = tryAlloc(pages, limit);
  return iova as DmaAddr;
}

/**
 * iommu_dma_free_iova: give the IOVA range containing `dmaAddr` back
 * (free_iova_fast -> free_iova without rcaches).
 * @returns the bytes freed (the whole allocation), 0 if none was there.
 */
export function iommuDmaFreeIova(domain: IommuDomain, dmaAddr: number): number {
  const iovad = domain.iovad!;
  const r = freeIova(iovad, Math.floor(dmaAddr / iovad.granule));
  return r ? iovaSize(r) * iovad.granule : 0;
}

// --- map_sg

/** One input entry as iommu_dma_map_sg laid it out in IOVA space. Bytes; addresses absolute. */
export interface MapSgSegmentLayout {
  index: number;
  /** sg_phys of the entry (offset included), or null for a page-less entry. */
  phys: number | null;
  /** The entry's original offset and length. */
  offset: number;
  length: number;
  /** iova_offset(offset): the entry's offset inside its first granule. */
  iovaOffset: number;
  /** IOVA of the entry's aligned start (its granule), and its granule-aligned length. */
  iovaStart: number;
  iovaLength: number;
  /** Padding appended after this entry (because of the next one), bytes. */
  padding: number;
}

/** What one iommu_dma_map_sg call did: layout and outcome. */
export interface MapSgLayout {
  kernel: string;
  /** "natural-align" (v4.4..v4.6) or "boundary-merge" (v4.7+). */
  form: "natural-align" | "boundary-merge";
  /** Start of the IOVA allocation (0 if it failed). */
  iovaBase: number;
  /** Bytes laid out (segments + padding), the size passed to the allocator. */
  iovaLen: number;
  /** Bytes the allocator reserved (after rounding), 0 on failure. */
  iovaAllocBytes: number;
  segBoundaryMask: number;
  maxSegSize: number;
  segments: MapSgSegmentLayout[];
  /** PTEs written by iommu_map_sg. */
  pteWrites: number;
  /** The DMA segments __finalise_sg produced (sg_dma_address, sg_dma_len of the first `ret` entries), empty on failure. */
  dmaSegments: Array<{ dmaAddress: number; dmaLength: number }>;
  /** Return value of iommu_dma_map_sg. */
  ret: number;
}

const lastLayout = new WeakMap<Device, MapSgLayout>();

/**
 * The layout of the last iommu_dma_map_sg call on `dev` (kept even when the
 * caller unmapped afterwards), or null. Model helper for charts and tests.
 */
export function iommuDmaLastMapSgLayout(dev: Device): MapSgLayout | null {
  return lastLayout.get(dev) ?? null;
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
  const newCheck = atLeast(dev.kernel, CHANGE_IOMMU_DMA_SG_OVERFLOW.since);
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
  const old = !atLeast(dev.kernel, CHANGE_IOMMU_DMA_SG_MERGING.since);
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
 * before v5.16, -ENOMEM (no IOVA space) or -EINVAL (mapping failed) from v5.16.
 * @throws ModelConfigError for a device without an IOMMU DMA domain, an
 * invalid direction, or nents outside the list (nothing changed).
 * Source: drivers/iommu/dma-iommu.c iommu_dma_map_sg, __finalise_sg,
 * __invalidate_sg (v4.4.1, v4.7.4, v4.19.1, v5.4.6, v6.19).
 */
export function iommuDmaMapSg(dev: Device, sgl: Scatterlist[], nents: number, dir: number, attrs = 0, opts: IommuDmaOptions & { pageSize?: number } = {}): number {
  const { domain, iovad } = domainOf(dev);
  if (!validDmaDirection(dir)) throw new ModelConfigError("iommuDmaMapSg(dir)", dir, "DMA_BIDIRECTIONAL (0), DMA_TO_DEVICE (1) or DMA_FROM_DEVICE (2)");
  checkInt("iommuDmaMapSg(nents)", nents, 1, sgl.length);
  const pageSize = opts.pageSize ?? 4096;
  const merging = atLeast(dev.kernel, CHANGE_IOMMU_DMA_SG_MERGING.since);
  const errnoRet = atLeast(dev.kernel, CHANGE_MAP_SG_ERRNO.since);
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
  lastLayout.set(dev, layout);
  if (!dev.dmaCoherent && !hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC) && dev.trace.keepEvents) {
    dev.trace.record({ fn: "iommu_dma_sync_sg_for_device", kind: "sync_sg_for_device", msg: `sync ${nents} entries for device (cache maintenance: lib/dma/direct)`, data: { nents, dir } });
  }

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
    iommuDmaFreeIova(domain, iova);
    return fail(mapped < 0 ? mapped : -EINVAL);
  }
  const n = merging ? finaliseSgMerge(dev, sgl, nents, iova) : finaliseSgV44(sgl, nents, iova);
  layout.ret = n;
  for (let i = 0; i < n; i++) layout.dmaSegments.push({ dmaAddress: sgl[i]!.dmaAddress as number, dmaLength: sgl[i]!.dmaLength });
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
 * - v4.4..v4.6: find the allocation containing sg_dma_address(first entry),
 *   unmap its whole size, free it;
 * - v4.7+: start = the first segment's DMA address, end = the end of the
 *   last segment with a non-zero sg_dma_len; unmap iova_align(end - start
 *   + offset) bytes from the granule-aligned start and free that range.
 * @returns nothing in the kernel; the model returns the bytes unmapped.
 * @throws ModelConfigError for a device without an IOMMU DMA domain.
 * Source: drivers/iommu/dma-iommu.c iommu_dma_unmap_sg, __iommu_dma_unmap (v4.4.1, v4.19.1, v6.19).
 */
export function iommuDmaUnmapSg(dev: Device, sgl: Scatterlist[], nents: number, dir: number, attrs = 0): number {
  const { domain, iovad } = domainOf(dev);
  checkInt("iommuDmaUnmapSg(nents)", nents, 1, sgl.length);
  if (!dev.dmaCoherent && !hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC) && dev.trace.keepEvents) {
    dev.trace.record({ fn: "iommu_dma_sync_sg_for_cpu", kind: "sync_sg_for_cpu", msg: `sync ${nents} entries for cpu`, data: { nents, dir } });
  }
  const g = iovad.granule;
  if (!atLeast(dev.kernel, CHANGE_IOMMU_DMA_SG_MERGING.since)) {
    const a = sgl[0]!.dmaAddress as number;
    const r = a >= 0 ? findIova(iovad, Math.floor(a / g)) : null;
    if (!r) return 0;
    const unmapped = iommuUnmap(domain, r.pfnLo * g, iovaSize(r) * g);
    freeIova(iovad, r.pfnLo);
    return unmapped;
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
  iommuDmaFreeIova(domain, base);
  return unmapped;
}
