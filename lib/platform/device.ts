/**
 * struct device as the DMA layer sees it (include/linux/device.h): the DMA
 * masks, the bus limit, dma-ranges, coherency and dma_parms. Only the fields
 * the DMA API reads are modelled; the subsystems above (IOMMU attachment,
 * coherent pool, machine link) add their typed fields by augmenting
 * {@link Device} in their own files.
 */
import { DMA_BIT_MASK, MAX_ADDR, checkInt, checkLowMask, isLowMask, minNotZero } from "../core/arith.js";
import { checkIntArg } from "../core/arg-checks.js";
import type { DmaAddr, PhysAddr } from "../core/addr.js";
import { ModelConfigError } from "../core/errors.js";
import { Trace } from "../core/trace.js";
import { parseKernelVersion, type KernelVersion } from "../kernel/version.js";

/** struct device_dma_parameters: segment limits a DMA master declares. */
export interface DmaParms {
  /** Largest DMA segment the device can take, bytes (an unsigned int; 0 = unset). */
  maxSegmentSize: number;
  /** Segments must not cross a multiple of (mask + 1) bytes; a low mask 2^k - 1 (0 = unset). */
  segmentBoundaryMask: number;
  /**
   * min_align_mask (v5.12+, set with dma_set_min_align_mask): the low address
   * bits a bounce buffer must keep, a low mask 2^k - 1; absent or 0 = none.
   * See lib/dma/swiotlb.ts dmaGetMinAlignMask.
   */
  minAlignMask?: number;
}

/** One dma-ranges window (struct bus_dma_region): CPU [cpuStart, cpuStart+size) appears at dmaStart. */
export interface DmaRange {
  cpuStart: number;
  dmaStart: number;
  size: number;
}

/** What a device was created from; see {@link createDevice}. */
export interface DeviceSpec {
  name: string;
  driver: string;
  bus: "platform" | "pci" | "usb";
  /** Streaming mask bits (dma_set_mask). */
  dmaMaskBits: number;
  coherentDmaMaskBits?: number;
  busDmaLimitBits?: number;
  dmaCoherent: boolean;
  dmaParms?: { maxSegmentSize: number; segmentBoundaryMask: number };
  dmaRanges?: DmaRange[];
}

/** The modelled struct device. Fields are mutable as in the kernel (drivers set masks and parms at probe). */
export interface Device {
  readonly name: string;
  readonly driver: string;
  readonly bus: "platform" | "pci" | "usb";
  /** *dev->dma_mask as an inclusive limit (DMA_BIT_MASK(n)); null = no dma_mask pointer. */
  dmaMask: number | null;
  /** dev->coherent_dma_mask, inclusive limit. */
  coherentDmaMask: number;
  /** dev->bus_dma_limit (v5.4: bus_dma_mask), inclusive limit; 0 = no bus limit. */
  busDmaLimit: number;
  /** dev->dma_range_map; null = identity translation. */
  dmaRangeMap: DmaRange[] | null;
  /** dev->dma_coherent (`dma-coherent` in DT): the device snoops CPU caches. */
  dmaCoherent: boolean;
  /** dev->dma_parms; null = the device has none. */
  dmaParms: DmaParms | null;
  /** The kernel release the device's machine runs (behaviour switches read it). */
  readonly kernel: KernelVersion;
  /** The machine's trace, where DMA operations on this device record events. */
  readonly trace: Trace;
  // Per-subsystem state is declared by its subsystem with a module augmentation
  // of this interface (TypeScript declaration merging), so this file imports no
  // higher layer: lib/iommu/domain.ts adds `iommuDomain`, lib/iommu/dma-cookie.ts
  // `iommuCookie`, lib/dma/coherent.ts `dmaMem`, lib/cache/host.ts `cacheHost`,
  // lib/mm/memory.ts `memoryModel`.
}

/** Where a device lives: its machine's kernel release and trace. */
export interface DeviceContext {
  kernel: KernelVersion | string;
  trace: Trace;
}

/**
 * Build a device from its spec.
 * @throws ModelConfigError naming the field for a mask outside 1..64 bits,
 * a max segment size outside 1..0xffffffff, a boundary mask not of the form
 * 2^k - 1, or overlapping dma-ranges.
 */
export function createDevice(spec: DeviceSpec, ctx: DeviceContext = { kernel: "v6.19", trace: new Trace() }): Device {
  const f = `device(${spec.name})`;
  const dmaMask = DMA_BIT_MASK(checkInt(`${f}.dmaMaskBits`, spec.dmaMaskBits, 1, 64));
  const coherentDmaMask = DMA_BIT_MASK(checkInt(`${f}.coherentDmaMaskBits`, spec.coherentDmaMaskBits ?? spec.dmaMaskBits, 1, 64));
  const busDmaLimit = spec.busDmaLimitBits === undefined ? 0 : DMA_BIT_MASK(checkInt(`${f}.busDmaLimitBits`, spec.busDmaLimitBits, 1, 64));
  let dmaParms: DmaParms | null = null;
  if (spec.dmaParms) {
    checkInt(`${f}.dmaParms.maxSegmentSize`, spec.dmaParms.maxSegmentSize, 1, 0xffffffff);
    checkLowMask(`${f}.dmaParms.segmentBoundaryMask`, spec.dmaParms.segmentBoundaryMask);
    dmaParms = { ...spec.dmaParms };
  }
  let dmaRangeMap: DmaRange[] | null = null;
  if (spec.dmaRanges && spec.dmaRanges.length) {
    const rs = spec.dmaRanges.map((r, i) => ({
      cpuStart: checkInt(`${f}.dmaRanges.${i}.cpuStart`, r.cpuStart),
      dmaStart: checkInt(`${f}.dmaRanges.${i}.dmaStart`, r.dmaStart),
      size: checkInt(`${f}.dmaRanges.${i}.size`, r.size, 1),
    }));
    const sorted = [...rs].sort((a, b) => a.cpuStart - b.cpuStart);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.cpuStart < sorted[i - 1]!.cpuStart + sorted[i - 1]!.size) {
        throw new ModelConfigError(`${f}.dmaRanges`, spec.dmaRanges, "non-overlapping CPU ranges");
      }
    }
    dmaRangeMap = rs;
  }
  return {
    name: spec.name,
    driver: spec.driver,
    bus: spec.bus,
    dmaMask,
    coherentDmaMask,
    busDmaLimit,
    dmaRangeMap,
    dmaCoherent: spec.dmaCoherent,
    dmaParms,
    kernel: parseKernelVersion(ctx.kernel),
    trace: ctx.trace,
  };
}

/**
 * phys_to_dma / translate_phys_to_dma (include/linux/dma-direct.h, v5.10+ form
 * with dma_range_map): identity without a map; with a map, the window that
 * contains `paddr` shifts it; an address in no window gives null (the kernel
 * returns DMA_MAPPING_ERROR there, and dma_capable then says not capable).
 * @returns the bus address, or null if `paddr` is in no dma-ranges window.
 */
export function physToDma(dev: Device, paddr: PhysAddr): DmaAddr | null {
  if (!dev.dmaRangeMap) return paddr as number as DmaAddr;
  for (const r of dev.dmaRangeMap) {
    if (paddr >= r.cpuStart && paddr - r.cpuStart < r.size) return (paddr - r.cpuStart + r.dmaStart) as DmaAddr;
  }
  return null;
}

/**
 * dma_to_phys / translate_dma_to_phys: the inverse of {@link physToDma}.
 * @returns the physical address, or null if `daddr` is in no window.
 */
export function dmaToPhys(dev: Device, daddr: DmaAddr): PhysAddr | null {
  if (!dev.dmaRangeMap) return daddr as number as PhysAddr;
  for (const r of dev.dmaRangeMap) {
    if (daddr >= r.dmaStart && daddr - r.dmaStart < r.size) return (daddr - r.dmaStart + r.cpuStart) as PhysAddr;
  }
  return null;
}

/**
 * The effective streaming limit min_not_zero(*dev->dma_mask, dev->bus_dma_limit)
 * that dma_capable compares against (include/linux/dma-direct.h). A device
 * without a dma_mask pointer has no usable limit: returns null.
 */
export function dmaStreamingLimit(dev: Device): number | null {
  return dev.dmaMask === null ? null : minNotZero(dev.dmaMask, dev.busDmaLimit);
}

/**
 * dma_set_mask_and_coherent(dev, DMA_BIT_MASK(bits)): sets both masks.
 * Returns 0; the kernel's -EIO for an unsupportable mask is not modelled
 * (every modelled platform supports every mask).
 * @throws ModelConfigError for bits outside 1..64.
 */
export function dmaSetMaskAndCoherent(dev: Device, bits: number): number {
  const m = DMA_BIT_MASK(checkInt("dmaSetMaskAndCoherent(bits)", bits, 1, 64));
  dev.dmaMask = m;
  dev.coherentDmaMask = m;
  return 0;
}

/**
 * Check the fields of `dev` the DMA API reads, as a driver could have set
 * them (struct device: u64 *dma_mask, u64 coherent_dma_mask, u64
 * bus_dma_limit, bool dma_coherent, struct device_dma_parameters). A value a
 * C driver cannot write (a mask that is not 2^k - 1, 2^64 - 1 written as the
 * JS number 2^64, NaN, a fraction, a string) is misuse of the model. Masks of
 * 64 bits are MAX_ADDR (DMA_BIT_MASK(64) in this model); bus_dma_limit is
 * any address up to MAX_ADDR (0 = none).
 * @throws ModelConfigError naming `${fn}(dev.<field>)` before any change.
 */
export function checkDeviceDmaFields(dev: Device, fn: string): void {
  if (!dev || typeof dev !== "object") throw new ModelConfigError(`${fn}(dev)`, dev, "a device (createMachine(...).device(name))");
  // (no closure and no field name built per call: every DMA API call runs this)
  checkMaskField(fn, "dmaMask", dev.dmaMask, true);
  checkMaskField(fn, "coherentDmaMask", dev.coherentDmaMask, false);
  checkIntArg(fn, "dev.busDmaLimit", dev.busDmaLimit, 0, MAX_ADDR);
  if (typeof dev.dmaCoherent !== "boolean") throw new ModelConfigError(`${fn}(dev.dmaCoherent)`, dev.dmaCoherent, "true or false");
  const p = dev.dmaParms;
  if (p === null) return;
  if (typeof p !== "object") throw new ModelConfigError(`${fn}(dev.dmaParms)`, p, "null or { maxSegmentSize, segmentBoundaryMask, minAlignMask? }");
  checkIntArg(fn, "dev.dmaParms.maxSegmentSize", p.maxSegmentSize, 0, 0xffffffff);
  if (p.segmentBoundaryMask !== 0) checkMaskField(fn, "dmaParms.segmentBoundaryMask", p.segmentBoundaryMask, false);
  if (p.minAlignMask !== undefined && p.minAlignMask !== 0) checkMaskField(fn, "dmaParms.minAlignMask", p.minAlignMask, false);
}

/** One mask field of {@link checkDeviceDmaFields}: 2^k - 1 up to MAX_ADDR (or null when `nullable`). @throws ModelConfigError naming `${fn}(dev.<field>)`. */
function checkMaskField(fn: string, field: string, v: unknown, nullable: boolean): void {
  if (nullable && v === null) return;
  if (typeof v !== "number" || !isLowMask(v)) throw new ModelConfigError(`${fn}(dev.${field})`, v, `${nullable ? "null or " : ""}a mask 2^k - 1 up to DMA_BIT_MASK(64) = ${MAX_ADDR} (use DMA_BIT_MASK(bits))`);
}
