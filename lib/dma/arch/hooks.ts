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
import type { DmaAddr, VirtAddr } from "../../core/addr.js";
import type { Device } from "../../platform/device.js";

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
  /**
   * The arch selects CONFIG_DMA_DIRECT_REMAP (arm64; v5.4: arch_dma_alloc in
   * kernel/dma/remap.c): dma-direct remaps non-coherent allocations in
   * vmalloc space and serves non-blocking ones from the generic atomic
   * pools (lib/dma/pool.ts dmaAllocFromPool). 32-bit ARM, x86-64 and parisc
   * do not (arch/arm/Kconfig, arch/x86/Kconfig, arch/parisc/Kconfig, v6.19).
   */
  readonly dmaDirectRemap: boolean;
  /** The arch selects CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC (arm64; the generic code also needs v6.5+). */
  readonly bounceUnalignedKmalloc: boolean;
  /** rmem_dma_setup refuses shared-dma-pool regions without `no-map` (32-bit ARM). */
  readonly rmemRequiresNoMap: boolean;
  /** The device (without an IOMMU) still uses the arch's own dma_map_ops at this release (ARM32 arm_dma_ops before v5.19). */
  usesLegacyDmaOps(kernel: KernelVersion): boolean;
  /** The arch's swiotlb_init decision at boot (its mem_init / pci_swiotlb_detect). */
  swiotlbDetect(m: ArchSwiotlbView): ArchSwiotlbDetect;
}

/**
 * How an arch-owned coherent buffer was made: ARM's __dma_alloc allocators
 * ("cma", "atomic-pool", "remap", "linear-map" for the simple allocator),
 * or pages of the device's restricted-dma-pool ("restricted-pool").
 */
export type ArchCoherentHow = "linear-map" | "remap" | "atomic-pool" | "cma" | "restricted-pool";

/** A coherent buffer an arch allocator returned (CPU address, DMA handle, bytes requested). */
export interface ArchCoherentBuffer {
  cpuAddr: VirtAddr;
  dmaHandle: DmaAddr;
  /** Bytes requested. */
  size: number;
  how: ArchCoherentHow;
}

/** gfp facts an arch allocator reads of the caller. */
export interface ArchDmaAllocOptions {
  /** gfpflags_allow_blocking(gfp): GFP_KERNEL true, GFP_ATOMIC false. */
  blocking: boolean;
}

/**
 * An arch's coherent-allocation hooks: the allocation its own dma_map_ops
 * make (ARM32 arm_dma_ops .alloc before v5.19) and arch_dma_alloc /
 * arch_dma_free, which dma-direct calls for non-coherent devices on an arch
 * that cannot remap (ARM32: !DMA_DIRECT_REMAP, then ARCH_HAS_DMA_ALLOC from
 * v6.7). One object per arch that has them (lib/dma/arch/arm-dma-alloc.ts
 * for 32-bit ARM); they sit one layer above this file because they use the
 * pools and CMA (docs/layers.json "dma/arch-ops") and are looked up with
 * archDmaAllocHooksOf (lib/dma/arch/arm-dma-alloc.ts). dma_alloc_attrs
 * (lib/dma/mapping.ts) asks them after the per-device pool and dma-iommu.
 */
export interface ArchDmaAllocHooks {
  readonly name: ArchName;
  /**
   * The arch's answer for this allocation: `handled: false` when the
   * generic dma-direct allocation runs unchanged (coherent device on
   * dma-direct, a board the arch model has no facts for); else the buffer
   * or null (the kernel's NULL).
   */
  archDmaAlloc(dev: Device, size: number, attrs: number, o: ArchDmaAllocOptions): { handled: false } | { handled: true; buffer: ArchCoherentBuffer | null };
  /**
   * Free a buffer this arch allocated (arm_dma_free / arch_dma_free, or the
   * restricted pool's swiotlb_free).
   * @returns true when the buffer was the arch's and is freed, false when it is not the arch's.
   */
  archDmaFree(dev: Device, size: number, cpuAddr: VirtAddr, dmaHandle: DmaAddr): boolean;
}
