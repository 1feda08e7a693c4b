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
