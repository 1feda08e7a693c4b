/**
 * 32-bit ARM coherent allocation wired into dma_alloc_attrs: the .alloc of
 * arm_dma_ops / arm_coherent_dma_ops (before v5.19), and arch_dma_alloc,
 * which dma-direct calls for non-coherent devices from v5.19 (ARM selects
 * neither DMA_DIRECT_REMAP nor ARCH_HAS_DMA_SET_UNCACHED; from v6.7 through
 * ARCH_HAS_DMA_ALLOC). Both end in __dma_alloc's choice of cma / simple /
 * remap / pool (lib/dma/pool.ts arm32DmaAllocator). Which path a request
 * takes per release, LPAE and restricted-dma-pool is decided by
 * lib/dma/arm32-restricted.ts arm32CoherentPath (its module note holds the
 * per-release facts and brackets).
 *
 * Sources read: arch/arm/mm/dma-mapping.c __dma_alloc, __alloc_from_pool,
 * __alloc_from_contiguous, __alloc_remap_buffer, __alloc_simple_buffer,
 * __arm_dma_free, atomic_pool_init (v5.4.6 hxb-gt/linux-5.4.6, v6.19
 * matankalina/linux-6.19.10-fork); kernel/dma/direct.c dma_direct_alloc
 * (v5.15 wowk/linux-5.15, v5.17 dunli/linux-5.17, v6.8 vivo50kff/linux-6.8).
 *
 * Per-machine state (built on the first ARM allocation of a machine, or by
 * {@link armDmaAllocBoot} with options): the default CMA area of the board's
 * data/platforms/arm32 sidecar (cma_init_reserved_mem), the atomic pool of
 * `coherent_pool=` bytes (atomic_pool_init: from CMA when there is an area,
 * else page-source pages remapped in vmalloc space) and, optionally, a
 * restricted-dma-pool of one device.
 *
 * Model choices (documented, not kernel facts):
 * - boards without an arm32 sidecar (the AM335x) keep dma-direct's generic
 *   allocation (`handled: false`): the model has no CMA or pool facts for them;
 * - "remap" / "simple" pages come from the machine's page source
 *   (lib/mm/page-source.ts) as one 2^get_order(size) block (the kernel
 *   splits the block and frees the tail pages: not modelled), limited by the
 *   coherent mask;
 * - CMA pages get the linear-map address when the machine's memory model
 *   has a linear alias for them (lowmem: __dma_remap changes their PTEs),
 *   else a vmalloc mapping (highmem: vmap). The Exynos sidecar's CMA area
 *   (LPAE, 2G split) lies above the machine profile's 3G-split lowmem, so
 *   there it is vmapped;
 * - restricted-pool pages: first fit at page stride over the pool
 *   (swiotlb_find_slots for a fresh pool; its rotating search index after
 *   frees is not modelled).
 */
import { checkInt, hex, minNotZero } from "../../core/arith.js";
import type { DmaAddr, PhysAddr, Pfn, VirtAddr } from "../../core/addr.js";
import { ModelConfigError } from "../../core/errors.js";
import { atLeast } from "../../kernel/version.js";
import { cmaInitReservedMem, type Cma } from "../../mm/cma.js";
import { genPoolAddVirt, genPoolAlloc, genPoolCreate, genPoolFree, genPoolHasAddr, genPoolSetAlgo, genPoolVirtToPhys, type GenPool } from "../../mm/genalloc.js";
import { mmOfDevice, type MemoryModel } from "../../mm/memory.js";
import { pageSourceOf } from "../../mm/page-source.js";
import { vmallocPages, vunmapAny } from "../../mm/remap.js";
import { loadArm32Sidecar, type Arm32Sidecar, hasArm32Sidecar } from "../../platform/arm32-sidecar.js";
import { dmaToPhys, physToDma, type Device } from "../../platform/device.js";
import { getOrder } from "../coherent.js";
import { dmaAllocFromContiguous, dmaReleaseFromContiguous } from "../contiguous.js";
import { arm32AllocFromPool, arm32AtomicPoolInit, arm32FreeFromPool, type Arm32AtomicPool, type Arm32DmaAllocator } from "../pool.js";
import { RESTRICTED_DMA_POOL, arm32CoherentPath, type Arm32CoherentPath } from "../arm32-restricted.js";
import type { ArchCoherentBuffer, ArchCoherentHow, ArchDmaAllocHooks, ArchName } from "./hooks.js";

/** Boot options of {@link armDmaAllocBoot} (the kernel command line and DT facts the allocation reads). */
export interface ArmDmaAllocBootOptions {
  /** `coherent_pool=`: bytes (a multiple of the page size) or "1M"; default: the sidecar's. */
  coherentPool?: number | string;
  /** Boot without the default CMA area (cma=0). */
  noCma?: boolean;
  /** The default CMA area's size in bytes (a multiple of 4 MiB); its base stays the sidecar's. */
  cmaSize?: number;
  /** A restricted-dma-pool (reserved-memory, compatible "restricted-dma-pool") used by `device`; default: the sidecar's, if any. */
  restricted?: { device: string; base: number; size: number } | null;
}

/** One live arch-owned buffer. */
interface ArmLive {
  how: ArchCoherentHow;
  allocator: Arm32DmaAllocator | null;
  phys: number;
  /** Bytes reserved (PAGE_ALIGN(size), or the whole page block). */
  bytes: number;
  /** First pfn of a page-source block (remap / simple). */
  pfn: number | null;
}

/** A machine's ARM coherent-allocation state. */
export interface ArmDmaAllocState {
  readonly sidecar: Arm32Sidecar;
  /** The default CMA area (dev_get_cma_area(NULL)), or null. */
  readonly cma: Cma | null;
  /** The ARM atomic pool after atomic_pool_init. */
  readonly pool: Arm32AtomicPool;
  /** The restricted pool and its device, or null. */
  readonly restricted: { device: string; base: number; size: number; pool: GenPool } | null;
  /** Live buffers by CPU address. */
  readonly live: Map<number, ArmLive>;
}

const STATES = new WeakMap<MemoryModel, ArmDmaAllocState>();

function validateBoot(mm: MemoryModel, o: ArmDmaAllocBootOptions): void {
  const ps = mm.pageSize;
  if (typeof o.coherentPool === "number" && (!Number.isSafeInteger(o.coherentPool) || o.coherentPool < 0 || o.coherentPool % ps !== 0)) {
    throw new ModelConfigError("armDmaAllocBoot(coherentPool)", o.coherentPool, `a size in bytes, a multiple of ${ps}`);
  }
  if (o.noCma !== undefined && typeof o.noCma !== "boolean") throw new ModelConfigError("armDmaAllocBoot(noCma)", o.noCma, "a boolean");
  if (o.cmaSize !== undefined && (!Number.isSafeInteger(o.cmaSize) || o.cmaSize <= 0 || o.cmaSize % 4194304 !== 0)) {
    throw new ModelConfigError("armDmaAllocBoot(cmaSize)", o.cmaSize, "a multiple of 4 MiB (4194304 bytes)");
  }
  const r = o.restricted;
  if (r) {
    if (typeof r.device !== "string" || !r.device) throw new ModelConfigError("armDmaAllocBoot(restricted.device)", r.device, "a device name of the board");
    checkInt("armDmaAllocBoot(restricted.base)", r.base);
    checkInt("armDmaAllocBoot(restricted.size)", r.size, ps);
    if (r.base % ps !== 0 || r.size % ps !== 0) throw new ModelConfigError("armDmaAllocBoot(restricted)", `${hex(r.base)}+${hex(r.size)}`, "page-aligned base and size");
  }
}

function cpuMapping(mm: MemoryModel, phys: number, bytes: number): VirtAddr | null {
  if (mm.hasLinearAlias(phys) && mm.hasLinearAlias(phys + bytes - 1)) return mm.linearAddress(phys);
  return remapPages(mm, phys, bytes);
}

function remapPages(mm: MemoryModel, phys: number, bytes: number): VirtAddr | null {
  const ps = mm.pageSize;
  const pfns: Pfn[] = [];
  for (let i = 0; i < Math.ceil(bytes / ps); i++) pfns.push((Math.floor(phys / ps) + i) as Pfn);
  return vmallocPages(mm, Math.ceil(bytes / ps) * ps, pfns, "dma-remap", "wc", "dma_common_contiguous_remap");
}

function buildState(mm: MemoryModel, o: ArmDmaAllocBootOptions): ArmDmaAllocState {
  const sidecar = loadArm32Sidecar(mm.profile.id);
  const kernel = mm.machine.kernel.name;
  const ps = mm.pageSize;
  let cma: Cma | null = null;
  if (!o.noCma && sidecar.cma) {
    const size = o.cmaSize ?? sidecar.cma.size;
    const r = cmaInitReservedMem({ kernel, base: sidecar.cma.base, size, name: "reserved" });
    if (!r.cma) throw new ModelConfigError("armDmaAllocBoot(cmaSize)", size, "a size the CMA area accepts (a multiple of 4 MiB)");
    cma = r.cma;
  }
  const pool = arm32AtomicPoolInit({
    kernel,
    coherentPool: o.coherentPool ?? sidecar.coherentPool,
    cma,
    cmaAlignment: sidecar.cmaAlignment,
    lowmemLimit: sidecar.lowmemLimit,
    allocPages: (_size, order) => {
      const pfn = pageSourceOf(mm).alloc(order, Number.MAX_SAFE_INTEGER);
      return pfn === null ? null : pfn * ps;
    },
    // lowmem CMA pages: page_address after __dma_remap; otherwise (highmem CMA, __alloc_remap_buffer) a vmalloc mapping.
    mapVirt: (phys, size, how) => (how === "linear" ? cpuMapping(mm, phys, size) : remapPages(mm, phys, size)) ?? 0,
    pageSize: ps,
  });
  const rs = o.restricted !== undefined ? o.restricted : sidecar.restrictedDmaPool;
  let restricted: ArmDmaAllocState["restricted"] = null;
  if (rs) {
    const gp = genPoolCreate(Math.log2(ps));
    genPoolSetAlgo(gp, "gen_pool_first_fit");
    genPoolAddVirt(gp, rs.base, rs.base, rs.size);
    restricted = { device: rs.device, base: rs.base, size: rs.size, pool: gp };
  }
  return { sidecar, cma, pool, restricted, live: new Map() };
}

/**
 * Boot-time setup of a machine's ARM coherent allocation (the default CMA
 * area, atomic_pool_init, a restricted pool) with explicit options; without
 * this call the state is built with the sidecar's facts on the first
 * allocation.
 * @param mm the machine's memory model (`machine.mm`).
 * @returns the state.
 * @throws ModelConfigError for a machine that is not 32-bit ARM, already
 * set up, or bad options; ProfileError when the board has no arm32 sidecar.
 */
export function armDmaAllocBoot(mm: MemoryModel, o: ArmDmaAllocBootOptions = {}): ArmDmaAllocState {
  if (mm.profile.arch !== "arm") throw new ModelConfigError("armDmaAllocBoot(machine)", mm.profile.id, "a 32-bit ARM board");
  if (STATES.has(mm)) throw new ModelConfigError("armDmaAllocBoot(machine)", mm.profile.id, "a machine whose ARM DMA allocation is not set up yet (boot once, before the first allocation)");
  validateBoot(mm, o);
  const st = buildState(mm, o);
  STATES.set(mm, st);
  return st;
}

/**
 * The machine's ARM allocation state, built with the sidecar's facts when
 * absent; null for a board without an arm32 sidecar file.
 * @throws ProfileError for an invalid sidecar.
 */
export function armDmaAllocStateOf(mm: MemoryModel): ArmDmaAllocState | null {
  const s = STATES.get(mm);
  if (s) return s;
  if (mm.profile.arch !== "arm" || !hasArm32Sidecar(mm.profile.id)) return null;
  const st = buildState(mm, {});
  STATES.set(mm, st);
  return st;
}

/** What {@link armDmaAllocExplain} decided, for traces and tables. */
export interface ArmDmaAllocDecision {
  path: Arm32CoherentPath;
  allocator: Arm32DmaAllocator | null;
  warning: string | null;
}

/** The device uses the board's restricted-dma-pool. */
function hasRestricted(st: ArmDmaAllocState, dev: Device): boolean {
  return st.restricted !== null && st.restricted.device === dev.name;
}

/**
 * The path of dma_alloc_attrs(dev, size) on this ARM machine at its release
 * (lib/dma/arm32-restricted.ts arm32CoherentPath with the board's LPAE, the
 * device's coherence and restricted pool, and the default CMA area).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function armDmaAllocExplain(dev: Device, blocking: boolean): ArmDmaAllocDecision | null {
  if (typeof blocking !== "boolean") throw new ModelConfigError("armDmaAllocExplain(blocking)", blocking, "true (GFP_KERNEL) or false (GFP_ATOMIC)");
  const mm = mmOfDevice(dev);
  const st = armDmaAllocStateOf(mm);
  if (!st) return null;
  const r = arm32CoherentPath({ kernel: dev.kernel.name, lpae: st.sidecar.lpae, coherent: dev.dmaCoherent, restrictedPool: hasRestricted(st, dev), allowBlock: blocking, hasCmaArea: st.cma !== null });
  return { path: r.path, allocator: r.allocator, warning: r.warning };
}

function record(dev: Device, mm: MemoryModel, fn: string, buf: ArchCoherentBuffer, phys: number, what: string): void {
  dev.trace.record({ fn, kind: "alloc_coherent", msg: `${dev.name}: ${buf.size} bytes at phys ${hex(phys)}, cpu ${mm.fmtVa(buf.cpuAddr)} (${what}), handle ${hex(buf.dmaHandle)}`, data: { phys, virt: buf.cpuAddr, handle: buf.dmaHandle, size: buf.size } });
}

function fail(dev: Device, fn: string, size: number, why: string, level: "warn" | "info" = "warn"): { handled: true; buffer: null } {
  dev.trace.record({ fn, kind: "alloc_failed", level, msg: `${dev.name}: ${size} bytes: ${why}`, data: { size } });
  return { handled: true, buffer: null };
}

/** __dma_alloc(dev, size, &handle, gfp, prot, is_coherent, attrs): the allocator's buffer or null. */
function dmaAllocArm(dev: Device, mm: MemoryModel, st: ArmDmaAllocState, size: number, allocator: Arm32DmaAllocator, fn: string): { handled: true; buffer: ArchCoherentBuffer | null } {
  const ps = mm.pageSize;
  const aligned = Math.ceil(size / ps) * ps;
  const order = getOrder(aligned, ps);
  const finish = (phys: number, cpu: VirtAddr | null, how: ArchCoherentHow, bytes: number, pfn: number | null, what: string, undo: () => void) => {
    const handle = physToDma(dev, phys as PhysAddr);
    if (cpu === null || handle === null) {
      undo();
      return fail(dev, fn, size, cpu === null ? "no vmalloc space for the remap" : `phys ${hex(phys)} has no DMA address`);
    }
    st.live.set(cpu, { how, allocator, phys, bytes, pfn });
    const buf: ArchCoherentBuffer = { cpuAddr: cpu, dmaHandle: handle, size, how };
    record(dev, mm, fn, buf, phys, what);
    return { handled: true as const, buffer: buf };
  };
  if (allocator === "pool") {
    if (!st.pool.pool) return fail(dev, fn, size, "coherent pool not initialised!");
    const r = arm32AllocFromPool(st.pool, aligned);
    if (!r) return fail(dev, fn, size, "__alloc_from_pool: the atomic pool has no free block of that size (gen_pool_alloc returned 0)");
    return finish(r.phys, r.virt as VirtAddr, "atomic-pool", aligned, null, `__alloc_from_pool, pool offset ${hex(r.phys - st.pool.phys!)}`, () => arm32FreeFromPool(st.pool, r.virt, aligned));
  }
  if (allocator === "cma") {
    const count = aligned / ps;
    const r = dmaAllocFromContiguous(st.cma, count, order, st.sidecar.cmaAlignment);
    if (r.pfn === null) return fail(dev, fn, size, `__alloc_from_contiguous: cma_alloc failed (${r.ret})`);
    const phys = r.pfn * ps;
    const cpu = cpuMapping(mm, phys, aligned);
    const what = mm.hasLinearAlias(phys) ? "__alloc_from_contiguous: lowmem CMA pages, linear-map PTEs made non-cacheable (__dma_remap)" : "__alloc_from_contiguous: CMA pages without a linear alias, vmapped";
    return finish(phys, cpu, "cma", aligned, null, what, () => dmaReleaseFromContiguous(st.cma, r.pfn!, count));
  }
  const limit = minNotZero(dev.coherentDmaMask, dev.busDmaLimit);
  const physLimit = dmaToPhys(dev, limit as DmaAddr) ?? limit;
  const src = pageSourceOf(mm);
  const pfn = src.alloc(order, physLimit);
  if (pfn === null) return fail(dev, fn, size, `__dma_alloc_buffer: no pages below ${hex(physLimit)}`);
  const phys = pfn * ps;
  const bytes = ps * 2 ** order;
  if (allocator === "simple") {
    const cpu = mm.hasLinearAlias(phys) ? mm.linearAddress(phys) : null;
    return finish(phys, cpu, "linear-map", bytes, pfn, "__alloc_simple_buffer: linear map (coherent device)", () => src.free(pfn));
  }
  const va = remapPages(mm, phys, bytes);
  return finish(phys, va, "remap", bytes, pfn, "__alloc_remap_buffer: non-cached vmalloc mapping; the linear-map alias stays cacheable", () => src.free(pfn));
}

/**
 * 32-bit ARM's allocation hook (see the module note): arm_dma_ops'
 * __dma_alloc before v5.19 (not LPAE); from v5.19 (and with LPAE earlier)
 * dma-direct, which calls arch_dma_alloc (__dma_alloc) for a non-coherent
 * device without a restricted pool, gives a restricted-pool device the
 * pool's pages (coherent device; non-coherent at v5.15-v5.16 through the
 * cacheable linear map) or NULL (v5.17+; the warning from v6.7), and leaves
 * a coherent device without a restricted pool to the generic allocation.
 * @returns `handled: false` for the generic path or a board without an arm32 sidecar.
 * @throws ModelConfigError for size < 1, before any change.
 */
export function armDmaAlloc(dev: Device, size: number, attrs: number, o: { blocking: boolean }): { handled: false } | { handled: true; buffer: ArchCoherentBuffer | null } {
  checkInt("armDmaAlloc(size)", size, 1);
  checkInt("armDmaAlloc(attrs)", attrs, 0);
  const mm = mmOfDevice(dev);
  const st = armDmaAllocStateOf(mm);
  if (!st) return { handled: false };
  const d = armDmaAllocExplain(dev, o.blocking)!;
  switch (d.path) {
    case "arm_dma_ops":
      return dmaAllocArm(dev, mm, st, size, d.allocator!, "arm_dma_alloc");
    case "arch_dma_alloc":
      return dmaAllocArm(dev, mm, st, size, d.allocator!, "arch_dma_alloc");
    case "null":
      if (d.warning) dev.trace.record({ fn: "dma_direct_alloc", kind: "warn", level: "warn", msg: d.warning, data: { size } });
      return fail(dev, "dma_direct_alloc", size, `restricted-dma-pool device on a non-coherent 32-bit ARM machine: NULL${d.warning ? "" : " (no message)"}`);
    case "direct_pages":
    case "restricted_cached_alias": {
      // dma_direct_alloc: a restricted-pool device gets the pool's pages (swiotlb_alloc); a coherent device without one, plain pages (generic path).
      if (!hasRestricted(st, dev) || !atLeast(dev.kernel, RESTRICTED_DMA_POOL)) return { handled: false };
      const r = st.restricted!;
      const ps = mm.pageSize;
      const aligned = Math.ceil(size / ps) * ps;
      const a = genPoolAlloc(r.pool, aligned);
      if (a === 0) return fail(dev, "swiotlb_alloc", size, `restricted pool ${hex(r.base)} has no ${aligned} free bytes`);
      const phys = genPoolVirtToPhys(r.pool, a);
      const cpu = mm.hasLinearAlias(phys) ? mm.linearAddress(phys) : null;
      const handle = physToDma(dev, phys as PhysAddr);
      if (cpu === null || handle === null) {
        genPoolFree(r.pool, a, aligned);
        return fail(dev, "swiotlb_alloc", size, `restricted-pool phys ${hex(phys)} has no linear alias or DMA address`);
      }
      st.live.set(cpu, { how: "restricted-pool", allocator: null, phys, bytes: aligned, pfn: null });
      const buf: ArchCoherentBuffer = { cpuAddr: cpu, dmaHandle: handle, size, how: "restricted-pool" };
      record(dev, mm, "dma_direct_alloc", buf, phys, d.path === "restricted_cached_alias" ? "swiotlb_alloc from the restricted pool, returned through the cacheable linear map to a non-coherent device" : "swiotlb_alloc from the restricted pool (coherent device)");
      return { handled: true, buffer: buf };
    }
    default:
      return { handled: false };
  }
}

/**
 * arm_dma_free / arch_dma_free (__arm_dma_free) and swiotlb_free for the
 * restricted pool: the pool block back to the gen_pool, CMA pages back to
 * the area, remap/simple pages unmapped and freed.
 * @returns true when the buffer was allocated by {@link armDmaAlloc}, false otherwise (nothing changed).
 * @throws ModelConfigError when the size or handle does not match the live buffer (before any change).
 */
export function armDmaFree(dev: Device, size: number, cpuAddr: VirtAddr, dmaHandle: DmaAddr): boolean {
  checkInt("armDmaFree(size)", size, 1);
  checkInt("armDmaFree(cpuAddr)", cpuAddr);
  checkInt("armDmaFree(handle)", dmaHandle);
  const mm = mmOfDevice(dev);
  const st = STATES.get(mm);
  const b = st?.live.get(cpuAddr);
  if (!st || !b) return false;
  const ps = mm.pageSize;
  if (physToDma(dev, b.phys as PhysAddr) !== dmaHandle) throw new ModelConfigError("dmaFreeCoherent(handle)", dmaHandle, `the handle returned with cpu ${mm.fmtVa(cpuAddr)}`);
  const aligned = Math.ceil(size / ps) * ps;
  if (b.how !== "remap" && b.how !== "linear-map" && aligned !== b.bytes) throw new ModelConfigError("dmaFreeCoherent(size)", size, `the size allocated (${b.bytes} bytes after PAGE_ALIGN)`);
  st.live.delete(cpuAddr);
  if (b.how === "atomic-pool") arm32FreeFromPool(st.pool, cpuAddr, b.bytes);
  else if (b.how === "cma") {
    if (mm.isVmallocAddr(cpuAddr)) vunmapAny(mm, cpuAddr);
    dmaReleaseFromContiguous(st.cma, b.phys / ps, b.bytes / ps);
  } else if (b.how === "restricted-pool") genPoolFree(st.restricted!.pool, b.phys, b.bytes);
  else {
    if (mm.isVmallocAddr(cpuAddr)) vunmapAny(mm, cpuAddr);
    pageSourceOf(mm).free(b.pfn!);
  }
  dev.trace.record({ fn: b.how === "restricted-pool" ? "swiotlb_free" : "arm_dma_free", kind: "free_coherent", msg: `${dev.name}: freed ${size} bytes at phys ${hex(b.phys)} (${b.how})`, data: { phys: b.phys, size } });
  return true;
}

/** 32-bit ARM's allocation hooks ({@link armDmaAlloc}, {@link armDmaFree}). */
export const armDmaAllocHooks: ArchDmaAllocHooks = { name: "arm", archDmaAlloc: armDmaAlloc, archDmaFree: armDmaFree };

/** The allocation hooks of `arch`, or null when it has none (arm64, x86-64, parisc: dma-direct and dma-iommu only). */
export function archDmaAllocHooksOf(arch: ArchName): ArchDmaAllocHooks | null {
  return ALLOC_HOOKS[arch] ?? null;
}

const ALLOC_HOOKS: Record<ArchName, ArchDmaAllocHooks | null> = { arm: armDmaAllocHooks, arm64: null, x86_64: null, parisc: null };

/**
 * Test and scenario view: genPoolHasAddr of the ARM atomic pool.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function armAtomicPoolHas(st: ArmDmaAllocState, virt: number, size: number): boolean {
  checkInt("armAtomicPoolHas(virt)", virt);
  checkInt("armAtomicPoolHas(size)", size, 1);
  return st.pool.pool !== null && genPoolHasAddr(st.pool.pool, virt, size);
}
