/**
 * arm64 streaming-DMA cache maintenance for non-coherent devices.
 *
 * Sources read:
 * - v6.19 (matankalina/linux-6.19.10-fork, "Import Linux v6.19"):
 *   arch/arm64/mm/dma-mapping.c arch_sync_dma_for_device /
 *   arch_sync_dma_for_cpu; arch/arm64/mm/cache.S dcache_clean_poc
 *   (dc cvac by line) and dcache_inval_poc (dc civac on a partial first or
 *   last line, dc ivac on the whole lines between).
 * - v5.4: arch_sync_dma_for_device called __dma_map_area, which invalidated
 *   (__dma_inv_area, same partial-line rule) for DMA_FROM_DEVICE and cleaned
 *   otherwise, until commit c50f11c6196f "arm64: mm: Don't invalidate
 *   FROM_DEVICE buffers at start of DMA transfer" (Will Deacon, mainline
 *   v5.19; backported to 5.10.125 and 5.15.50, not to 5.4).
 *
 * Rules (our words):
 * - for device, v5.19+: clean [paddr, paddr+size) to PoC for every direction
 *   (a clean cannot destroy data, and for-cpu invalidation follows anyway);
 * - for device, before v5.19: DMA_FROM_DEVICE invalidates (partial end lines
 *   cleaned+invalidated), other directions clean;
 * - for cpu: DMA_TO_DEVICE does nothing; otherwise invalidate with the
 *   partial-line clean+invalidate at the ends.
 */
import { atLeast, defineChange } from "../../kernel/version.js";
import { kernelFunctionName } from "../../kernel/api-changes.js";
import { checkSyncArgs, invalidateWithPartialClean, lineSpan, type ArchEnv, type MaintOp } from "../../cache/maint.js";
import { DMA_FROM_DEVICE, DMA_TO_DEVICE, checkDirection } from "../../core/dma-types.js";
import { hex } from "../../core/arith.js";
import type { DmaArchHooks } from "./hooks.js";

/** c50f11c6196f: arm64 stops invalidating FROM_DEVICE buffers in arch_sync_dma_for_device. */
const ARM64_NO_INVAL_FOR_DEVICE = defineChange({
  id: "arm64-clean-only-for-device",
  since: "v5.19",
  commit: "c50f11c6196f",
  subject: "arm64: mm: Don't invalidate FROM_DEVICE buffers at start of DMA transfer",
  files: ["arch/arm64/mm/dma-mapping.c", "arch/arm64/mm/cache.S"],
  effect: "arch_sync_dma_for_device cleans (dc cvac) for every direction instead of invalidating DMA_FROM_DEVICE buffers",
  bracket: "absent in v5.17-rc5 (dunli/linux-5.17, arch/arm64/mm/cache.S:__dma_map_area: FROM_DEVICE invalidates), present in v5.19.0 (yishangzhang/linux-5.19, arch/arm64/mm/cache.S:__dma_map_area: always cleans); loose: no v5.18 tree, v5.19 because the commit is a 5.19-rc fix; backported to older stable series",
});

/**
 * arm64 arch_sync_dma_for_device(paddr, size, dir): the maintenance issued
 * before the device accesses the buffer.
 * @returns line-aligned operations on the kernel linear-map alias.
 * @throws ModelConfigError for a bad address, size, line size or direction.
 */
export function archSyncDmaForDevice(paddr: number, size: number, dir: number, env: ArchEnv): MaintOp[] {
  checkSyncArgs("arm64.archSyncDmaForDevice", paddr, size, env.lineSize);
  const d = checkDirection("arm64.archSyncDmaForDevice(dir)", dir);
  if (!atLeast(env.kernel, ARM64_NO_INVAL_FOR_DEVICE) && d === DMA_FROM_DEVICE) {
    return invalidateWithPartialClean(paddr, size, env.lineSize, kernelFunctionName(env.kernel, "__dma_inv_area"));
  }
  const { start, end } = lineSpan(paddr, size, env.lineSize);
  return [{ kind: "clean", start, end, level: "inner", fn: kernelFunctionName(env.kernel, "__dma_clean_area") }];
}

/**
 * arm64 arch_sync_dma_for_cpu(paddr, size, dir): maintenance after the
 * device is done, before the CPU reads.
 * @returns [] for DMA_TO_DEVICE, else dcache_inval_poc's operations.
 * @throws ModelConfigError for a bad address, size, line size or direction.
 */
export function archSyncDmaForCpu(paddr: number, size: number, dir: number, env: ArchEnv): MaintOp[] {
  checkSyncArgs("arm64.archSyncDmaForCpu", paddr, size, env.lineSize);
  const d = checkDirection("arm64.archSyncDmaForCpu(dir)", dir);
  if (d === DMA_TO_DEVICE) return [];
  return invalidateWithPartialClean(paddr, size, env.lineSize, kernelFunctionName(env.kernel, "__dma_inv_area"));
}

/**
 * arm64's DMA hooks. swiotlb: arch/arm64/mm/init.c arch_mm_preinit (v6.19;
 * mem_init in v5.4): a pool iff RAM ends above arm64_dma_phys_limit (the
 * end of the lowest DMA zone of lib/mm: ZONE_DMA from v5.5, ZONE_DMA32
 * before), which is also the pool's low limit. arm64 selects
 * CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC (the small kmalloc-bounce pool is
 * added by the generic code, lib/dma/swiotlb.ts swiotlbBootDecision).
 */
export const arm64Hooks: DmaArchHooks = {
  name: "arm64",
  archSyncDmaForDevice,
  archSyncDmaForCpu,
  allDevicesCoherent: false,
  dmaDirectRemap: true,
  bounceUnalignedKmalloc: true,
  rmemRequiresNoMap: false,
  usesLegacyDmaOps: () => false,
  swiotlbDetect(m) {
    const ramEnd = Math.max(...m.profile.ram.map((b) => b.base + b.size));
    const zones = m.mm.zones();
    const z = zones.find((x) => x.name === "ZONE_DMA") ?? zones.find((x) => x.name === "ZONE_DMA32");
    const lowLimit = z ? z.end : ramEnd;
    const pool = ramEnd > lowLimit;
    return { pool, lowLimit, reason: pool ? `arm64: RAM ends at ${hex(ramEnd)}, above arm64_dma_phys_limit ${hex(lowLimit)}` : `arm64: all RAM below arm64_dma_phys_limit ${hex(lowLimit)}` };
  },
};
