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
import { IoPgtable } from "./io-pgtable.js";

/** An IOMMU instance (one M4U, one SMMU...), from a profile's `iommus` entry. */
export interface Iommu {
  readonly name: string;
  /** Kernel driver, e.g. "mtk-iommu". */
  readonly driver: string;
  /** Smallest page size, bytes. */
  readonly granule: number;
  /** pgsize_bitmap as a sorted list of page sizes, bytes. */
  readonly pageSizes: readonly number[];
  /** IOVAs are below 2^apertureBits. */
  readonly apertureBits: number;
  /** Strict invalidation (true) or flush queue. */
  readonly strict: boolean;
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
}

/**
 * Build an IOMMU instance from its profile entry.
 * @throws ModelConfigError if the granule is not the smallest page size.
 */
export function createIommu(p: IommuProfile): Iommu {
  const sizes = [...new Set(p.pageSizes)].sort((a, b) => a - b);
  sizes.forEach((s, i) => checkPowerOf2(`iommu(${p.name}).pageSizes.${i}`, s, 1024, 2 ** 40));
  if (sizes[0] !== p.granule) {
    throw new ModelConfigError(`iommu(${p.name}).granule`, p.granule, `the smallest page size ${sizes[0]} (granule = 1 << __ffs(pgsize_bitmap))`);
  }
  checkInt(`iommu(${p.name}).apertureBits`, p.apertureBits, 20, 52);
  return { name: p.name, driver: p.driver, granule: p.granule, pageSizes: sizes, apertureBits: p.apertureBits, strict: p.strict, defaultDomain: null };
}

/**
 * iommu_domain_alloc / the driver's domain_alloc: a domain of `type` whose
 * page sizes are the IOMMU's and whose aperture is [0, 2^apertureBits - 1]
 * with force_aperture set (mtk_iommu_domain_finalise sets the aperture from
 * its IOVA region: 0..4 GiB - 1 on MT8173).
 */
export function iommuDomainAlloc(iommu: Iommu, type: IommuDomainType, ctx: { kernel: KernelVersion | string; trace: Trace }): IommuDomain {
  if (type !== "DMA" && type !== "IDENTITY") throw new ModelConfigError("iommuDomainAlloc(type)", type, '"DMA" or "IDENTITY"');
  return {
    type,
    iommu,
    pageSizes: iommu.pageSizes,
    granule: iommu.pageSizes[0]!,
    geometry: { apertureStart: 0, apertureEnd: Math.min(MAX_ADDR, 2 ** iommu.apertureBits - 1), forceAperture: true },
    iovad: null,
    pgtable: new IoPgtable(iommu.pageSizes[0]!, iommu.pageSizes),
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
  return 0;
}

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
    const d = iommuDomainAlloc(iommu, "DMA", { kernel: m.kernel, trace: m.trace });
    const r = iommuDmaInitDomain(d, m.profile.pageSize);
    if (r !== 0) throw new ModelConfigError(`iommus(${iommu.name})`, r, "an aperture the DMA window can use");
    iommu.defaultDomain = d;
  }
  dev.iommuDomain = iommu.defaultDomain;
}

