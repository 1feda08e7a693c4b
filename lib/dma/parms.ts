/**
 * The dma_parms accessors of include/linux/dma-mapping.h, shared by
 * dma-direct, swiotlb and iommu-dma: dma_get_max_seg_size,
 * dma_get_seg_boundary, dma_set_max_seg_size, dma_get_mask (v4.4, v5.4,
 * v6.19), with the release changes of their defaults.
 */
import { DMA_BIT_MASK, MAX_ADDR, SZ_64K, checkInt } from "../core/arith.js";
import { EIO } from "../core/errno.js";
import { atLeast, defineChange } from "../kernel/version.js";
import type { Device } from "../platform/device.js";

/** v5.10: without dma_parms.segment_boundary_mask the boundary is ULONG_MAX instead of 4 GiB. */
const CHANGE_SEG_BOUNDARY_ULONG_MAX = defineChange({
  id: "dma-default-seg-boundary-ulong-max",
  since: "v5.10",
  commit: "(hash not pinned; Nicolin Chen, posted as 20200815064726.20459-1-nicoleotsuka@gmail.com, in the v5.10 dma-mapping pull)",
  subject: "dma-mapping: set default segment_boundary_mask to ULONG_MAX",
  files: ["include/linux/dma-mapping.h"],
  effect:
    "dma_get_seg_boundary() without dma_parms returns ULONG_MAX instead of DMA_BIT_MASK(32) (v5.4.6: DMA_BIT_MASK(32), v6.19: ULONG_MAX). iommu-dma then pads only for a real boundary; swiotlb only keeps allocations from spanning its own 128-slot segments.",
  bracket: "absent in v5.9.1 (ach84/linux-5.9.1, include/linux/dma-mapping.h:dma_get_seg_boundary returns DMA_BIT_MASK(32)), present in v5.10.89 (Prashant446/linux-5.10.89, same function returns ULONG_MAX)",
});

/** v6.12: dma_set_max_seg_size returns nothing. */
const CHANGE_SET_MAX_SEG_VOID = defineChange({
  id: "dma-set-max-seg-size-void",
  since: "v6.12",
  commit: "334304ac2bac",
  subject: "dma-mapping: don't return errors from dma_set_max_seg_size",
  files: ["include/linux/dma-mapping.h"],
  effect: "dma_set_max_seg_size is void and WARNs (doing nothing) without dma_parms, instead of returning -EIO. Committed 2024-08-29 for the 6.12 merge window.",
  bracket: "absent in v6.9.0 (ec-jt/linux-6.9.0, include/linux/dma-mapping.h:dma_set_max_seg_size returns int), present in v6.12.0 (shilei-massclouds/linux-6.12, same: void); v6.12 from a 2024-09 report of its warning in the v6.12 merge window",
});

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
  return atLeast(dev.kernel, CHANGE_SEG_BOUNDARY_ULONG_MAX) ? MAX_ADDR : DMA_BIT_MASK(32);
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
    if (atLeast(dev.kernel, CHANGE_SET_MAX_SEG_VOID)) {
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
