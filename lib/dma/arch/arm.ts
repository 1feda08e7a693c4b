/**
 * ARM32 (ARMv7) streaming-DMA cache maintenance for non-coherent devices.
 *
 * Sources read:
 * - v6.19 (matankalina/linux-6.19.10-fork): arch/arm/mm/dma-mapping.c
 *   arch_sync_dma_for_device / arch_sync_dma_for_cpu; arch/arm/mm/cache-v7.S
 *   v7_dma_map_area (DMA_FROM_DEVICE -> v7_dma_inv_range, else
 *   v7_dma_clean_range), v7_dma_unmap_area (anything but DMA_TO_DEVICE ->
 *   v7_dma_inv_range), v7_dma_inv_range (clean+invalidate a partial first
 *   and last line, invalidate the lines between).
 * - v5.4.6 (hxb-gt/linux-5.4.6): arch/arm/mm/dma-mapping.c
 *   __dma_page_cpu_to_dev / __dma_page_dev_to_cpu (arm_dma_ops), the same
 *   rules through dmac_map_area / dmac_unmap_area.
 *
 * Rules (our words):
 * - for device: DMA_FROM_DEVICE invalidates the inner cache (partial end
 *   lines cleaned+invalidated) and then the outer cache (outer_inv_range);
 *   other directions clean inner, then outer (outer_clean_range);
 * - for cpu: DMA_TO_DEVICE nothing; otherwise outer_inv_range first, then
 *   v7_dma_inv_range on the inner cache (needed because the CPU may have
 *   speculatively refilled lines while the device wrote).
 * The outer operations are emitted only when the SoC has an outer cache
 * controller (env.outerCache); the AM335x's Cortex-A8 L2 is inner (maintained
 * to PoC by the MVA operations), so it has none.
 */
import { checkSyncArgs, invalidateWithPartialClean, lineSpan, type ArchEnv, type MaintOp } from "../../cache/maint.js";
import { DMA_FROM_DEVICE, DMA_TO_DEVICE, checkDirection } from "../../core/dma-types.js";
import { SZ_4G, hex } from "../../core/arith.js";
import { atLeast, defineChange } from "../../kernel/version.js";
import type { DmaArchHooks } from "./hooks.js";

/**
 * ARMv7 arch_sync_dma_for_device (v6.19) / __dma_page_cpu_to_dev (v5.4).
 * @throws ModelConfigError for a bad address, size, line size or direction.
 */
export function archSyncDmaForDevice(paddr: number, size: number, dir: number, env: ArchEnv): MaintOp[] {
  checkSyncArgs("arm.archSyncDmaForDevice", paddr, size, env.lineSize);
  const d = checkDirection("arm.archSyncDmaForDevice(dir)", dir);
  const { start, end } = lineSpan(paddr, size, env.lineSize);
  const ops: MaintOp[] =
    d === DMA_FROM_DEVICE
      ? invalidateWithPartialClean(paddr, size, env.lineSize, "v7_dma_inv_range")
      : [{ kind: "clean", start, end, level: "inner", fn: "v7_dma_clean_range" }];
  if (env.outerCache) {
    ops.push(d === DMA_FROM_DEVICE ? { kind: "invalidate", start, end, level: "outer", fn: "outer_inv_range" } : { kind: "clean", start, end, level: "outer", fn: "outer_clean_range" });
  }
  return ops;
}

/**
 * ARMv7 arch_sync_dma_for_cpu (v6.19) / __dma_page_dev_to_cpu (v5.4).
 * @throws ModelConfigError for a bad address, size, line size or direction.
 */
export function archSyncDmaForCpu(paddr: number, size: number, dir: number, env: ArchEnv): MaintOp[] {
  checkSyncArgs("arm.archSyncDmaForCpu", paddr, size, env.lineSize);
  const d = checkDirection("arm.archSyncDmaForCpu(dir)", dir);
  if (d === DMA_TO_DEVICE) return [];
  const { start, end } = lineSpan(paddr, size, env.lineSize);
  const ops: MaintOp[] = env.outerCache ? [{ kind: "invalidate", start, end, level: "outer", fn: "outer_inv_range" }] : [];
  return [...ops, ...invalidateWithPartialClean(paddr, size, env.lineSize, "v7_dma_inv_range")];
}

/** 32-bit ARM drops arm_dma_ops for dma-direct. */
export const ARM_USES_DMA_DIRECT = defineChange({
  id: "arm-dma-direct-unconditionally",
  since: "v6.0",
  commit: "ae626eb97376 (hash from several later Fixes: tags)",
  subject: "ARM/dma-mapping: use dma-direct unconditionally",
  files: ["arch/arm/mm/dma-mapping.c"],
  effect: "non-IOMMU devices on 32-bit ARM use dma-direct (get_sgtable decodes the page from the DMA address, no pfn_valid check; coherent allocations go through arch_dma_alloc or a restricted pool); before, 2-level (non-LPAE) kernels gave them arm_dma_ops / arm_coherent_dma_ops.",
  bracket: "absent in v5.19.0 (yishangzhang/linux-5.19, arch/arm/mm/dma-mapping.c:arm_get_dma_map_ops returns &arm_dma_ops, arm_dma_get_sgtable present), present in v6.0-rc1 (sun363587351/linux-6.0, arch/arm/mm/dma-mapping.c: no arm_dma_ops, arch_setup_dma_ops sets NULL ops for non-IOMMU devices)",
});

/**
 * 32-bit ARM's DMA hooks. swiotlb: arch/arm/mm/init.c mem_init (v6.19): a
 * pool iff RAM ends above arm_dma_limit (the profile's ZONE_DMA limit, else
 * 4 GiB). rmem_dma_setup refuses regions without `no-map`. Devices without
 * an IOMMU use arm_dma_ops (lib/dma/arch/arm-dma-mapping.ts) before v6.0.
 */
export const armHooks: DmaArchHooks = {
  name: "arm",
  archSyncDmaForDevice,
  archSyncDmaForCpu,
  allDevicesCoherent: false,
  dmaDirectRemap: false,
  bounceUnalignedKmalloc: false,
  rmemRequiresNoMap: true,
  usesLegacyDmaOps: (kernel) => !atLeast(kernel, ARM_USES_DMA_DIRECT),
  swiotlbDetect(m) {
    const ramEnd = Math.max(...m.profile.ram.map((b) => b.base + b.size));
    const limit = m.profile.zoneDmaLimit ?? SZ_4G;
    const pool = ramEnd > limit;
    return { pool, lowLimit: SZ_4G, reason: pool ? `arm: RAM ends above arm_dma_limit ${hex(limit)}` : `arm: all RAM below arm_dma_limit ${hex(limit)}` };
  },
};
