/**
 * dma-direct streaming DMA (kernel/dma/direct.c, kernel/dma/direct.h,
 * include/linux/dma-direct.h, include/linux/dma-map-ops.h) for devices
 * without an IOMMU, with the CPU cache model (lib/cache) underneath:
 * map = an address the device can use + cache maintenance for a
 * non-coherent device (arch_sync_dma_for_device); unmap / sync for cpu =
 * arch_sync_dma_for_cpu; sync for device = arch_sync_dma_for_device.
 *
 * Decision order of a single map (dma_direct_map_phys, v6.19;
 * dma_direct_map_page, v5.4), see the project's dma-direct rules:
 * 1. no dma_mask -> DMA_MAPPING_ERROR (dma_map_phys);
 * 2. v6.19: the pool forces bouncing (swiotlb=force) -> swiotlb_map;
 *    v5.4: swiotlb_force == SWIOTLB_FORCE -> swiotlb_map;
 * 3. dma = phys_to_dma(phys); it bounces if not dma_capable, or (v6.5+,
 *    arm64's CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC) if dma_kmalloc_needs_bounce:
 *    through the machine's swiotlb pool ({@link swiotlbOf}) when there is one
 *    (v6.19 is_swiotlb_active), else DMA_MAPPING_ERROR (v6.19: the "DMA addr
 *    overflow" warning; v5.4 swiotlb_map with swiotlb=noforce: "Cannot do DMA
 *    to address");
 * 4. otherwise, for a non-coherent device and without DMA_ATTR_SKIP_CPU_SYNC,
 *    arch_sync_dma_for_device; the DMA address is returned.
 * swiotlb_map (kernel/dma/swiotlb.c, v6.19; v5.4.6): take slots
 * (lib/dma/swiotlb.ts, the release's search), copy the buffer into the
 * bounce slots with real token copies through the cache
 * (CacheModel.cpuCopy: from v5.17 for every direction, before only for
 * TO_DEVICE and BIDIRECTIONAL), reject a bounce address that is not dma_capable (slots
 * released), then arch_sync_dma_for_device on the bounce buffer for a
 * non-coherent device. Unmap: sync for the CPU (cache, then the copy back
 * for FROM_DEVICE/BIDIRECTIONAL), then release the slots (v6.19 with
 * DMA_ATTR_SKIP_CPU_SYNC; v5.4 without it, so v5.4 copies back twice).
 * Sync for cpu: cache then copy back; sync for device: copy in then cache.
 * Each copied byte costs the profile's cachedByteNs (a memcpy between
 * cached buffers: data/costs/<profile>.json, e.g. x86-64-pc 0.4 ns/byte
 * from the pwc measurement in commit 1161db6776bd).
 * Scatterlists (dma_direct_map_sg): each entry on its own, no merging; on a
 * failure the entries already mapped are unmapped without CPU sync and the
 * call fails (-EIO from v5.16, 0 before).
 *
 * Every call records a trace event with its modelled cost (data/costs of the
 * machine's profile: per call, per line maintained) and, when the checker is
 * enabled, goes through dma-debug (lib/dma/debug.ts). Device-side
 * (`deviceRead`, `deviceWrite`) and CPU-side (`cpuRead`, `cpuWrite`) actions
 * let a notebook act out a driver; after each call and action the cache
 * takes one seeded speculation step.
 */
import { DMA_MAPPING_ERROR, dmaMappingError, type DmaAddr, type PhysAddr, type VirtAddr } from "../core/addr.js";
import { alignDown, alignUp, checkInt, hex } from "../core/arith.js";
import { EIO } from "../core/errno.js";
import { ModelConfigError } from "../core/errors.js";
import { atLeast, defineChange, type KernelVersion } from "../kernel/version.js";
import { dmaStreamingLimit, dmaToPhys, physToDma, type Device } from "../platform/device.js";
import type { Machine } from "../platform/machine.js";
import { sgPhys, type Scatterlist } from "../sg/scatterlist.js";
import { hostOf } from "../cache/host.js";
import { type ArchEnv, type MaintOp } from "../cache/maint.js";
import { checkDirection, dirName } from "../core/dma-types.js";
import type { CacheModel, MappingAttr, TokenRun } from "../cache/model.js";
import { ZERO_COSTS, costValues, loadCosts, type CostValues } from "../cost/schema.js";
import { inVmallocRange, kernelLayout } from "../mm/layout.js";
import { isLinearMapAddr, physToVirt, virtToPhys } from "../mm/linear-map.js";
import { archDmaMinAlign, isStackPhys, kmallocClasses } from "../mm/slab.js";
import * as arm from "./arch/arm.js";
import * as arm64 from "./arch/arm64.js";
import * as parisc from "./arch/parisc.js";
import * as x86 from "./arch/x86.js";
import { DmaDebug, type DebugMapType } from "./debug.js";
import { SZ_4G } from "../core/arith.js";
import { buddyOf } from "../mm/page-alloc.js";
import {
  IO_TLB_DEFAULT_SIZE,
  IO_TLB_MIN_SLABS,
  IO_TLB_SEGSIZE,
  IO_TLB_SIZE,
  SWIOTLB_MAP_ERROR,
  SWIOTLB_MIN_ALIGN_MASK,
  isSwiotlbBuffer,
  swiotlbInit,
  swiotlbNslabsForSize,
  swiotlbOrigAddr,
  swiotlbSyncSingle,
  swiotlbTblMapSingle,
  swiotlbTblUnmapSingle,
  type IoTlbMem,
} from "./swiotlb.js";
import { DMA_ATTR_SKIP_CPU_SYNC, hasAttr } from "../core/dma-types.js";

const ATTR_SKIP_CPU_SYNC = DMA_ATTR_SKIP_CPU_SYNC;
function skipCpuSync(attrs: number): boolean {
  return hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC);
}

/** dma_kmalloc_needs_bounce and CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC (arm64 selects it). */
export const KMALLOC_BOUNCE = defineChange({
  id: "dma-kmalloc-needs-bounce",
  since: "v6.5",
  commit: "370645f41e6e",
  subject: "dma-mapping: force bouncing if the kmalloc() size is not cache-line-aligned",
  files: ["include/linux/dma-map-ops.h", "kernel/dma/direct.h"],
  effect: "small DMA_FROM_DEVICE/BIDIRECTIONAL kmalloc buffers whose size class is not a multiple of the cache line are bounced for non-coherent devices",
});

/** The two sync rules of an architecture. */
export interface ArchSyncRules {
  archSyncDmaForDevice(paddr: number, size: number, dir: number, env: ArchEnv): MaintOp[];
  archSyncDmaForCpu(paddr: number, size: number, dir: number, env: ArchEnv): MaintOp[];
}

/** The sync rules of `arch` (lib/dma/arch/<arch>.ts). */
export function archSyncRules(arch: "arm64" | "arm" | "x86_64" | "parisc"): ArchSyncRules {
  switch (arch) {
    case "arm64":
      return arm64;
    case "arm":
      return arm;
    case "parisc":
      return parisc;
    default:
      return x86;
  }
}

/** Who may touch a mapped buffer now. */
export type BufferOwner = "device" | "cpu";

/** One active streaming mapping. */
export interface ActiveMapping {
  readonly dev: Device;
  readonly dmaAddr: number;
  /** Physical address the device accesses: the buffer itself, or its swiotlb bounce buffer. */
  readonly paddr: number;
  /** Physical address of the driver's buffer (= paddr unless bounced). */
  readonly origPaddr: number;
  /** True when the mapping goes through a swiotlb bounce buffer. */
  readonly bounced: boolean;
  readonly size: number;
  readonly dir: number;
  readonly type: DebugMapType;
  owner: BufferOwner;
  readonly specId: number;
}

interface StreamingState {
  debug: DmaDebug | null;
  costs: CostValues;
  mappings: ActiveMapping[];
  /** The swiotlb pool: undefined until booted, null when the machine has none. */
  swiotlb: IoTlbMem | null | undefined;
  boot: SwiotlbBootDecision | undefined;
  /** Active mappings by device and DMA address (exact start), for O(1) lookups with many mappings. */
  byStart: Map<Device, Map<number, ActiveMapping>>;
  /** Mappings added while another with the same device and DMA address was active (double maps). */
  duplicates: number;
}

function addMapping(s: StreamingState, rec: ActiveMapping): void {
  s.mappings.push(rec);
  let per = s.byStart.get(rec.dev);
  if (!per) {
    per = new Map();
    s.byStart.set(rec.dev, per);
  }
  if (!per.has(rec.dmaAddr)) per.set(rec.dmaAddr, rec);
  else s.duplicates++;
}

function removeMapping(s: StreamingState, rec: ActiveMapping): void {
  // Unmaps usually come oldest first (sg unwinding, teardown) or newest first: look from the nearer end.
  let i = s.mappings.length > 0 && s.mappings[0] === rec ? 0 : s.mappings.lastIndexOf(rec);
  if (i < 0) i = s.mappings.indexOf(rec);
  if (i >= 0) s.mappings.splice(i, 1);
  const per = s.byStart.get(rec.dev);
  if (per && per.get(rec.dmaAddr) === rec) {
    per.delete(rec.dmaAddr);
    if (s.duplicates > 0) {
      const other = s.mappings.find((x) => x.dev === rec.dev && x.dmaAddr === rec.dmaAddr);
      if (other) {
        per.set(other.dmaAddr, other);
        s.duplicates--;
      }
    }
  }
}

/** The active mapping of `dev` containing [dmaAddr, dmaAddr + size): exact start first (O(1)), else a scan. */
function mappingContaining(s: StreamingState, dev: Device, dmaAddr: number, size: number): ActiveMapping | undefined {
  const exact = s.byStart.get(dev)?.get(dmaAddr);
  if (exact && dmaAddr + size <= exact.dmaAddr + exact.size) return exact;
  return s.mappings.find((x) => x.dev === dev && dmaAddr >= x.dmaAddr && dmaAddr + size <= x.dmaAddr + x.size);
}

const states = new WeakMap<object, StreamingState>();

function machineOf(dev: Device): Machine {
  return hostOf(dev) as unknown as Machine;
}

function stateOf(m: Machine): StreamingState {
  let s = states.get(m);
  if (s) return s;
  const costs = m.profile.costs ? costValues(loadCosts(m.profile.costs)) : ZERO_COSTS;
  s = { debug: null, costs, mappings: [], swiotlb: undefined, boot: undefined, byStart: new Map(), duplicates: 0 };
  states.set(m, s);
  installExplain(m, s);
  return s;
}

/**
 * Turn on the dma-debug checker for a machine (CONFIG_DMA_API_DEBUG).
 * @returns the checker, whose `reports` collect every message.
 */
export function enableDmaDebug(machine: Machine, opts: { strict?: boolean } = {}): DmaDebug {
  const s = stateOf(machine);
  s.debug = new DmaDebug(machine.trace, { strict: opts.strict ?? false, lineSize: machine.profile.cpuCache.lineSize, kernel: machine.kernel.name });
  return s.debug;
}

/** The machine's checker, or null when dma-debug is off. */
export function dmaDebugOf(machine: Machine): DmaDebug | null {
  return stateOf(machine).debug;
}

/** The cost parameters in force on a machine (ns values). */
export function machineCosts(machine: Machine): CostValues {
  return stateOf(machine).costs;
}

/** The active streaming mappings of a machine (copies of the records). */
export function activeMappings(machine: Machine): ActiveMapping[] {
  return stateOf(machine).mappings.slice();
}

function installExplain(m: Machine, s: StreamingState): void {
  const cache = m.cpuCache;
  const line = cache.lineSize;
  cache.explain = (kind, paddr) => {
    const inside = s.mappings.find((x) => paddr >= x.paddr && paddr < x.paddr + x.size);
    const shared = s.mappings.find((x) => paddr >= alignDown(x.paddr, line) && paddr < alignUp(x.paddr + x.size, line));
    const mm = inside ?? shared;
    if (!mm) return undefined;
    const call = `(${mm.dev.name}, ${hex(mm.dmaAddr)}, ${mm.size}, ${dirName(mm.dir)})`;
    const lineStart = alignDown(paddr, line);
    const partial = lineStart < mm.paddr || lineStart + line > mm.paddr + mm.size;
    const align = archDmaMinAlign(m);
    if (kind === "stale_read") {
      if (mm.owner === "device") return `dma_sync_single_for_cpu${call} (or dma_unmap_single) before the CPU reads`;
      return partial ? `a buffer that does not share cache line ${hex(lineStart)} with CPU-written data (align and pad it to ARCH_DMA_MINALIGN = ${align})` : `dma_sync_single_for_cpu${call} after the device's write, not before it`;
    }
    if (kind === "lost_write") {
      return partial
        ? `a DMA buffer that owns its cache lines: line ${hex(lineStart)} is shared with CPU-written data (align and pad the buffer to ARCH_DMA_MINALIGN = ${align})`
        : `no CPU write to the buffer while the device owns it (dma_sync_single_for_cpu${call} first)`;
    }
    return `dma_sync_single_for_device${call} (or map after the CPU's last write)`;
  };
}

function envOf(m: Machine): ArchEnv {
  return { lineSize: m.profile.cpuCache.lineSize, kernel: m.kernel.name, outerCache: false };
}

function opCost(c: CostValues, cache: CacheModel, op: MaintOp, lines: number): number {
  if (op.scope === "all") return c.wholeCacheFlushNs;
  if (op.level === "outer") return lines * c.outerLineNs;
  const per = op.kind === "clean" ? c.lineCleanNs : op.kind === "invalidate" ? c.lineInvalidateNs : c.lineCleanInvalidateNs;
  void cache;
  return lines * per;
}

/** Result of applying an arch sync rule. */
export interface SyncOutcome {
  readonly ops: MaintOp[];
  readonly lines: number;
  readonly writebacks: number;
  readonly costNs: number;
}

/**
 * Apply maintenance operations to the machine's cache through the kernel
 * linear-map alias of `paddr` (its colour on VIPT caches).
 */
export function applyMaintenance(machine: Machine, ops: MaintOp[], paddr: number): SyncOutcome {
  const cache = machine.cpuCache;
  const colour = cache.colourOf(physToVirt(machine, paddr as PhysAddr));
  const c = stateOf(machine).costs;
  let lines = 0;
  let wb = 0;
  let cost = 0;
  for (const op of ops) {
    const r = cache.maintain(op, colour);
    lines += r.lines;
    wb += r.writebacks;
    cost += opCost(c, cache, op, r.lines);
  }
  return { ops, lines, writebacks: wb, costNs: cost };
}

function describeOps(ops: MaintOp[]): string {
  if (!ops.length) return "no cache maintenance";
  return ops.map((o) => (o.scope === "all" ? `${o.fn} (whole cache)` : `${o.fn} ${o.kind} ${hex(o.start)}-${hex(o.end)}`)).join("; ");
}

/**
 * dma_capable(dev, addr, size, is_ram) (include/linux/dma-direct.h): the
 * last byte lies at or below min_not_zero(*dma_mask, bus_dma_limit); a
 * device without a dma_mask is never capable; v6.19 also rejects the
 * DMA_MAPPING_ERROR sentinel.
 */
export function dmaCapable(dev: Device, addr: DmaAddr, size: number): boolean {
  if (dmaMappingError(addr)) return false;
  const limit = dmaStreamingLimit(dev);
  if (limit === null) return false;
  // end = addr + size - 1 in dma_addr_t arithmetic: size 0 at address 0 wraps to all ones
  // (above any limit the model represents), so it is never capable.
  if (size === 0 && addr === 0) return false;
  return addr + size - 1 <= limit;
}

/**
 * dma_kmalloc_needs_bounce(dev, size, dir) (include/linux/dma-map-ops.h,
 * v6.5+): true only on architectures with CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC
 * (arm64 in the model), for a non-coherent device, a direction other than
 * DMA_TO_DEVICE, size < 2 * ARCH_DMA_MINALIGN and kmalloc_size_roundup(size)
 * not a multiple of dma_get_cache_alignment() (the line size).
 */
export function dmaKmallocNeedsBounce(dev: Device, size: number, dir: number): boolean {
  const m = machineOf(dev);
  if (m.profile.arch !== "arm64" || !atLeast(m.kernel, KMALLOC_BOUNCE.since)) return false;
  if (dev.dmaCoherent || dir === 1) return false;
  if (size >= 2 * archDmaMinAlign(m)) return false;
  const cls = kmallocClasses(m).find((c) => c >= size) ?? size;
  return cls % m.profile.cpuCache.lineSize !== 0;
}

// ---- swiotlb: the machine's pool and swiotlb_map ----

/**
 * Which swiotlb rules dma-direct follows: the v6.19 ones (per-pool
 * force_bounce, swiotlb=noforce allocates no pool, unmap releases with
 * DMA_ATTR_SKIP_CPU_SYNC) from v5.12, the
 * v5.4.6 ones (global swiotlb_force, noforce makes swiotlb_map fail, map
 * copies in for TO_DEVICE/BIDIRECTIONAL, unmap copies back twice) before:
 * the same boundary lib/dma/swiotlb.ts uses for its slot search
 * (SWIOTLB_MIN_ALIGN_MASK, v5.12). Releases between v5.4 and v6.19 that
 * changed one of these alone are not modelled separately. Which directions
 * are copied at map time is decided in lib/dma/swiotlb.ts
 * (SWIOTLB_MAP_COPIES_ALL_DIRECTIONS: every direction from v5.17).
 */
export function currentSwiotlbRules(v: KernelVersion): boolean {
  return atLeast(v, SWIOTLB_MIN_ALIGN_MASK.since);
}

/** The boot-time swiotlb decision for a machine (what swiotlb_init was asked to do). */
export interface SwiotlbBootDecision {
  /** A pool is allocated. */
  readonly pool: boolean;
  /** Slots requested (default_nslabs), before any halving to fit. */
  readonly nslabs: number;
  /** force_bounce (swiotlb=force). */
  readonly force: boolean;
  /** Why (or why not), in words, citing the arch code. */
  readonly reason: string;
  /** The memblock_alloc_low limit: the pool must end at or below it, bytes. */
  readonly lowLimit: number;
}

/**
 * The architecture's swiotlb_init decision, simplified:
 * - x86_64 (arch/x86/kernel/pci-dma.c pci_swiotlb_detect, v6.19; the v5.4
 *   pci_swiotlb_detect_4gb has the same test): a pool iff RAM ends above
 *   4 GiB (max_possible_pfn > MAX_DMA32_PFN). The v5.4 VT-d driver then
 *   dropped it (swiotlb = 0, freed at late init): not modelled, devices
 *   behind an IOMMU do not use dma-direct.
 * - arm64 (arch/arm64/mm/init.c arch_mm_preinit, v6.19; mem_init in v5.4):
 *   a pool iff RAM ends above arm64_dma_phys_limit (the end of the lowest
 *   DMA zone of lib/mm: ZONE_DMA from v5.5, ZONE_DMA32 before); otherwise,
 *   from v6.5 (CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC), a small pool for
 *   kmalloc bouncing of min(64 MiB, RAM / 1024) bytes.
 * - arm (arch/arm/mm/init.c mem_init, v6.19): iff RAM ends above
 *   arm_dma_limit (the profile's ZONE_DMA limit, else 4 GiB).
 * - parisc: never (it does not select SWIOTLB).
 * The machine's `swiotlb` option overrides: `noforce` -> no pool
 * (v6.19 swiotlb_force_disable; in v5.4 the pool shrinks to one slot and
 * swiotlb_map refuses, modelled as no pool); `force` -> a forcing pool;
 * `size` or an empty option -> a pool of that size even where the arch
 * would not allocate one. The pool is placed by memblock_alloc_low: at the
 * top of the highest RAM below ARCH_LOW_ADDRESS_LIMIT (4 GiB; arm64:
 * arm64_dma_phys_limit), halved like swiotlb_init_remap until it fits.
 * Read: the v6.19 files named above (matankalina/linux-6.19.10-fork) and
 * kernel/dma/swiotlb.c swiotlb_init_remap / setup_io_tlb_npages. The v5.4
 * arch files are not in the fetched v5.4.6 import (it holds kernel/dma
 * only): the v5.4 arm64/x86 rules and the VT-d remark are from memory of
 * those releases and are modelled with the v6.19 tests.
 */
export function swiotlbBootDecision(machine: Machine): SwiotlbBootDecision {
  const p = machine.profile;
  const opt = machine.swiotlbOptions;
  const ramEnd = Math.max(...p.ram.map((b) => b.base + b.size));
  const ramTotal = p.ram.reduce((a, b) => a + b.size, 0);
  let lowLimit = SZ_4G;
  let pool = false;
  let nslabs = IO_TLB_DEFAULT_SIZE / IO_TLB_SIZE;
  let reason = "";
  if (p.arch === "x86_64") {
    pool = ramEnd > SZ_4G;
    reason = pool ? `pci_swiotlb_detect: RAM ends at ${hex(ramEnd)}, above 4 GiB` : "pci_swiotlb_detect: all RAM below 4 GiB";
  } else if (p.arch === "arm64") {
    const zones = machine.mm.zones();
    const z = zones.find((x) => x.name === "ZONE_DMA") ?? zones.find((x) => x.name === "ZONE_DMA32");
    lowLimit = z ? z.end : ramEnd;
    pool = ramEnd > lowLimit;
    reason = pool ? `arm64: RAM ends at ${hex(ramEnd)}, above arm64_dma_phys_limit ${hex(lowLimit)}` : `arm64: all RAM below arm64_dma_phys_limit ${hex(lowLimit)}`;
    if (!pool && atLeast(machine.kernel, KMALLOC_BOUNCE.since)) {
      pool = true;
      nslabs = swiotlbNslabsForSize(Math.min(IO_TLB_DEFAULT_SIZE, Math.ceil(ramTotal / 1024)));
      reason += "; CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC: a pool of 1 MiB per GiB of RAM for kmalloc bouncing";
    }
  } else if (p.arch === "arm") {
    const limit = p.zoneDmaLimit ?? SZ_4G;
    pool = ramEnd > limit;
    reason = pool ? `arm: RAM ends above arm_dma_limit ${hex(limit)}` : `arm: all RAM below arm_dma_limit ${hex(limit)}`;
  } else {
    reason = `${p.arch} does not use swiotlb`;
  }
  let force = false;
  if (opt) {
    if (opt.noforce) return { pool: false, nslabs, force: false, reason: `swiotlb=noforce (${reason})`, lowLimit };
    if (opt.size !== undefined) nslabs = swiotlbNslabsForSize(opt.size);
    force = opt.force === true;
    if (!pool) reason += "; pool requested by the machine's swiotlb option";
    pool = true;
    if (force) reason += "; swiotlb=force";
  }
  return { pool, nslabs, force, reason, lowLimit };
}

/**
 * The machine's swiotlb pool (io_tlb_default_mem), built on first use
 * ("boot") from {@link swiotlbBootDecision}; null when there is none. The
 * pool's pages are reserved in the buddy allocator (lib/mm/page-alloc.ts)
 * so page allocations never land in it; call this before allocating
 * buffers (scenarios do it right after createMachine). The trace gets the
 * kernel's "software IO TLB: mapped [mem ...]" line, or a `swiotlb_none`
 * info event.
 */
export function swiotlbOf(machine: Machine): IoTlbMem | null {
  const s = stateOf(machine);
  if (s.swiotlb !== undefined) return s.swiotlb;
  const d = swiotlbBootDecision(machine);
  s.boot = d;
  s.swiotlb = null;
  if (!d.pool) {
    machine.trace.record({ fn: "swiotlb_init", kind: "swiotlb_none", msg: `no swiotlb pool: ${d.reason}`, data: { reason: d.reason } });
    return null;
  }
  const ps = machine.pageSize;
  const b = buddyOf(machine);
  let nslabs = d.nslabs;
  for (;;) {
    const bytes = nslabs * IO_TLB_SIZE;
    let start = -1;
    const banks = [...machine.profile.ram].sort((x, y) => y.base - x.base);
    for (const bank of banks) {
      if (bank.base >= d.lowLimit) continue;
      const top = Math.min(bank.base + bank.size, d.lowLimit);
      const st = alignDown(top - bytes, ps);
      if (st < bank.base) continue;
      let free = true;
      for (let pfn = st / ps; pfn < (st + bytes) / ps && free; pfn++) free = b.isFree(pfn);
      if (free) {
        start = st;
        break;
      }
    }
    if (start >= 0) {
      b.reserve(start / ps, bytes / ps);
      s.swiotlb = swiotlbInit({ start, kernel: machine.kernel, nslabs, force: d.force, pageSize: ps, trace: machine.trace });
      return s.swiotlb;
    }
    if (nslabs <= IO_TLB_MIN_SLABS) {
      machine.trace.record({ fn: "swiotlb_init", kind: "swiotlb_none", level: "warn", msg: `swiotlb: no room below ${hex(d.lowLimit)} for even ${IO_TLB_MIN_SLABS} slots: no pool`, data: { reason: "no room" } });
      return null;
    }
    nslabs = Math.ceil(Math.floor(nslabs / 2) / IO_TLB_SEGSIZE) * IO_TLB_SEGSIZE;
  }
}

/** The boot decision taken by {@link swiotlbOf} (running it if needed). */
export function swiotlbBootOf(machine: Machine): SwiotlbBootDecision {
  swiotlbOf(machine);
  return stateOf(machine).boot!;
}

/** A bounce copy through the CPU cache (linear-map aliases of both addresses); returns bytes copied. */
function bounceCopier(m: Machine): { copy: (from: PhysAddr, to: PhysAddr, n: number) => void; bytes: () => number } {
  let total = 0;
  return {
    copy: (from, to, n) => {
      m.cpuCache.cpuCopy(from, to, n, { fromVa: physToVirt(m, from), toVa: physToVirt(m, to) });
      total += n;
      m.trace.record({ fn: "swiotlb_bounce", kind: "swiotlb_bounce", msg: `memcpy ${n} bytes ${hex(from)} -> ${hex(to)} (its cost, ${n} x cachedByteNs, is in the calling map/sync/unmap event)`, data: { from, to, size: n } });
    },
    bytes: () => total,
  };
}

/**
 * swiotlb_map(dev, phys, size, dir, attrs) (kernel/dma/swiotlb.c, v6.19;
 * v5.4.6 swiotlb_map in the same file): see the module comment.
 */
function swiotlbMap(dev: Device, m: Machine, s: StreamingState, mem: IoTlbMem, paddr: number, size: number, d: number, attrs: number, meta: CallMeta, fn: string, label: string, why: string): DmaAddr {
  const cp = bounceCopier(m);
  const fail = (text: string): DmaAddr => {
    m.trace.record({ fn, kind: "dma_map_error", level: "warn", msg: `${label}: bounce needed (${why}): ${text}; DMA_MAPPING_ERROR`, costNs: s.costs.mapCallNs, data: { paddr, size, swiotlb: true } });
    step(m, `after ${fn}`);
    return DMA_MAPPING_ERROR;
  };
  const tlb = swiotlbTblMapSingle(dev, mem, paddr as PhysAddr, size, { dir: d as 0 | 1 | 2, attrs, copy: cp.copy });
  if (tlb === SWIOTLB_MAP_ERROR) return fail("swiotlb buffer is full");
  const dma = physToDma(dev, tlb);
  if (dma === null || !dmaCapable(dev, dma, size)) {
    swiotlbTblUnmapSingle(dev, mem, tlb, size, { dir: d as 0 | 1 | 2, attrs: attrs + (skipCpuSync(attrs) ? 0 : ATTR_SKIP_CPU_SYNC), allocSize: size });
    return fail(`the bounce buffer ${hex(tlb)}+${size} is not dma_capable either (swiotlb addr overflow): slots released`);
  }
  let out: SyncOutcome = { ops: [], lines: 0, writebacks: 0, costNs: 0 };
  if (!dev.dmaCoherent && !skipCpuSync(attrs)) {
    out = applyMaintenance(m, archSyncRules(m.profile.arch).archSyncDmaForDevice(tlb, size, d, envOf(m)), tlb);
  }
  const specId = m.cpuCache.addSpeculationRange(tlb, size, m.cpuCache.colourOf(physToVirt(m, tlb)));
  const rec: ActiveMapping = { dev, dmaAddr: dma, paddr: tlb, origPaddr: paddr, bounced: true, size, dir: d, type: meta.type ?? "single", owner: "device", specId };
  addMapping(s, rec);
  const copied = cp.bytes();
  m.trace.record({
    fn,
    kind: "dma_map",
    msg: `${label} = ${hex(dma)}: bounced through swiotlb (${why}), ${copied} bytes copied in; ${dev.dmaCoherent ? "coherent device, no cache maintenance" : skipCpuSync(attrs) ? "DMA_ATTR_SKIP_CPU_SYNC, no cache maintenance" : describeOps(out.ops)}`,
    costNs: s.costs.mapCallNs + out.costNs + copied * s.costs.cachedByteNs,
    data: { dmaAddr: dma, paddr, tlb, size, dir: d, lines: out.lines, writebacks: out.writebacks, call: "map", bounced: true, copiedBytes: copied },
  });
  if (s.debug) s.debug.addEntry(dev, { type: rec.type, dmaAddr: dma, paddr, size, dir: d, sgCallEnts: meta.sgCallEnts ?? 0 }, skipCpuSync(attrs));
  step(m, `after ${fn}`);
  return dma;
}

/** Per-call metadata: the kernel function name for the trace and the dma-debug type. */
export interface CallMeta {
  fn?: string;
  type?: DebugMapType;
  sgCallEnts?: number;
}

function step(m: Machine, where: string): void {
  m.cpuCache.step(where);
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
  const fn = meta.fn ?? (atLeast(dev.kernel, "v6.19") ? "dma_direct_map_phys" : "dma_direct_map_page");
  const d = checkDirection(`${fn}(dir)`, dir);
  checkInt(`${fn}(paddr)`, paddr);
  checkInt(`${fn}(size)`, size, 1);
  const m = machineOf(dev);
  const s = stateOf(m);
  const label = `${fn}(${dev.name}, phys ${hex(paddr)}, ${size}, ${dirName(d)})`;
  if (dev.dmaMask === null) {
    m.trace.record({ fn, kind: "dma_map_error", level: "warn", msg: `${label}: no dma_mask, DMA_MAPPING_ERROR`, costNs: s.costs.mapCallNs, data: { paddr, size } });
    step(m, `after ${fn}`);
    return DMA_MAPPING_ERROR;
  }
  // The pool is booted only when a mapping first needs it (or swiotlb=force asks for it).
  const v619 = currentSwiotlbRules(dev.kernel);
  const forced = m.swiotlbOptions?.force === true ? swiotlbOf(m) : null;
  if (forced && forced.forceBounce) {
    const mem = forced;
    return swiotlbMap(dev, m, s, mem, paddr, size, d, attrs, meta, fn, label, v619 ? "is_swiotlb_force_bounce (swiotlb=force)" : "swiotlb_force == SWIOTLB_FORCE");
  }
  const dma = physToDma(dev, paddr as PhysAddr);
  const capable = dma !== null && dmaCapable(dev, dma, size);
  const kmBounce = capable && dmaKmallocNeedsBounce(dev, size, d);
  if (!capable || kmBounce) {
    const why = !capable
      ? dma === null
        ? "the address is in no dma-ranges window"
        : `${hex(dma)}+${size} is above the device's limit ${hex(dmaStreamingLimit(dev) ?? 0)} (dma_capable fails)`
      : `dma_kmalloc_needs_bounce: size ${size} rounds to a kmalloc class that is not a multiple of the ${m.profile.cpuCache.lineSize}-byte line`;
    const mem = swiotlbOf(m);
    if (mem) return swiotlbMap(dev, m, s, mem, paddr, size, d, attrs, meta, fn, label, why);
    const noforce = m.swiotlbOptions?.noforce === true;
    const text = v619
      ? `DMA addr ${dma === null ? "(none)" : hex(dma)}+${size} overflow (mask ${hex(dev.dmaMask)}, bus limit ${hex(dev.busDmaLimit ?? 0)}): ${why}, and there is no swiotlb pool${noforce ? " (swiotlb=noforce)" : ""}`
      : `swiotlb_map: Cannot do DMA to address ${hex(paddr)} (${why}; ${noforce ? "swiotlb=noforce" : "no swiotlb pool: swiotlb_force = SWIOTLB_NO_FORCE"})`;
    m.trace.record({
      fn,
      kind: "dma_map_error",
      level: "warn",
      msg: `${label}: ${text}; DMA_MAPPING_ERROR`,
      costNs: s.costs.mapCallNs,
      data: { paddr, size, reason: capable ? "kmalloc-unaligned" : "not-capable", swiotlb: false },
    });
    step(m, `after ${fn}`);
    return DMA_MAPPING_ERROR;
  }
  let out: SyncOutcome = { ops: [], lines: 0, writebacks: 0, costNs: 0 };
  if (!dev.dmaCoherent && !skipCpuSync(attrs)) {
    out = applyMaintenance(m, archSyncRules(m.profile.arch).archSyncDmaForDevice(paddr, size, d, envOf(m)), paddr);
  }
  const specId = m.cpuCache.addSpeculationRange(paddr, size, m.cpuCache.colourOf(physToVirt(m, paddr as PhysAddr)));
  const rec: ActiveMapping = { dev, dmaAddr: dma!, paddr, origPaddr: paddr, bounced: false, size, dir: d, type: meta.type ?? "single", owner: "device", specId };
  addMapping(s, rec);
  m.trace.record({
    fn,
    kind: "dma_map",
    msg: `${label} = ${hex(dma!)}: ${dev.dmaCoherent ? "coherent device, no cache maintenance" : skipCpuSync(attrs) ? "DMA_ATTR_SKIP_CPU_SYNC, no cache maintenance" : describeOps(out.ops)}`,
    costNs: s.costs.mapCallNs + out.costNs,
    data: { dmaAddr: dma!, paddr, size, dir: d, lines: out.lines, writebacks: out.writebacks, call: "map" },
  });
  if (s.debug) s.debug.addEntry(dev, { type: rec.type, dmaAddr: dma!, paddr, size, dir: d, sgCallEnts: meta.sgCallEnts ?? 0 }, skipCpuSync(attrs));
  step(m, `after ${fn}`);
  return dma!;
}

function findMapping(s: StreamingState, dev: Device, dma: number): ActiveMapping | undefined {
  return s.byStart.get(dev)?.get(dma);
}

/**
 * dma_direct_unmap_phys (v6.19) / dma_direct_unmap_page (v5.4): sync for
 * the CPU (non-coherent, unless DMA_ATTR_SKIP_CPU_SYNC) and forget the
 * mapping. dma-debug's check_unmap runs first.
 * @throws ModelConfigError for a bad direction or size.
 */
export function dmaDirectUnmapPhys(dev: Device, dmaAddr: DmaAddr, size: number, dir: number, attrs = 0, meta: CallMeta = {}): void {
  const fn = meta.fn ?? (atLeast(dev.kernel, "v6.19") ? "dma_direct_unmap_phys" : "dma_direct_unmap_page");
  const d = checkDirection(`${fn}(dir)`, dir);
  checkInt(`${fn}(size)`, size, 1);
  const m = machineOf(dev);
  const s = stateOf(m);
  if (s.debug) s.debug.checkUnmap(dev, { type: meta.type ?? "single", dmaAddr, size, dir: d, isMappingError: dmaMappingError(dmaAddr), ...(meta.sgCallEnts !== undefined ? { sgCallEnts: meta.sgCallEnts } : {}) });
  const rec = findMapping(s, dev, dmaAddr);
  const paddr = dmaMappingError(dmaAddr) ? null : dmaToPhys(dev, dmaAddr);
  const mem = paddr === null ? null : (s.swiotlb ?? null);
  const inPool = mem !== null && paddr !== null && isSwiotlbBuffer(mem, paddr);
  if (inPool && swiotlbOrigAddr(dev, mem!, paddr!) === null) {
    throw new ModelConfigError(`${fn}(dmaAddr)`, hex(dmaAddr), "a live swiotlb bounce buffer (this one's slots are free: a double unmap)");
  }
  let out: SyncOutcome = { ops: [], lines: 0, writebacks: 0, costNs: 0 };
  if (paddr !== null && !dev.dmaCoherent && !skipCpuSync(attrs)) {
    out = applyMaintenance(m, archSyncRules(m.profile.arch).archSyncDmaForCpu(paddr, size, d, envOf(m)), paddr);
  }
  let copied = 0;
  if (inPool) {
    const cp = bounceCopier(m);
    // sync for cpu: the copy back (swiotlb_sync_single_for_cpu), unless DMA_ATTR_SKIP_CPU_SYNC
    if (!skipCpuSync(attrs)) swiotlbSyncSingle(dev, mem!, paddr!, size, d as 0 | 1 | 2, "cpu", cp.copy);
    // swiotlb_tbl_unmap_single: v6.19 passes DMA_ATTR_SKIP_CPU_SYNC (no second copy), v5.4 the caller's attrs
    const uattrs = currentSwiotlbRules(dev.kernel) && !skipCpuSync(attrs) ? attrs + ATTR_SKIP_CPU_SYNC : attrs;
    // v5.4 passes the unmap's size as alloc_size; the model frees what was mapped (a size mismatch is dma-debug's report, not slot corruption)
    swiotlbTblUnmapSingle(dev, mem!, paddr!, size, { dir: d as 0 | 1 | 2, attrs: uattrs, allocSize: rec ? rec.size : size, copy: cp.copy });
    copied = cp.bytes();
  }
  if (rec) {
    removeMapping(s, rec);
    m.cpuCache.removeSpeculationRange(rec.specId);
  }
  m.trace.record({
    fn,
    kind: "dma_unmap",
    msg: `${fn}(${dev.name}, ${dmaMappingError(dmaAddr) ? "DMA_MAPPING_ERROR" : hex(dmaAddr)}, ${size}, ${dirName(d)}): ${dev.dmaCoherent ? "coherent device, no cache maintenance" : describeOps(out.ops)}${inPool ? `; swiotlb: ${copied} bytes copied back, slots released` : ""}`,
    costNs: s.costs.mapCallNs + out.costNs + copied * s.costs.cachedByteNs,
    data: { dmaAddr, size, dir: d, lines: out.lines, writebacks: out.writebacks, call: "unmap", bounced: inPool, copiedBytes: copied },
  });
  step(m, `after ${fn}`);
}

function syncSingle(dev: Device, dmaAddr: DmaAddr, size: number, dir: number, toCpu: boolean, fnName?: string): void {
  const fn = fnName ?? (toCpu ? "dma_sync_single_for_cpu" : "dma_sync_single_for_device");
  const d = checkDirection(`${fn}(dir)`, dir);
  checkInt(`${fn}(dmaAddr)`, dmaAddr);
  checkInt(`${fn}(size)`, size, 1);
  const m = machineOf(dev);
  const s = stateOf(m);
  if (s.debug) s.debug.checkSync(dev, { dmaAddr, size, dir: d, toCpu });
  const paddr = dmaToPhys(dev, dmaAddr);
  const mem = paddr === null ? null : (s.swiotlb ?? null);
  const inPool = mem !== null && paddr !== null && isSwiotlbBuffer(mem, paddr);
  if (inPool && swiotlbOrigAddr(dev, mem!, paddr!) === null) {
    throw new ModelConfigError(`${fn}(dmaAddr)`, hex(dmaAddr), "a live swiotlb bounce buffer (its slots are free: the mapping was already unmapped)");
  }
  const cp = bounceCopier(m);
  // for the device: copy in first (swiotlb_sync_single_for_device), then clean; for the cpu: invalidate first, then copy back
  if (inPool && !toCpu) swiotlbSyncSingle(dev, mem!, paddr!, size, d as 0 | 1 | 2, "device", cp.copy);
  let out: SyncOutcome = { ops: [], lines: 0, writebacks: 0, costNs: 0 };
  if (paddr !== null && !dev.dmaCoherent) {
    const rules = archSyncRules(m.profile.arch);
    const ops = toCpu ? rules.archSyncDmaForCpu(paddr, size, d, envOf(m)) : rules.archSyncDmaForDevice(paddr, size, d, envOf(m));
    out = applyMaintenance(m, ops, paddr);
  }
  if (inPool && toCpu) swiotlbSyncSingle(dev, mem!, paddr!, size, d as 0 | 1 | 2, "cpu", cp.copy);
  const copied = cp.bytes();
  const rec = mappingContaining(s, dev, dmaAddr, 1);
  if (rec) rec.owner = toCpu ? "cpu" : "device";
  m.trace.record({
    fn,
    kind: toCpu ? "dma_sync_for_cpu" : "dma_sync_for_device",
    msg: `${fn}(${dev.name}, ${hex(dmaAddr)}, ${size}, ${dirName(d)}): ${dev.dmaCoherent ? "coherent device, no cache maintenance" : describeOps(out.ops)}${inPool ? `; swiotlb: ${copied} bytes copied ${toCpu ? "back" : "in"}` : ""}`,
    costNs: s.costs.mapCallNs + out.costNs + copied * s.costs.cachedByteNs,
    data: { dmaAddr, size, dir: d, lines: out.lines, writebacks: out.writebacks, call: toCpu ? "sync_for_cpu" : "sync_for_device", bounced: inPool, copiedBytes: copied },
  });
  step(m, `after ${fn}`);
}

/**
 * dma_direct_sync_single_for_cpu (kernel/dma/direct.h): arch_sync_dma_for_cpu
 * for a non-coherent device; the CPU owns the buffer afterwards.
 * @throws ModelConfigError for a bad direction, address or size.
 */
export function dmaDirectSyncSingleForCpu(dev: Device, dmaAddr: DmaAddr, size: number, dir: number, fn?: string): void {
  syncSingle(dev, dmaAddr, size, dir, true, fn);
}

/**
 * dma_direct_sync_single_for_device (kernel/dma/direct.h):
 * arch_sync_dma_for_device for a non-coherent device; the device owns the
 * buffer afterwards.
 * @throws ModelConfigError for a bad direction, address or size.
 */
export function dmaDirectSyncSingleForDevice(dev: Device, dmaAddr: DmaAddr, size: number, dir: number, fn?: string): void {
  syncSingle(dev, dmaAddr, size, dir, false, fn);
}

/**
 * dma_direct_map_sg(dev, sgl, nents, dir, attrs) (kernel/dma/direct.c):
 * every entry mapped on its own (dma_direct_map_phys, with cache
 * maintenance), sg_dma_len = length, no merging.
 * @returns nents; on a failure the entries mapped so far are unmapped with
 * DMA_ATTR_SKIP_CPU_SYNC and -EIO is returned (v5.16+) or 0 (before).
 * @throws ModelConfigError for nents outside the list or a bad direction.
 */
export function dmaDirectMapSg(dev: Device, sgl: Scatterlist[], nents: number, dir: number, attrs = 0, pageSize?: number): number {
  checkDirection("dmaDirectMapSg(dir)", dir);
  checkInt("dmaDirectMapSg(nents)", nents, 1, sgl.length);
  const ps = pageSize ?? (dev.cacheHost ? dev.cacheHost.profile.pageSize : 4096);
  for (let i = 0; i < nents; i++) {
    const sg = sgl[i]!;
    const dma = dmaDirectMapPhys(dev, sgPhys(sg, ps), sg.length, dir, attrs, { fn: "dma_direct_map_sg", type: "sg", sgCallEnts: nents });
    if (dmaMappingError(dma)) {
      for (let j = 0; j < i; j++) dmaDirectUnmapPhys(dev, sgl[j]!.dmaAddress, sgl[j]!.dmaLength, dir, attrs + (skipCpuSync(attrs) ? 0 : ATTR_SKIP_CPU_SYNC), { fn: "dma_direct_unmap_sg", type: "sg", sgCallEnts: nents });
      for (let j = 0; j <= i; j++) {
        sgl[j]!.dmaAddress = DMA_MAPPING_ERROR;
        sgl[j]!.dmaLength = 0;
      }
      return atLeast(dev.kernel, "v5.16") ? -EIO : 0;
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
export function dmaDirectUnmapSg(dev: Device, sgl: Scatterlist[], nents: number, dir: number, attrs = 0): void {
  checkDirection("dmaDirectUnmapSg(dir)", dir);
  checkInt("dmaDirectUnmapSg(nents)", nents, 1, sgl.length);
  for (let i = 0; i < nents; i++) {
    const sg = sgl[i]!;
    if (dmaMappingError(sg.dmaAddress)) continue;
    dmaDirectUnmapPhys(dev, sg.dmaAddress, sg.dmaLength, dir, attrs, { fn: "dma_direct_unmap_sg", type: "sg", sgCallEnts: nents });
  }
}

// ---- device and CPU actions ----

function mappingForRange(s: StreamingState, dev: Device, dmaAddr: number, size: number, fn: string): ActiveMapping {
  checkInt(`${fn}(dmaAddr)`, dmaAddr);
  checkInt(`${fn}(size)`, size, 1);
  const rec = mappingContaining(s, dev, dmaAddr, size);
  if (!rec) {
    const mine = s.mappings.filter((x) => x.dev === dev).map((x) => `${hex(x.dmaAddr)}+${x.size}`);
    throw new ModelConfigError(`${fn}(dmaAddr, size)`, `${hex(dmaAddr)}+${size}`, `a range inside an active mapping of ${dev.name} (${mine.join(", ") || "none"})`);
  }
  return rec;
}

/**
 * dma-direct device side (use `deviceRead` in lib/dma/mapping.ts, which also
 * handles devices behind an IOMMU): the device reads `size` bytes at DMA
 * address `dmaAddr` (inside one of its active mappings). A coherent device snoops; a non-coherent one reads
 * memory (and a newer dirty CPU line is a "device_read_stale" hazard).
 * @returns the tokens the device got, as runs of physical bytes.
 * @throws ModelConfigError for a range outside every active mapping of the device (nothing changes).
 */
export function dmaDirectDeviceRead(dev: Device, dmaAddr: DmaAddr | number, size: number): TokenRun[] {
  const m = machineOf(dev);
  const s = stateOf(m);
  const rec = mappingForRange(s, dev, dmaAddr, size, "deviceRead");
  const paddr = rec.paddr + (dmaAddr - rec.dmaAddr);
  const runs = m.cpuCache.deviceRead(paddr, size, dev.dmaCoherent);
  m.trace.record({ fn: "device", kind: "device_read", msg: `${dev.name} reads ${size} bytes at ${hex(dmaAddr)} (phys ${hex(paddr)}): ${runs.map((r) => r.label).join(", ")}`, data: { dmaAddr, paddr, size } });
  step(m, "during DMA");
  return runs;
}

/**
 * dma-direct device side (use `deviceWrite` in lib/dma/mapping.ts): the
 * device writes `size` bytes at `dmaAddr` (inside one of its active
 * mappings): memory gets a new "dev:n" token; a coherent device's write
 * also invalidates cached copies.
 * @returns the new token's label ("dev:3").
 * @throws ModelConfigError for a range outside every active mapping of the device (nothing changes).
 */
export function dmaDirectDeviceWrite(dev: Device, dmaAddr: DmaAddr | number, size: number): string {
  const m = machineOf(dev);
  const s = stateOf(m);
  const rec = mappingForRange(s, dev, dmaAddr, size, "deviceWrite");
  const paddr = rec.paddr + (dmaAddr - rec.dmaAddr);
  const t = m.cpuCache.deviceWrite(paddr, size, dev.dmaCoherent);
  const lbl = m.cpuCache.label(t);
  m.trace.record({ fn: "device", kind: "device_write", msg: `${dev.name} writes ${size} bytes at ${hex(dmaAddr)} (phys ${hex(paddr)}) as ${lbl}${rec.dir === 1 ? " (the mapping is DMA_TO_DEVICE)" : ""}`, data: { dmaAddr, paddr, size, token: lbl } });
  step(m, "during DMA");
  return lbl;
}

/** One physically contiguous piece of a CPU access. */
interface CpuPiece {
  pa: number;
  len: number;
  va: number;
  attr: MappingAttr;
}

function resolveVa(m: Machine, va: number, size: number, fn: string): CpuPiece[] {
  checkInt(`${fn}(va)`, va);
  checkInt(`${fn}(size)`, size, 1);
  const page = m.profile.pageSize;
  const pieces: CpuPiece[] = [];
  let cur = va;
  const end = va + size;
  while (cur < end) {
    const t = m.mm.translate(cur as VirtAddr);
    if (!t) throw new ModelConfigError(`${fn}(va)`, m.mm.fmtVa(cur), "a mapped kernel virtual address (linear map or a live vmalloc/vmap/ioremap area)");
    const attr: MappingAttr = t.prot === "normal" ? "cacheable" : t.prot === "wc" ? "write-combine" : t.prot === "device" ? "device" : "uncached";
    const n = t.area === null ? end - cur : Math.min(end - cur, page - (cur % page));
    pieces.push({ pa: t.pa, len: n, va: cur, attr });
    cur += n;
  }
  return pieces;
}

function checkOwnership(m: Machine, s: StreamingState, pieces: CpuPiece[], access: "reads" | "writes"): void {
  if (!s.debug) return;
  for (const p of pieces) {
    for (const x of s.mappings) {
      if (x.owner === "device" && p.pa < x.origPaddr + x.size && x.origPaddr < p.pa + p.len) {
        s.debug.cpuAccessWhileDeviceOwns(x.dev, access, Math.max(p.pa, x.origPaddr), x.dmaAddr, x.size, x.dir);
      }
    }
  }
  void m;
}

/**
 * The CPU reads `size` bytes at kernel virtual address `va` (linear map:
 * cacheable; vmalloc/ioremap areas: their protection).
 * @returns the tokens seen, as runs of physical bytes.
 * @throws ModelConfigError for an unmapped address (nothing changes).
 */
export function cpuRead(machine: Machine, va: VirtAddr | number, size: number): TokenRun[] {
  const pieces = resolveVa(machine, va, size, "cpuRead");
  const s = stateOf(machine);
  checkOwnership(machine, s, pieces, "reads");
  const runs: TokenRun[] = [];
  let cost = 0;
  for (const p of pieces) {
    runs.push(...machine.cpuCache.cpuRead(p.pa, p.len, { va: p.va, attr: p.attr }));
    cost += p.len * (p.attr === "cacheable" ? s.costs.cachedByteNs : s.costs.uncachedByteNs);
  }
  machine.trace.record({ fn: "cpu", kind: "cpu_read", msg: `CPU reads ${size} bytes at ${machine.mm.fmtVa(va)}: ${runs.map((r) => r.label).join(", ")}`, costNs: cost, data: { va, paddr: pieces[0]!.pa, size } });
  step(machine, "after a CPU read");
  return runs;
}

/**
 * The CPU writes `size` bytes at `va`: cacheable lines become dirty with a
 * new "cpu:n" token; other mappings write memory.
 * @returns the new token's label.
 * @throws ModelConfigError for an unmapped address (nothing changes).
 */
export function cpuWrite(machine: Machine, va: VirtAddr | number, size: number): string {
  const pieces = resolveVa(machine, va, size, "cpuWrite");
  const s = stateOf(machine);
  checkOwnership(machine, s, pieces, "writes");
  let lbl = "";
  let cost = 0;
  for (const p of pieces) {
    lbl = machine.cpuCache.label(machine.cpuCache.cpuWrite(p.pa, p.len, { va: p.va, attr: p.attr }));
    cost += p.len * (p.attr === "cacheable" ? s.costs.cachedByteNs : s.costs.uncachedByteNs);
  }
  machine.trace.record({ fn: "cpu", kind: "cpu_write", msg: `CPU writes ${size} bytes at ${machine.mm.fmtVa(va)} as ${lbl}`, costNs: cost, data: { va, paddr: pieces[0]!.pa, size, token: lbl } });
  step(machine, "after a CPU write");
  return lbl;
}

/**
 * Facts dma-debug's debug_dma_map_single needs about a pointer: whether it
 * is in vmalloc space, a valid linear-map address (virt_addr_valid), on a
 * task stack.
 */
export function pointerFacts(machine: Machine, va: number): { vmalloc: boolean; validLinear: boolean; onStack: boolean; vaText: string } {
  const l = kernelLayout(machine);
  const vmalloc = inVmallocRange(l, va);
  const linear = isLinearMapAddr(machine, va);
  const pa = linear ? virtToPhys(machine, va) : -1;
  const validLinear = linear && machine.mm.isRam(pa);
  return { vmalloc, validLinear, onStack: validLinear && isStackPhys(machine, pa), vaText: machine.mm.fmtVa(va) };
}
