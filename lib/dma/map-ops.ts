/**
 * Helpers both DMA backends (dma-direct, iommu-dma) share, from
 * include/linux/dma-map-ops.h and include/linux/dma-direct.h:
 * dma_kmalloc_needs_bounce and dma_capable; and the words dma-direct's map
 * and swiotlb_map put in their trace messages (mapCallLabel,
 * directBounceReason).
 */
import { dmaMappingError, type DmaAddr, type PhysAddr } from "../core/addr.js";
import { hex } from "../core/arith.js";
import { DMA_TO_DEVICE, dirName } from "../core/dma-types.js";
import { atLeast, defineChange } from "../kernel/version.js";
import { dmaStreamingLimit, physToDma, type Device } from "../platform/device.js";
import { archDmaMinAlign, kmallocClasses } from "../mm/slab.js";
import { archHooksOf } from "./arch/index.js";
import { dmaMachineOf } from "./state.js";

/** dma_kmalloc_needs_bounce and CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC (arm64 selects it). */
export const KMALLOC_BOUNCE = defineChange({
  id: "dma-kmalloc-needs-bounce",
  since: "v6.5",
  commit: "370645f41e6e",
  subject: "dma-mapping: force bouncing if the kmalloc() size is not cache-line-aligned",
  files: ["include/linux/dma-map-ops.h", "kernel/dma/direct.h"],
  effect: "small DMA_FROM_DEVICE/BIDIRECTIONAL kmalloc buffers whose size class is not a multiple of the cache line are bounced for non-coherent devices",
  bracket: "absent in v6.4.6 (lewisevans2007/linux-6.4, include/linux/dma-map-ops.h: no dma_kmalloc_needs_bounce), present in v6.5.0 (sndrzt/linux-6.5, a partial tree, include/linux/dma-map-ops.h:dma_kmalloc_needs_bounce, kernel/dma/direct.h:dma_direct_map_page)",
});

/**
 * dma_capable(dev, addr, size, is_ram) (include/linux/dma-direct.h): the
 * last byte lies at or below min_not_zero(*dma_mask, bus_dma_limit); a
 * device without a dma_mask is never capable; v6.19 also rejects the
 * DMA_MAPPING_ERROR sentinel.
 */
export function dmaCapable(dev: Device, addr: DmaAddr, size: number): boolean {
  if (dmaMappingError(addr)) return false;
  const limit = dmaStreamingLimit(dev);
  if (limit === null) return false;
  // end = addr + size - 1 in dma_addr_t arithmetic: size 0 at address 0 wraps to all ones
  // (above any limit the model represents), so it is never capable.
  if (size === 0 && addr === 0) return false;
  return addr + size - 1 <= limit;
}

/**
 * dma_kmalloc_needs_bounce(dev, size, dir) (include/linux/dma-map-ops.h,
 * v6.5+): true only on architectures with CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC
 * (the arch hook `bounceUnalignedKmalloc`: arm64 in the model), for a
 * non-coherent device, a direction other than DMA_TO_DEVICE, size < 2 *
 * ARCH_DMA_MINALIGN and kmalloc_size_roundup(size) not a multiple of
 * dma_get_cache_alignment() (the line size).
 */
export function dmaKmallocNeedsBounce(dev: Device, size: number, dir: number): boolean {
  if (!dmaKmallocBounceMayApply(dev, dir)) return false;
  const m = dmaMachineOf(dev);
  // size 0: kmalloc_size_roundup(0) returns 0 (v6.19 mm/slab_common.c), a multiple of any line, so dma_kmalloc_size_aligned is true
  if (size === 0) return false;
  if (size >= 2 * archDmaMinAlign(m)) return false;
  const cls = kmallocClasses(m).find((c) => c >= size) ?? size;
  return cls % m.profile.cpuCache.lineSize !== 0;
}

/**
 * False when {@link dmaKmallocNeedsBounce}(dev, size, dir) is false for every
 * size (the arch without CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC, a release
 * before v6.5, a coherent device or DMA_TO_DEVICE): a caller mapping many
 * entries for one call asks once and skips the per-size test. True: ask
 * dmaKmallocNeedsBounce for each size.
 */
export function dmaKmallocBounceMayApply(dev: Device, dir: number): boolean {
  const m = dmaMachineOf(dev);
  if (!archHooksOf(m.profile.arch).bounceUnalignedKmalloc || !atLeast(m.kernel, KMALLOC_BOUNCE)) return false;
  return !(dev.dmaCoherent || dir === DMA_TO_DEVICE);
}

/**
 * A dma-direct map call as its trace messages name it:
 * `fn(device, phys 0x..., size, DMA_dir)` (physical address and size in bytes).
 */
export function mapCallLabel(fn: string, dev: Device, paddr: number, size: number, dir: number): string {
  return `${fn}(${dev.name}, phys ${hex(paddr)}, ${size}, ${dirName(dir)})`;
}

/**
 * Why dma-direct bounces `size` bytes at physical `paddr` for `dev`, in
 * words for trace messages, following the tests of dma_direct_map_phys
 * (kernel/dma/direct.h, v6.19; dma_direct_map_page, v5.4.6): the address is
 * in no dma-ranges window, or it is not dma_capable (the DMA address, the
 * size and the device's limit), or else dma_kmalloc_needs_bounce
 * (`lineSize`: the CPU cache line, bytes). Only words: the decision itself
 * is the caller's.
 */
export function directBounceReason(dev: Device, paddr: number, size: number, lineSize: number): string {
  const dma = physToDma(dev, paddr as PhysAddr);
  const capable = dma !== null && dmaCapable(dev, dma, size);
  if (!capable) return dma === null ? "the address is in no dma-ranges window" : `${hex(dma)}+${size} is above the device's limit ${hex(dmaStreamingLimit(dev) ?? 0)} (dma_capable fails)`;
  return `dma_kmalloc_needs_bounce: size ${size} rounds to a kmalloc class that is not a multiple of the ${lineSize}-byte line`;
}
