/**
 * The one interface every architecture implements for the DMA layer: the
 * hooks kernel/dma calls into arch code (arch_sync_dma_for_device /
 * arch_sync_dma_for_cpu, the swiotlb boot decision of the arch's mem_init)
 * and the Kconfig facts the generic code tests (ARCH_HAS_SYNC_DMA_*,
 * CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC, the ARM32 legacy dma_map_ops).
 * Each lib/dma/arch/<arch>.ts exports one object implementing it;
 * lib/dma/arch/index.ts {@link archHooksOf} looks it up. Generic code asks
 * the object, never compares the arch's name.
 */
import type { ArchEnv, MaintOp } from "../../cache/maint.js";
import type { KernelVersion } from "../../kernel/version.js";
import type { MemoryModel } from "../../mm/memory.js";
import type { PlatformProfile } from "../../platform/profile.js";

/** The architectures the model has profiles for (PlatformProfile.arch). */
export type ArchName = "arm64" | "arm" | "x86_64" | "parisc";

/** What an arch's swiotlb boot test reads of the machine. */
export interface ArchSwiotlbView {
  readonly profile: PlatformProfile;
  readonly mm: MemoryModel;
}

/** An arch's swiotlb boot test: is a pool needed, and where must it end. */
export interface ArchSwiotlbDetect {
  /** The arch wants a pool (before the swiotlb= option and the kmalloc-bounce pool). */
  readonly pool: boolean;
  /** The memblock_alloc_low limit: the pool must end at or below it, bytes. */
  readonly lowLimit: number;
  /** Why, in words, citing the arch code. */
  readonly reason: string;
}

/** The two sync rules of an architecture (arch_sync_dma_for_device / _for_cpu). */
export interface ArchSyncRules {
  archSyncDmaForDevice(paddr: number, size: number, dir: number, env: ArchEnv): MaintOp[];
  archSyncDmaForCpu(paddr: number, size: number, dir: number, env: ArchEnv): MaintOp[];
}

/** The DMA hooks of one architecture. */
export interface DmaArchHooks extends ArchSyncRules {
  readonly name: ArchName;
  /**
   * Every device is DMA-coherent as far as dma-direct's allocation and
   * get_sgtable/mmap paths go (x86: no ARCH_HAS_SYNC_DMA_FOR_*, no
   * arch_dma_coherent_to_pfn).
   */
  readonly allDevicesCoherent: boolean;
  /** The arch selects CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC (arm64; the generic code also needs v6.5+). */
  readonly bounceUnalignedKmalloc: boolean;
  /** rmem_dma_setup refuses shared-dma-pool regions without `no-map` (32-bit ARM). */
  readonly rmemRequiresNoMap: boolean;
  /** The device (without an IOMMU) still uses the arch's own dma_map_ops at this release (ARM32 arm_dma_ops before v5.19). */
  usesLegacyDmaOps(kernel: KernelVersion): boolean;
  /** The arch's swiotlb_init decision at boot (its mem_init / pci_swiotlb_detect). */
  swiotlbDetect(m: ArchSwiotlbView): ArchSwiotlbDetect;
}
