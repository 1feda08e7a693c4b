/**
 * Cache-maintenance operations, the vocabulary shared by
 * the cache model, the per-architecture sync rules (lib/dma/arch) and the
 * streaming DMA API (lib/dma/arch/index.ts applies them; lib/dma/direct.ts,
 * lib/iommu/dma-iommu.ts, lib/dma/mapping.ts).
 *
 * Source: include/linux/dma-direction.h (enum dma_data_direction values),
 * v6.19 and v5.4 (unchanged).
 */
import { alignDown, alignUp } from "../core/arith.js";
import { checkIntArg, checkPowerOf2Arg } from "../core/arg-checks.js";


/**
 * A cache-maintenance operation on one line-aligned physical range:
 * - "clean": write dirty lines back to memory, keep them valid (dc cvac,
 *   DCCMVAC);
 * - "invalidate": drop lines without writing back, dirty data is lost
 *   (dc ivac, DCIMVAC, PA-RISC pdc "purge");
 * - "cleanInvalidate": write back if dirty, then drop (dc civac, DCCIMVAC,
 *   PA-RISC fdc "flush").
 */
export type MaintKind = "clean" | "invalidate" | "cleanInvalidate";

/** One maintenance operation an architecture's sync rule issues. */
export interface MaintOp {
  readonly kind: MaintKind;
  /** Physical start, bytes, aligned to the line size. */
  readonly start: number;
  /** Physical end (exclusive), bytes, aligned to the line size. */
  readonly end: number;
  /** Which cache: "inner" (the modelled CPU data cache to PoC) or "outer" (an outer L2 controller such as PL310; recorded and costed, not a separate model level). */
  readonly level: "inner" | "outer";
  /** Kernel routine that performs it, e.g. "dcache_clean_poc", "v7_dma_inv_range". */
  readonly fn: string;
  /**
   * "all": the operation covers the whole cache (every colour), e.g. PA-RISC
   * flush_data_cache; start/end are then 0. Otherwise the range is reached
   * through the kernel linear-map alias (its colour on VIPT caches).
   */
  readonly scope?: "range" | "all";
}

/** Per-call inputs an architecture's sync rule needs besides (paddr, size, dir). */
export interface ArchEnv {
  /** D-cache line size in bytes (the minimum line reported by CTR_EL0/CCSIDR, dcache_stride). */
  readonly lineSize: number;
  /** Kernel release, "vX.Y". */
  readonly kernel: string;
  /** True if the SoC has an outer cache controller (ARM32 outer_cache, e.g. PL310). */
  readonly outerCache?: boolean;
}

/**
 * Validate (paddr, size, lineSize) for a sync rule.
 * @throws ModelConfigError for a non-integer address, a size < 1, or a line size that is not a power of two in [16, 256].
 */
export function checkSyncArgs(fn: string, paddr: number, size: number, lineSize: number): void {
  checkIntArg(fn, "paddr", paddr);
  checkIntArg(fn, "size", size, 1);
  checkPowerOf2Arg(fn, "lineSize", lineSize, 16, 256);
}

/** paddr, size (bytes, integers >= 0) and lineSize (a power of two), checked with the caller's name before any arithmetic. */
function checkSpan(fn: string, paddr: number, size: number, lineSize: number): void {
  checkIntArg(fn, "paddr", paddr);
  checkIntArg(fn, "size", size);
  checkPowerOf2Arg(fn, "lineSize", lineSize);
  checkIntArg(fn, "size", paddr + size);
}

/**
 * The line-aligned range covering [paddr, paddr + size): partial lines at both ends are covered whole.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function lineSpan(paddr: number, size: number, lineSize: number): { start: number; end: number } {
  checkSpan("lineSpan", paddr, size, lineSize);
  return { start: alignDown(paddr, lineSize), end: alignUp(paddr + size, lineSize) };
}

/**
 * An invalidate over [paddr, paddr + size) done the way arm64
 * dcache_inval_poc (arch/arm64/mm/cache.S, v5.4 __dma_inv_area and v6.19)
 * and ARMv7 v7_dma_inv_range (arch/arm/mm/cache-v7.S) do it: a partial line
 * at the start or the end is cleaned and invalidated (so the neighbour's
 * dirty bytes reach memory instead of being thrown away), the whole lines in
 * between are only invalidated.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function invalidateWithPartialClean(paddr: number, size: number, lineSize: number, fn: string, level: "inner" | "outer" = "inner"): MaintOp[] {
  checkSpan("invalidateWithPartialClean", paddr, size, lineSize);
  const ops: MaintOp[] = [];
  let s = alignDown(paddr, lineSize);
  const endRaw = paddr + size;
  const e = alignDown(endRaw, lineSize);
  if (endRaw !== e) {
    ops.push({ kind: "cleanInvalidate", start: e, end: e + lineSize, level, fn });
  }
  if (paddr !== s) {
    if (s !== e || endRaw === e) ops.push({ kind: "cleanInvalidate", start: s, end: s + lineSize, level, fn });
    s += lineSize;
  }
  if (e > s) ops.push({ kind: "invalidate", start: s, end: e, level, fn });
  ops.sort((a, b) => a.start - b.start);
  return ops;
}
