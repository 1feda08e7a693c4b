/**
 * dma-direct streaming DMA (kernel/dma/direct.c, kernel/dma/direct.h,
 * include/linux/dma-direct.h) for devices without an IOMMU, with the CPU
 * cache model (lib/cache) underneath: map = an address the device can use +
 * cache maintenance for a non-coherent device (arch_sync_dma_for_device);
 * unmap / sync for cpu = arch_sync_dma_for_cpu; sync for device =
 * arch_sync_dma_for_device. This file holds dma-direct only; what it uses
 * lives below it (docs/ARCHITECTURE.md):
 * - the arch hooks and applying their maintenance with its cost:
 *   lib/dma/arch/index.ts (archHooksOf, archSyncDmaForDeviceOn/ForCpuOn);
 * - the swiotlb pool (boot decision, io_tlb_default_mem) and swiotlb_map:
 *   lib/dma/swiotlb.ts (swiotlbOf, swiotlbMap);
 * - dma_capable, dma_kmalloc_needs_bounce: lib/dma/map-ops.ts;
 * - the machine's active mappings and the machine view: lib/dma/state.ts;
 * - costs: lib/cost (machineCosts); dma-debug: lib/dma/debug.ts;
 * - the CPU/device actions a notebook acts out (cpuRead, cpuWrite,
 *   deviceRead, deviceWrite): lib/model/actions.ts (model-only).
 *
 * Decision order of a single map (dma_direct_map_phys, v6.19;
 * dma_direct_map_page, v5.4), see the project's dma-direct rules:
 * 1. no dma_mask -> DMA_MAPPING_ERROR (dma_map_phys);
 * 2. v6.19: the pool forces bouncing (swiotlb=force) -> swiotlb_map;
 *    v5.4: swiotlb_force == SWIOTLB_FORCE -> swiotlb_map;
 * 3. dma = phys_to_dma(phys); it bounces if not dma_capable, or (v6.5+,
 *    arm64's CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC) if dma_kmalloc_needs_bounce:
 *    through the machine's swiotlb pool (swiotlbOf) when there is one
 *    (v6.19 is_swiotlb_active), else DMA_MAPPING_ERROR (v6.19: the "DMA addr
 *    overflow" warning; v5.4 swiotlb_map with swiotlb=noforce: "Cannot do DMA
 *    to address");
 * 4. otherwise, for a non-coherent device and without DMA_ATTR_SKIP_CPU_SYNC,
 *    arch_sync_dma_for_device; the DMA address is returned.
 * Unmap of a bounced mapping: sync for the CPU (cache, then the copy back
 * for FROM_DEVICE/BIDIRECTIONAL), then release the slots (v6.19 with
 * DMA_ATTR_SKIP_CPU_SYNC; v5.4 without it, so v5.4 copies back twice).
 * Sync for cpu: cache then copy back; sync for device: copy in then cache.
 * Each copied byte costs the profile's cachedByteNs (a memcpy between
 * cached buffers: data/costs/<profile>.json, e.g. x86-64-pc 0.4 ns/byte
 * from the pwc measurement in commit 1161db6776bd).
 * Scatterlists (dma_direct_map_sg): each entry on its own, no merging; on a
 * failure the entries already mapped are unmapped without CPU sync and the
 * call fails (-EIO from v5.15, 0 before).
 *
 * Every call records a trace event with its modelled cost (data/costs of the
 * machine's profile: per call, per line maintained) and, when the checker is
 * enabled, goes through dma-debug (lib/dma/debug.ts); after each call the
 * cache takes one seeded speculation step.
 */
import { DMA_MAPPING_ERROR, dmaMappingError, type DmaAddr, type PhysAddr } from "../core/addr.js";
import { checkInt, checkPowerOf2, hex } from "../core/arith.js";
import { checkIntArg, isIntIn } from "../core/arg-checks.js";
import { EIO } from "../core/errno.js";
import { ModelConfigError } from "../core/errors.js";
import { DMA_ATTR_SKIP_CPU_SYNC, checkAttrs, checkDirection, dirName, hasAttr, validDmaDirection } from "../core/dma-types.js";
import { atLeast } from "../kernel/version.js";
import { CHANGE_MAP_SG_ERRNO, kernelFunctionName } from "../kernel/api-changes.js";
import { dmaToPhys, physToDma, type Device } from "../platform/device.js";
import { checkSgEntries, type Scatterlist } from "../sg/scatterlist.js";
import { kernelLayout, type KernelLayout } from "../mm/layout.js";
import { linearMapVa } from "../mm/linear-map.js";
import { archSyncDmaForCpuOn, archSyncDmaForDeviceOn, describeOps, noSync, type SyncOutcome } from "./arch/index.js";
import { directBounceReason, dmaCapable, dmaKmallocBounceMayApply, dmaKmallocNeedsBounce, mapCallLabel } from "./map-ops.js";
import { addMapping, findMapping, mappingContaining, removeMapping, stepAfter, stepLabel, streamingOf, type ActiveMapping, type CallMeta, type DmaCallHooks, type DmaStreamingState } from "./state.js";
import { type IoTlbMem, bounceCopier, currentSwiotlbRules, isSwiotlbBuffer, swiotlbHostOf, swiotlbMap, swiotlbOf, swiotlbOrigAddr, swiotlbReleaseSpan, swiotlbSyncSingle, swiotlbTblUnmapSingle } from "./swiotlb.js";

/** The outcome of no cache maintenance (shared: outcomes are never changed). */
const NO_SYNC: SyncOutcome = noSync();

const ATTR_SKIP_CPU_SYNC = DMA_ATTR_SKIP_CPU_SYNC;

/**
 * A 0-byte map, unmap or sync: the kernel accepts it (no size check in
 * dma_map_page_attrs / dma_direct_map_page, v5.4.6; dma_map_phys /
 * dma_direct_map_phys, v6.19). Where the call needs no cache maintenance (a
 * coherent device, or DMA_ATTR_SKIP_CPU_SYNC on a map or unmap) the model does
 * what the kernel does. On a non-coherent device the arch's maintenance of an
 * empty range is not an empty operation: arm64 dcache_clean_poc
 * (dcache_by_myline_op, v6.19 arch/arm64/include/asm/assembler.h) and
 * arm v7_dma_clean_range (v5.4.6 arch/arm/mm/cache-v7.S) are do-while loops
 * that clean the line holding the address, and v7_dma_inv_range cleans and
 * invalidates it when the address is not line-aligned; the model's arch hooks
 * take ranges of at least one byte, so that case is refused.
 * @throws ModelConfigError naming `field` for size 0 on a non-coherent device that would sync.
 */
function checkZeroSize(dev: Device, field: string, size: number, sync: boolean): void {
  if (size === 0 && sync && !dev.dmaCoherent) {
    throw new ModelConfigError(field, 0, "a size >= 1 on a non-coherent device unless DMA_ATTR_SKIP_CPU_SYNC (the arch's cache maintenance of an empty range still touches the line holding the address: arm64 dcache_clean_poc v6.19, arm v7_dma_clean_range v5.4.6; not modelled)");
  }
}

/**
 * What every dma-direct map of one call shares (a single map's, or every
 * entry of a scatterlist's): the machine and its streaming state, the kernel
 * function named in the trace, the release's swiotlb rules, the forced pool
 * (swiotlb=force), whether dma_kmalloc_needs_bounce can hold for any size,
 * the linear-map layout and the label of the cache's step after the call.
 * Resolved once per call by {@link directMapCall}; each value is what the
 * per-entry code computed before (none of them changes during a call).
 */
interface DirectMapCall {
  readonly dev: Device;
  readonly m: ReturnType<typeof swiotlbHostOf>;
  readonly s: DmaStreamingState;
  readonly fn: string;
  readonly meta: CallMeta;
  /** currentSwiotlbRules(dev.kernel): the v6.19 wording and rules. */
  readonly v619: boolean;
  /** The pool when swiotlb=force was given (swiotlbOf booted it), else null. */
  readonly forced: IoTlbMem | null;
  /** dmaKmallocBounceMayApply(dev, dir): false means dmaKmallocNeedsBounce is false for every size. */
  readonly kmRule: boolean;
  /** The linear-map layout (kernelLayout), resolved by the first mapping that needs it. */
  layout: KernelLayout | null;
  /** The label of the cache's step after the call (stepLabel(fn)). */
  readonly after: string;
}

/**
 * The shared part of a map call for `dev` (see {@link DirectMapCall}); boots
 * the pool when swiotlb=force asks for it, as the first map did before.
 */
function directMapCall(dev: Device, d: number, meta: CallMeta, fn: string): DirectMapCall {
  const m = swiotlbHostOf(dev);
  const s = streamingOf(m);
  // The "no dma_mask" check is the dispatcher's (lib/dma/mapping.ts); here a device without one is never dma_capable.
  // The pool is booted only when a mapping first needs it (or swiotlb=force asks for it).
  const v619 = currentSwiotlbRules(dev.kernel);
  const forced = m.swiotlbOptions?.force === true ? swiotlbOf(m) : null;
  return { dev, m, s, fn, meta, v619, forced, kmRule: dmaKmallocBounceMayApply(dev, d), layout: null, after: stepLabel(fn) };
}

/**
 * One dma_direct_map_phys of checked arguments (`d` a valid direction, `attrs`
 * valid, `paddr` an integer address, `size` in [0, 2^32), a 0-byte size
 * allowed where checkZeroSize allows it) within call `c`.
 */
function directMapOne(c: DirectMapCall, paddr: number, size: number, d: number, attrs: number): DmaAddr {
  const dev = c.dev;
  const m = c.m;
  const fn = c.fn;
  const meta = c.meta;
  // the words of the trace messages, built when a message is recorded (swiotlbMap builds them itself from null)
  const detailed = m.trace.detailed;
  const forced = c.forced;
  if (forced && forced.forceBounce) {
    return swiotlbMap(dev, m, c.s, forced, paddr, size, d, attrs, meta, fn, detailed ? mapCallLabel(fn, dev, paddr, size, d) : null, c.v619 ? "is_swiotlb_force_bounce (swiotlb=force)" : "swiotlb_force == SWIOTLB_FORCE");
  }
  const dma = physToDma(dev, paddr as PhysAddr);
  const capable = dma !== null && dmaCapable(dev, dma, size);
  const kmBounce = capable && c.kmRule && dmaKmallocNeedsBounce(dev, size, d);
  if (!capable || kmBounce) {
    const mem = swiotlbOf(m);
    if (mem) return swiotlbMap(dev, m, c.s, mem, paddr, size, d, attrs, meta, fn, detailed ? mapCallLabel(fn, dev, paddr, size, d) : null, detailed ? directBounceReason(dev, paddr, size, m.profile.cpuCache.lineSize) : null);
    const label = mapCallLabel(fn, dev, paddr, size, d);
    const why = directBounceReason(dev, paddr, size, m.profile.cpuCache.lineSize);
    const noforce = m.swiotlbOptions?.noforce === true;
    const text = c.v619
      ? `DMA addr ${dma === null ? "(none)" : hex(dma)}+${size} overflow (mask ${hex(dev.dmaMask ?? 0)}, bus limit ${hex(dev.busDmaLimit ?? 0)}): ${why}, and there is no swiotlb pool${noforce ? " (swiotlb=noforce)" : ""}`
      : `swiotlb_map: Cannot do DMA to address ${hex(paddr)} (${why}; ${noforce ? "swiotlb=noforce" : "no swiotlb pool: swiotlb_force = SWIOTLB_NO_FORCE"})`;
    m.trace.record({
      fn,
      kind: "dma_map_error",
      level: "warn",
      msg: `${label}: ${text}; DMA_MAPPING_ERROR`,
      costNs: m.costs.mapCallNs,
      data: { paddr, size, reason: capable ? "kmalloc-unaligned" : "not-capable", swiotlb: false },
    });
    m.cpuCache.step(c.after);
    return DMA_MAPPING_ERROR;
  }
  let out: SyncOutcome = NO_SYNC;
  const skip = hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC);
  if (!dev.dmaCoherent && !skip) {
    out = archSyncDmaForDeviceOn(m, paddr, size, d);
  }
  // a 0-byte mapping gives the CPU's speculative prefetch nothing to reach (-1: no range); the colour of its linear-map alias (physToVirt)
  const specId = size === 0 ? -1 : m.cpuCache.addSpeculationRange(paddr, size, m.cpuCache.colourOf(linearMapVa(c.layout ?? (c.layout = kernelLayout(m)), paddr)));
  const rec: ActiveMapping = { dev, dmaAddr: dma!, paddr, origPaddr: paddr, bounced: false, size, dir: d, type: meta.type ?? "single", owner: "device", specId, seq: 0 };
  addMapping(c.s, rec);
  if (!detailed) m.trace.recordBare(fn, "dma_map", m.costs.mapCallNs + out.costNs);
  else {
    m.trace.record({
      fn,
      kind: "dma_map",
      msg: `${mapCallLabel(fn, dev, paddr, size, d)} = ${hex(dma!)}: ${dev.dmaCoherent ? "coherent device, no cache maintenance" : skip ? "DMA_ATTR_SKIP_CPU_SYNC, no cache maintenance" : describeOps(out.ops)}`,
      costNs: m.costs.mapCallNs + out.costNs,
      data: { dmaAddr: dma!, paddr, size, dir: d, lines: out.lines, writebacks: out.writebacks, call: "map" },
    });
  }
  if (meta.hooks?.mapped) meta.hooks.mapped(dev, { type: rec.type, dmaAddr: dma!, paddr, size, dir: d, sgCallEnts: meta.sgCallEnts ?? 0 }, skip);
  m.cpuCache.step(c.after);
  return dma!;
}

/**
 * dma_direct_map_phys (v6.19) / dma_direct_map_page (v5.4) for `size`
 * bytes at physical `paddr`.
 * @returns the DMA address (a swiotlb bounce buffer's when it bounces), or
 * DMA_MAPPING_ERROR (no dma_mask; a bounce needed and no pool, the pool
 * full, or the bounce address not dma_capable).
 * @throws ModelConfigError for a bad direction, address or size (nothing changes).
 */
export function dmaDirectMapPhys(dev: Device, paddr: PhysAddr | number, size: number, dir: number, attrs = 0, meta: CallMeta = {}): DmaAddr {
  const fn = meta.fn ?? kernelFunctionName(dev.kernel, "dma_direct_map_page");
  // (field names are built only for a value the check rejects: this runs per page)
  const d = validDmaDirection(dir) ? dir : checkDirection(`${fn}(dir)`, dir);
  if (!isIntIn(attrs, 0, 2 ** 31 - 1)) checkAttrs(`${fn}(attrs)`, attrs);
  checkIntArg(fn, "paddr", paddr);
  checkIntArg(fn, "size", size, 0, 0xffffffff);
  if (size === 0) checkZeroSize(dev, `${fn}(size)`, size, !hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC));
  return directMapOne(directMapCall(dev, d, meta, fn), paddr, size, d, attrs);
}

/**
 * dma_direct_unmap_phys (v6.19) / dma_direct_unmap_page (v5.4): sync for
 * the CPU (non-coherent, unless DMA_ATTR_SKIP_CPU_SYNC) and forget the
 * mapping. dma-debug's check_unmap runs first.
 * @throws ModelConfigError for a bad direction or size.
 */
export function dmaDirectUnmapPhys(dev: Device, dmaAddr: DmaAddr, size: number, dir: number, attrs = 0, meta: CallMeta = {}): void {
  const fn = meta.fn ?? kernelFunctionName(dev.kernel, "dma_direct_unmap_page");
  // (field names are built only for a value the check rejects)
  const d = validDmaDirection(dir) ? dir : checkDirection(`${fn}(dir)`, dir);
  checkIntArg(fn, "size", size, 0, 0xffffffff);
  if (!isIntIn(attrs, 0, 2 ** 31 - 1)) checkAttrs(`${fn}(attrs)`, attrs);
  if (size === 0) checkZeroSize(dev, `${fn}(size)`, size, !hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC));
  if (!dmaMappingError(dmaAddr)) checkIntArg(fn, "dmaAddr", dmaAddr);
  const m = swiotlbHostOf(dev);
  const s = streamingOf(m);
  const rec = findMapping(s, dev, dmaAddr);
  const paddr = dmaMappingError(dmaAddr) ? null : dmaToPhys(dev, dmaAddr);
  const mem = paddr === null ? null : (m.swiotlbState.swiotlb ?? null);
  const inPool = mem !== null && paddr !== null && isSwiotlbBuffer(mem, paddr);
  if (inPool && swiotlbOrigAddr(dev, mem!, paddr!) === null) {
    throw new ModelConfigError(`${fn}(dmaAddr)`, hex(dmaAddr), "a live swiotlb bounce buffer (this one's slots are free: a double unmap)");
  }
  // The slots the release will free, checked before any change (a release over slots already free would corrupt the pool's counts).
  if (inPool) swiotlbReleaseSpan(dev, mem!, paddr!, rec ? rec.size : size, fn);
  if (meta.hooks?.unmapping) meta.hooks.unmapping(dev, { type: meta.type ?? "single", dmaAddr, size, dir: d, isMappingError: dmaMappingError(dmaAddr), ...(meta.sgCallEnts !== undefined ? { sgCallEnts: meta.sgCallEnts } : {}) });
  let out: SyncOutcome = NO_SYNC;
  if (paddr !== null && !dev.dmaCoherent && !hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC)) {
    out = archSyncDmaForCpuOn(m, paddr, size, d);
  }
  let copied = 0;
  if (inPool) {
    const cp = bounceCopier(m);
    // sync for cpu: the copy back (swiotlb_sync_single_for_cpu), unless DMA_ATTR_SKIP_CPU_SYNC
    if (!hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC)) swiotlbSyncSingle(dev, mem!, paddr!, size, d as 0 | 1 | 2, "cpu", cp.copy);
    // swiotlb_tbl_unmap_single: v6.19 passes DMA_ATTR_SKIP_CPU_SYNC (no second copy), v5.4 the caller's attrs
    const uattrs = currentSwiotlbRules(dev.kernel) && !hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC) ? attrs + ATTR_SKIP_CPU_SYNC : attrs;
    // v5.4 passes the unmap's size as alloc_size; the model frees what was mapped (a size mismatch is dma-debug's report, not slot corruption)
    swiotlbTblUnmapSingle(dev, mem!, paddr!, size, { dir: d as 0 | 1 | 2, attrs: uattrs, allocSize: rec ? rec.size : size, copy: cp.copy });
    copied = cp.bytes();
  }
  if (rec) {
    removeMapping(s, rec);
    m.cpuCache.removeSpeculationRange(rec.specId);
  }
  if (!m.trace.detailed) m.trace.recordBare(fn, "dma_unmap", m.costs.mapCallNs + out.costNs + copied * m.costs.cachedByteNs);
  else {
    m.trace.record({
      fn,
      kind: "dma_unmap",
      msg: `${fn}(${dev.name}, ${dmaMappingError(dmaAddr) ? "DMA_MAPPING_ERROR" : hex(dmaAddr)}, ${size}, ${dirName(d)}): ${dev.dmaCoherent ? "coherent device, no cache maintenance" : describeOps(out.ops)}${inPool ? `; swiotlb: ${copied} bytes copied back, slots released` : ""}`,
      costNs: m.costs.mapCallNs + out.costNs + copied * m.costs.cachedByteNs,
      data: { dmaAddr, size, dir: d, lines: out.lines, writebacks: out.writebacks, call: "unmap", bounced: inPool, copiedBytes: copied },
    });
  }
  stepAfter(m, fn);
}

function syncSingle(dev: Device, dmaAddr: DmaAddr, size: number, dir: number, toCpu: boolean, fnName?: string, hooks?: DmaCallHooks): void {
  const fn = fnName ?? (toCpu ? "dma_sync_single_for_cpu" : "dma_sync_single_for_device");
  // (field names are built only for a value the check rejects: this runs per sg entry)
  const d = validDmaDirection(dir) ? dir : checkDirection(`${fn}(dir)`, dir);
  checkIntArg(fn, "dmaAddr", dmaAddr);
  checkIntArg(fn, "size", size, 0, 0xffffffff);
  if (size === 0) checkZeroSize(dev, `${fn}(size)`, size, true);
  const m = swiotlbHostOf(dev);
  const s = streamingOf(m);
  if (hooks?.syncing) hooks.syncing(dev, { dmaAddr, size, dir: d, toCpu });
  const paddr = dmaToPhys(dev, dmaAddr);
  const mem = paddr === null ? null : (m.swiotlbState.swiotlb ?? null);
  const inPool = mem !== null && paddr !== null && isSwiotlbBuffer(mem, paddr);
  if (inPool && swiotlbOrigAddr(dev, mem!, paddr!) === null) {
    throw new ModelConfigError(`${fn}(dmaAddr)`, hex(dmaAddr), "a live swiotlb bounce buffer (its slots are free: the mapping was already unmapped)");
  }
  const cp = inPool ? bounceCopier(m) : null;
  // for the device: copy in first (swiotlb_sync_single_for_device), then clean; for the cpu: invalidate first, then copy back
  if (inPool && !toCpu) swiotlbSyncSingle(dev, mem!, paddr!, size, d as 0 | 1 | 2, "device", cp!.copy);
  let out: SyncOutcome = NO_SYNC;
  if (paddr !== null && !dev.dmaCoherent) {
    out = toCpu ? archSyncDmaForCpuOn(m, paddr, size, d) : archSyncDmaForDeviceOn(m, paddr, size, d);
  }
  if (inPool && toCpu) swiotlbSyncSingle(dev, mem!, paddr!, size, d as 0 | 1 | 2, "cpu", cp!.copy);
  const copied = cp === null ? 0 : cp.bytes();
  const rec = mappingContaining(s, dev, dmaAddr, 1);
  if (rec) rec.owner = toCpu ? "cpu" : "device";
  if (!m.trace.detailed) m.trace.recordBare(fn, toCpu ? "dma_sync_for_cpu" : "dma_sync_for_device", m.costs.mapCallNs + out.costNs + copied * m.costs.cachedByteNs);
  else {
    m.trace.record({
      fn,
      kind: toCpu ? "dma_sync_for_cpu" : "dma_sync_for_device",
      msg: `${fn}(${dev.name}, ${hex(dmaAddr)}, ${size}, ${dirName(d)}): ${dev.dmaCoherent ? "coherent device, no cache maintenance" : describeOps(out.ops)}${inPool ? `; swiotlb: ${copied} bytes copied ${toCpu ? "back" : "in"}` : ""}`,
      costNs: m.costs.mapCallNs + out.costNs + copied * m.costs.cachedByteNs,
      data: { dmaAddr, size, dir: d, lines: out.lines, writebacks: out.writebacks, call: toCpu ? "sync_for_cpu" : "sync_for_device", bounced: inPool, copiedBytes: copied },
    });
  }
  stepAfter(m, fn);
}

/**
 * dma_direct_sync_single_for_cpu (kernel/dma/direct.h): arch_sync_dma_for_cpu
 * for a non-coherent device; the CPU owns the buffer afterwards.
 * @throws ModelConfigError for a bad direction, address or size.
 */
export function dmaDirectSyncSingleForCpu(dev: Device, dmaAddr: DmaAddr, size: number, dir: number, fn?: string, hooks?: DmaCallHooks): void {
  syncSingle(dev, dmaAddr, size, dir, true, fn, hooks);
}

/**
 * dma_direct_sync_single_for_device (kernel/dma/direct.h):
 * arch_sync_dma_for_device for a non-coherent device; the device owns the
 * buffer afterwards.
 * @throws ModelConfigError for a bad direction, address or size.
 */
export function dmaDirectSyncSingleForDevice(dev: Device, dmaAddr: DmaAddr, size: number, dir: number, fn?: string, hooks?: DmaCallHooks): void {
  syncSingle(dev, dmaAddr, size, dir, false, fn, hooks);
}

/**
 * dma_direct_map_sg(dev, sgl, nents, dir, attrs) (kernel/dma/direct.c):
 * every entry mapped on its own (dma_direct_map_phys, with cache
 * maintenance), sg_dma_len = length, no merging.
 * @returns nents; on a failure the entries mapped so far are unmapped with
 * DMA_ATTR_SKIP_CPU_SYNC and -EIO is returned (v5.15+) or 0 (before).
 * @throws ModelConfigError for nents outside the list or a bad direction.
 */
export function dmaDirectMapSg(dev: Device, sgl: Scatterlist[], nents: number, dir: number, attrs = 0, pageSize?: number, hooks?: DmaCallHooks): number {
  checkDirection("dmaDirectMapSg(dir)", dir);
  checkAttrs("dmaDirectMapSg(attrs)", attrs);
  // Every entry is checked before the first is mapped, so a bad entry further on leaves nothing mapped.
  // Length 0 is mapped as the kernel maps it (neither v5.4.6 nor v6.19 dma_direct_map_sg checks the length;
  // each entry goes through dma_direct_map_page / dma_direct_map_phys with sg->length): see dmaDirectMapPhys.
  checkSgEntries("dmaDirectMapSg", sgl, nents, 0);
  const skip = hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC);
  for (let i = 0; i < nents; i++) if (sgl[i]!.length === 0) checkZeroSize(dev, `dmaDirectMapSg(sgl[${i}].length)`, 0, !skip);
  const ps = pageSize ?? (dev.cacheHost ? dev.cacheHost.profile.pageSize : 4096);
  // sg_phys's page size check (sgPhys, on every entry before): once, before the first entry is mapped
  checkPowerOf2("sgPhys(pageSize)", ps);
  // one call description for every entry (directMapOne and swiotlbMap only read it)
  const meta: CallMeta = { fn: "dma_direct_map_sg", type: "sg", sgCallEnts: nents, hooks };
  // resolved when the first entry is mapped, after its address check (as dma_direct_map_phys resolved it per entry)
  let c: DirectMapCall | null = null;
  for (let i = 0; i < nents; i++) {
    const sg = sgl[i]!;
    // sg_phys (checkSgEntries saw an integer pfn and offset); the address check of dma_direct_map_phys
    const paddr = sg.pfn! * ps + sg.offset;
    if (!isIntIn(paddr)) checkIntArg("dma_direct_map_sg", "paddr", paddr);
    if (c === null) c = directMapCall(dev, dir, meta, "dma_direct_map_sg");
    const dma = directMapOne(c, paddr, sg.length, dir, attrs);
    if (dmaMappingError(dma)) {
      // out_unmap (v5.4.6 and v6.19 kernel/dma/direct.c dma_direct_map_sg): the failing entry's
      // dma_address is DMA_MAPPING_ERROR (its dma_length untouched); dma_direct_unmap_sg(sgl, i,
      // attrs | SKIP_CPU_SYNC) unmaps the i entries before it, which keep their (now stale) DMA fields.
      sg.dmaAddress = DMA_MAPPING_ERROR;
      for (let j = 0; j < i; j++) dmaDirectUnmapPhys(dev, sgl[j]!.dmaAddress, sgl[j]!.dmaLength, dir, attrs + (skip ? 0 : ATTR_SKIP_CPU_SYNC), { fn: "dma_direct_unmap_sg", type: "sg", sgCallEnts: nents, hooks });
      return atLeast(dev.kernel, CHANGE_MAP_SG_ERRNO) ? -EIO : 0;
    }
    sg.dmaAddress = dma;
    sg.dmaLength = sg.length;
  }
  return nents;
}

/**
 * dma_direct_unmap_sg(dev, sgl, nents, dir, attrs): unmap each entry
 * (sync for cpu on a non-coherent device unless DMA_ATTR_SKIP_CPU_SYNC).
 * @throws ModelConfigError for nents outside the list or a bad direction.
 */
export function dmaDirectUnmapSg(dev: Device, sgl: Scatterlist[], nents: number, dir: number, attrs = 0, hooks?: DmaCallHooks): void {
  checkDirection("dmaDirectUnmapSg(dir)", dir);
  checkAttrs("dmaDirectUnmapSg(attrs)", attrs);
  checkInt("dmaDirectUnmapSg(nents)", nents, 1, sgl.length);
  for (let i = 0; i < nents; i++) {
    const sg = sgl[i]!;
    if (dmaMappingError(sg.dmaAddress)) continue;
    dmaDirectUnmapPhys(dev, sg.dmaAddress, sg.dmaLength, dir, attrs, { fn: "dma_direct_unmap_sg", type: "sg", sgCallEnts: nents, hooks });
  }
}
