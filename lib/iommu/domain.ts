/**
 * IOMMU instances and domains as the DMA layer sees them
 * (include/linux/iommu.h struct iommu_domain; drivers/iommu/dma-iommu.c
 * iommu_dma_init_domain), and the machine hook that gives every device
 * behind an IOMMU a DMA domain.
 *
 * A domain has a type (DMA: translated, with an IOVA allocator; IDENTITY:
 * passthrough), the page sizes of its page table (pgsize_bitmap), the
 * IOVA granule = the smallest of them (1 << __ffs(pgsize_bitmap)), an
 * aperture, its IovaDomain (lib/iommu/iova.ts) and its page table
 * (lib/iommu/io-pgtable.ts).
 *
 * Groups: the MediaTek M4U puts every master in one IOMMU group
 * (drivers/iommu/mtk_iommu.c, mtk_iommu_device_group(), v4.6+), so all
 * devices behind one M4U share one DMA domain. The model does the same for
 * every IOMMU: one default DMA domain per IOMMU instance.
 */
import { SZ_4G, checkInt, checkPowerOf2, MAX_ADDR } from "../core/arith.js";
import { EFAULT, ENODEV } from "../core/errno.js";
import { ModelConfigError } from "../core/errors.js";
import type { Trace } from "../core/trace.js";
import { atLeast, defineChange, parseKernelVersion, type KernelVersion } from "../kernel/version.js";
import type { Device } from "../platform/device.js";
import type { DeviceProfile, IommuProfile, PlatformProfile } from "../platform/profile.js";
import { initIovaDomain, type IovaDomain } from "./iova.js";
import { iovaRelease } from "./iova-release.js";
import { IoPgtable, checkIommuPgsizes, iommuDriverPgsizes, iommuPteFormat } from "./io-pgtable.js";
import { CHANGE_IOVA_RCACHES, IOVA_RANGE_CACHE_MAX_SIZE, iovaDepotWork, iovaDomainInitRcaches } from "./iova-rcache.js";
import { CHANGE_IOVA_FLUSH_QUEUE, fqTick, initFlushQueue, type FlushQueueDomain } from "./flush-queue.js";
import { iotlbCreate, type Iotlb } from "./iotlb.js";

/**
 * Entries of an IOMMU's model IOTLB when its profile gives no `iotlbEntries`:
 * 128. AN ESTIMATE with no source (the project's reference notes record no
 * IOTLB sizes; see lib/iommu/iotlb.ts): use it to count events, not to
 * predict time.
 */
export const IOTLB_DEFAULT_ENTRIES = 128;

/** v4.20: dma-iommu's non-strict mode (the IOVA flush queue on DMA domains, iommu.strict). */
export const CHANGE_IOMMU_DMA_FQ = defineChange({
  id: "iommu-dma-non-strict",
  since: "v4.20",
  commit: "2da274cdf998 (recalled, not verified)",
  subject: "iommu/dma: Add support for non-strict mode",
  files: ["drivers/iommu/dma-iommu.c", "drivers/iommu/iommu.c", "drivers/iommu/arm-smmu.c", "drivers/iommu/arm-smmu-v3.c"],
  effect: "the iommu.strict boot parameter (default 1: strict) exists; with iommu.strict=0 the default DMA domain of an SMMU gets DOMAIN_ATTR_DMA_USE_FLUSH_QUEUE, iommu_dma_init_domain sets up the iova.c flush queue (cookie->fq_domain) and iommu_dma_free_iova queues unmapped IOVAs (queue_iova) instead of freeing them; the unmap skips the range invalidation. Before, dma-iommu unmaps were always strict (intel-iommu and amd-iommu had their own DMA ops, which used the iova.c flush queue from v4.14).",
  bracket: "absent in v4.19.1 (chens37/linux-4.19.1, drivers/iommu/dma-iommu.c:iommu_dma_free_iova: free_iova_fast only, no fq_domain; drivers/iommu/iommu.c: no iommu.strict), present in v4.20.0 (a4913994/linux-4.20, drivers/iommu/dma-iommu.c:iommu_dma_init_domain (init_iova_flush_queue when fq_domain), iommu_dma_free_iova (queue_iova in non-strict mode); drivers/iommu/iommu.c:iommu_dma_setup early_param(\"iommu.strict\"), iommu_dma_strict = true)",
});

/** v5.15: the default DMA domain type is a Kconfig choice: lazy (DMA_FQ) by default on x86, strict elsewhere. */
export const CHANGE_IOMMU_DEFAULT_DMA_LAZY = defineChange({
  id: "iommu-default-dma-lazy",
  since: "v5.15",
  commit: "(Robin Murphy's series \"iommu: Refactor DMA domain strictness\", 2021; hashes not verified)",
  subject: "iommu: Add a Kconfig choice for the default DMA domain type (IOMMU_DEFAULT_DMA_STRICT / IOMMU_DEFAULT_DMA_LAZY)",
  files: ["drivers/iommu/Kconfig", "drivers/iommu/iommu.c", "drivers/iommu/dma-iommu.c"],
  effect: "iommu_dma_strict starts as IS_ENABLED(CONFIG_IOMMU_DEFAULT_DMA_STRICT); the choice defaults to IOMMU_DEFAULT_DMA_LAZY on X86 (and IA64; X86 || S390 in v6.19) and to strict elsewhere, so arm64 SMMU domains stay strict and x86 ones lazy unless iommu.strict says otherwise; lazy domains are of type IOMMU_DOMAIN_DMA_FQ. Before, iommu_dma_strict was true for the SMMU drivers and intel-iommu / amd-iommu kept their own lazy defaults (intel_iommu_strict = 0, amd_iommu_unmap_flush = false).",
  bracket: "absent in v5.14.0-rc5 (lsk-legends/linux-5.14, drivers/iommu/iommu.c: iommu_dma_strict = true; drivers/iommu/Kconfig: no IOMMU_DEFAULT_DMA_LAZY), present in v5.15.16 (yashlala/fastswap-linux-5.16.16, drivers/iommu/Kconfig: choice \"IOMMU default domain type\", default IOMMU_DEFAULT_DMA_LAZY if X86 || IA64; drivers/iommu/iommu.c: iommu_dma_strict = IS_ENABLED(CONFIG_IOMMU_DEFAULT_DMA_STRICT), IOMMU_DOMAIN_DMA_FQ)",
});

/**
 * IOMMU drivers whose DMA domains can use the flush queue, and from which
 * release the model's iommu-dma path gives them one:
 * - arm-smmu, arm-smmu-v3: DOMAIN_ATTR_DMA_USE_FLUSH_QUEUE from v4.20
 *   (drivers/iommu/arm-smmu.c, arm-smmu-v3.c: smmu_domain->non_strict,
 *   v4.20.0); IOMMU_CAP_DEFERRED_FLUSH in v6.19
 *   (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c:arm_smmu_capable);
 * - intel-iommu, amd-iommu: their own DMA ops queued unmaps on the iova.c
 *   flush queue from v4.14 (drivers/iommu/intel-iommu.c:intel_unmap,
 *   amd_iommu.c:__unmap_single -> queue_iova, v4.14.177); dma-iommu later.
 *   The model runs them through iommu-dma with the same queue. (v4.13
 *   intel-iommu had its own deferred flush, HIGH_WATER_MARK 250: not
 *   modelled, strict there.)
 * - mtk-iommu, exynos-sysmmu: no flush queue in any release (no
 *   DOMAIN_ATTR_DMA_USE_FLUSH_QUEUE, no IOMMU_CAP_DEFERRED_FLUSH in v6.19
 *   drivers/iommu/mtk_iommu.c, exynos-iommu.c): always strict.
 */
const FQ_DRIVERS: Record<string, "dma-iommu" | "own-ops"> = {
  "arm-smmu": "dma-iommu",
  "arm-smmu-v3": "dma-iommu",
  "intel-iommu": "own-ops",
  "amd-iommu": "own-ops",
};

/**
 * Whether a DMA domain of IOMMU driver `driver` can be lazy on release
 * `kernel` (see FQ_DRIVERS above): SMMUs from v4.20 ({@link CHANGE_IOMMU_DMA_FQ}),
 * intel-iommu / amd-iommu from v4.14 (CHANGE_IOVA_FLUSH_QUEUE), others never.
 */
export function iommuDmaLazySupported(kernel: KernelVersion | string, driver: string): boolean {
  if (typeof driver !== "string") throw new ModelConfigError("iommuDmaLazySupported(driver)", driver, "an IOMMU driver name (a string, e.g. \"arm-smmu-v3\")");
  const k = parseKernelVersion(kernel);
  const kind = FQ_DRIVERS[driver];
  if (kind === "dma-iommu") return atLeast(k, CHANGE_IOMMU_DMA_FQ);
  if (kind === "own-ops") return atLeast(k, CHANGE_IOVA_FLUSH_QUEUE);
  return false;
}

/**
 * The invalidation mode a DMA domain gets when neither iommu.strict nor the
 * profile says: v5.15+ ({@link CHANGE_IOMMU_DEFAULT_DMA_LAZY}) the Kconfig
 * default, lazy on x86 (x86_64) and strict on every other arch; before,
 * strict for the SMMUs (iommu_dma_strict = true, v4.20 .. v5.14) and lazy
 * for intel-iommu / amd-iommu (intel_iommu_strict = 0, amd_iommu_unmap_flush
 * = false). Lazy only where {@link iommuDmaLazySupported}.
 * @returns true for strict.
 * Source: drivers/iommu/Kconfig, drivers/iommu/iommu.c iommu_dma_strict
 * (v4.20.0, v5.14-rc5, v5.15.16, v6.19); drivers/iommu/intel-iommu.c,
 * amd_iommu.c (v4.14.177).
 */
export function iommuDmaDefaultStrict(kernel: KernelVersion | string, driver: string, arch: string): boolean {
  if (typeof driver !== "string") throw new ModelConfigError("iommuDmaDefaultStrict(driver)", driver, "an IOMMU driver name (a string, e.g. \"arm-smmu-v3\")");
  if (typeof arch !== "string") throw new ModelConfigError("iommuDmaDefaultStrict(arch)", arch, "an architecture name (a string, e.g. \"x86_64\")");
  const k = parseKernelVersion(kernel);
  if (!iommuDmaLazySupported(k, driver)) return true;
  if (atLeast(k, CHANGE_IOMMU_DEFAULT_DMA_LAZY)) return arch !== "x86_64";
  return FQ_DRIVERS[driver] !== "own-ops";
}

/**
 * Counters of one DMA domain since boot (all counts of operations):
 * page-table descriptors written and cleared (each driver's format:
 * replicated large pages count every copy, lib/iommu/io-pgtable.ts
 * IoPteFormat), IOMMU pages removed by unmaps, IOTLB range invalidations
 * (iommu_iotlb_sync of an unmapped range, strict) and invalidate-alls
 * (flush_iotlb_all of the flush queue), IOVAs queued on the flush queue and
 * flushes of it (queue full or timer), IOVA allocations served by an rcache
 * (fast) or by the rbtree (slow: alloc_iova, including every allocation
 * before v4.12 and above 32 pages), IOVA ranges given back (free_iova_fast
 * or free_iova; a lazy unmap counts when the flush frees it), IOTLB hits and
 * misses of device accesses through the domain.
 */
export interface IommuDomainCounters {
  pteWrites: number;
  pteClears: number;
  pagesUnmapped: number;
  iotlbInvalidateRange: number;
  iotlbInvalidateAll: number;
  fqQueued: number;
  fqFlushes: number;
  iovaAllocFast: number;
  iovaAllocSlow: number;
  iovaFree: number;
  iotlbHits: number;
  iotlbMisses: number;
}

/** An IOMMU instance (one M4U, one SMMU...), from a profile's `iommus` entry. */
export interface Iommu {
  readonly name: string;
  /** Kernel driver, e.g. "mtk-iommu". */
  readonly driver: string;
  /** Smallest page size, bytes. */
  readonly granule: number;
  /**
   * The hardware's page sizes as the profile gives them, checked against the
   * driver's table (or the driver's own list when the profile leaves them out),
   * sorted, bytes. The pgsize_bitmap a domain uses, per release, is
   * {@link IommuDomain.pageSizes}.
   */
  readonly pageSizes: readonly number[];
  /** IOVAs are below 2^apertureBits. */
  readonly apertureBits: number;
  /** The profile's `strict` (the board kernel's configured default), undefined when the profile does not say. */
  readonly strictConfig: boolean | undefined;
  /** The instance's model IOTLB (bounded, lib/iommu/iotlb.ts). */
  readonly iotlb: Iotlb;
  /** The default DMA domain shared by the IOMMU's devices (null until a device attaches). */
  defaultDomain: IommuDomain | null;
}

/** IOMMU_DOMAIN_DMA (translated, DMA API managed) or IOMMU_DOMAIN_IDENTITY (passthrough). */
export type IommuDomainType = "DMA" | "IDENTITY";

/** struct iommu_domain_geometry: the IOVA window the hardware translates, bytes, inclusive end. */
export interface IommuGeometry {
  apertureStart: number;
  apertureEnd: number;
  forceAperture: boolean;
}

/** A modelled struct iommu_domain with its DMA cookie. */
export interface IommuDomain {
  readonly type: IommuDomainType;
  readonly iommu: Iommu;
  /** domain->pgsize_bitmap as page sizes, bytes (ascending). */
  readonly pageSizes: readonly number[];
  /** IOVA granule, bytes: the smallest page size (1 << __ffs(pgsize_bitmap)). */
  readonly granule: number;
  readonly geometry: IommuGeometry;
  /** The cookie's IOVA domain; null until iommu_dma_init_domain (and for IDENTITY domains). */
  iovad: IovaDomain | null;
  readonly pgtable: IoPgtable;
  readonly kernel: KernelVersion;
  readonly trace: Trace;
  /** Online CPUs (the rcaches and per-CPU flush queues have one slot each). */
  readonly cpus: number;
  /** Strict invalidation (true) or the flush queue (false); settled by iommuDmaInitDomain. */
  strict: boolean;
  /** The flush queue of a lazy domain (null when strict or before iommuDmaInitDomain). */
  fq: FlushQueueDomain | null;
  /** @internal the domain's own counters (see iommuDomainCounters in dma-iommu.ts). */
  readonly stats: { iotlbInvalidateRange: number; iotlbInvalidateAll: number; iovaAllocFast: number; iovaAllocSlow: number; iovaFreeDirect: number; iotlbHits: number; iotlbMisses: number; fqQueued: number };
  /** @internal v6.7+: per order, the simulated time (ns) the scheduled depot work runs at, or -1. */
  readonly depotDueNs: number[];
  /** @internal the iommu.strict boot parameter the machine was given (undefined: absent). */
  readonly strictParam: boolean | undefined;
  /** The machine's arch (decides the v5.15+ default), set by attachDeviceIommu; absent: not x86. */
  arch?: string;
}

/**
 * Build an IOMMU instance from its profile entry.
 * @throws ModelConfigError if the granule is not the smallest page size.
 */
export function createIommu(p: IommuProfile): Iommu {
  if (p.pageSizes) [...new Set(p.pageSizes)].sort((a, b) => a - b).forEach((s, i) => checkPowerOf2(`iommu(${p.name}).pageSizes.${i}`, s, 1024, 2 ** 40));
  // The driver's table decides (lib/iommu/io-pgtable.ts IOMMU_DRIVER_PGSIZES); a profile that disagrees is rejected.
  const sizes = checkIommuPgsizes(p);
  if (sizes[0] !== p.granule) {
    throw new ModelConfigError(`iommu(${p.name}).granule`, p.granule, `the smallest page size ${sizes[0]} (granule = 1 << __ffs(pgsize_bitmap))`);
  }
  checkInt(`iommu(${p.name}).apertureBits`, p.apertureBits, 20, 52);
  const iotlb = iotlbCreate({ entries: p.iotlbEntries ?? IOTLB_DEFAULT_ENTRIES });
  return { name: p.name, driver: p.driver, granule: p.granule, pageSizes: sizes, apertureBits: p.apertureBits, strictConfig: p.strict, iotlb, defaultDomain: null };
}

/**
 * iommu_domain_alloc / the driver's domain_alloc: a domain of `type` whose
 * page sizes are the IOMMU's and whose aperture is [0, 2^apertureBits - 1]
 * with force_aperture set (mtk_iommu_domain_finalise sets the aperture from
 * its IOVA region: 0..4 GiB - 1 on MT8173).
 */
export function iommuDomainAlloc(iommu: Iommu, type: IommuDomainType, ctx: { kernel: KernelVersion | string; trace: Trace; cpus?: number; strict?: boolean }): IommuDomain {
  if (type !== "DMA" && type !== "IDENTITY") throw new ModelConfigError("iommuDomainAlloc(type)", type, '"DMA" or "IDENTITY"');
  const cpus = checkInt("iommuDomainAlloc(ctx.cpus)", ctx.cpus ?? 1, 1, 1024);
  if (ctx.strict !== undefined && typeof ctx.strict !== "boolean") throw new ModelConfigError("iommuDomainAlloc(ctx.strict)", ctx.strict, "true, false or absent");
  // The domain's pgsize_bitmap: the driver's, per release (intel-iommu changed in v5.15), from the IOMMU's hardware sizes.
  const domainSizes = iommuDriverPgsizes(iommu.driver, iommu.granule, ctx.kernel, iommu.pageSizes);
  return {
    cpus,
    strict: true,
    fq: null,
    stats: { iotlbInvalidateRange: 0, iotlbInvalidateAll: 0, iovaAllocFast: 0, iovaAllocSlow: 0, iovaFreeDirect: 0, iotlbHits: 0, iotlbMisses: 0, fqQueued: 0 },
    depotDueNs: new Array<number>(IOVA_RANGE_CACHE_MAX_SIZE).fill(-1),
    strictParam: ctx.strict,
    type,
    iommu,
    pageSizes: domainSizes,
    granule: domainSizes[0]!,
    geometry: { apertureStart: 0, apertureEnd: Math.min(MAX_ADDR, 2 ** iommu.apertureBits - 1), forceAperture: true },
    iovad: null,
    pgtable: new IoPgtable(domainSizes[0]!, domainSizes, iommuPteFormat(iommu.driver, iommu.granule, ctx.kernel, iommu.pageSizes)),
    kernel: parseKernelVersion(ctx.kernel),
    trace: ctx.trace,
  };
}

/**
 * iommu_dma_init_domain(): give a DMA domain its IOVA allocator.
 *
 * - granule = 1 << __ffs(pgsize_bitmap) (the smallest page size);
 * - v4.4 (iommu_dma_init_domain(domain, base, size), called from arm64's
 *   arch_setup_dma_ops with the device's DMA window, 0 and 4 GiB for a DT
 *   device without dma-ranges): base_pfn = max(1, base >> order), clamped
 *   up to aperture_start >> order, and -EFAULT if the window misses the
 *   aperture; init_iova_domain(iovad, granule, base_pfn, end_pfn);
 * - newest (v6.19, iommu_dma_init_domain(domain, dev)): base_pfn =
 *   max(1, aperture_start >> order); init_iova_domain(iovad, granule, base_pfn).
 * Both forms give the same base pfn for a DT device without dma-ranges
 * (window 0..4 GiB, the newest code's dma_range_map check is the same
 * window test), so the model applies one rule: base_pfn = max(1,
 * base >> order, aperture_start >> order), -EFAULT if the window misses
 * the aperture. The model's IovaDomain follows the newest allocator
 * (iova.ts); the v4.4 end_pfn (used there as dma_32bit_pfn) is
 * 4 GiB / granule for the modelled platforms, as in the newest code.
 * An already initialised domain is left alone (0) if compatible.
 * @returns 0; -EFAULT (window outside the aperture); -ENODEV for an
 * IDENTITY domain (no DMA cookie).
 * @throws ModelConfigError if the granule is larger than PAGE_SIZE (the
 * kernel BUG_ONs in init_iova_domain).
 * Source: drivers/iommu/dma-iommu.c, iommu_dma_init_domain() (v4.4, v6.19).
 */
export function iommuDmaInitDomain(domain: IommuDomain, pageSize: number, window: { base: number; size: number } = { base: 0, size: SZ_4G }): number {
  if (domain.type !== "DMA") return -ENODEV; // no iova cookie
  if (domain.granule > pageSize) {
    throw new ModelConfigError("iommu granule", domain.granule, `at most PAGE_SIZE ${pageSize} (init_iova_domain BUG_ON)`);
  }
  const g = domain.granule;
  const geo = domain.geometry;
  checkInt("window.base", window.base);
  checkInt("window.size", window.size, 1);
  if (geo.forceAperture && (window.base > geo.apertureEnd || window.base + window.size <= geo.apertureStart)) {
    domain.trace.record({ fn: "iommu_dma_init_domain", kind: "warn", level: "warn", msg: "specified DMA range outside IOMMU capability", data: {} });
    return -EFAULT;
  }
  const basePfn = Math.max(1, Math.floor(window.base / g), Math.floor(geo.apertureStart / g));
  if (domain.iovad) {
    if (domain.iovad.granule !== g || domain.iovad.startPfn !== basePfn) {
      domain.trace.record({ fn: "iommu_dma_init_domain", kind: "warn", level: "warn", msg: "Incompatible range for DMA domain", data: {} });
      return -EFAULT;
    }
    return 0;
  }
  // The allocator follows the domain's release (lib/iommu/iova-release.ts).
  // Before v4.15, init_iova_domain() took the window's last pfn, clamped to
  // the aperture with force_aperture, as pfn_32bit (dma-iommu.c,
  // iommu_dma_init_domain, v4.4.1); v4.15 dropped that argument.
  const rel = iovaRelease(domain.kernel.name, "domain.kernel");
  let endPfn = Math.floor((window.base + window.size - 1) / g);
  if (geo.forceAperture) endPfn = Math.min(endPfn, Math.floor(geo.apertureEnd / g));
  domain.iovad = initIovaDomain(g, basePfn, rel.rework ? { kernel: domain.kernel.name } : { kernel: domain.kernel.name, pfn32bit: endPfn });
  // init_iova_domain -> init_iova_rcaches (v4.7 .. v5.17: percpu magazines for
  // every possible CPU) / iova_domain_init_rcaches (v5.18+): the model's CPUs are all online.
  if (atLeast(domain.kernel, CHANGE_IOVA_RCACHES)) iovaDomainInitRcaches(domain.iovad, { cpus: domain.cpus });
  // Strict or lazy: iommu.strict, else the board's config, else the release's/driver's
  // default; lazy only where the release and driver have a flush queue (else strict, as the
  // kernel ignores iommu.strict=0 for such a domain). The queue: iommu_dma_init_fq (v5.17+),
  // init_iova_flush_queue (v4.20 .. v5.16), per CPU, IOVA_FQ_SIZE 256, 10 ms.
  const iommu = domain.iommu;
  const wanted = domain.strictParam ?? iommu.strictConfig ?? iommuDmaDefaultStrict(domain.kernel, iommu.driver, domain.arch ?? "");
  domain.strict = wanted || !iommuDmaLazySupported(domain.kernel, iommu.driver);
  if (domain.strictParam === false && domain.strict) {
    domain.trace.record({ fn: "iommu_dma_init_domain", kind: "warn", level: "info", msg: `iommu.strict=0 has no effect on ${iommu.name} (${iommu.driver}, ${domain.kernel.name}): no flush queue for this domain, unmaps stay strict`, data: {} });
  }
  domain.fq = domain.strict ? null : initFlushQueue(domain.iovad, { mode: "lazy", iotlb: iommu.iotlb });
  return 0;
}

/**
 * Let the domain's timers catch up with simulated time `nowNs` (ns): an
 * expired flush-queue timer fires (fq_flush_timeout: flush-all, free every
 * covered entry), and from v6.7 each rcache order's depot work that is due
 * runs (iova_depot_work_func, every IOVA_DEPOT_DELAY = 100 ms while the depot
 * holds more magazines than CPUs). Deterministic: only `nowNs` decides.
 * @throws ModelConfigError if time goes backwards (the flush queue's check).
 * Source: drivers/iommu/dma-iommu.c fq_flush_timeout (v6.19); drivers/iommu/iova.c
 * iova_depot_work_func, IOVA_DEPOT_DELAY (v6.8.0, v6.19).
 */
export function iommuDomainAdvanceTime(domain: IommuDomain, nowNs: number): void {
  if (typeof nowNs !== "number" || !(nowNs >= 0 && nowNs <= MAX_ADDR)) throw new ModelConfigError("iommuDomainAdvanceTime(nowNs)", nowNs, "a time in ns in [0, 2^53 - 1]");
  const t = Math.floor(nowNs);
  if (domain.fq) fqTick(domain.fq, t);
  const rc = domain.iovad?.rcaches;
  if (!rc || !rc.depotList) return;
  for (let o = 0; o < IOVA_RANGE_CACHE_MAX_SIZE; o++) {
    const r = rc.rcaches[o]!;
    if (!r.workPending) {
      domain.depotDueNs[o] = -1;
      continue;
    }
    if (domain.depotDueNs[o]! < 0) domain.depotDueNs[o] = t + IOVA_DEPOT_DELAY_NS;
    while (r.workPending && domain.depotDueNs[o]! <= t) {
      iovaDepotWork(domain.iovad!, o);
      domain.depotDueNs[o] = r.workPending ? domain.depotDueNs[o]! + IOVA_DEPOT_DELAY_NS : -1;
    }
  }
}

/** IOVA_DEPOT_DELAY (drivers/iommu/iova.c, v6.8.0: msecs_to_jiffies(100)), ns. */
export const IOVA_DEPOT_DELAY_NS = 100_000_000;

/** Change: platform devices always have (zeroed) dma_parms. */
export const CHANGE_PLATFORM_DMA_PARMS = defineChange({
  id: "platform-device-dma-parms",
  since: "v5.7",
  commit: "9495b7e92f71",
  subject: "driver core: platform: Initialize dma_parms for platform devices",
  files: ["drivers/base/platform.c"],
  effect: "every platform device has a zeroed dma_parms: dma_get_max_seg_size/seg_boundary still return the defaults, but dma_set_max_seg_size succeeds instead of returning -EIO, and vb2_dma_contig_set_max_seg_size no longer allocates one.",
  bracket: "absent in v5.6.4 (shmily1012/linux-5.6.4, drivers/base/platform.c: no dma_parms), present in v5.7.14 (a5221985/linux-5.7.14, drivers/base/platform.c: pdev->dev.dma_parms = &pdev->dma_parms; include/linux/platform_device.h:struct platform_device)",
});

declare module "../platform/device.js" {
  interface Device {
    /**
     * The IOMMU domain the device is attached to (iommu_get_domain_for_dev):
     * a DMA domain routes the DMA API through iommu-dma; null or absent =
     * no IOMMU (dma-direct). Set by the machine from the profile's `iommu`.
     */
    iommuDomain?: IommuDomain | null;
  }
}

/** What {@link attachDeviceIommu} needs of a machine (avoids importing Machine). */
export interface IommuMachineView {
  readonly profile: PlatformProfile;
  readonly kernel: KernelVersion;
  readonly trace: Trace;
  readonly devices: Map<string, Device>;
  readonly iommus: Map<string, Iommu>;
  /** Online CPUs. */
  readonly cpus: number;
  /** The iommu.strict boot parameter (undefined: absent). */
  readonly iommuStrict: boolean | undefined;
}

/**
 * Attach a device (already created) to the default DMA domain of the IOMMU
 * its profile names, creating the IOMMU instance and its domain on first
 * use; a device without `iommu` gets `iommuDomain = null`. Also applies
 * 9495b7e92f71 ("driver core: platform: Initialize dma_parms for platform
 * devices", v5.7): from v5.7 every platform device has a zeroed dma_parms,
 * which reads as the defaults but lets dma_set_max_seg_size succeed.
 * @throws ModelConfigError if the profile's IOMMU is unknown or its granule exceeds PAGE_SIZE.
 */
export function attachDeviceIommu(m: IommuMachineView, dev: Device, dp: DeviceProfile | undefined): void {
  if (dp && dp.bus === "platform" && dev.dmaParms === null && atLeast(m.kernel, CHANGE_PLATFORM_DMA_PARMS)) {
    dev.dmaParms = { maxSegmentSize: 0, segmentBoundaryMask: 0 };
  }
  if (!dp || dp.iommu === undefined) {
    dev.iommuDomain = null;
    return;
  }
  let iommu = m.iommus.get(dp.iommu);
  if (!iommu) {
    const ip = m.profile.iommus.find((x) => x.name === dp.iommu);
    if (!ip) throw new ModelConfigError(`devices(${dp.name}).iommu`, dp.iommu, `one of ${m.profile.iommus.map((x) => x.name).join(", ")}`);
    iommu = createIommu(ip);
    m.iommus.set(iommu.name, iommu);
  }
  if (!iommu.defaultDomain) {
    const d = iommuDomainAlloc(iommu, "DMA", { kernel: m.kernel, trace: m.trace, cpus: m.cpus, ...(m.iommuStrict !== undefined ? { strict: m.iommuStrict } : {}) });
    d.arch = m.profile.arch;
    const r = iommuDmaInitDomain(d, m.profile.pageSize);
    if (r !== 0) throw new ModelConfigError(`iommus(${iommu.name})`, r, "an aperture the DMA window can use");
    iommu.defaultDomain = d;
  }
  dev.iommuDomain = iommu.defaultDomain;
}

/**
 * The counters of a DMA domain since boot ({@link IommuDomainCounters}: all
 * counts). PTE counts come from the page table, flush-queue counts from the
 * domain's queue (zero while strict), the rest from iommu-dma
 * (lib/iommu/dma-iommu.ts) and the device accesses through the domain.
 * @returns a fresh object (a snapshot).
 * @throws ModelConfigError for something that is not an IommuDomain.
 * Source: model bookkeeping around drivers/iommu/dma-iommu.c
 * iommu_dma_alloc_iova, iommu_dma_free_iova, __iommu_dma_unmap, queue_iova,
 * fq_flush_iotlb (v6.19; per release as the callers switch).
 */
export function iommuDomainCounters(domain: IommuDomain): IommuDomainCounters {
  if (typeof domain !== "object" || domain === null || !(domain as IommuDomain).pgtable || !(domain as IommuDomain).stats) {
    throw new ModelConfigError("iommuDomainCounters(domain)", domain, "an IommuDomain (a device's iommuDomain)");
  }
  const st = domain.stats;
  const fq = domain.fq;
  return {
    pteWrites: domain.pgtable.pteWrites,
    pteClears: domain.pgtable.pteClears,
    pagesUnmapped: domain.pgtable.pagesUnmapped,
    iotlbInvalidateRange: st.iotlbInvalidateRange,
    iotlbInvalidateAll: st.iotlbInvalidateAll + (fq ? fq.stats.flushesFull + fq.stats.flushesTimer : 0),
    fqQueued: st.fqQueued,
    fqFlushes: fq ? fq.stats.flushesFull + fq.stats.flushesTimer : 0,
    iovaAllocFast: st.iovaAllocFast,
    iovaAllocSlow: st.iovaAllocSlow,
    iovaFree: st.iovaFreeDirect + (fq ? fq.stats.iovasFreed : 0),
    iotlbHits: st.iotlbHits,
    iotlbMisses: st.iotlbMisses,
  };
}

/**
 * Whether the DMA domain invalidates strictly on every unmap (true) or uses
 * the flush queue (false): what iommu.strict, the profile and the
 * release/driver default settled at iommuDmaInitDomain (the kernel's
 * domain->type IOMMU_DOMAIN_DMA vs IOMMU_DOMAIN_DMA_FQ from v5.15,
 * cookie->fq_domain v4.20 .. v5.14).
 * @throws ModelConfigError for something that is not an IommuDomain.
 */
export function iommuDomainStrict(domain: IommuDomain): boolean {
  if (typeof domain !== "object" || domain === null || typeof (domain as IommuDomain).strict !== "boolean") {
    throw new ModelConfigError("iommuDomainStrict(domain)", domain, "an IommuDomain (a device's iommuDomain)");
  }
  return domain.strict;
}
