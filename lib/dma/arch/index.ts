/**
 * The arch layer of the DMA model: the per-arch hook objects
 * (lib/dma/arch/<arch>.ts, interface in ./hooks.ts) and applying an arch's
 * cache maintenance to the machine's CPU cache with its modelled cost.
 *
 * arch_sync_dma_for_device / arch_sync_dma_for_cpu (kernel/dma/direct.h,
 * drivers/iommu/dma-iommu.c call them for a non-coherent device) return
 * line operations ({@link MaintOp}); {@link applyMaintenance} performs them
 * through the kernel linear-map alias of the buffer (its colour on a VIPT
 * cache) and charges the profile's per-line costs (data/costs/<profile>.json).
 */
import { checkInt, hex } from "../../core/arith.js";
import type { PhysAddr } from "../../core/addr.js";
import type { KernelVersion } from "../../kernel/version.js";
import type { PlatformProfile } from "../../platform/profile.js";
import type { ArchEnv, MaintOp } from "../../cache/maint.js";
import type { CacheModel } from "../../cache/model.js";
import { machineCosts, type CostHost } from "../../cost/machine.js";
import type { CostValues } from "../../cost/schema.js";
import { physToVirt } from "../../mm/linear-map.js";
import type { ArchName, ArchSyncRules, DmaArchHooks } from "./hooks.js";
import { armHooks } from "./arm.js";
import { arm64Hooks } from "./arm64.js";
import { pariscHooks } from "./parisc.js";
import { x86Hooks } from "./x86.js";
import { ModelConfigError } from "../../core/errors.js";

export type { ArchName, ArchSyncRules, ArchSwiotlbDetect, ArchSwiotlbView, DmaArchHooks } from "./hooks.js";

const HOOKS: Record<ArchName, DmaArchHooks> = { arm64: arm64Hooks, arm: armHooks, x86_64: x86Hooks, parisc: pariscHooks };

/**
 * The DMA hook object of `arch` (lib/dma/arch/<arch>.ts).
 * @throws ModelConfigError for an arch the model has no hooks for (profiles are validated, so only a hand-built machine can hit it).
 */
export function archHooksOf(arch: ArchName): DmaArchHooks {
  const h = HOOKS[arch];
  if (!h) throw new ModelConfigError("arch", arch, Object.keys(HOOKS).join(", "));
  return h;
}

/** The sync rules of `arch` (its hook object, seen as its two sync rules). */
export function archSyncRules(arch: ArchName): ArchSyncRules {
  return archHooksOf(arch);
}

/** What applying maintenance reads of a machine. */
export interface MaintHost extends CostHost {
  readonly cpuCache: CacheModel;
  readonly profile: PlatformProfile;
  readonly kernel: KernelVersion;
}

/** The arch-rule environment of a machine: its line size and release (no outer cache modelled). */
export function envOf(m: { readonly profile: PlatformProfile; readonly kernel: KernelVersion }): ArchEnv {
  return { lineSize: m.profile.cpuCache.lineSize, kernel: m.kernel.name, outerCache: false };
}

function opCost(c: CostValues, op: MaintOp, lines: number): number {
  if (op.scope === "all") return c.wholeCacheFlushNs;
  if (op.level === "outer") return lines * c.outerLineNs;
  const per = op.kind === "clean" ? c.lineCleanNs : op.kind === "invalidate" ? c.lineInvalidateNs : c.lineCleanInvalidateNs;
  return lines * per;
}

/** Result of applying an arch sync rule. */
export interface SyncOutcome {
  readonly ops: MaintOp[];
  readonly lines: number;
  readonly writebacks: number;
  readonly costNs: number;
}

/** No maintenance (a coherent device, or DMA_ATTR_SKIP_CPU_SYNC). */
export function noSync(): SyncOutcome {
  return { ops: [], lines: 0, writebacks: 0, costNs: 0 };
}

/**
 * Apply maintenance operations to the machine's cache through the kernel
 * linear-map alias of `paddr` (its colour on VIPT caches).
 * @returns the operations, lines touched, dirty lines written back and the cost (ns).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function applyMaintenance(machine: MaintHost, ops: MaintOp[], paddr: number): SyncOutcome {
  checkInt("applyMaintenance(paddr)", paddr);
  const cache = machine.cpuCache;
  const colour = cache.colourOf(physToVirt(machine, paddr as PhysAddr));
  const c = machineCosts(machine);
  let lines = 0;
  let wb = 0;
  let cost = 0;
  for (const op of ops) {
    const r = cache.maintain(op, colour);
    lines += r.lines;
    wb += r.writebacks;
    cost += opCost(c, op, r.lines);
  }
  return { ops, lines, writebacks: wb, costNs: cost };
}

/** arch_sync_dma_for_device on the machine's cache for [paddr, paddr + size). */
export function archSyncDmaForDeviceOn(machine: MaintHost, paddr: number, size: number, dir: number): SyncOutcome {
  return applyMaintenance(machine, archHooksOf(machine.profile.arch).archSyncDmaForDevice(paddr, size, dir, envOf(machine)), paddr);
}

/** arch_sync_dma_for_cpu on the machine's cache for [paddr, paddr + size). */
export function archSyncDmaForCpuOn(machine: MaintHost, paddr: number, size: number, dir: number): SyncOutcome {
  return applyMaintenance(machine, archHooksOf(machine.profile.arch).archSyncDmaForCpu(paddr, size, dir, envOf(machine)), paddr);
}

/** The operations in words, for trace messages ("no cache maintenance" when none). */
export function describeOps(ops: MaintOp[]): string {
  if (!ops.length) return "no cache maintenance";
  return ops.map((o) => (o.scope === "all" ? `${o.fn} (whole cache)` : `${o.fn} ${o.kind} ${hex(o.start)}-${hex(o.end)}`)).join("; ");
}
