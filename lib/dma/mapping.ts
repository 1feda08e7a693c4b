/**
 * The DMA API dispatcher (kernel/dma/mapping.c; include/linux/dma-mapping.h):
 * a device attached to an IOMMU DMA domain goes through iommu-dma
 * (lib/iommu/dma-iommu.ts), any other device through dma-direct
 * (lib/dma/direct.ts).
 *
 * Return conventions per release (kernel/dma/mapping.c):
 * - dma_map_sg_attrs(): the number of DMA segments, 0 on failure (every
 *   release; from v5.15 the ops' -errno is turned into 0 here);
 * - dma_map_sgtable() (v5.8+, "dma-mapping: add generic helpers for mapping
 *   sgtable objects"): 0 and sgt->nents set, or a negative errno:
 *   -EINVAL for any failure before v5.15, the ops' -EINVAL / -ENOMEM /
 *   -EIO / -EREMOTEIO from v5.15 (dabb16f67215 and its series).
 *
 * Each public entry point here is the dispatcher of kernel/dma/mapping.c:
 * it checks the direction and the dma_mask, chooses the backend (the arch's
 * own ops where a release has them: ARM32's arm_dma_ops in
 * lib/dma/arch/arm-dma-mapping.ts; iommu-dma, lib/iommu/dma-iommu*.ts, for
 * a device attached to an IOMMU DMA domain; dma-direct, lib/dma/direct*.ts,
 * otherwise), calls it, and runs the dma-debug hooks for both paths
 * (lib/dma/debug.ts; dma-direct gets them as a DmaCallHooks object it calls
 * at the kernel's point in each call). The model-only CPU/device actions
 * are in lib/model/actions.ts.
 */
import { EINVAL, EIO, ENOMEM, ENXIO, EREMOTEIO } from "../core/errno.js";
import { KernelOops, ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange } from "../kernel/version.js";
import { kernelFunctionName } from "../kernel/api-changes.js";
import { checkDeviceDmaFields, dmaToPhys, type Device } from "../platform/device.js";
import { checkSgEntries, sgPhys, type Scatterlist, type SgTable } from "../sg/scatterlist.js";
import { CHANGE_IOMMU_DMA_COMMON_OPS, CHANGE_MAP_SG_ERRNO, iommuActiveMappings, iommuDmaMapPage, iommuDmaMapSg, iommuDmaSyncSgForCpu, iommuDmaSyncSgForDevice, iommuDmaSyncSingleForCpu, iommuDmaSyncSingleForDevice, iommuDmaMapResource, iommuDmaUnmapPage, iommuDmaUnmapResource, iommuDmaUnmapSg, iommuDmaCheckCpu, type IommuDmaOptions } from "../iommu/dma-iommu.js";
import { DMA_ATTR_SKIP_CPU_SYNC, checkAttrs, checkDirection, dirName, hasAttr } from "../core/dma-types.js";
import { iommuDmaAlloc, iommuDmaFree, iommuDmaGetSgtable, iommuDmaMmap, type IommuDmaAllocOptions } from "../iommu/dma-iommu-alloc.js";
import { dmaDirectMapPhys, dmaDirectMapSg, dmaDirectSyncSingleForCpu, dmaDirectSyncSingleForDevice, dmaDirectUnmapPhys, dmaDirectUnmapSg } from "./direct.js";
import { dmaDebugOf, pointerFacts } from "./debug.js";
import { dmaMachineOf, step, type DmaCallHooks } from "./state.js";
import { DMA_MAPPING_ERROR, dmaMappingError, type DmaAddr, type Pfn, type PhysAddr, type VirtAddr } from "../core/addr.js";
import { checkInt, hex } from "../core/arith.js";
import { checkIntArg } from "../core/arg-checks.js";
import { hostOf } from "../cache/host.js";
import { virtToPhys } from "../mm/linear-map.js";
import { mmOfDevice, type MemoryModel } from "../mm/memory.js";
import { dmaAllocFromDevCoherent, dmaMmapFromDevCoherent, dmaReleaseFromDevCoherent, getOrder, inDevCoherentPool } from "./coherent.js";
import { dmaDirectAlloc, dmaDirectFree, type CoherentBuffer } from "./direct-alloc.js";
import { archDmaAllocHooksOf } from "./arch/arm-dma-alloc.js";
import { armDmaGetSgtable, armDmaMmap, armUsesLegacyOps } from "./arch/arm-dma-mapping.js";
import { dmaDirectGetSgtable, dmaDirectMapResource, dmaDirectMmap } from "./direct-ops.js";
import { sgSetSinglePage } from "./ops-helpers.js";

export { dmaGetMaxSegSize, dmaGetSegBoundary, dmaSetMaxSegSize, dmaGetMask } from "./parms.js";

/**
 * Check a dma_addr_t argument: DMA_MAPPING_ERROR (what a failed map
 * returned; the unmap and sync calls take it) or an integer address in
 * [0, MAX_ADDR].
 * @throws ModelConfigError naming `field` (NaN, a fraction, a negative
 * number other than DMA_MAPPING_ERROR, 2^64 - 1 written as a JS number).
 */
function checkDmaHandle(field: string, addr: unknown): void {
  if (addr === DMA_MAPPING_ERROR) return;
  checkInt(field, addr as number);
}

/**
 * Before an iommu-dma unmap of [addr, addr + size): refuse what would leave
 * the IOVA allocator and the page table disagreeing. From v4.12
 * (drivers/iommu/dma-iommu.c __iommu_dma_unmap, v4.12.0 .. v6.19) the
 * kernel unmaps iova_align(size + offset) bytes from the granule of `addr`
 * and gives that many back to the IOVA allocator (free_iova_fast: the
 * rcache takes the pfn under that size); before v4.12 it unmaps the whole
 * allocation containing `addr` from the granule of `addr` on. So:
 * - an address inside a live mapping (not its handle) would unmap part of
 *   it, or past its end, and free or cache a pfn inside it;
 * - a handle of a live single mapping with a size whose granule span differs
 *   would leave page-table entries mapped, or unmap a neighbour's.
 * Both corrupt the kernel's state silently; the model refuses them. A
 * handle that is not mapped at all is the kernel's WARN_ON(!phys) (no change).
 * @throws ModelConfigError naming dmaUnmapPage(addr) or dmaUnmapPage(size).
 */
function checkIommuUnmapSpan(dev: Device, addr: number, size: number): void {
  const g = dev.iommuDomain!.iovad!.granule;
  // the granule span [first, end) of the unmap, and of each live mapping
  const alo = Math.floor(addr / g);
  const ahi = Math.ceil((addr + size) / g);
  for (const x of iommuActiveMappings(dev)) {
    const lo = Math.floor(x.dmaAddr / g);
    const hi = Math.ceil((x.dmaAddr + x.size) / g);
    if (x.dmaAddr === addr) {
      if (x.kind === "single" && (alo !== lo || ahi !== hi)) {
        throw new ModelConfigError("dmaUnmapPage(size)", size, `the size mapped at ${hex(addr)} (${x.size} bytes, ${hi - lo} IOVA granules): ${size} bytes covers ${ahi - alo}, so the kernel would unmap a different span than the one it frees`);
      }
      return;
    }
    if (alo < hi && lo < ahi && (x.dmaAddr < addr)) {
      throw new ModelConfigError("dmaUnmapPage(addr)", hex(addr), `a DMA handle a map call returned: ${hex(addr)} lies inside the live mapping at ${hex(x.dmaAddr)} (${x.size} bytes); the kernel would unmap part of it and free an IOVA inside it`);
    }
  }
}

/** Options of the scatterlist map calls (model switches, not kernel arguments). */
export interface DmaMapSgOptions extends IommuDmaOptions {
  /** PAGE_SIZE of the machine, bytes (default 4096). */
  pageSize?: number;
}

/** True iff the device's DMA goes through iommu-dma (an IOMMU DMA domain is attached). */
export function useDmaIommu(dev: Device): boolean {
  // The common iommu-dma ops exist from v4.4 (the oldest modelled release, so
  // this holds for every release a machine can run).
  return !!dev.iommuDomain && dev.iommuDomain.type === "DMA" && atLeast(dev.kernel, CHANGE_IOMMU_DMA_COMMON_OPS);
}

/** dma_map_sgtable exists from v5.8. */
export const DMA_MAP_SGTABLE = defineChange({
  id: "dma-map-sgtable",
  since: "v5.8",
  commit: "d9d200bcebc1",
  subject: "dma-mapping: add generic helpers for mapping sgtable objects",
  files: ["include/linux/dma-mapping.h"],
  effect: "dma_map_sgtable / dma_unmap_sgtable / dma_sync_sgtable_for_* exist; before, calling them is a model error.",
  bracket: "absent in v5.6.4 (shmily1012/linux-5.6.4, include/linux/dma-mapping.h: no dma_map_sgtable), present in v5.8.1 (semwett0301/linux-5.8.1, include/linux/dma-mapping.h:dma_map_sgtable); loose: no readable v5.7 tree, v5.8 from the series (d9d200bcebc1)",
});

/** The first release with dma_map_sgtable (kept for callers of the earlier string constant). */
const DMA_MAP_SGTABLE_SINCE = DMA_MAP_SGTABLE.since;

/**
 * __dma_map_sg_attrs: dispatch and return what the ops return (a count,
 * 0, or from v5.15 a negative errno). A device without a dma_mask: 0
 * (WARN_ON_ONCE in v5.16+).
 */
function mapSgRaw(dev: Device, sgl: Scatterlist[], nents: number, dir: number, attrs: number, opts: DmaMapSgOptions): number {
  checkDirection("dmaMapSg(dir)", dir);
  checkAttrs("dmaMapSg(attrs)", attrs);
  checkSgEntries("dmaMapSg", sgl, nents, 0);
  if (dev.dmaMask === null) {
    dev.trace.record({ fn: "dma_map_sg_attrs", kind: "warn", level: "warn", msg: `WARNING: ${dev.name} has no dma_mask`, data: {} });
    return 0;
  }
  let ents: number;
  if (useDmaIommu(dev)) {
    ents = iommuDmaMapSg(dev, sgl, nents, dir, attrs, opts);
    if (ents > 0) iommuDebugMapSg(dev, sgl, nents, ents, dir, attrs, opts.pageSize ?? 4096);
  } else ents = dmaDirectMapSg(dev, sgl, nents, dir, attrs, opts.pageSize ?? 4096, debugHooks(dev));
  if (ents < 0 && atLeast(dev.kernel, CHANGE_MAP_SG_ERRNO) && ents !== -EINVAL && ents !== -ENOMEM && ents !== -EIO && ents !== -EREMOTEIO) {
    dev.trace.record({ fn: "dma_map_sg_attrs", kind: "warn", level: "warn", msg: `WARNING: unexpected map_sg error ${ents}`, data: { ents } });
    return -EIO;
  }
  return ents;
}

/**
 * dma_map_sg_attrs(dev, sg, nents, dir, attrs): map the first `nents`
 * entries for `dev`.
 * @returns the number of DMA segments (the first that many entries carry
 * sg_dma_address / sg_dma_len), or 0 on failure (every release).
 * @throws ModelConfigError for an invalid direction (the kernel BUG_ONs) or
 * nents outside the list.
 * Source: kernel/dma/mapping.c dma_map_sg_attrs (v5.4, v6.19); v4.4
 * include/asm-generic/dma-mapping-common.h.
 */
export function dmaMapSgAttrs(dev: Device, sgl: Scatterlist[], nents: number, dir: number, attrs = 0, opts: DmaMapSgOptions = {}): number {
  checkDeviceDmaFields(dev, "dmaMapSgAttrs");
  checkAttrs("dmaMapSgAttrs(attrs)", attrs);
  const r = mapSgRaw(dev, sgl, nents, dir, attrs, opts);
  return r < 0 ? 0 : r;
}

/** dma_map_sg(dev, sg, nents, dir): {@link dmaMapSgAttrs} with attrs 0 unless given. */
export function dmaMapSg(dev: Device, sgl: Scatterlist[], nents: number, dir: number, attrs = 0, opts: DmaMapSgOptions = {}): number {
  checkDeviceDmaFields(dev, "dmaMapSg");
  checkAttrs("dmaMapSg(attrs)", attrs);
  return dmaMapSgAttrs(dev, sgl, nents, dir, attrs, opts);
}

/**
 * dma_unmap_sg_attrs(dev, sg, nents, dir, attrs): nents must be the value
 * passed to dma_map_sg (the CPU entry count), not its return.
 * @throws ModelConfigError for an invalid direction.
 * Source: kernel/dma/mapping.c dma_unmap_sg_attrs (v6.19).
 */
export function dmaUnmapSgAttrs(dev: Device, sgl: Scatterlist[], nents: number, dir: number, attrs = 0, opts: IommuDmaOptions = {}): void {
  checkDeviceDmaFields(dev, "dmaUnmapSgAttrs");
  checkAttrs("dmaUnmapSgAttrs(attrs)", attrs);
  checkDirection("dmaUnmapSg(dir)", dir);
  if (useDmaIommu(dev)) {
    iommuDmaCheckCpu(dev, opts, "dmaUnmapSg");
    iommuDebugUnmapSg(dev, sgl, nents, dir);
    iommuDmaUnmapSg(dev, sgl, nents, dir, attrs, opts);
  }
  else dmaDirectUnmapSg(dev, sgl, nents, dir, attrs, debugHooks(dev));
}

/** dma_unmap_sg(dev, sg, nents, dir) (`opts.cpu` as in {@link dmaUnmapSgAttrs}: the CPU on iommu-dma). */
export function dmaUnmapSg(dev: Device, sgl: Scatterlist[], nents: number, dir: number, attrs = 0, opts: IommuDmaOptions = {}): void {
  checkDeviceDmaFields(dev, "dmaUnmapSg");
  checkAttrs("dmaUnmapSg(attrs)", attrs);
  dmaUnmapSgAttrs(dev, sgl, nents, dir, attrs, opts);
}

/**
 * dma_map_sgtable(dev, sgt, dir, attrs): map sgt->orig_nents entries and
 * set sgt->nents to the number of DMA segments.
 * @returns 0 on success; on failure -EINVAL before v5.15, the ops' errno
 * (-EINVAL, -ENOMEM, -EIO, -EREMOTEIO) from v5.15 (where a 0 count, only
 * possible for a device without dma_mask, is stored as nents = 0 and 0
 * returned, as the kernel does). sgt->nents is left unchanged on failure.
 * @throws ModelConfigError before v5.8 (the function does not exist) or for an invalid direction.
 * Source: include/linux/dma-mapping.h dma_map_sgtable (v5.8..v5.15),
 * kernel/dma/mapping.c dma_map_sgtable (v5.16+, v6.19).
 */
export function dmaMapSgtable(dev: Device, sgt: SgTable, dir: number, attrs = 0, opts: DmaMapSgOptions = {}): number {
  checkDeviceDmaFields(dev, "dmaMapSgtable");
  checkAttrs("dmaMapSgtable(attrs)", attrs);
  if (!atLeast(dev.kernel, DMA_MAP_SGTABLE)) {
    throw new ModelConfigError("dmaMapSgtable", dev.kernel.name, `a kernel ${DMA_MAP_SGTABLE_SINCE} or later (dma_map_sgtable does not exist before)`);
  }
  const r = mapSgRaw(dev, sgt.sgl, sgt.origNents, dir, attrs, opts);
  if (atLeast(dev.kernel, CHANGE_MAP_SG_ERRNO)) {
    // v5.15+: a negative count is returned as is; 0 (only the no-dma_mask WARN) is stored as nents.
    if (r < 0) return r;
  } else if (r <= 0) {
    return -EINVAL;
  }
  sgt.nents = r;
  return 0;
}

/**
 * dma_unmap_sgtable(dev, sgt, dir, attrs): unmap sgt->orig_nents entries.
 * Source: include/linux/dma-mapping.h dma_unmap_sgtable (v5.8+).
 */
export function dmaUnmapSgtable(dev: Device, sgt: SgTable, dir: number, attrs = 0): void {
  checkDeviceDmaFields(dev, "dmaUnmapSgtable");
  checkAttrs("dmaUnmapSgtable(attrs)", attrs);
  dmaUnmapSgAttrs(dev, sgt.sgl, sgt.origNents, dir, attrs);
}

// [streaming single-buffer API: cache helper]
// Streaming single-buffer API (kernel/dma/mapping.c dma_map_page_attrs,
// dma_unmap_page_attrs, dma_sync_single_for_cpu/_for_device,
// dma_sync_sg_for_cpu/_for_device; include/linux/dma-mapping.h
// dma_map_single_attrs; v6.19 and v5.4). Devices without an IOMMU DMA domain
// go through dma-direct (lib/dma/direct.ts) with the cache model; a device
// behind iommu-dma goes through iommu_dma_map_phys / iommu_dma_unmap_phys /
// iommu_dma_sync_* (lib/iommu/dma-iommu.ts), with the same cache model
// (arch_sync_dma_for_device / _for_cpu on the physical pages found through
// the IOMMU page table). dma-debug hooks run here for both paths, as
// kernel/dma/mapping.c calls debug_dma_* around the ops: around the
// iommu-dma calls, and through the DmaCallHooks handed to dma-direct.
// Device-side and CPU-side actions (deviceRead, deviceWrite, cpuRead,
// cpuWrite) are model-only: lib/model/actions.ts.
function scHasSkip(attrs: number): boolean {
  return hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC);
}

/** The dma-debug checker of the device's machine, or null (checker off, or a device outside a machine). */
function scDebugFor(dev: Device) {
  return dev.cacheHost ? dmaDebugOf(dmaMachineOf(dev)) : null;
}

/**
 * The dma-debug hooks (kernel/dma/debug.c debug_dma_map_phys / _map_sg,
 * debug_dma_unmap_*, debug_dma_sync_*) this dispatcher hands to the
 * dma-direct backend, which calls them at the kernel's place in each call
 * (after a successful map, before an unmap or a sync); undefined while
 * dma-debug is off. The iommu-dma path runs the same checks around its
 * calls below (iommuDebugMapSg, ...).
 */
function debugHooks(dev: Device): DmaCallHooks | undefined {
  const dbg = scDebugFor(dev);
  if (!dbg) return undefined;
  return {
    mapped: (d, e, skip) => dbg.addEntry(d, e, skip),
    unmapping: (d, ref) => dbg.checkUnmap(d, ref),
    syncing: (d, ref) => dbg.checkSync(d, ref),
  };
}

/** debug_dma_map_sg for iommu-dma: one entry per DMA segment (sg_phys of the i-th entry, sg_dma_address, sg_dma_len), as kernel/dma/debug.c does. */
function iommuDebugMapSg(dev: Device, sgl: Scatterlist[], nents: number, mapped: number, dir: number, attrs: number, ps: number): void {
  const dbg = scDebugFor(dev);
  if (!dbg) return;
  for (let i = 0; i < mapped; i++) {
    const s = sgl[i]!;
    dbg.addEntry(dev, { type: "sg", dmaAddr: s.dmaAddress, paddr: s.pfn === null ? 0 : sgPhys(s, ps), size: s.dmaLength, dir, sgCallEnts: nents }, scHasSkip(attrs));
  }
}

/** debug_dma_unmap_sg for iommu-dma: check_unmap for each mapped DMA segment. */
function iommuDebugUnmapSg(dev: Device, sgl: Scatterlist[], nents: number, dir: number): void {
  const dbg = scDebugFor(dev);
  if (!dbg) return;
  for (let i = 0; i < nents; i++) {
    const s = sgl[i]!;
    if (s.dmaLength === 0) break;
    dbg.checkUnmap(dev, { type: "sg", dmaAddr: s.dmaAddress, size: s.dmaLength, dir, isMappingError: dmaMappingError(s.dmaAddress), sgCallEnts: nents });
  }
}

/** debug_dma_sync_sg_for_*: check_sync for each mapped DMA segment. */
function iommuDebugSyncSg(dev: Device, sgl: Scatterlist[], nelems: number, dir: number, toCpu: boolean): void {
  const dbg = scDebugFor(dev);
  if (!dbg) return;
  for (let i = 0; i < nelems; i++) {
    const s = sgl[i]!;
    if (s.dmaLength === 0) break;
    dbg.checkSync(dev, { dmaAddr: s.dmaAddress, size: s.dmaLength, dir, toCpu });
  }
}

/**
 * dma_map_page_attrs(dev, page, offset, size, dir, attrs): map `size` bytes
 * at `offset` into the page with pfn `pfn` (page_to_phys(page) + offset):
 * dma-direct for a device without an IOMMU DMA domain, iommu_dma_map_phys /
 * iommu_dma_map_page (lib/iommu/dma-iommu.ts iommuDmaMapPage: an IOVA and
 * the arch sync for a non-coherent device) for one behind it.
 * @returns the DMA address, or DMA_MAPPING_ERROR (check it with
 * {@link dmaMappingErrorFor}, which dma-debug expects).
 * @param opts iommu-dma options (`cpu`: the CPU the call runs on, its rcache
 * and flush queue; ignored by dma-direct).
 * @throws ModelConfigError for a bad direction (the kernel BUG_ONs), a size
 * < 1 on iommu-dma (size 0 is mapped on dma-direct as the kernel does, see
 * dmaDirectMapPhys), an address beyond 2^53, or a bad opts.cpu on iommu-dma (nothing changes).
 */
export function dmaMapPageAttrs(dev: Device, pfn: Pfn | number, offset: number, size: number, dir: number, attrs = 0, opts: IommuDmaOptions = {}): DmaAddr {
  checkDeviceDmaFields(dev, "dmaMapPageAttrs");
  checkAttrs("dmaMapPageAttrs(attrs)", attrs);
  checkDirection("dmaMapPage(dir)", dir);
  checkInt("dmaMapPage(pfn)", pfn);
  checkInt("dmaMapPage(offset)", offset);
  checkInt("dmaMapPage(size)", size, 0);
  // 0 bytes: accepted as the kernel does on dma-direct (see lib/dma/direct.ts dmaDirectMapPhys); not modelled on iommu-dma
  if (size === 0 && useDmaIommu(dev)) throw new ModelConfigError("dmaMapPage(size)", size, "a size >= 1 on iommu-dma (a 0-byte iommu_dma_map_phys is not modelled)");
  const ps = hostOf(dev).profile.pageSize;
  const paddr = checkInt("dmaMapPage(paddr)", pfn * ps + offset) as PhysAddr;
  if (opts.cpu !== undefined && useDmaIommu(dev)) iommuDmaCheckCpu(dev, opts, "dmaMapPage");
  const m = dmaMachineOf(dev);
  const dbg = dmaDebugOf(m);
  const fn = kernelFunctionName(dev.kernel, "dma_map_page_attrs");
  if (dev.dmaMask === null) {
    // WARN_ON_ONCE(!dev->dma_mask) in dma_map_phys / dma_map_page_attrs, before any backend.
    m.trace.record({ fn, kind: "dma_map_error", level: "warn", msg: `${fn}(${dev.name}, phys ${hex(paddr)}, ${size}, ${dirName(dir)}): no dma_mask, DMA_MAPPING_ERROR`, costNs: m.costs.mapCallNs, data: { paddr, size } });
    step(m, `after ${fn}`);
    return DMA_MAPPING_ERROR;
  }
  let dma: DmaAddr;
  if (useDmaIommu(dev)) {
    dma = iommuDmaMapPage(dev, paddr, size, dir, attrs, opts);
    if (dbg && !dmaMappingError(dma)) dbg.addEntry(dev, { type: "single", dmaAddr: dma, paddr, size, dir, sgCallEnts: 0 }, scHasSkip(attrs));
  } else {
    dma = dmaDirectMapPhys(dev, paddr, size, dir, attrs, { fn, type: "single", hooks: debugHooks(dev) });
  }
  if (dbg && !dmaMappingError(dma)) {
    const f = pointerFacts(m, m.mm.linearAddress(paddr));
    dbg.checkStack(dev, f.onStack, f.vaText);
  }
  return dma;
}

/** dma_map_page(dev, page, offset, size, dir): {@link dmaMapPageAttrs} with attrs 0 (`opts` as there). */
export function dmaMapPage(dev: Device, pfn: Pfn | number, offset: number, size: number, dir: number, opts: IommuDmaOptions = {}): DmaAddr {
  checkDeviceDmaFields(dev, "dmaMapPage");
  return dmaMapPageAttrs(dev, pfn, offset, size, dir, 0, opts);
}

/**
 * dma_map_single_attrs(dev, ptr, size, dir, attrs): debug_dma_map_single
 * (vmalloc / invalid pointers), then dma_map_page_attrs(virt_to_page(ptr),
 * offset_in_page(ptr)). For a pointer that is not in the linear map the
 * page is computed by virt_to_phys arithmetic anyway, as the kernel does:
 * the device gets a wrong address.
 * @returns the DMA address or DMA_MAPPING_ERROR.
 * @throws ModelConfigError for a bad direction or size (nothing changes).
 */
export function dmaMapSingleAttrs(dev: Device, ptr: VirtAddr | number, size: number, dir: number, attrs = 0): DmaAddr {
  checkDeviceDmaFields(dev, "dmaMapSingleAttrs");
  checkAttrs("dmaMapSingleAttrs(attrs)", attrs);
  checkDirection("dmaMapSingle(dir)", dir);
  checkInt("dmaMapSingle(ptr)", ptr);
  checkInt("dmaMapSingle(size)", size, 1);
  const m = dmaMachineOf(dev);
  const dbg = dmaDebugOf(m);
  if (dbg) dbg.checkMapSingle(dev, ptr, size, pointerFacts(m, ptr));
  const pa = virtToPhys(m, ptr);
  const ps = m.profile.pageSize;
  return dmaMapPageAttrs(dev, Math.floor(pa / ps), pa % ps, size, dir, attrs);
}

/** dma_map_single(dev, ptr, size, dir). */
export function dmaMapSingle(dev: Device, ptr: VirtAddr | number, size: number, dir: number): DmaAddr {
  checkDeviceDmaFields(dev, "dmaMapSingle");
  return dmaMapSingleAttrs(dev, ptr, size, dir, 0);
}

/**
 * dma_mapping_error(dev, addr): true iff the map failed; tells dma-debug the
 * driver checked (debug_dma_mapping_error).
 */
export function dmaMappingErrorFor(dev: Device, addr: DmaAddr): boolean {
  checkDeviceDmaFields(dev, "dmaMappingErrorFor");
  const dbg = dmaDebugOf(dmaMachineOf(dev));
  if (dbg) dbg.mappingErrorChecked(dev, addr);
  return dmaMappingError(addr);
}

/**
 * dma_unmap_page_attrs(dev, addr, size, dir, attrs): dma-debug check_unmap,
 * then sync for the CPU on a non-coherent device (unless
 * DMA_ATTR_SKIP_CPU_SYNC); on iommu-dma the IOVA range is unmapped and freed
 * (iommuDmaUnmapPage; strict: range invalidation and free on `opts.cpu`;
 * lazy: queued on that CPU's flush queue).
 * @throws ModelConfigError for a bad direction or size, or a bad opts.cpu on iommu-dma (nothing changes).
 */
export function dmaUnmapPageAttrs(dev: Device, addr: DmaAddr, size: number, dir: number, attrs = 0, opts: IommuDmaOptions = {}): void {
  checkDeviceDmaFields(dev, "dmaUnmapPageAttrs");
  checkAttrs("dmaUnmapPageAttrs(attrs)", attrs);
  checkDmaHandle("dmaUnmapPageAttrs(addr)", addr);
  checkDirection("dmaUnmapPage(dir)", dir);
  if (useDmaIommu(dev)) {
    checkInt("dmaUnmapPage(size)", size, 1);
    iommuDmaCheckCpu(dev, opts, "dmaUnmapPage");
    if (!dmaMappingError(addr)) checkIommuUnmapSpan(dev, addr, size);
    const dbg = scDebugFor(dev);
    if (dbg) dbg.checkUnmap(dev, { type: "single", dmaAddr: addr, size, dir, isMappingError: dmaMappingError(addr) });
    if (dmaMappingError(addr)) return;
    iommuDmaUnmapPage(dev, addr, size, dir, attrs, opts);
    return;
  }
  dmaDirectUnmapPhys(dev, addr, size, dir, attrs, { fn: kernelFunctionName(dev.kernel, "dma_unmap_page_attrs"), type: "single", hooks: debugHooks(dev) });
}

/** dma_unmap_page(dev, addr, size, dir). */
export function dmaUnmapPage(dev: Device, addr: DmaAddr, size: number, dir: number, opts: IommuDmaOptions = {}): void {
  checkDeviceDmaFields(dev, "dmaUnmapPage");
  dmaUnmapPageAttrs(dev, addr, size, dir, 0, opts);
}

/** dma_unmap_single_attrs(dev, addr, size, dir, attrs): the same as dma_unmap_page_attrs. */
export function dmaUnmapSingleAttrs(dev: Device, addr: DmaAddr, size: number, dir: number, attrs = 0): void {
  checkDeviceDmaFields(dev, "dmaUnmapSingleAttrs");
  checkAttrs("dmaUnmapSingleAttrs(attrs)", attrs);
  dmaUnmapPageAttrs(dev, addr, size, dir, attrs);
}

/** dma_unmap_single(dev, addr, size, dir). */
export function dmaUnmapSingle(dev: Device, addr: DmaAddr, size: number, dir: number): void {
  checkDeviceDmaFields(dev, "dmaUnmapSingle");
  dmaUnmapPageAttrs(dev, addr, size, dir, 0);
}

/** iommu-dma sync of a single range with the dma-debug check_sync first. */
function scIommuSyncSingle(dev: Device, addr: DmaAddr, size: number, dir: number, toCpu: boolean, fn: string): void {
  checkDirection(`${fn}(dir)`, dir);
  checkIntArg(fn, "addr", addr);
  checkIntArg(fn, "size", size, 1);
  const dbg = scDebugFor(dev);
  if (dbg) dbg.checkSync(dev, { dmaAddr: addr, size, dir, toCpu });
  if (toCpu) iommuDmaSyncSingleForCpu(dev, addr, size, dir);
  else iommuDmaSyncSingleForDevice(dev, addr, size, dir);
}

/**
 * dma_sync_single_for_cpu(dev, addr, size, dir): give the buffer to the
 * CPU (arch_sync_dma_for_cpu on a non-coherent device).
 * @throws ModelConfigError for a bad direction or size.
 */
export function dmaSyncSingleForCpu(dev: Device, addr: DmaAddr, size: number, dir: number): void {
  checkDeviceDmaFields(dev, "dmaSyncSingleForCpu");
  checkDmaHandle("dmaSyncSingleForCpu(addr)", addr);
  if (useDmaIommu(dev)) return scIommuSyncSingle(dev, addr, size, dir, true, "dmaSyncSingleForCpu");
  dmaDirectSyncSingleForCpu(dev, addr, size, dir, "dma_sync_single_for_cpu", debugHooks(dev));
}

/**
 * dma_sync_single_for_device(dev, addr, size, dir): give the buffer back to
 * the device (arch_sync_dma_for_device on a non-coherent device).
 * @throws ModelConfigError for a bad direction or size.
 */
export function dmaSyncSingleForDevice(dev: Device, addr: DmaAddr, size: number, dir: number): void {
  checkDeviceDmaFields(dev, "dmaSyncSingleForDevice");
  checkDmaHandle("dmaSyncSingleForDevice(addr)", addr);
  if (useDmaIommu(dev)) return scIommuSyncSingle(dev, addr, size, dir, false, "dmaSyncSingleForDevice");
  dmaDirectSyncSingleForDevice(dev, addr, size, dir, "dma_sync_single_for_device", debugHooks(dev));
}

/**
 * dma_sync_sg_for_cpu(dev, sg, nelems, dir): each mapped entry
 * (sg_dma_address, sg_dma_len) synced for the CPU (dma_direct_sync_sg_for_cpu).
 * @throws ModelConfigError for nelems outside the list or a bad direction.
 */
export function dmaSyncSgForCpu(dev: Device, sgl: Scatterlist[], nelems: number, dir: number): void {
  checkDeviceDmaFields(dev, "dmaSyncSgForCpu");
  checkDirection("dmaSyncSgForCpu(dir)", dir);
  checkInt("dmaSyncSgForCpu(nelems)", nelems, 1, sgl.length);
  if (useDmaIommu(dev)) {
    iommuDebugSyncSg(dev, sgl, nelems, dir, true);
    return iommuDmaSyncSgForCpu(dev, sgl, nelems, dir);
  }
  const hooks = debugHooks(dev);
  for (let i = 0; i < nelems; i++) dmaDirectSyncSingleForCpu(dev, sgl[i]!.dmaAddress, sgl[i]!.dmaLength || sgl[i]!.length, dir, "dma_sync_sg_for_cpu", hooks);
}

/**
 * dma_sync_sg_for_device(dev, sg, nelems, dir): each entry synced for the device.
 * @throws ModelConfigError for nelems outside the list or a bad direction.
 */
export function dmaSyncSgForDevice(dev: Device, sgl: Scatterlist[], nelems: number, dir: number): void {
  checkDeviceDmaFields(dev, "dmaSyncSgForDevice");
  checkDirection("dmaSyncSgForDevice(dir)", dir);
  checkInt("dmaSyncSgForDevice(nelems)", nelems, 1, sgl.length);
  if (useDmaIommu(dev)) {
    iommuDebugSyncSg(dev, sgl, nelems, dir, false);
    return iommuDmaSyncSgForDevice(dev, sgl, nelems, dir);
  }
  const hooks = debugHooks(dev);
  for (let i = 0; i < nelems; i++) dmaDirectSyncSingleForDevice(dev, sgl[i]!.dmaAddress, sgl[i]!.dmaLength || sgl[i]!.length, dir, "dma_sync_sg_for_device", hooks);
}

/** dma_sync_sgtable_for_cpu(dev, sgt, dir): the sg sync over sgt->orig_nents entries (include/linux/dma-mapping.h, v5.8+). */
export function dmaSyncSgtableForCpu(dev: Device, sgt: SgTable, dir: number): void {
  checkDeviceDmaFields(dev, "dmaSyncSgtableForCpu");
  dmaSyncSgForCpu(dev, sgt.sgl, sgt.origNents, dir);
}

/** dma_sync_sgtable_for_device(dev, sgt, dir). */
export function dmaSyncSgtableForDevice(dev: Device, sgt: SgTable, dir: number): void {
  checkDeviceDmaFields(dev, "dmaSyncSgtableForDevice");
  dmaSyncSgForDevice(dev, sgt.sgl, sgt.origNents, dir);
}

// [coherent / get_sgtable API: mm helper]

export type { CoherentBuffer } from "./direct-alloc.js";

/** dma_map_resource appears (v4.9); iommu-dma implements it in v4.10. */
export const DMA_MAP_RESOURCE = defineChange({
  id: "dma-map-resource",
  since: "v4.9",
  commit: "6f3d87968f9c",
  subject: "dma-mapping: add dma_{map,unmap}_resource",
  files: ["include/linux/dma-mapping.h"],
  effect: "a driver can map a physical address without a struct page (MMIO, page-less memory) for DMA: phys_to_dma on dma-direct, an IOVA mapping on iommu-dma (v4.10)",
  bracket: "absent in v4.8.15 (squirrel20/linux-4.8.15, include/linux/dma-mapping.h: no dma_map_resource), present in v4.9.0 (pengdonglin137/linux-4.9, include/linux/dma-mapping.h:dma_map_resource)",
});

/** The unconditional "Don't allow RAM to be mapped" pfn_valid refusal of dma_map_resource. */
export const DMA_MAP_RESOURCE_DEBUG_ONLY = defineChange({
  id: "dma-map-resource-pfn-valid-debug-only",
  since: "v6.18",
  commit: "f7326196a781 (\"dma-mapping: export new dma_*map_phys() interface\", Leon Romanovsky, 2025; hash from list mails saying the check was re-introduced by it)",
  subject: "dma-mapping: export new dma_*map_phys() interface",
  files: ["kernel/dma/mapping.c"],
  effect: "the pfn_valid refusal returns, only with CONFIG_DMA_API_DEBUG: dma_map_resource becomes dma_map_phys(..., attrs | DMA_ATTR_MMIO) after an IS_ENABLED(CONFIG_DMA_API_DEBUG) && WARN_ON_ONCE(pfn_valid) test. v4.9..v5.15 refuse pfn_valid addresses unconditionally (BUG before v5.1, then WARN + DMA_MAPPING_ERROR); v5.16..v6.17 do not check at all (a9c38c5d267c, see dma-map-resource-ram-allowed).",
  bracket: "absent in v6.17.0 (busysteve/linux-6.17.0-rust-ported-c, a derivative, linux/kernel/dma/mapping.c:dma_map_resource: no pfn_valid test), present in v6.18.2 (gfunkmonk/linux-6.18.2, kernel/dma/mapping.c:dma_map_resource: IS_ENABLED(CONFIG_DMA_API_DEBUG) && WARN_ON_ONCE(pfn_valid))",
});

/** dma_map_resource stops refusing pfn_valid memory unconditionally. */
export const DMA_MAP_RESOURCE_RAM_ALLOWED = defineChange({
  id: "dma-map-resource-ram-allowed",
  since: "v5.16",
  commit: "a9c38c5d267c (hash as quoted in later list mails; went in with 3de360c3fdb3 \"arm64/mm: drop HAVE_ARCH_PFN_VALID\")",
  subject: "dma-mapping: remove bogus test for pfn_valid from dma_map_resource",
  files: ["kernel/dma/mapping.c"],
  effect: "dma_map_resource maps any physical address; before, pfn_valid memory was refused (WARN, DMA_MAPPING_ERROR; BUG before v5.1).",
  bracket: "absent in v5.15.16 (yashlala/fastswap-linux-5.16.16, Makefile 5.15.16, kernel/dma/mapping.c:dma_map_resource: WARN_ON_ONCE(pfn_valid)), present in v5.17-rc5 (dunli/linux-5.17, kernel/dma/mapping.c:dma_map_resource without it); v5.16 because the 2022-04 stable queue took it for 5.15 only (not needed for 5.17); wowk/linux-5.15 (5.15.55) carries that backport",
});

/** dma_map_resource's check of pfn_valid memory turns from BUG_ON into WARN_ON_ONCE + DMA_MAPPING_ERROR. */
export const DMA_MAP_RESOURCE_WARN = defineChange({
  id: "dma-map-resource-bug-to-warn",
  since: "v5.1",
  commit: "unverified (Christoph Hellwig, \"dma-mapping: don't BUG when calling dma_map_resource on RAM\", posted 2019-01-18; hash not found)",
  subject: "dma-mapping: don't BUG when calling dma_map_resource on RAM",
  files: ["include/linux/dma-mapping.h", "kernel/dma/mapping.c"],
  effect: "mapping RAM with dma_map_resource warns and returns DMA_MAPPING_ERROR instead of a kernel BUG.",
  bracket: "absent in v5.0.1 (VVvector/linux-5.0.1, include/linux/dma-mapping.h:dma_map_resource: BUG_ON(pfn_valid)), present in v5.2.1 (wangliang-cs/linux-5.2.1, include/linux/dma-mapping.h:dma_map_resource: WARN_ON_ONCE -> DMA_MAPPING_ERROR); loose: no v5.1 tree, v5.1 from the series' posting (v2 2019-01-18)",
});

/**
 * v5.1: dma_map_resource gives dma-direct devices dma_direct_map_resource
 * (phys_to_dma, then dma_capable: DMA_MAPPING_ERROR when the device cannot
 * reach it) and returns DMA_MAPPING_ERROR for ops without .map_resource.
 * Before, the address started as phys_addr and only ops->map_resource
 * replaced it: a device without that op (dma-direct, arm_dma_ops, arm64's
 * swiotlb ops, x86's nommu/swiotlb ops) got the physical address unchanged,
 * with no dma-ranges offset and no reachability check.
 */
export const DMA_DIRECT_MAP_RESOURCE = defineChange({
  id: "dma-direct-map-resource",
  since: "v5.1",
  commit: "unverified (Christoph Hellwig's 3-patch dma_map_resource series, v2 posted 2019-01-18)",
  subject: "dma-direct: implement dma_direct_map_resource (with \"dma-mapping: don't BUG when calling dma_map_resource on RAM\")",
  files: ["include/linux/dma-mapping.h", "kernel/dma/direct.c", "arch/arm/mm/dma-mapping.c"],
  effect:
    "dma_map_resource: dma_is_direct(ops) -> dma_direct_map_resource (phys_to_dma + dma_capable); other ops use ops->map_resource or get DMA_MAPPING_ERROR (arm_dma_ops gains .map_resource = dma_direct_map_resource). Before: addr = phys_addr unless ops->map_resource.",
  bracket:
    "absent in v5.0.1 (VVvector/linux-5.0.1, include/linux/dma-mapping.h:dma_map_resource: addr = phys_addr; if (ops && ops->map_resource) ...), present in v5.2.1 (wangliang-cs/linux-5.2.1, same function: dma_is_direct(ops) -> dma_direct_map_resource, else ops->map_resource, else DMA_MAPPING_ERROR)",
});

/** Model-only attribute value for the 2017 RFC's DMA_ATTR_DEV_COHERENT_NOPAGE (never merged). */
export const DMA_ATTR_DEV_COHERENT_NOPAGE = 2 ** 20;

declare module "../sg/scatterlist.js" {
  interface Scatterlist {
    /** Model-only: the entry is a page-less one of the 2017 RFC (sg->dma_attrs with DMA_ATTR_DEV_COHERENT_NOPAGE); absent = no. */
    devCoherentNopage?: true;
  }
  interface SgTable {
    /** Model-only: how the last dma_get_sgtable built this table (for explanations and charts); absent = never built by it. */
    getSgtableInfo?: { path: GetSgtablePath; pfn: number | null };
  }
}

/**
 * Scatterlist entries tagged by the 2017 RFC variant (sg->dma_attrs with
 * DMA_ATTR_DEV_COHERENT_NOPAGE): page-less entries carrying the exporter's
 * DMA address. Model-only: the RFC was never merged. A set-like view of the
 * entries' `devCoherentNopage` field.
 */
export const devCoherentNopageEntries = {
  has(e: Scatterlist): boolean {
    return e.devCoherentNopage === true;
  },
  add(e: Scatterlist): void {
    e.devCoherentNopage = true;
  },
};

function mmFor(dev: Device): MemoryModel {
  return mmOfDevice(dev);
}

/**
 * dma_alloc_attrs(dev, size, &handle, gfp, attrs) (kernel/dma/mapping.c,
 * v5.4/v6.19): the per-device coherent pool first (its answer is final, NULL
 * included), then, for a device behind an IOMMU DMA domain, iommu_dma_alloc
 * (lib/iommu/dma-iommu-alloc.ts: attrs and `opts.blocking` matter there),
 * then the arch's allocation hooks (lib/dma/arch/hooks.ts ArchDmaAllocHooks;
 * 32-bit ARM boards with an arm32 sidecar: arm_dma_ops' __dma_alloc before
 * v5.19, dma-direct's arch_dma_alloc and restricted-pool cases after, with
 * `opts.blocking` choosing the atomic pool: lib/dma/arch/arm-dma-alloc.ts),
 * else dma-direct's allocation (lib/dma/direct-alloc.ts, blocking callers).
 * @param opts.blocking gfpflags_allow_blocking(gfp): true (GFP_KERNEL, default) or false (GFP_ATOMIC).
 * @returns the CPU address and DMA handle, or null (the kernel's NULL).
 * @throws ModelConfigError for size < 1 or a non-boolean `opts.blocking`
 * (before any change), or what iommuDmaAlloc throws (a non-blocking request
 * from a non-coherent IOMMU device).
 */
export function dmaAllocAttrs(dev: Device, size: number, attrs = 0, opts: IommuDmaAllocOptions = {}): CoherentBuffer | null {
  checkDeviceDmaFields(dev, "dmaAllocAttrs");
  checkAttrs("dmaAllocAttrs(attrs)", attrs);
  checkInt("dmaAllocAttrs(size)", size, 1);
  if (opts.blocking !== undefined && typeof opts.blocking !== "boolean") throw new ModelConfigError("dmaAllocAttrs(opts.blocking)", opts.blocking, "true (GFP_KERNEL) or false (GFP_ATOMIC)");
  const mm = mmFor(dev);
  const r = dmaAllocFromDevCoherent(dev, size, mm.pageSize);
  if (r.handled) {
    if (r.cpuAddr === null || r.dmaHandle === null) {
      dev.trace.record({ fn: "dma_alloc_from_dev_coherent", kind: "alloc_failed", level: "warn", msg: `${dev.name}: per-device pool ${dev.dmaMem!.name} cannot satisfy ${size} bytes (no fallback)`, data: { size } });
      return null;
    }
    dev.trace.record({
      fn: "dma_alloc_from_dev_coherent",
      kind: "alloc_coherent",
      msg: `${dev.name}: ${size} bytes from pool ${dev.dmaMem!.name}: cpu ${mm.fmtVa(r.cpuAddr)} (memremap, vmalloc space), handle ${hex(r.dmaHandle)}`,
      data: { virt: r.cpuAddr, handle: r.dmaHandle, size },
    });
    return { cpuAddr: r.cpuAddr, dmaHandle: r.dmaHandle, size, how: "dev-coherent-pool" };
  }
  if (useDmaIommu(dev)) return iommuDmaAlloc(dev, size, attrs, opts);
  // The arch's allocator: ARM32 arm_dma_ops before v5.19, and arch_dma_alloc / the restricted-pool
  // cases of dma_direct_alloc after (lib/dma/arch/arm-dma-alloc.ts); other arches have none.
  const archAlloc = archDmaAllocHooksOf(mm.profile.arch);
  if (archAlloc) {
    const a = archAlloc.archDmaAlloc(dev, size, attrs, { blocking: opts.blocking ?? true });
    if (a.handled) return a.buffer;
  }
  return dmaDirectAlloc(dev, size, { blocking: opts.blocking ?? true });
}

/** dma_alloc_coherent(dev, size, &handle, GFP_KERNEL): {@link dmaAllocAttrs} with no attrs. */
export function dmaAllocCoherent(dev: Device, size: number): CoherentBuffer | null {
  checkDeviceDmaFields(dev, "dmaAllocCoherent");
  return dmaAllocAttrs(dev, size, 0);
}

/**
 * dma_free_attrs / dma_free_coherent: the pool first (dma_release_from_dev_coherent), else dma-direct.
 * @throws ModelConfigError if the buffer is not a live allocation of this device (checked before any change).
 */
export function dmaFreeCoherent(dev: Device, size: number, cpuAddr: VirtAddr, dmaHandle: DmaAddr): void {
  checkDeviceDmaFields(dev, "dmaFreeCoherent");
  checkInt("dmaFreeCoherent(size)", size, 1);
  checkInt("dmaFreeCoherent(cpuAddr)", cpuAddr);
  checkDmaHandle("dmaFreeCoherent(dmaHandle)", dmaHandle);
  const mm = mmFor(dev);
  if (inDevCoherentPool(dev, cpuAddr, mm.pageSize)) {
    dmaReleaseFromDevCoherent(dev, getOrder(size, mm.pageSize), cpuAddr, mm.pageSize);
    dev.trace.record({ fn: "dma_release_from_dev_coherent", kind: "free_coherent", msg: `${dev.name}: released ${size} bytes to pool ${dev.dmaMem!.name}`, data: { virt: cpuAddr, size } });
    return;
  }
  if (useDmaIommu(dev)) return iommuDmaFree(dev, size, cpuAddr, dmaHandle);
  const archAlloc = archDmaAllocHooksOf(mm.profile.arch);
  if (archAlloc && archAlloc.archDmaFree(dev, size, cpuAddr, dmaHandle)) return;
  if (mm.isVmallocAddr(cpuAddr) && !mm.vmapSpace.find(cpuAddr)) throw new ModelConfigError("dmaFreeCoherent(cpuAddr)", cpuAddr, "the CPU address dmaAllocCoherent returned");
  dmaDirectFree(dev, size, cpuAddr, dmaHandle);
}

/** Alias of {@link dmaFreeCoherent} with attrs (ignored). */
export function dmaFreeAttrs(dev: Device, size: number, cpuAddr: VirtAddr, dmaHandle: DmaAddr, attrs = 0): void {
  checkDeviceDmaFields(dev, "dmaFreeAttrs");
  checkAttrs("dmaFreeAttrs(attrs)", attrs);
  void attrs;
  dmaFreeCoherent(dev, size, cpuAddr, dmaHandle);
}

/** Which kernel function built a dma_get_sgtable answer, and how it found the page. */
export type GetSgtablePath =
  | "__swiotlb_get_sgtable (arm64, before v4.20): page of dma_to_phys(handle)"
  | "dma_common_get_sgtable (v5.4): virt_to_page(cpu_addr)"
  | "dma_common_get_sgtable (v5.4): arch_dma_coherent_to_pfn + pfn_valid"
  | "dma_direct_get_sgtable: page from the DMA address"
  | "arm_dma_get_sgtable: dma_to_pfn(handle)"
  | "dma_common_get_sgtable (ops helper): vmalloc_to_page"
  | "dma_common_get_sgtable (ops helper): virt_to_page"
  | "iommu_dma_get_sgtable: page array (dma_common_find_pages)"
  | "iommu_dma_get_sgtable: vmalloc_to_page"
  | "iommu_dma_get_sgtable: virt_to_page"
  | "RFC DMA_ATTR_DEV_COHERENT_NOPAGE: page-less entry";

/** Options of {@link dmaGetSgtableAttrs} (model switches). */
export interface GetSgtableOptions {
  /** Apply the never-merged 2017 RFC (Shuah Khan): buffers from a per-device pool give a tagged page-less entry. */
  rfcDevCoherentNopage?: boolean;
  /**
   * What-if: apply Russell King's arm rule (pfn of the handle must be
   * pfn_valid, else -ENXIO) on any arch and release.
   */
  forcePfnValidCheck?: boolean;
}

/** The last get_sgtable decision per table (for explanations and charts): a map-like view of the tables' `getSgtableInfo` field. */
export const getSgtablePaths = {
  get(sgt: SgTable): { path: GetSgtablePath; pfn: number | null } | undefined {
    return sgt.getSgtableInfo;
  },
};

/**
 * dma_get_sgtable_attrs(dev, sgt, cpu_addr, handle, size, attrs): describe a
 * coherent buffer as a one-entry sg_table (for exporting it through dma-buf).
 * Per release and path:
 * - arm (legacy arm_dma_ops, before v5.19): arm_dma_get_sgtable, pfn from the
 *   handle; from v4.12 -ENXIO if !pfn_valid (Russell King).
 * - iommu-dma devices: the ops-helper shape (vmalloc_to_page from v5.14, else virt_to_page).
 * - arm64 without IOMMU before v4.20 (arm64_swiotlb_dma_ops,
 *   __swiotlb_get_sgtable): the page of dma_to_phys(handle), no check.
 * - dma-direct before v5.5 (v5.4 dma_common_get_sgtable): coherent device ->
 *   virt_to_page(cpu_addr), no check (a memremap/vmalloc address gives a wrong
 *   page); non-coherent -> arch_dma_coherent_to_pfn (arm64: from the handle),
 *   -ENXIO if !pfn_valid; x86-64 devices are always coherent.
 * - dma-direct v5.5+ (34dc0ea6bc96): pfn from dma_to_phys(handle), no check.
 * The entry has length PAGE_ALIGN(size), offset 0. Nothing checks that the
 * page exists: see MemoryModel.pfnToPage(entry.pfn).hasMemmap / .valid.
 * @returns 0, or -ENXIO; on -ENXIO the table is left unchanged.
 * @throws ModelConfigError for size < 1 (before any change).
 */
export function dmaGetSgtableAttrs(
  dev: Device,
  sgt: SgTable,
  cpuAddr: VirtAddr,
  dmaHandle: DmaAddr,
  size: number,
  attrs = 0,
  opts: GetSgtableOptions = {},
): number {
  checkDeviceDmaFields(dev, "dmaGetSgtableAttrs");
  checkInt("dmaGetSgtable(cpuAddr)", cpuAddr);
  checkDmaHandle("dmaGetSgtable(dmaHandle)", dmaHandle);
  checkAttrs("dmaGetSgtable(attrs)", attrs);
  checkInt("dmaGetSgtable(size)", size, 1);
  const mm = mmFor(dev);
  const ps = mm.pageSize;
  const len = Math.ceil(size / ps) * ps;
  let path: GetSgtablePath;
  let pfn: number | null;
  if (opts.forcePfnValidCheck) {
    const p = Math.floor((dmaToPhys(dev, dmaHandle) ?? dmaHandle) / ps);
    if (!mm.pfnValid(p)) {
      dev.trace.record({ fn: "dma_get_sgtable_attrs", kind: "get_sgtable_enxio", msg: `${dev.name}: (what-if pfn_valid check) pfn ${hex(p)} has no struct page: -ENXIO`, data: { pfn: p } });
      return -ENXIO;
    }
  }
  if ((opts.rfcDevCoherentNopage || (attrs !== 0 && attrs >= DMA_ATTR_DEV_COHERENT_NOPAGE && Math.floor(attrs / DMA_ATTR_DEV_COHERENT_NOPAGE) % 2 === 1)) && inDevCoherentPool(dev, cpuAddr, ps)) {
    // Model-only what-if (the never-merged 2017 RFC): a tagged page-less entry carrying the handle.
    path = "RFC DMA_ATTR_DEV_COHERENT_NOPAGE: page-less entry";
    sgSetSinglePage(sgt, null, len);
    const e = sgt.sgl[0]!;
    e.dmaAddress = dmaHandle;
    e.dmaLength = len;
    devCoherentNopageEntries.add(e);
    pfn = null;
  } else if (armUsesLegacyOps(dev, mm.profile.arch) && !useDmaIommu(dev)) {
    // The arch's own ops: arm_dma_ops (lib/dma/arch/arm-dma-mapping.ts).
    const r = armDmaGetSgtable(mm, dev, sgt, dmaHandle, len);
    if (r.pfn === null) return r.ret;
    path = "arm_dma_get_sgtable: dma_to_pfn(handle)";
    pfn = r.pfn;
  } else if (useDmaIommu(dev)) {
    // iommu_dma_get_sgtable (v5.3+ / v6.19), arm64 __iommu_get_sgtable before (lib/iommu/dma-iommu-alloc.ts).
    const r = iommuDmaGetSgtable(dev, sgt, cpuAddr, dmaHandle, size);
    if (r.ret !== 0) return r.ret;
    path = r.path === "page array (dma_common_find_pages)" ? "iommu_dma_get_sgtable: page array (dma_common_find_pages)" : r.path === "vmalloc_to_page" ? "iommu_dma_get_sgtable: vmalloc_to_page" : "iommu_dma_get_sgtable: virt_to_page";
    pfn = sgt.sgl[0]!.pfn;
  } else {
    // dma-direct (lib/dma/direct-ops.ts): dma_direct_get_sgtable, or dma_common_get_sgtable before v5.5.
    const r = dmaDirectGetSgtable(mm, dev, sgt, cpuAddr, dmaHandle, len);
    if (r.path === null) return r.ret;
    path = r.path;
    pfn = r.pfn;
  }
  sgt.getSgtableInfo = { path, pfn };
  const page = pfn === null ? null : mm.pfnToPage(pfn);
  dev.trace.record({
    fn: path.startsWith("arm_") ? "arm_dma_get_sgtable" : path.startsWith("__swiotlb") ? "__swiotlb_get_sgtable" : path.startsWith("dma_direct") ? "dma_direct_get_sgtable" : path.startsWith("iommu_") ? "iommu_dma_get_sgtable" : "dma_common_get_sgtable",
    kind: "get_sgtable",
    level: page && (!page.hasMemmap || !page.valid) ? "warn" : "info",
    msg:
      page === null
        ? `${dev.name}: ${path}: page-less entry carrying handle ${hex(dmaHandle)}`
        : `${dev.name}: ${path}: page ${page.addressText} (pfn ${hex(page.pfn)}${page.hasMemmap ? "" : ", no memmap"}${page.valid ? "" : ", !pfn_valid"}) for buffer at phys ${hex(dmaToPhys(dev, dmaHandle) ?? dmaHandle)}`,
    data: { pfn, pageAddress: page ? page.address : null, hasMemmap: page ? page.hasMemmap : null, valid: page ? page.valid : null },
  });
  return 0;
}

/** dma_get_sgtable(dev, sgt, cpu_addr, handle, size): {@link dmaGetSgtableAttrs} with attrs 0. */
export function dmaGetSgtable(dev: Device, sgt: SgTable, cpuAddr: VirtAddr, dmaHandle: DmaAddr, size: number, opts: GetSgtableOptions = {}): number {
  checkDeviceDmaFields(dev, "dmaGetSgtable");
  return dmaGetSgtableAttrs(dev, sgt, cpuAddr, dmaHandle, size, 0, opts);
}

/** Result of {@link dmaMmapAttrs}: the kernel's return and the first pfn remap_pfn_range would map. */
export interface DmaMmapResult {
  ret: number;
  pfn: number | null;
  path: string;
}

/**
 * dma_mmap_attrs(dev, vma, cpu_addr, handle, size, attrs) for a vma of
 * `userPages` pages at page offset `pgoff`:
 * - every path first tries the per-device pool (dma_mmap_from_dev_coherent:
 *   pool pfn + offset; -ENXIO if the range exceeds the allocation);
 * - arm legacy: pfn = dma_to_pfn(handle);
 * - dma-direct before v5.5: coherent -> page_to_pfn(virt_to_page(cpu_addr));
 *   non-coherent -> arch_dma_coherent_to_pfn with the pfn_valid -ENXIO;
 * - v5.5+: PHYS_PFN(dma_to_phys(handle)).
 * @throws ModelConfigError for bad sizes/offsets.
 */
export function dmaMmapAttrs(dev: Device, cpuAddr: VirtAddr, dmaHandle: DmaAddr, size: number, userPages?: number, pgoff = 0): DmaMmapResult {
  checkDeviceDmaFields(dev, "dmaMmapAttrs");
  checkInt("dmaMmap(cpuAddr)", cpuAddr);
  checkDmaHandle("dmaMmap(dmaHandle)", dmaHandle);
  checkInt("dmaMmap(size)", size, 1);
  const mm = mmFor(dev);
  const ps = mm.pageSize;
  const count = Math.ceil(size / ps);
  const user = checkInt("dmaMmap(userPages)", userPages ?? count, 1);
  checkInt("dmaMmap(pgoff)", pgoff);
  const pool = dmaMmapFromDevCoherent(dev, cpuAddr, count, user, pgoff, ps);
  if (pool) return { ret: pool.ret, pfn: pool.pfn, path: "dma_mmap_from_dev_coherent" };
  if (pgoff >= count || user > count - pgoff) return { ret: -ENXIO, pfn: null, path: "range check" };
  if (armUsesLegacyOps(dev, mm.profile.arch) && !useDmaIommu(dev)) return armDmaMmap(mm, dev, dmaHandle, pgoff);
  if (useDmaIommu(dev)) {
    const r = iommuDmaMmap(dev, cpuAddr, dmaHandle, size, user, pgoff);
    return { ret: r.ret, pfn: r.ret === 0 ? r.pfns[0]! : null, path: `iommu_dma_mmap: ${r.path}` };
  }
  return dmaDirectMmap(mm, dev, cpuAddr, dmaHandle, pgoff);
}

/** dma_mmap_coherent / dma_mmap_attrs: alias of {@link dmaMmapAttrs}. */
export function dmaMmap(dev: Device, cpuAddr: VirtAddr, dmaHandle: DmaAddr, size: number, userPages?: number, pgoff = 0): DmaMmapResult {
  checkDeviceDmaFields(dev, "dmaMmap");
  return dmaMmapAttrs(dev, cpuAddr, dmaHandle, size, userPages, pgoff);
}

/** Options of {@link dmaMapResource}. */
export interface DmaMapResourceOptions {
  /** CONFIG_DMA_API_DEBUG (v6.18+ only checks pfn_valid then). */
  dmaApiDebug?: boolean;
  /**
   * Model switch for the pfn-array what-if: behave as the never-merged
   * dma_map_pfn() would (no release check, no RAM refusal).
   */
  asDmaMapPfn?: boolean;
}

/**
 * dma_map_resource(dev, phys, size, dir, attrs) (v4.9+): map a physical
 * range that need not have a struct page. No cache maintenance.
 * - The "Don't allow RAM to be mapped" refusal: a pfn_valid address gives
 *   DMA_MAPPING_ERROR (WARN) through v5.15 (v4.9..v5.0: BUG_ON: KernelOops),
 *   and from v6.18 only with CONFIG_DMA_API_DEBUG (see DMA_MAP_RESOURCE_DEBUG_ONLY).
 * - dma-direct (v5.1+, {@link DMA_DIRECT_MAP_RESOURCE}): phys_to_dma, then
 *   dma_capable against the streaming mask, DMA_MAPPING_ERROR if not
 *   reachable. v4.9..v5.0: a device without ops->map_resource gets the
 *   physical address unchanged (no dma-ranges offset, no check).
 * - iommu-dma (iommu_dma_map_resource, v4.10+): an IOVA mapping of the range,
 *   modelled through iommu-dma's scatterlist map with a one-entry list whose
 *   pfn is the bare frame number and DMA_ATTR_SKIP_CPU_SYNC (no page is touched).
 * @returns the DMA address or DMA_MAPPING_ERROR.
 * @throws ModelConfigError before v4.9 or for bad arguments; KernelOops for the v4.9 BUG_ON.
 */
export function dmaMapResource(dev: Device, phys: PhysAddr | number, size: number, dir: number, attrs = 0, opts: DmaMapResourceOptions = {}): DmaAddr {
  checkDeviceDmaFields(dev, "dmaMapResource");
  checkAttrs("dmaMapResource(attrs)", attrs);
  if (!opts.asDmaMapPfn && !atLeast(dev.kernel, DMA_MAP_RESOURCE)) throw new ModelConfigError("dmaMapResource", dev.kernel.name, "a kernel v4.9 or later (dma_map_resource does not exist before)");
  checkInt("dmaMapResource(phys)", phys);
  checkInt("dmaMapResource(size)", size, 1);
  checkDirection("dmaMapResource(dir)", dir);
  const mm = mmFor(dev);
  const ps = mm.pageSize;
  const pfn = Math.floor(phys / ps);
  const checkRam = !atLeast(dev.kernel, DMA_MAP_RESOURCE_RAM_ALLOWED) || (atLeast(dev.kernel, DMA_MAP_RESOURCE_DEBUG_ONLY) && !!opts.dmaApiDebug);
  if (checkRam && !opts.asDmaMapPfn && mm.pfnValid(pfn)) {
    if (!atLeast(dev.kernel, DMA_MAP_RESOURCE_WARN)) {
      const msg = "kernel BUG at include/linux/dma-mapping.h (dma_map_resource: BUG_ON(pfn_valid))";
      dev.trace.record({ fn: "dma_map_resource", kind: "oops", level: "fault", msg, data: { phys } });
      throw new KernelOops(msg, 0, ["dma_map_resource"]);
    }
    dev.trace.record({ fn: "dma_map_resource", kind: "warn", level: "warn", msg: `WARNING: dma_map_resource of pfn_valid memory ${hex(phys)} refused`, data: { phys } });
    return DMA_MAPPING_ERROR;
  }
  if (useDmaIommu(dev)) return iommuDmaMapResource(dev, phys, size, dir, attrs, ps);
  if (!opts.asDmaMapPfn && !atLeast(dev.kernel, DMA_DIRECT_MAP_RESOURCE)) {
    // v4.9..v5.0: no ops->map_resource on this device: addr = phys_addr, no offset, no check.
    dev.trace.record({ fn: "dma_map_resource", kind: "map_resource", msg: `${dev.name}: phys ${hex(phys)} +${hex(size)} -> ${hex(phys)} (no map_resource op: the physical address as is, unchecked)`, data: { phys, dma: phys, size } });
    return phys as DmaAddr;
  }
  return dmaDirectMapResource(dev, phys, size);
}

/**
 * dma_unmap_resource(dev, handle, size, dir, attrs): nothing to do on
 * dma-direct; iommu-dma unmaps the IOVA range.
 * @throws ModelConfigError on iommu-dma for a handle that was not mapped.
 */
export function dmaUnmapResource(dev: Device, handle: DmaAddr, size: number, dir: number, attrs = 0): void {
  checkDeviceDmaFields(dev, "dmaUnmapResource");
  checkDmaHandle("dmaUnmapResource(handle)", handle);
  checkAttrs("dmaUnmapResource(attrs)", attrs);
  checkDirection("dmaUnmapResource(dir)", dir);
  checkInt("dmaUnmapResource(size)", size, 1);
  if (!useDmaIommu(dev)) return;
  iommuDmaUnmapResource(dev, handle, dir, attrs);
}
