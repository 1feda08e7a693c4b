/**
 * PA-RISC streaming-DMA cache maintenance, and the vmap-alias helpers a
 * VIPT-aliasing cache needs.
 *
 * Sources read (v6.19, matankalina/linux-6.19.10-fork):
 * - arch/parisc/kernel/pci-dma.c arch_sync_dma_for_device: flush
 *   (fdc: write back if dirty, then invalidate) the kernel alias for every
 *   direction; arch_sync_dma_for_cpu: DMA_TO_DEVICE and DMA_BIDIRECTIONAL
 *   flush, DMA_FROM_DEVICE purges (purge_kernel_dcache_range_asm, pdc:
 *   invalidate without write-back, whole lines, so CPU data sharing a partial
 *   end line is discarded).
 * - arch/parisc/kernel/cache.c flush_kernel_vmap_range /
 *   invalidate_kernel_vmap_range: flush the TLB range and then the whole
 *   data cache (flush_data_cache), which reaches every colour.
 * - arch/parisc/include/asm/shmparam.h: SHM_COLOUR 0x00400000, the alias
 *   boundary; arch/parisc/include/asm/cache.h: ARCH_DMA_MINALIGN 128 on PA 2.0.
 * The v5.4 parisc files were not read (the v5.4 import holds only arch/arm);
 * the model uses the v6.19 rules for every release.
 *
 * The range operations go through the kernel linear-map alias
 * (phys_to_virt), so on a VIPT-aliasing cache they only reach lines cached
 * under that alias's colour: a vmalloc/vmap alias of the same pages needs
 * flush_kernel_vmap_range before DMA to the device and
 * invalidate_kernel_vmap_range after DMA from it.
 */
import { checkSyncArgs, lineSpan, type ArchEnv, type MaintOp } from "../../cache/maint.js";
import { DMA_FROM_DEVICE, checkDirection } from "../../core/dma-types.js";
import { checkInt } from "../../core/arith.js";
import { SZ_4G } from "../../core/arith.js";
import type { DmaArchHooks } from "./hooks.js";

/**
 * PA-RISC arch_sync_dma_for_device: flush_kernel_dcache_range for every direction.
 * @throws ModelConfigError for bad arguments.
 */
export function archSyncDmaForDevice(paddr: number, size: number, dir: number, env: ArchEnv): MaintOp[] {
  checkSyncArgs("parisc.archSyncDmaForDevice", paddr, size, env.lineSize);
  checkDirection("parisc.archSyncDmaForDevice(dir)", dir);
  const { start, end } = lineSpan(paddr, size, env.lineSize);
  return [{ kind: "cleanInvalidate", start, end, level: "inner", fn: "flush_kernel_dcache_range" }];
}

/**
 * PA-RISC arch_sync_dma_for_cpu: purge for DMA_FROM_DEVICE, flush otherwise.
 * @throws ModelConfigError for bad arguments.
 */
export function archSyncDmaForCpu(paddr: number, size: number, dir: number, env: ArchEnv): MaintOp[] {
  checkSyncArgs("parisc.archSyncDmaForCpu", paddr, size, env.lineSize);
  const d = checkDirection("parisc.archSyncDmaForCpu(dir)", dir);
  const { start, end } = lineSpan(paddr, size, env.lineSize);
  if (d === DMA_FROM_DEVICE) return [{ kind: "invalidate", start, end, level: "inner", fn: "purge_kernel_dcache_range_asm" }];
  return [{ kind: "cleanInvalidate", start, end, level: "inner", fn: "flush_kernel_dcache_range" }];
}

/**
 * flush_kernel_vmap_range(vaddr, size) (v6.19): the whole data cache is
 * flushed (written back and invalidated, every colour).
 * @throws ModelConfigError for a bad size.
 */
export function flushKernelVmapRange(size: number): MaintOp[] {
  checkInt("flushKernelVmapRange(size)", size, 1);
  return [{ kind: "cleanInvalidate", start: 0, end: 0, level: "inner", fn: "flush_data_cache", scope: "all" }];
}

/**
 * invalidate_kernel_vmap_range(vaddr, size) (v6.19): the same whole-cache
 * flush (after syncdma), so stale lines of every alias are dropped.
 * @throws ModelConfigError for a bad size.
 */
export function invalidateKernelVmapRange(size: number): MaintOp[] {
  checkInt("invalidateKernelVmapRange(size)", size, 1);
  return [{ kind: "cleanInvalidate", start: 0, end: 0, level: "inner", fn: "flush_data_cache", scope: "all" }];
}

/** PA-RISC's DMA hooks: it does not select SWIOTLB. */
export const pariscHooks: DmaArchHooks = {
  name: "parisc",
  archSyncDmaForDevice,
  archSyncDmaForCpu,
  allDevicesCoherent: false,
  dmaDirectRemap: false,
  bounceUnalignedKmalloc: false,
  rmemRequiresNoMap: false,
  usesLegacyDmaOps: () => false,
  swiotlbDetect: () => ({ pool: false, lowLimit: SZ_4G, reason: "parisc does not use swiotlb" }),
};
