/**
 * x86: DMA is cache-coherent. x86 does not select
 * ARCH_HAS_SYNC_DMA_FOR_DEVICE / _FOR_CPU, so dma-direct never issues
 * cache maintenance for streaming mappings (kernel/dma/direct.h
 * dma_direct_sync_single_for_* only call arch hooks for devices that are not
 * dev_is_dma_coherent, and every x86 device is). Source: arch/x86/Kconfig
 * and kernel/dma/direct.h, v6.19 and v5.4.
 *
 * The functions exist so every architecture has the same shape; they
 * validate their arguments and return no operations.
 */
import { checkSyncArgs, type ArchEnv, type MaintOp } from "../../cache/maint.js";
import { checkDirection } from "../../core/dma-types.js";
import { SZ_4G, hex } from "../../core/arith.js";
import type { DmaArchHooks } from "./hooks.js";

/**
 * x86 "arch_sync_dma_for_device": nothing (coherent).
 * @throws ModelConfigError for bad arguments.
 */
export function archSyncDmaForDevice(paddr: number, size: number, dir: number, env: ArchEnv): MaintOp[] {
  checkSyncArgs("x86.archSyncDmaForDevice", paddr, size, env.lineSize);
  checkDirection("x86.archSyncDmaForDevice(dir)", dir);
  return [];
}

/**
 * x86 "arch_sync_dma_for_cpu": nothing (coherent).
 * @throws ModelConfigError for bad arguments.
 */
export function archSyncDmaForCpu(paddr: number, size: number, dir: number, env: ArchEnv): MaintOp[] {
  checkSyncArgs("x86.archSyncDmaForCpu", paddr, size, env.lineSize);
  checkDirection("x86.archSyncDmaForCpu(dir)", dir);
  return [];
}

/**
 * x86-64's DMA hooks. swiotlb: arch/x86/kernel/pci-dma.c pci_swiotlb_detect
 * (v6.19; v5.4 pci_swiotlb_detect_4gb has the same test): a pool iff RAM
 * ends above 4 GiB (max_possible_pfn > MAX_DMA32_PFN). The v5.4 VT-d driver
 * then dropped it (swiotlb = 0, freed at late init): not modelled, devices
 * behind an IOMMU do not use dma-direct.
 */
export const x86Hooks: DmaArchHooks = {
  name: "x86_64",
  archSyncDmaForDevice,
  archSyncDmaForCpu,
  allDevicesCoherent: true,
  dmaDirectRemap: false,
  bounceUnalignedKmalloc: false,
  rmemRequiresNoMap: false,
  usesLegacyDmaOps: () => false,
  swiotlbDetect(m) {
    const ramEnd = Math.max(...m.profile.ram.map((b) => b.base + b.size));
    const pool = ramEnd > SZ_4G;
    return { pool, lowLimit: SZ_4G, reason: pool ? `pci_swiotlb_detect: RAM ends at ${hex(ramEnd)}, above 4 GiB` : "pci_swiotlb_detect: all RAM below 4 GiB" };
  },
};
