/**
 * swiotlb: the software IO TLB, a pool of low memory that dma-direct bounces
 * buffers through when a device cannot reach them (kernel/dma/swiotlb.c,
 * include/linux/swiotlb.h).
 *
 * The pool is cut into 2 KiB slots (IO_TLB_SHIFT = 11) grouped in segments
 * of IO_TLB_SEGSIZE = 128 slots. Each slot carries a free-run counter
 * (`list[]`: how many free slots follow it, itself included, up to the end
 * of its segment), so a request for n slots is satisfied at the first slot
 * whose counter is >= n, and no allocation ever spans two segments. Each
 * allocated slot also remembers the original buffer address it shadows
 * (`orig_addr`) so that sync and unmap can find the buffer again.
 *
 * Two searches are modelled, selected by the machine's kernel release:
 *
 * - **v5.4-era search** (releases before v5.12; read in hxb-gt/linux-5.4.6
 *   kernel/dma/swiotlb.c `swiotlb_tbl_map_single`, and chens37/linux-4.19.1,
 *   zanpocc/linux-4.4.1 lib/swiotlb.c for the older message): one global
 *   pool and index (`io_tlb_index`, next fit), stride 1 slot, or one page
 *   (PAGE_SIZE / 2 KiB slots) when the allocation is >= PAGE_SIZE, the
 *   device's segment boundary (`iommu_is_span_boundary`), wrap-around to
 *   slot 0. No offset preservation: the returned address is a slot start.
 *   The caller gives mapping and allocation sizes on map *and* unmap.
 * - **current search** (v5.12 and later; read in
 *   matankalina/linux-6.19.10-fork kernel/dma/swiotlb.c
 *   `swiotlb_tbl_map_single`, `swiotlb_find_slots` (non-dynamic form),
 *   `swiotlb_search_pool_area`, `swiotlb_release_slots`,
 *   `swiotlb_align_offset`, `swiotlb_max_mapping_size`): the device's
 *   `min_align_mask` (dma_get_min_align_mask) makes the bounce address keep
 *   the original's low bits (tlb_addr = slot address + offset), an explicit
 *   `alloc_align_mask`, the page-alignment rule for >= PAGE_SIZE requests
 *   without any other alignment, the pool split into areas (from v6.0) each
 *   with its own next-fit index that wraps inside the area, and padding
 *   slots (`pad_slots`, from v6.9) when the preserved offset exceeds one
 *   slot. Slot bookkeeping (alloc_size per slot) lets unmap find the
 *   allocation size itself.
 *   The slot search follows three releases' rules (see searchPoolArea):
 *   v5.12..v6.2 (page stride from a stride-aligned start), v6.3..v6.8
 *   (0eee5ae10256: one mask, 0x800 for a plain >= 4 KiB map, matched
 *   against orig_addr from an unaligned start, no check for orig_addr 0),
 *   v6.9+ (04867a7a3332 and 14cebf689a78: alloc_align_mask enforced on
 *   every slot, page alignment by default). v5.12.9's find_slots lacks the
 *   alloc_align_mask term and the orig_addr != 0 test of v6.2.1 (the
 *   releases that added them are not pinned); the model uses the v6.2 form
 *   from v5.12. 51b30ecb73b4 "swiotlb: Fix alignment checks when both
 *   allocation and DMA masks are present" (v6.9) is part of the v6.19 rule.
 *   `swiotlb=` dynamic pools
 *   (CONFIG_SWIOTLB_DYNAMIC, transient pools) and restricted-DMA pools are
 *   not modelled: one pool per io_tlb_mem.
 *
 * This module allocates slots; it does not move data itself. Every point
 * where the kernel copies calls the optional `copy(from, to, size)` callback
 * the caller supplies (addresses are physical, bytes): {@link bounceCopier}
 * makes one that copies tokens through the cache model (CacheModel.cpuCopy)
 * and counts the bytes for the copy's cost; without a callback nothing is
 * copied. The end of this file holds the machine's pool (the boot decision,
 * {@link swiotlbOf}) and {@link swiotlbMap}, which dma-direct
 * (lib/dma/direct.ts) calls when a buffer must bounce.
 *
 * Failures are returned as the kernel returns them: a failed map returns
 * {@link SWIOTLB_MAP_ERROR} ((phys_addr_t)DMA_MAPPING_ERROR) and records the
 * "swiotlb buffer is full" warning (trace kind `swiotlb_full`, level warn)
 * with the kernel's text for the release, unless DMA_ATTR_NO_WARN. The
 * kernel rate-limits that message; the model records every occurrence.
 * Misuse of the model (zero sizes, bad masks, unmapping an address that is
 * not a live bounce buffer) throws ModelConfigError before any state changes.
 */
import { DMA_MAPPING_ERROR, type PhysAddr } from "../core/addr.js";
import {
  MAX_ADDR,
  SZ_64M,
  andMask,
  checkInt,
  checkLowMask,
  checkPowerOf2,
  hex,
  isPowerOf2,
  roundupPowOfTwo,
} from "../core/arith.js";
import { checkIntArg } from "../core/arg-checks.js";
import { KernelOops, ModelConfigError } from "../core/errors.js";
import type { Trace } from "../core/trace.js";
import { atLeast, defineChange, parseKernelVersion, type KernelVersion } from "../kernel/version.js";
import { physToDma, type Device } from "../platform/device.js";
import { DMA_ATTR_NO_WARN, DMA_ATTR_SKIP_CPU_SYNC, DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE, hasAttr, type DmaDataDirection, checkDirection, withAttr } from "../core/dma-types.js";
import { dmaGetSegBoundary } from "./parms.js";
import { alignDown } from "../core/arith.js";
import type { DmaAddr } from "../core/addr.js";
import { hostOf } from "../cache/host.js";
import { buddyOf } from "../mm/page-alloc.js";
import { physToVirt } from "../mm/linear-map.js";
import { archHooksOf, archSyncDmaForDeviceOn, describeOps, noSync, type SyncOutcome } from "./arch/index.js";
import { KMALLOC_BOUNCE, directBounceReason, dmaCapable, mapCallLabel } from "./map-ops.js";
import { addMapping, stepAfter, type ActiveMapping, type CallMeta, type DmaMachine, type DmaStreamingState } from "./state.js";

/** The outcome of no cache maintenance (shared: outcomes are never changed). */
const NO_SYNC: SyncOutcome = noSync();

// ---------------------------------------------------------------- constants

/** log2 of the slot size (include/linux/swiotlb.h). */
export const IO_TLB_SHIFT = 11;
/** Slot size, bytes: 2 KiB. */
export const IO_TLB_SIZE = 2048;
/** Slots per segment; no allocation spans two segments (include/linux/swiotlb.h). */
export const IO_TLB_SEGSIZE = 128;
/** Default pool size, bytes: 64 MiB (IO_TLB_DEFAULT_SIZE, 64UL << 20). */
export const IO_TLB_DEFAULT_SIZE = SZ_64M;
/** Smallest pool the boot code settles for when halving after a failed allocation: 1 MiB in slots (IO_TLB_MIN_SLABS). */
export const IO_TLB_MIN_SLABS = 512;
/**
 * The failure value of swiotlb_tbl_map_single: (phys_addr_t)DMA_MAPPING_ERROR.
 * The model's DMA_MAPPING_ERROR sentinel (-1) branded as a physical address.
 */
export const SWIOTLB_MAP_ERROR = DMA_MAPPING_ERROR as number as PhysAddr;

/** Marker of a free slot's orig_addr (INVALID_PHYS_ADDR, all ones in the kernel). */
const INVALID_PHYS_ADDR = -1;

// ---------------------------------------------------------------- changes

/** v5.2: the "buffer is full" warning reports total and used slots, and a request larger than the free slot count fails at once. */
export const SWIOTLB_FULL_REPORTS_USAGE = defineChange({
  id: "swiotlb-full-reports-used-total",
  since: "v5.2",
  commit: "8395c154abb7 (as merged into linux-next from the swiotlb tree; mainline hash not pinned; listed in Konrad Wilk's \"(swiotlb) stable/for-linus-5.2\" pull of 2019-05-07)",
  subject: "swiotlb: dump used and total slots when swiotlb buffer is full",
  files: ["kernel/dma/swiotlb.c"],
  effect: "io_tlb_used is counted; swiotlb_tbl_map_single fails without searching when nslots exceeds the free slots, and the warning gains ', total N (slots), used M (slots)'.",
  bracket: "absent in v5.0.1 (VVvector/linux-5.0.1, kernel/dma/swiotlb.c:swiotlb_tbl_map_single: size only, no io_tlb_used), present in v5.2.1 (wangliang-cs/linux-5.2.1, kernel/dma/swiotlb.c:swiotlb_tbl_map_single: io_tlb_used, early fail, total/used in the warning); no v5.1 tree, v5.2 from the for-linus-5.2 pull",
});

/** v5.12: min_align_mask, offset preservation, the find_slots search. */
export const SWIOTLB_MIN_ALIGN_MASK = defineChange({
  id: "swiotlb-min-align-mask",
  since: "v5.12",
  commit: "1f221a0d0dbf",
  subject: "swiotlb: respect min_align_mask",
  files: ["kernel/dma/swiotlb.c", "include/linux/device.h", "include/linux/dma-mapping.h"],
  effect:
    "the bounce address keeps the original's bits under the device's min_align_mask (NVMe: 4 KiB - 1): tlb_addr = slot + (orig & min_align_mask & (IO_TLB_SIZE - 1)), and slots whose address disagrees with the original in the bits above IO_TLB_SIZE are skipped. The model switches to the v6.19-style search from this release.",
  bracket: "absent in v5.11.0 (CompressionDuck/linux-5.11, kernel/dma/swiotlb.c: no min_align_mask), present in v5.12.9 (zhangyinjun/linux-5.12.9, kernel/dma/swiotlb.c:swiotlb_align_offset, include/linux/device.h:device_dma_parameters.min_align_mask)",
});

/**
 * v5.17: swiotlb_tbl_map_single copies the original into the bounce buffer
 * at map time for every direction (and regardless of
 * DMA_ATTR_SKIP_CPU_SYNC), so a device that writes only part of a
 * DMA_FROM_DEVICE buffer does not expose stale slot contents. Before it, the
 * copy at map time happened only for DMA_TO_DEVICE / DMA_BIDIRECTIONAL
 * without DMA_ATTR_SKIP_CPU_SYNC. Both commits appeared in v5.17 and
 * v5.16.15 (report on linux-wireless, 2022-03-23, by Oleksandr Natalenko);
 * v5.18 reverted ddbd89deb7d3's sync_single_for_device change but kept the
 * unconditional copy at map time ("Reinstate some of ...").
 */
export const SWIOTLB_MAP_COPIES_ALL_DIRECTIONS = defineChange({
  id: "swiotlb-map-copies-all-directions",
  since: "v5.17",
  commit: "ddbd89deb7d3, aa6f8dcbab47",
  subject: 'swiotlb: fix info leak with DMA_FROM_DEVICE; swiotlb: rework "fix info leak with DMA_FROM_DEVICE"',
  files: ["kernel/dma/swiotlb.c"],
  effect:
    "swiotlb_tbl_map_single bounces orig -> tlb for every direction at map time; before v5.17 only for DMA_TO_DEVICE/DMA_BIDIRECTIONAL without DMA_ATTR_SKIP_CPU_SYNC.",
  bracket: "absent in v5.17-rc5 (dunli/linux-5.17, kernel/dma/swiotlb.c:swiotlb_tbl_map_single: bounces only for TO_DEVICE/BIDIRECTIONAL), present in v5.19.0 (yishangzhang/linux-5.19, kernel/dma/swiotlb.c:swiotlb_tbl_map_single: unconditional swiotlb_bounce(..., DMA_TO_DEVICE)); loose: v5.17 from a 2022-03-23 regression report calling both commits upstream (v5.17 was released 2022-03-20), v5.18 not excluded; wowk/linux-5.15 (5.15.55) has it as a stable backport",
});

/** v5.19 (approximate): swiotlb_max_mapping_size subtracts the min_align_mask padding. */
export const SWIOTLB_MAX_MAPPING_MIN_ALIGN = defineChange({
  id: "swiotlb-max-mapping-size-min-align",
  since: "v5.19",
  commit: "(hash not pinned; Tianyu Lan, 2022; release approximate)",
  subject: "swiotlb: max mapping size takes min align mask into account",
  files: ["kernel/dma/swiotlb.c"],
  effect: "swiotlb_max_mapping_size() = IO_TLB_SIZE * IO_TLB_SEGSIZE - roundup(min_align_mask, IO_TLB_SIZE) when min_align_mask is set.",
  bracket: "absent in v5.17-rc5 (dunli/linux-5.17, kernel/dma/swiotlb.c:swiotlb_max_mapping_size = IO_TLB_SIZE * IO_TLB_SEGSIZE), present in v5.19.0 (yishangzhang/linux-5.19, same function minus roundup(min_align_mask, IO_TLB_SIZE)); loose: no v5.18 tree, v5.19 from the posting (2022-05-10, acked 2022-05-17, after v5.18-rc7)",
});

/** v6.0: the pool is split into areas, each with its own lock, used count and next-fit index. */
export const SWIOTLB_AREAS = defineChange({
  id: "swiotlb-areas",
  since: "v6.0",
  commit: "20347fca71a3",
  subject: "swiotlb: split up the global swiotlb lock",
  files: ["kernel/dma/swiotlb.c", "include/linux/swiotlb.h"],
  effect:
    "the pool has nareas (a power of two, by default num_possible_cpus() rounded up, or swiotlb=<slabs>,<areas>) areas of nslabs/nareas slots; a map starts in area (cpu & (nareas - 1)) and tries the others in turn; the default slot count is rounded up to a power of two (and to IO_TLB_SEGSIZE * nareas at least).",
  bracket: "absent in v5.19.0 (yishangzhang/linux-5.19, kernel/dma/swiotlb.c: no io_tlb_area), present in v6.0-rc1 (sun363587351/linux-6.0, kernel/dma/swiotlb.c:struct io_tlb_area, swiotlb_do_find_slots(dev, area_index, ...))",
});

/** v6.3: the alignment-check fix that (as a side effect) dropped page alignment for >= PAGE_SIZE maps. */
export const SWIOTLB_SLOT_ALIGN_CHECK_FIX = defineChange({
  id: "swiotlb-slot-alignment-check-fix",
  since: "v6.3",
  commit: "0eee5ae10256",
  subject: "swiotlb: fix slot alignment checks",
  files: ["kernel/dma/swiotlb.c"],
  effect:
    "slot addresses are checked against the alignment masks instead of only aligning the start index; page alignment for >= PAGE_SIZE requests then survived only in the stride, and 14cebf689a78 (v6.9) says it was lost. The model drops the page rule for v6.3..v6.8.",
  bracket: "absent in v6.2.1 (daniellucs2002/linux-6.2.1-customized, kernel/dma/swiotlb.c:swiotlb_do_find_slots: stride-aligned start), present in v6.3.8 (SToPire/linux-6.3.8, kernel/dma/swiotlb.c:swiotlb_do_find_slots: slot address checked against the mask); the follow-up bbb73a103fbb is in v6.3.0 too",
});

/** v6.9: page alignment for >= PAGE_SIZE streaming maps without other alignment. */
export const SWIOTLB_PAGE_ALIGN_REINSTATED = defineChange({
  id: "swiotlb-page-align-reinstated",
  since: "v6.9",
  commit: "14cebf689a78",
  subject: "swiotlb: Reinstate page-alignment for mappings >= PAGE_SIZE",
  files: ["kernel/dma/swiotlb.c"],
  effect:
    "swiotlb_search_pool_area uses alloc_align_mask = PAGE_SIZE - 1 when neither alloc_align_mask nor min_align_mask is set and the request is >= PAGE_SIZE (the v5.4 search had the same rule as a page stride).",
  bracket: "absent in v6.8.0 (vivo50kff/linux-6.8, kernel/dma/swiotlb.c:swiotlb_search_pool_area), present in v6.9.0 (ec-jt/linux-6.9.0, kernel/dma/swiotlb.c:swiotlb_search_pool_area: alloc_align_mask defaults to PAGE_SIZE - 1); reached 6.6.y stable after 6.6.32",
});

/** v6.9: padding slots when the preserved offset exceeds one slot. */
export const SWIOTLB_PAD_SLOTS = defineChange({
  id: "swiotlb-pad-slots",
  since: "v6.9",
  commit: "af133562d5af",
  subject: "swiotlb: extend buffer pre-padding to alloc_align_mask if necessary",
  files: ["kernel/dma/swiotlb.c"],
  effect: "swiotlb_align_offset also keeps the bits of alloc_align_mask that min_align_mask covers, so the offset can exceed IO_TLB_SIZE; the whole slots before the buffer are recorded as pad_slots in its first slot and released with it.",
  bracket: "absent in v6.8.0 (vivo50kff/linux-6.8, kernel/dma/swiotlb.c: no pad_slots), present in v6.9.0 (ec-jt/linux-6.9.0, kernel/dma/swiotlb.c:struct io_tlb_slot.pad_slots, swiotlb_align_offset(dev, align_mask, addr)); late 6.6.y/6.8.y stable releases have it too",
});

/**
 * v6.9: the slot search keeps alloc_align_mask (forced on every slot, also
 * for orig_addr == 0) apart from the min_align_mask bits matched against
 * orig_addr, and strides by the larger of the two. In v6.3..v6.8 one mask
 * (min_align_mask | alloc_align_mask | PAGE_SIZE - 1 for >= PAGE_SIZE,
 * without its low 11 bits) was matched against orig_addr and not checked at
 * all when orig_addr == 0, from an unaligned start: swiotlb_alloc got slots
 * that were not page aligned (CVE-2024-35814).
 */
export const SWIOTLB_DOUBLE_ALLOC_FIX = defineChange({
  id: "swiotlb-double-alloc-alignment-fix",
  since: "v6.9",
  commit: "04867a7a3332",
  subject: "swiotlb: Fix double-allocation of slots due to broken alignment handling",
  files: ["kernel/dma/swiotlb.c"],
  effect:
    "swiotlb_search_pool_area: alloc_align_mask |= IO_TLB_SIZE - 1, iotlb_align_mask = min_align_mask & ~alloc_align_mask, stride from max(alloc_align_mask, iotlb_align_mask); a slot whose address has alloc_align_mask bits set is skipped whatever orig_addr is. Also in stable 6.6.24, 6.7.12, 6.8.3 (not modelled).",
  bracket:
    "absent in v6.8.0 (vivo50kff/linux-6.8, kernel/dma/swiotlb.c:swiotlb_search_pool_area: one iotlb_align_mask, `if (orig_addr && ...)`), present in v6.9.0 (ec-jt/linux-6.9.0, same function: alloc_align_mask tested on every slot, stride from max of the two masks)",
});

// ---------------------------------------------------------------- types

/** struct io_tlb_area: one independently locked part of a pool (v6.0+; a single area before). */
export interface IoTlbArea {
  /** Slots in use in this area. */
  used: number;
  /** Area-relative slot index where the next search starts (next fit). */
  index: number;
}

/**
 * struct io_tlb_pool: one contiguous pool of slots.
 * Arrays are indexed by slot number (0 .. nslabs - 1).
 */
export interface IoTlbPool {
  /** Physical start, bytes (page aligned). */
  readonly start: PhysAddr;
  /** Physical end (exclusive) = start + nslabs * IO_TLB_SIZE. */
  readonly end: PhysAddr;
  /** Number of slots. */
  readonly nslabs: number;
  /** Number of areas (1 before v6.0). */
  readonly nareas: number;
  /** Slots per area = nslabs / nareas. */
  readonly areaNslabs: number;
  readonly areas: IoTlbArea[];
  /** Free-run counter per slot: free slots from here to the end of the segment (0 = in use). */
  readonly list: Uint8Array;
  /** orig_addr per slot: the original buffer address this slot shadows, -1 when free. */
  readonly origAddr: Float64Array;
  /** alloc_size per slot (v5.12+ bookkeeping): bytes of the allocation from this slot's start on. */
  readonly allocSize: Float64Array;
  /** pad_slots (v6.9+): padding slots before the first used slot, stored in that slot. */
  readonly padSlots: Uint8Array;
}

/** struct io_tlb_mem: the allocator a device bounces through (one pool in this model). */
export interface IoTlbMem {
  /** Kernel release whose rules the pool follows. */
  readonly kernel: KernelVersion;
  readonly defpool: IoTlbPool;
  /** Total slots (mem->nslabs). */
  readonly nslabs: number;
  /** swiotlb=force or an arch that forces bouncing (is_swiotlb_force_bounce). */
  readonly forceBounce: boolean;
  /** PAGE_SIZE of the machine, bytes (the page rule and stride use it). */
  readonly pageSize: number;
  /** Where warnings go when the device's own trace is not used (unused by map, which records on dev.trace). */
  readonly trace: Trace | null;
}

/** Parameters of {@link swiotlbInit}. */
export interface SwiotlbInitParams {
  /** Physical start of the pool, bytes; must be PAGE_SIZE aligned (memblock_alloc_low(bytes, PAGE_SIZE)). */
  start: number;
  /** Kernel release, "vX.Y". */
  kernel: string | KernelVersion;
  /**
   * Slot count as swiotlb= or swiotlb_adjust_size leave it (default_nslabs);
   * default IO_TLB_DEFAULT_SIZE / IO_TLB_SIZE = 32768. Use
   * {@link parseSwiotlbParam} or {@link swiotlbNslabsForSize} to derive it.
   */
  nslabs?: number;
  /**
   * Requested areas (v6.0+): from swiotlb=<slabs>,<areas> or
   * num_possible_cpus(); 0 and 1 mean one area. Ignored before v6.0.
   */
  nareas?: number;
  /** swiotlb=force. Default false. */
  force?: boolean;
  /** PAGE_SIZE, bytes; default 4096. */
  pageSize?: number;
  /** Optional trace for the init messages. */
  trace?: Trace;
}

/** Result of parsing the swiotlb= boot parameter (setup_io_tlb_npages). */
export interface SwiotlbParam {
  /** Slot count (already rounded up to IO_TLB_SEGSIZE), or null if no number was given. */
  nslabs: number | null;
  /** Area count (v6.0+ second number, rounded up to a power of two, 0 -> 1), or null. */
  nareas: number | null;
  /** "force" given. */
  force: boolean;
  /** "noforce" given: v5.4 shrinks the pool to 1 slot and never bounces; v6.19 allocates no pool. */
  noforce: boolean;
}

/** Options of {@link swiotlbTblMapSingle}. */
export interface SwiotlbMapOptions {
  /**
   * v5.4-era search only: the allocation size (alloc_size), bytes, >= mappingSize;
   * default mappingSize. Ignored from v5.12 (the size comes from the alignment rules).
   */
  allocSize?: number;
  /** alloc_align_mask (v5.16+ callers; 0 for streaming maps): a low mask 2^k - 1 below 2^32. Default 0. */
  allocAlignMask?: number;
  /** DMA direction; default DMA_BIDIRECTIONAL. */
  dir?: DmaDataDirection;
  /** DMA_ATTR_* bits (DMA_ATTR_NO_WARN, DMA_ATTR_SKIP_CPU_SYNC matter). Default 0. */
  attrs?: number;
  /** The CPU that maps (v6.0+ picks the first area from it). Default 0. */
  cpu?: number;
  /** Bounce copy hook: called as copy(from, to, size) where the kernel copies (physical addresses, bytes). */
  copy?: SwiotlbCopy;
}

/** Options of {@link swiotlbTblUnmapSingle}. */
export interface SwiotlbUnmapOptions {
  /** v5.4-era search only: alloc_size given at map time, bytes; default mappingSize. */
  allocSize?: number;
  dir?: DmaDataDirection;
  attrs?: number;
  copy?: SwiotlbCopy;
}

/** The bounce copy callback: copy `size` bytes from physical `from` to physical `to`. */
export type SwiotlbCopy = (from: PhysAddr, to: PhysAddr, size: number) => void;

// ---------------------------------------------------------------- helpers

/** nr_slots(val): DIV_ROUND_UP(val, IO_TLB_SIZE). */
export function swiotlbNrSlots(bytes: number): number {
  checkInt("swiotlbNrSlots(bytes)", bytes);
  return Math.ceil(bytes / IO_TLB_SIZE);
}

/** The low mask `m` with the bits of the low mask `clear` removed (m & ~clear), as a pair for band tests. */
function bandBits(x: number, m: number, clear: number): number {
  // m & ~clear for low masks keeps the bits between them: x & that = (x & m) - (x & clear) when m > clear.
  if (m <= clear) return 0;
  return andMask(x, m) - andMask(x, clear);
}

/**
 * dma_get_seg_boundary(dev): the device's dma_parms.segment_boundary_mask,
 * else the default: DMA_BIT_MASK(32) before v5.10, ULONG_MAX (the model's
 * saturated MAX_ADDR) from v5.10. Source: include/linux/dma-mapping.h
 * (v5.4.6, v6.19).
 */
/** dma_parms with the v5.12+ min_align_mask field (device_dma_parameters.min_align_mask). */

/**
 * dma_get_min_align_mask(dev) (include/linux/dma-mapping.h, v5.12+): the
 * device's dma_parms.min_align_mask, 0 without dma_parms or before v5.12.
 * The model stores it as `dmaParms.minAlignMask` (set with
 * {@link dmaSetMinAlignMask}).
 */
export function dmaGetMinAlignMask(dev: Device): number {
  const p = dev.dmaParms;
  // (no mask set: 0 in every release, without asking which; this runs several times per bounced page)
  if (!p || !p.minAlignMask) return 0;
  return atLeast(dev.kernel, SWIOTLB_MIN_ALIGN_MASK) ? p.minAlignMask : 0;
}

/**
 * dma_set_min_align_mask(dev, mask) (include/linux/dma-mapping.h, v5.12+):
 * store the mask in dev->dma_parms. A device without dma_parms gets the
 * kernel's WARN_ON_ONCE (trace kind `warn`) and nothing is stored.
 * @throws ModelConfigError for a mask that is not 2^k - 1 below 2^32 (an unsigned int).
 */
export function dmaSetMinAlignMask(dev: Device, mask: number): void {
  checkLowMask("dmaSetMinAlignMask(mask)", mask);
  checkInt("dmaSetMinAlignMask(mask)", mask, 0, 0xffffffff);
  if (!dev.dmaParms) {
    dev.trace.record({ fn: "dma_set_min_align_mask", kind: "warn", level: "warn", msg: `WARN_ON_ONCE(!dev->dma_parms): ${dev.name} has no dma_parms`, data: { mask } });
    return;
  }
  dev.dmaParms.minAlignMask = mask;
}

/**
 * swiotlb_align_offset(dev, align_mask, addr): the bytes of `addr` the
 * bounce buffer must preserve: addr & min_align_mask & (align_mask |
 * (IO_TLB_SIZE - 1)) from v6.9 (af133562d5af); addr & min_align_mask &
 * (IO_TLB_SIZE - 1) in v5.12..v6.8; 0 before v5.12.
 */
export function swiotlbAlignOffset(dev: Device, alignMask: number, addr: number): number {
  checkInt("swiotlbAlignOffset(addr)", addr);
  if (alignMask !== 0) checkLowMask("swiotlbAlignOffset(alignMask)", alignMask);
  const min = dmaGetMinAlignMask(dev);
  if (min === 0) return 0;
  const keep = atLeast(dev.kernel, SWIOTLB_PAD_SLOTS) ? Math.max(alignMask, IO_TLB_SIZE - 1) : IO_TLB_SIZE - 1;
  return andMask(addr, Math.min(min, keep));
}

/** iommu_is_span_boundary(index, nr, shift, boundary_size): would [index, index + nr) cross a boundary_size multiple? */
function spanBoundary(index: number, nr: number, shift: number, boundarySlots: number): boolean {
  const x = shift + index;
  // (a slot number below the boundary is its own remainder: no division for the usual ULONG_MAX boundary, 2^42 slots)
  return (x < boundarySlots ? x : x % boundarySlots) + nr > boundarySlots;
}

function isCurrentSearch(v: KernelVersion): boolean {
  return atLeast(v, SWIOTLB_MIN_ALIGN_MASK);
}

function devPrefix(dev: Device): string {
  return `${dev.driver} ${dev.name}: `;
}

// ---------------------------------------------------------------- boot parameter and sizing

function parseCUlong(s: string, pos: number): { value: number; end: number } {
  // simple_strtoul(str, &end, 0): "0x"/"0X" hex, leading "0" octal, else decimal.
  let base = 10;
  let i = pos;
  if (s[i] === "0" && (s[i + 1] === "x" || s[i + 1] === "X") && /[0-9a-fA-F]/.test(s[i + 2] ?? "")) {
    base = 16;
    i += 2;
  } else if (s[i] === "0") {
    base = 8;
  }
  const digits = base === 16 ? /[0-9a-fA-F]/ : base === 8 ? /[0-7]/ : /[0-9]/;
  let v = 0;
  while (i < s.length && digits.test(s[i]!)) {
    v = v * base + parseInt(s[i]!, base);
    i++;
  }
  return { value: v, end: i };
}

/**
 * Parse the swiotlb= boot parameter as setup_io_tlb_npages() does:
 * `<slabs>[,<areas>][,force|noforce]` from v6.0, `<slabs>[,force|noforce]`
 * before. The slab count is a C unsigned long in any base simple_strtoul
 * accepts (0x.. hex, 0.. octal), rounded up to a multiple of IO_TLB_SEGSIZE
 * ("avoid tail segment of size < IO_TLB_SEGSIZE"). The area count goes
 * through swiotlb_adjust_nareas: 0 -> 1, else rounded up to a power of two.
 * Unrecognised text is ignored, as the kernel ignores it.
 * Examples: "32768" -> 32768 slabs (64 MiB); "1000" -> 1024; "65536,4" (v6.0+)
 * -> 65536 slabs, 4 areas; "force" -> force only.
 * Source: kernel/dma/swiotlb.c setup_io_tlb_npages (v5.4.6, v6.19).
 * @throws ModelConfigError for a slab count above 2^40 (not a real machine).
 */
export function parseSwiotlbParam(str: string, kernel: string | KernelVersion): SwiotlbParam {
  const v = parseKernelVersion(kernel);
  const out: SwiotlbParam = { nslabs: null, nareas: null, force: false, noforce: false };
  let i = 0;
  if (/[0-9]/.test(str[i] ?? "")) {
    const r = parseCUlong(str, i);
    if (r.value > 2 ** 40) throw new ModelConfigError("swiotlb=<slabs>", r.value, "at most 2^40 slots");
    out.nslabs = Math.ceil(r.value / IO_TLB_SEGSIZE) * IO_TLB_SEGSIZE;
    i = r.end;
  }
  if (str[i] === ",") i++;
  if (atLeast(v, SWIOTLB_AREAS) && /[0-9]/.test(str[i] ?? "")) {
    const r = parseCUlong(str, i);
    out.nareas = adjustNareas(Math.min(r.value, 2 ** 31));
    i = r.end;
    if (str[i] === ",") i++;
  }
  const rest = str.slice(i);
  if (rest === "force") out.force = true;
  else if (rest === "noforce") {
    out.noforce = true;
    if (!atLeast(v, SWIOTLB_AREAS)) out.nslabs = 1; // v5.4: io_tlb_nslabs = 1
  }
  return out;
}

function adjustNareas(n: number): number {
  if (n === 0) return 1;
  return isPowerOf2(n) ? n : roundupPowOfTwo(n);
}

/**
 * swiotlb_adjust_size(size) (v6.19; the arch hook SEV guests use): the slot
 * count for a pool of `bytes`: ALIGN(ALIGN(bytes, IO_TLB_SIZE) / IO_TLB_SIZE,
 * IO_TLB_SEGSIZE). 1 MiB -> 512 slots; 1000 bytes -> 128 slots.
 * @throws ModelConfigError for bytes outside [1, 2^50].
 */
export function swiotlbNslabsForSize(bytes: number): number {
  checkInt("swiotlbNslabsForSize(bytes)", bytes, 1, 2 ** 50);
  return Math.ceil(Math.ceil(bytes / IO_TLB_SIZE) / IO_TLB_SEGSIZE) * IO_TLB_SEGSIZE;
}

// ---------------------------------------------------------------- init

/**
 * Build the io_tlb_mem of a machine: one pool at `start` with `nslabs`
 * slots, every slot free (list[i] = slots to the end of its segment, capped
 * at the pool end), orig_addr invalid, index 0.
 *
 * Area rules (v6.0+, swiotlb_init_remap + swiotlb_adjust_nareas +
 * round_up_default_nslabs + limit_nareas): the requested area count is
 * rounded up to a power of two (0 -> 1); the slot count is then rounded
 * up: to IO_TLB_SEGSIZE * nareas if smaller, else to the next power of two
 * (already a power of two: unchanged); then the areas are limited to nslabs / IO_TLB_SEGSIZE so every
 * area holds at least one segment. Before v6.0 there is one area.
 * (round_up_default_nslabs runs whenever default_nareas is set, i.e. always
 * in v6.19 boot, even for one area: 32768 is already a power of two.)
 *
 * Sources: kernel/dma/swiotlb.c swiotlb_init_with_tbl (v5.4.6),
 * swiotlb_init_remap / swiotlb_init_io_tlb_pool (v6.19).
 * @throws ModelConfigError for a start that is not PAGE_SIZE aligned, a
 * pool that would not end below 2^53, nslabs outside [1, 2^31], nareas
 * outside [0, 2^16], or a bad page size.
 */
export function swiotlbInit(params: SwiotlbInitParams): IoTlbMem {
  const kernel = parseKernelVersion(params.kernel, "swiotlbInit(kernel)");
  const pageSize = checkPowerOf2("swiotlbInit(pageSize)", params.pageSize ?? 4096, IO_TLB_SIZE, 2 ** 21);
  checkInt("swiotlbInit(start)", params.start);
  if (params.start % pageSize !== 0) {
    throw new ModelConfigError("swiotlbInit(start)", params.start, `a multiple of PAGE_SIZE (${pageSize})`);
  }
  let nslabs = checkInt("swiotlbInit(nslabs)", params.nslabs ?? IO_TLB_DEFAULT_SIZE / IO_TLB_SIZE, 1, 2 ** 31);
  let nareas = 1;
  if (atLeast(kernel, SWIOTLB_AREAS)) {
    nareas = adjustNareas(checkInt("swiotlbInit(nareas)", params.nareas ?? 1, 0, 2 ** 16));
    // round_up_default_nslabs
    if (nslabs < IO_TLB_SEGSIZE * nareas) nslabs = roundupPowOfTwo(IO_TLB_SEGSIZE * nareas);
    else if (!isPowerOf2(nslabs)) nslabs = roundupPowOfTwo(nslabs);
    // limit_nareas
    if (nslabs < nareas * IO_TLB_SEGSIZE) nareas = Math.max(1, Math.floor(nslabs / IO_TLB_SEGSIZE));
  } else if (params.nareas !== undefined) {
    checkInt("swiotlbInit(nareas)", params.nareas, 0, 2 ** 16);
  }
  const bytes = nslabs * IO_TLB_SIZE;
  checkInt("swiotlbInit(start + size)", params.start + bytes, 0, MAX_ADDR);
  const list = new Uint8Array(nslabs);
  const origAddr = new Float64Array(nslabs).fill(INVALID_PHYS_ADDR);
  // free-run counters: IO_TLB_SEGSIZE - (i mod IO_TLB_SEGSIZE), capped by the slots left (segment by segment)
  for (let seg = 0; seg < nslabs; seg += IO_TLB_SEGSIZE) {
    for (let j = 0; j < IO_TLB_SEGSIZE && seg + j < nslabs; j++) list[seg + j] = Math.min(IO_TLB_SEGSIZE - j, nslabs - seg - j);
  }
  const areaNslabs = Math.floor(nslabs / nareas);
  const areas: IoTlbArea[] = [];
  for (let a = 0; a < nareas; a++) areas.push({ used: 0, index: 0 });
  const pool: IoTlbPool = {
    start: params.start as PhysAddr,
    end: (params.start + bytes) as PhysAddr,
    nslabs,
    nareas,
    areaNslabs,
    areas,
    list,
    origAddr,
    allocSize: new Float64Array(nslabs),
    padSlots: new Uint8Array(nslabs),
  };
  const trace = params.trace ?? null;
  if (trace) {
    trace.record({
      fn: "swiotlb_print_info",
      kind: "swiotlb_init",
      msg: `software IO TLB: mapped [mem ${hex(params.start)}-${hex(params.start + bytes)}] (${Math.floor(bytes / 2 ** 20)}MB)`,
      data: { start: params.start, nslabs, nareas },
    });
  }
  return { kernel, defpool: pool, nslabs, forceBounce: params.force ?? false, pageSize, trace };
}

/** Slots in use in the pool (io_tlb_used / mem_used: the sum over areas). */
export function swiotlbUsed(mem: IoTlbMem): number {
  let u = 0;
  for (const a of mem.defpool.areas) u += a.used;
  return u;
}

/** True iff `paddr` lies inside the pool (swiotlb_find_pool / is_swiotlb_buffer). */
export function isSwiotlbBuffer(mem: IoTlbMem, paddr: PhysAddr): boolean {
  return paddr >= mem.defpool.start && paddr < mem.defpool.end;
}

/**
 * swiotlb_max_mapping_size(dev): the largest single bounce: IO_TLB_SIZE *
 * IO_TLB_SEGSIZE = 256 KiB, minus roundup(min_align_mask, IO_TLB_SIZE)
 * when the device has a min_align_mask (from ~v5.19, see
 * {@link SWIOTLB_MAX_MAPPING_MIN_ALIGN}). NVMe (min_align_mask 0xfff):
 * 262144 - 4096 = 258048. Source: kernel/dma/swiotlb.c (v5.4.6, v6.19).
 */
export function swiotlbMaxMappingSize(dev: Device): number {
  const min = dmaGetMinAlignMask(dev);
  const full = IO_TLB_SIZE * IO_TLB_SEGSIZE;
  if (min && atLeast(dev.kernel, SWIOTLB_MAX_MAPPING_MIN_ALIGN)) return full - Math.ceil(min / IO_TLB_SIZE) * IO_TLB_SIZE;
  return full;
}

// ---------------------------------------------------------------- map

function recordFull(dev: Device, mem: IoTlbMem, attrs: number, size: number): void {
  if (hasAttr(attrs, DMA_ATTR_NO_WARN)) return;
  const used = swiotlbUsed(mem);
  const usage = atLeast(dev.kernel, SWIOTLB_FULL_REPORTS_USAGE) ? `, total ${mem.nslabs} (slots), used ${used} (slots)` : "";
  dev.trace.record({
    fn: "swiotlb_tbl_map_single",
    kind: "swiotlb_full",
    level: "warn",
    msg: `${devPrefix(dev)}swiotlb buffer is full (sz: ${size} bytes)${usage}`,
    data: { size, total: mem.nslabs, used },
  });
}

/** Mark slots [index, index + n) used and re-count the free run that ends just before them. */
function takeSlots(pool: IoTlbPool, index: number, n: number): void {
  for (let i = index; i < index + n; i++) pool.list[i] = 0;
  let count = 0;
  for (let i = index - 1; i >= 0 && i % IO_TLB_SEGSIZE !== IO_TLB_SEGSIZE - 1 && pool.list[i] !== 0; i--) pool.list[i] = ++count;
}

/** Return slots [index, index + n) to the free list, merging with the free runs above and below (inside the segment). */
function giveSlots(pool: IoTlbPool, index: number, n: number): void {
  const segEnd = (Math.floor(index / IO_TLB_SEGSIZE) + 1) * IO_TLB_SEGSIZE; // ALIGN(index + 1, IO_TLB_SEGSIZE)
  let count = index + n < segEnd ? pool.list[index + n]! : 0;
  for (let i = index + n - 1; i >= index; i--) {
    pool.list[i] = ++count;
    pool.origAddr[i] = INVALID_PHYS_ADDR;
    pool.allocSize[i] = 0;
    pool.padSlots[i] = 0;
  }
  // the free slots below, back to the segment's start (the kernel's walk while i % IO_TLB_SEGSIZE != IO_TLB_SEGSIZE - 1)
  const list = pool.list;
  const segStart = segEnd - IO_TLB_SEGSIZE;
  for (let i = index - 1; i >= segStart && list[i] !== 0; i--) list[i] = ++count;
}

/** DMA address of the pool start as the device sees it (phys_to_dma); the physical start if it is in no dma-ranges window. */
function tblDmaAddr(dev: Device, pool: IoTlbPool): number {
  const d = physToDma(dev, pool.start);
  return d === null ? pool.start : d;
}

/** The v5.4-era search (swiotlb_tbl_map_single of v5.4.6; v4.4/v4.19 differ only in the message and the used-count check). */
function mapLegacy(dev: Device, mem: IoTlbMem, orig: number, mappingSize: number, allocSize: number, dir: DmaDataDirection, attrs: number, copy: SwiotlbCopy | undefined): PhysAddr {
  const pool = mem.defpool;
  const area = pool.areas[0]!;
  const mask = dmaGetSegBoundary(dev);
  const tbl = andMask(tblDmaAddr(dev, pool), mask);
  const offsetSlots = Math.ceil(tbl / IO_TLB_SIZE);
  const maxSlots = Math.ceil((mask === MAX_ADDR ? 2 ** 53 : mask + 1) / IO_TLB_SIZE);
  const nslots = Math.ceil(allocSize / IO_TLB_SIZE);
  const stride = allocSize >= mem.pageSize ? mem.pageSize / IO_TLB_SIZE : 1;
  const n = pool.nslabs;
  let found = -1;
  search: {
    if (atLeast(dev.kernel, SWIOTLB_FULL_REPORTS_USAGE) && nslots > n - area.used) break search;
    let index = Math.ceil(area.index / stride) * stride;
    if (index >= n) index = 0;
    const wrap = index;
    do {
      while (spanBoundary(index, nslots, offsetSlots, maxSlots)) {
        index += stride;
        if (index >= n) index = 0;
        if (index === wrap) break search;
      }
      if (pool.list[index]! >= nslots) {
        found = index;
        break search;
      }
      index += stride;
      if (index >= n) index = 0;
    } while (index !== wrap);
  }
  if (found < 0) {
    recordFull(dev, mem, attrs, allocSize);
    return SWIOTLB_MAP_ERROR;
  }
  takeSlots(pool, found, nslots);
  area.index = found + nslots < n ? found + nslots : 0;
  area.used += nslots;
  for (let i = 0; i < nslots; i++) pool.origAddr[found + i] = orig + i * IO_TLB_SIZE;
  const tlb = (pool.start + found * IO_TLB_SIZE) as PhysAddr;
  if (!dev.trace.detailed) dev.trace.recordBare("swiotlb_tbl_map_single", "swiotlb_map");
  else dev.trace.record({ fn: "swiotlb_tbl_map_single", kind: "swiotlb_map", msg: `bounce ${hex(orig)}+${mappingSize} -> ${hex(tlb)} (${nslots} slots at ${found})`, data: { orig, tlb, slot: found, nslots, size: mappingSize } });
  if (copy && !hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC) && (dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL)) copy(orig as PhysAddr, tlb, mappingSize);
  return tlb;
}

/** Record a found run: alloc_size bookkeeping, free-run counters, the area's next index and used count. */
function takeFound(pool: IoTlbPool, area: IoTlbArea, index: number, slot: number, nslots: number, allocSize: number, offset: number): number {
  for (let i = slot; i < slot + nslots; i++) pool.allocSize[i] = allocSize - (offset + (i - slot) * IO_TLB_SIZE);
  takeSlots(pool, slot, nslots);
  area.index = index + nslots >= pool.areaNslabs ? 0 : index + nslots;
  area.used += nslots;
  return slot;
}

/**
 * The slot search of one area, as the release does it; returns the first
 * slot (pool index) or -1. `allocSize` is the bytes to cover (mapping size
 * plus the preserved offset), `allocAlignMaskIn` the caller's
 * alloc_align_mask, `orig` the original's physical address (0 for
 * swiotlb_alloc). Slot addresses are tested as the device sees them
 * (phys_to_dma of the pool start, masked by the segment boundary).
 *
 * - v5.12..v6.2 (swiotlb_do_find_slots of v6.2.1; find_slots of v5.12.9
 *   without the alloc_align_mask term and the orig_addr test): M =
 *   min_align_mask without its low 11 bits; stride = M/2 KiB + 1, doubled
 *   per page step (PAGE_SIZE / 2 KiB) when alloc_size >= PAGE_SIZE, at least
 *   alloc_align_mask/2 KiB + 1; start at the area index rounded up to the
 *   stride; a slot whose address differs from orig in M is skipped by 1 (only
 *   when orig != 0), else a free run of nslots not crossing the boundary is
 *   taken, else step by the stride, until back at the start. So a >= 4 KiB
 *   map is page aligned in the pool and orig's page offset is not kept.
 * - v6.3..v6.8 ({@link SWIOTLB_SLOT_ALIGN_CHECK_FIX}, swiotlb_do_find_slots
 *   of v6.3.8, swiotlb_search_pool_area of v6.8.0): M = min_align_mask |
 *   alloc_align_mask, | PAGE_SIZE - 1 when alloc_size >= PAGE_SIZE, without
 *   its low 11 bits (0x800 for a plain 4 KiB map); stride = M/2 KiB + 1;
 *   start at the area index as it is; the slot address must equal orig in
 *   M (only tested when orig != 0); stop after area_nslabs slots counted.
 *   A streaming map of >= 4 KiB keeps bit 11 of orig (page-aligned orig ->
 *   page-aligned slot); orig == 0 (swiotlb_alloc) gets no check and can land
 *   on an odd slot (the double allocation 04867a7a3332 fixed).
 * - v6.9+ ({@link SWIOTLB_DOUBLE_ALLOC_FIX}, {@link SWIOTLB_PAGE_ALIGN_REINSTATED};
 *   swiotlb_search_pool_area of v6.9.0 and v6.19): alloc_align_mask = PAGE_SIZE
 *   - 1 when it and min_align_mask are 0 and alloc_size >= PAGE_SIZE, then
 *   |= 0x7FF; a slot with any alloc_align_mask bit set is skipped by 1; the
 *   min_align_mask bits above alloc_align_mask must equal orig's (orig != 0);
 *   stride from the larger mask; start at the area index; area_nslabs counted.
 * Source: kernel/dma/swiotlb.c (v5.12.9, v6.2.1, v6.3.8, v6.8.0, v6.9.0, v6.19).
 */
function searchPoolArea(dev: Device, mem: IoTlbMem, areaIndex: number, orig: number, allocSize: number, allocAlignMaskIn: number): number {
  if (!atLeast(dev.kernel, SWIOTLB_SLOT_ALIGN_CHECK_FIX)) return searchPoolAreaV60(dev, mem, areaIndex, orig, allocSize, allocAlignMaskIn);
  if (!atLeast(dev.kernel, SWIOTLB_DOUBLE_ALLOC_FIX)) return searchPoolAreaV63(dev, mem, areaIndex, orig, allocSize, allocAlignMaskIn);
  const req = searchRequest(dev, mem, areaIndex, orig, allocSize);
  if (!req) return -1;
  const { tbl } = req;
  const minAlign = dmaGetMinAlignMask(dev);
  let allocAlignMask = allocAlignMaskIn;
  if (atLeast(dev.kernel, SWIOTLB_PAGE_ALIGN_REINSTATED) && !allocAlignMask && !minAlign && allocSize >= mem.pageSize) {
    allocAlignMask = mem.pageSize - 1;
  }
  allocAlignMask = Math.max(allocAlignMask, IO_TLB_SIZE - 1); // |= IO_TLB_SIZE - 1 (both low masks)
  // iotlb_align_mask &= ~alloc_align_mask: the bits of min_align_mask above alloc_align_mask.
  const bandHi = minAlign;
  const bandLo = allocAlignMask;
  const bandNonZero = bandHi > bandLo;
  // stride = get_max_slots(max(alloc_align_mask, iotlb_align_mask)); the band's value is hi - lo.
  const stride = Math.floor(Math.max(allocAlignMask, bandNonZero ? bandHi - bandLo : 0) / IO_TLB_SIZE) + 1;
  const origBand = bandNonZero ? bandBits(orig, bandHi, bandLo) : 0;
  // a slot mismatches if its address has an alloc_align_mask bit set, or (orig != 0) its band differs from orig's
  return walkCounted(req, req.area.index, stride, { tbl, alignMask: allocAlignMask, checkBand: orig !== 0 && bandNonZero, hi: bandHi, lo: bandLo, band: origBand });
}

/**
 * The slot-address test of the v6.3+ walk ({@link walkCounted}), as data
 * rather than a closure (one is built per map): slot address = tbl + slot *
 * IO_TLB_SIZE; it mismatches if it has a bit of `alignMask` set (a low mask;
 * 0 = no such test), or, when `checkBand`, if its bits of `hi` above `lo`
 * (bandBits) differ from `band`.
 */
interface SlotRule {
  tbl: number;
  alignMask: number;
  checkBand: boolean;
  hi: number;
  lo: number;
  band: number;
}

/** True iff slot `slot` fails `r` (see {@link SlotRule}). */
function slotMismatch(r: SlotRule, slot: number): boolean {
  const tlbAddr = r.tbl + slot * IO_TLB_SIZE;
  return (r.alignMask !== 0 && andMask(tlbAddr, r.alignMask) !== 0) || (r.checkBand && bandBits(tlbAddr, r.hi, r.lo) !== r.band);
}

/** One slot search in one area, as every release's search sets it up. */
interface SearchRequest {
  pool: IoTlbPool;
  area: IoTlbArea;
  /** First slot of the area in the pool. */
  base: number;
  /** The pool's DMA address masked by the segment boundary (tbl_dma_addr). */
  tbl: number;
  /** Slots asked for. */
  nslots: number;
  /** The pool's start in slots, for the boundary test. */
  shift: number;
  /** Slots per segment boundary window. */
  maxSlots: number;
  allocSize: number;
  /** Bytes of orig kept below IO_TLB_SIZE (swiotlb_align_offset). */
  offset: number;
}

/**
 * The part of swiotlb_search_pool_area (and, before v6.3,
 * swiotlb_do_find_slots) common to every modelled release: the boundary
 * window, the slot count and the early exit when the area has fewer free
 * slots than asked for.
 * @returns the request, or null when the area cannot hold nslots.
 */
function searchRequest(dev: Device, mem: IoTlbMem, areaIndex: number, orig: number, allocSize: number): SearchRequest | null {
  const pool = mem.defpool;
  const area = pool.areas[areaIndex]!;
  const boundary = dmaGetSegBoundary(dev);
  const tbl = andMask(tblDmaAddr(dev, pool), boundary);
  const nslots = Math.ceil(allocSize / IO_TLB_SIZE);
  if (nslots > pool.areaNslabs - area.used) return null;
  return {
    pool, area, base: areaIndex * pool.areaNslabs, tbl, nslots,
    shift: Math.ceil(tbl / IO_TLB_SIZE), maxSlots: Math.floor(boundary / IO_TLB_SIZE) + 1,
    allocSize, offset: swiotlbAlignOffset(dev, 0, orig),
  };
}

/**
 * The slot walk of swiotlb_search_pool_area from v6.3 on (one loop shape in
 * v6.3.8, v6.8.0, v6.9.0 and v6.19): from `start`, a slot whose address
 * fails the alignment rule (`rule`, see {@link slotMismatch}) is skipped by one; a matching slot is
 * taken if the run fits (free count, no segment-boundary crossing), else
 * the walk steps by `stride`; it ends after area_nslabs slots counted.
 * @returns the slot taken, or -1.
 */
function walkCounted(w: SearchRequest, start: number, stride: number, rule: SlotRule): number {
  const { pool, area, base, nslots, shift, maxSlots, allocSize, offset } = w;
  let index = start;
  for (let checked = 0; checked < pool.areaNslabs; ) {
    const slot = base + index;
    if (slotMismatch(rule, slot)) {
      index = index + 1 >= pool.areaNslabs ? 0 : index + 1;
      checked++;
      continue;
    }
    if (!spanBoundary(slot, nslots, shift, maxSlots) && pool.list[slot]! >= nslots) return takeFound(pool, area, index, slot, nslots, allocSize, offset);
    index = index + stride >= pool.areaNslabs ? 0 : index + stride;
    checked += stride;
  }
  return -1;
}

/** v6.3..v6.8 search: one mask matched against orig (not at all for orig == 0), unaligned start. See {@link searchPoolArea}. */
function searchPoolAreaV63(dev: Device, mem: IoTlbMem, areaIndex: number, orig: number, allocSize: number, allocAlignMask: number): number {
  const req = searchRequest(dev, mem, areaIndex, orig, allocSize);
  if (!req) return -1;
  const { tbl } = req;
  // iotlb_align_mask = min_align_mask | alloc_align_mask (| ~PAGE_MASK for >= PAGE_SIZE); all low masks, so OR = max.
  let m = Math.max(dmaGetMinAlignMask(dev), allocAlignMask);
  if (allocSize >= mem.pageSize) m = Math.max(m, mem.pageSize - 1);
  // &= ~(IO_TLB_SIZE - 1): compared bits are those of m above bit 10; stride = (m >> IO_TLB_SHIFT) + 1.
  const stride = Math.floor(m / IO_TLB_SIZE) + 1;
  const origBits = bandBits(orig, m, IO_TLB_SIZE - 1);
  // a slot mismatches (orig != 0) if its bits of m above bit 10 differ from orig's; no alignment test here
  return walkCounted(req, req.area.index, stride, { tbl, alignMask: 0, checkBand: orig !== 0, hi: m, lo: IO_TLB_SIZE - 1, band: origBits });
}

/** v5.12..v6.2 search: stride doubled for >= PAGE_SIZE from a stride-aligned start, min_align_mask bits matched. See {@link searchPoolArea}. */
function searchPoolAreaV60(dev: Device, mem: IoTlbMem, areaIndex: number, orig: number, allocSize: number, allocAlignMask: number): number {
  const req = searchRequest(dev, mem, areaIndex, orig, allocSize);
  if (!req) return -1;
  const { pool, area, base, tbl, nslots, shift, maxSlots, offset } = req;
  const minAlign = dmaGetMinAlignMask(dev);
  // iotlb_align_mask = min_align_mask & ~(IO_TLB_SIZE - 1); stride = (that >> IO_TLB_SHIFT) + 1.
  let stride = Math.floor(minAlign / IO_TLB_SIZE) + 1;
  if (allocSize >= mem.pageSize) stride = stride * (mem.pageSize / IO_TLB_SIZE); // stride << (PAGE_SHIFT - IO_TLB_SHIFT)
  stride = Math.max(stride, Math.floor(allocAlignMask / IO_TLB_SIZE) + 1);
  const origBits = bandBits(orig, minAlign, IO_TLB_SIZE - 1);
  const n = pool.areaNslabs;
  let index = Math.ceil(area.index / stride) * stride;
  if (index >= n) index = 0;
  const wrap = index;
  // The kernel loops until it is back at `wrap`; the guard only stops a walk that never returns there.
  for (let steps = 0; steps <= 2 * pool.areaNslabs; steps++) {
    const slot = base + index;
    if (orig !== 0 && bandBits(tbl + slot * IO_TLB_SIZE, minAlign, IO_TLB_SIZE - 1) !== origBits) {
      index = index + 1 >= n ? 0 : index + 1;
    } else {
      if (!spanBoundary(slot, nslots, shift, maxSlots) && pool.list[slot]! >= nslots) return takeFound(pool, area, index, slot, nslots, allocSize, offset);
      index = index + stride >= n ? 0 : index + stride;
    }
    if (index === wrap) break;
  }
  return -1;
}

function mapCurrent(dev: Device, mem: IoTlbMem, orig: number, mappingSize: number, allocAlignMask: number, dir: DmaDataDirection, attrs: number, cpu: number, copy: SwiotlbCopy | undefined): PhysAddr {
  const pool = mem.defpool;
  let offset = swiotlbAlignOffset(dev, allocAlignMask, orig);
  const size = Math.ceil((mappingSize + offset) / (allocAlignMask + 1)) * (allocAlignMask + 1);
  // swiotlb_find_slots (non-dynamic): start at the CPU's area, try each area once.
  const start = cpu % pool.nareas;
  let index = -1;
  let a = start;
  do {
    index = searchPoolArea(dev, mem, a, orig, size, allocAlignMask);
    if (index >= 0) break;
    a = a + 1 >= pool.nareas ? 0 : a + 1;
  } while (a !== start);
  if (index < 0) {
    recordFull(dev, mem, attrs, size);
    return SWIOTLB_MAP_ERROR;
  }
  const pad = Math.floor(offset / IO_TLB_SIZE);
  offset = offset % IO_TLB_SIZE;
  const first = index + pad;
  pool.padSlots[first] = pad;
  const used = Math.ceil(size / IO_TLB_SIZE) - pad;
  for (let i = 0; i < used; i++) pool.origAddr[first + i] = orig + i * IO_TLB_SIZE;
  const tlb = (pool.start + first * IO_TLB_SIZE + offset) as PhysAddr;
  if (!dev.trace.detailed) dev.trace.recordBare("swiotlb_tbl_map_single", "swiotlb_map");
  else {
    dev.trace.record({
      fn: "swiotlb_tbl_map_single",
      kind: "swiotlb_map",
      msg: `bounce ${hex(orig)}+${mappingSize} -> ${hex(tlb)} (${Math.ceil(size / IO_TLB_SIZE)} slots at ${index}, area ${a})`,
      data: { orig, tlb, slot: index, nslots: Math.ceil(size / IO_TLB_SIZE), padSlots: pad, area: a, size: mappingSize },
    });
  }
  // From v5.17 the copy happens for every direction so a partial device write keeps
  // the original bytes; before, only for TO_DEVICE/BIDIRECTIONAL without SKIP_CPU_SYNC.
  const copyNow = atLeast(dev.kernel, SWIOTLB_MAP_COPIES_ALL_DIRECTIONS)
    ? true
    : !hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC) && (dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL);
  if (copy && mappingSize > 0 && copyNow) copy(orig as PhysAddr, tlb, mappingSize);
  return tlb;
}

/**
 * swiotlb_tbl_map_single(dev, orig_addr, mapping_size, alloc_align_mask,
 * dir, attrs): take bounce slots for the buffer at physical `origAddr`
 * (`mappingSize` bytes) and return the bounce buffer's physical address.
 *
 * - v5.4-era search (< v5.12): nslots = ceil(alloc_size / 2 KiB); stride
 *   one page of slots when alloc_size >= PAGE_SIZE, else 1; start at the
 *   global index rounded up to the stride; skip positions that would cross
 *   the device's segment boundary; take the first position whose free-run
 *   counter is >= nslots; wrap to 0; the next search starts after the
 *   allocation. The result is a slot start (no offset preservation).
 *   mapping_size > alloc_size -> the kernel's "Invalid sizes" warning and
 *   failure.
 * - current search (>= v5.12): offset = swiotlbAlignOffset(dev,
 *   alloc_align_mask, orig); size = ALIGN(mapping_size + offset,
 *   alloc_align_mask + 1); per area from the CPU's: next fit from the area
 *   index, skipping slots misaligned for alloc_align_mask (or the page rule)
 *   and slots whose address differs from orig in the min_align_mask bits
 *   above the slot/alignment (step 1), else stepping by the alignment
 *   stride; result = first used slot + (offset mod 2 KiB).
 *
 * A request larger than swiotlb_max_mapping_size is not rejected up front
 * (the kernel does not either): no free run is long enough, so it fails
 * as "swiotlb buffer is full".
 *
 * @returns the bounce address, or {@link SWIOTLB_MAP_ERROR} (with a
 * `swiotlb_full` warning unless DMA_ATTR_NO_WARN).
 * @throws KernelOops for a 0-slot request, the kernel's BUG_ON(!nslots):
 * v5.4.6 swiotlb_tbl_map_single with alloc_size 0; v6.19
 * swiotlb_search_pool_area with mapping_size 0 and no min_align_mask offset
 * (with an offset, one slot is taken and nothing is copied). Nothing changes.
 * @throws ModelConfigError for mappingSize outside [0, 2^32), an
 * allocSize below mappingSize or above 2^32 (the v5.4 "Invalid sizes" case
 * is returned as the kernel does, see below), an alloc_align_mask that is
 * not 2^k - 1 below 2^32, a bad direction, or a cpu outside [0, 4095].
 * (v5.4: allocSize < mappingSize is the kernel's own check: warning
 * `swiotlb_invalid_sizes` and SWIOTLB_MAP_ERROR.)
 */
export function swiotlbTblMapSingle(dev: Device, mem: IoTlbMem, origAddr: PhysAddr, mappingSize: number, opts: SwiotlbMapOptions = {}): PhysAddr {
  checkInt("swiotlbTblMapSingle(origAddr)", origAddr);
  checkInt("swiotlbTblMapSingle(mappingSize)", mappingSize, 0, 0xffffffff);
  const allocSize = checkInt("swiotlbTblMapSingle(allocSize)", opts.allocSize ?? mappingSize, 0, 0xffffffff);
  const allocAlignMask = opts.allocAlignMask ?? 0;
  checkLowMask("swiotlbTblMapSingle(allocAlignMask)", allocAlignMask);
  checkInt("swiotlbTblMapSingle(allocAlignMask)", allocAlignMask, 0, 0xffffffff);
  const dir = checkDirection("swiotlbTblMapSingle(dir)", opts.dir ?? DMA_BIDIRECTIONAL);
  const attrs = checkInt("swiotlbTblMapSingle(attrs)", opts.attrs ?? 0, 0, 2 ** 31 - 1);
  const cpu = checkInt("swiotlbTblMapSingle(cpu)", opts.cpu ?? 0, 0, 4095);
  if (!isCurrentSearch(dev.kernel)) {
    if (mappingSize > allocSize) {
      dev.trace.record({ fn: "swiotlb_tbl_map_single", kind: "swiotlb_invalid_sizes", level: "warn", msg: `${devPrefix(dev)}Invalid sizes (mapping: ${mappingSize} bytes, alloc: ${allocSize} bytes)`, data: { mappingSize, allocSize } });
      return SWIOTLB_MAP_ERROR;
    }
    // nslots = ALIGN(alloc_size, IO_TLB_SIZE) >> IO_TLB_SHIFT = 0: BUG_ON(!nslots) (v5.4.6 kernel/dma/swiotlb.c swiotlb_tbl_map_single)
    if (allocSize === 0) zeroSlotsBug(dev, origAddr, "swiotlb_tbl_map_single");
    return mapLegacy(dev, mem, origAddr, mappingSize, allocSize, dir, attrs, opts.copy);
  }
  // size = ALIGN(mapping_size + offset, alloc_align_mask + 1) = 0 (no min_align_mask offset): nr_slots(0) = 0 and
  // swiotlb_search_pool_area's BUG_ON(!nslots) fires (v6.19 kernel/dma/swiotlb.c); with an offset, one slot is taken
  if (mappingSize === 0 && swiotlbAlignOffset(dev, allocAlignMask, origAddr) === 0) zeroSlotsBug(dev, origAddr, "swiotlb_search_pool_area");
  return mapCurrent(dev, mem, origAddr, mappingSize, allocAlignMask, dir, attrs, cpu, opts.copy);
}

/** The kernel BUG of a 0-slot bounce request: an oops trace event, then KernelOops (nothing in the pool changed). */
function zeroSlotsBug(dev: Device, origAddr: number, fn: string): never {
  const msg = `kernel BUG at kernel/dma/swiotlb.c (${fn}): BUG_ON(!nslots) for a 0-byte bounce of ${hex(origAddr)}`;
  dev.trace.record({ fn, kind: "oops", level: "fault", msg, data: { origAddr } });
  throw new KernelOops(msg, origAddr, fn === "swiotlb_tbl_map_single" ? [fn, "swiotlb_map"] : [fn, "swiotlb_find_slots", "swiotlb_tbl_map_single", "swiotlb_map"]);
}

// ---------------------------------------------------------------- unmap, release, sync

/** Slot index of a live bounce address, or throws ModelConfigError naming `${fn}(tlbAddr)`. */
function liveSlot(mem: IoTlbMem, tlbAddr: number, fn: string): number {
  const pool = mem.defpool;
  if (!Number.isSafeInteger(tlbAddr) || tlbAddr < pool.start || tlbAddr >= pool.end) {
    throw new ModelConfigError(`${fn}(tlbAddr)`, tlbAddr, `an address inside the swiotlb pool [${hex(pool.start)}, ${hex(pool.end)})`);
  }
  const index = Math.floor((tlbAddr - pool.start) / IO_TLB_SIZE);
  if (pool.origAddr[index] === INVALID_PHYS_ADDR) {
    throw new ModelConfigError(`${fn}(tlbAddr)`, tlbAddr, "a live bounce buffer (this slot is free: double unmap or a stray address; the kernel would corrupt its free list)");
  }
  return index;
}

/**
 * Where the bounce copy for `tlbAddr` goes (swiotlb_bounce, v6.19): the
 * original address for that position and the bytes left in the allocation
 * from it. v5.4: orig_addr of the slot plus tlb_addr's offset in the slot.
 */
function bounceTarget(dev: Device, mem: IoTlbMem, tlbAddr: number, index: number): { orig: number; left: number } {
  const pool = mem.defpool;
  const o = pool.origAddr[index]!;
  if (!isCurrentSearch(dev.kernel)) return { orig: o + (tlbAddr % IO_TLB_SIZE), left: Infinity };
  const tlbOffset = (tlbAddr % IO_TLB_SIZE) - swiotlbAlignOffset(dev, 0, o);
  return { orig: o + tlbOffset, left: pool.allocSize[index]! - tlbOffset };
}

function doBounce(dev: Device, mem: IoTlbMem, tlbAddr: number, index: number, size: number, toDevice: boolean, copy: SwiotlbCopy | undefined): void {
  if (!copy) return;
  const t = bounceTarget(dev, mem, tlbAddr, index);
  let n = size;
  if (n > t.left) {
    dev.trace.record({ fn: "swiotlb_bounce", kind: "swiotlb_overflow", level: "warn", msg: `${devPrefix(dev)}Buffer overflow detected. Allocation size: ${t.left}. Mapping size: ${size}.`, data: { alloc: t.left, size } });
    n = t.left;
  }
  if (n <= 0) return;
  if (toDevice) copy(t.orig as PhysAddr, tlbAddr as PhysAddr, n);
  else copy(tlbAddr as PhysAddr, t.orig as PhysAddr, n);
}

/**
 * The slots a release of `tlbAddr` frees, as the release computes them
 * (first slot index, count), checked before anything changes:
 * - v5.12+ swiotlb_release_slots (v6.19 kernel/dma/swiotlb.c): the slot of
 *   tlb_addr minus its preserved offset, moved back by that slot's
 *   pad_slots; the count is nr_slots(alloc_size + offset) with the
 *   alloc_size recorded IN THAT SLOT. Map time records, in every slot of an
 *   allocation, the bytes left from that slot to the end, so an address
 *   inside a mapping (handle + 2048 of an 8 KiB one) releases the tail from
 *   its slot on (3 slots) and the head slot stays in use (a leak the kernel
 *   does not notice; dma-debug reports the unknown address).
 * - v5.4.6 swiotlb_tbl_unmap_single: the slot of tlb_addr and
 *   ALIGN(alloc_size, 2 KiB) / 2 KiB slots with the caller's alloc_size.
 * The kernel frees these slots whatever their state. If one of them is
 * already free (the head of a mapping whose tail a stray unmap released,
 * a size larger than the mapping), the kernel's counters would go wrong
 * (io_tlb_used / area->used below the slots in use, free runs counted
 * twice): the model refuses that release instead.
 * @throws ModelConfigError naming `${fn}(tlbAddr)` / `${fn}(allocSize)` if
 * tlbAddr is outside the pool, its slot is free, the span leaves the pool,
 * or a slot of the span is already free.
 */
export function swiotlbReleaseSpan(dev: Device, mem: IoTlbMem, tlbAddr: PhysAddr, allocSize: number | undefined, fn: string): { index: number; nslots: number } {
  const pool = mem.defpool;
  let index: number;
  let nslots: number;
  if (!isCurrentSearch(dev.kernel)) {
    index = liveSlot(mem, tlbAddr, fn);
    if (allocSize === undefined) throw new ModelConfigError(`${fn}(allocSize)`, allocSize, "the alloc_size given at map time (required before v5.12)");
    nslots = Math.ceil(checkIntArg(fn, "allocSize", allocSize, 1, 0xffffffff) / IO_TLB_SIZE);
    if (index + nslots > pool.nslabs) throw new ModelConfigError(`${fn}(allocSize)`, allocSize, "a size inside the pool from tlbAddr");
  } else {
    checkIntArg(fn, "tlbAddr", tlbAddr);
    const offset = swiotlbAlignOffset(dev, 0, tlbAddr);
    const a = tlbAddr - offset;
    const i0 = liveSlot(mem, a, fn);
    index = i0 - pool.padSlots[i0]!;
    nslots = Math.ceil((pool.allocSize[index]! + offset) / IO_TLB_SIZE);
    if (nslots < 1 || index + nslots > pool.nslabs) throw new ModelConfigError(`${fn}(tlbAddr)`, hex(tlbAddr), "a bounce address whose recorded allocation lies inside the pool");
  }
  for (let i = index; i < index + nslots; i++) {
    if (pool.list[i] !== 0) {
      throw new ModelConfigError(`${fn}(tlbAddr)`, hex(tlbAddr), `a live bounce buffer whose ${nslots} slots from ${index} are all in use (slot ${i} is already free: an earlier unmap inside this mapping or a larger size released it; the kernel would count it free twice and corrupt its used count)`);
    }
  }
  return { index, nslots };
}

/**
 * swiotlb_release_slots(dev, tlb_addr) (v5.12+; the slot-freeing half of
 * v5.4's swiotlb_tbl_unmap_single): find the first slot of the allocation
 * (v6.19: tlb_addr minus the preserved offset, minus its pad_slots), the
 * slot count (v6.19: from the stored alloc_size; v5.4: ceil(allocSize /
 * 2 KiB) from the caller, required), mark them free and merge the free runs: the run
 * after them (if in the same segment) is added to their counters, then the
 * counters of the free slots before them (back to the segment start) are
 * re-counted. Nothing is copied.
 * @throws ModelConfigError if `tlbAddr` is not a live bounce buffer of `mem`
 * (outside the pool, or its slot is free), or allocSize is bad.
 */
export function swiotlbReleaseSlots(dev: Device, mem: IoTlbMem, tlbAddr: PhysAddr, allocSize?: number): void {
  releaseSpan(dev, mem, tlbAddr, swiotlbReleaseSpan(dev, mem, tlbAddr, allocSize, "swiotlbReleaseSlots"));
}

/** {@link swiotlbReleaseSlots} of the span {@link swiotlbReleaseSpan} found for `tlbAddr` (checked: nothing left to throw). */
function releaseSpan(dev: Device, mem: IoTlbMem, tlbAddr: PhysAddr, span: { index: number; nslots: number }): void {
  const pool = mem.defpool;
  const { index, nslots } = span;
  const area = pool.areas[Math.floor(index / pool.areaNslabs)]!;
  giveSlots(pool, index, nslots);
  area.used -= nslots;
  if (!dev.trace.detailed) dev.trace.recordBare("swiotlb_release_slots", "swiotlb_unmap");
  else dev.trace.record({ fn: "swiotlb_release_slots", kind: "swiotlb_unmap", msg: `free ${nslots} slots at ${index} (${hex(tlbAddr)})`, data: { tlb: tlbAddr, slot: index, nslots } });
}

/**
 * swiotlb_tbl_unmap_single(dev, tlb_addr, mapping_size, [alloc_size,] dir,
 * attrs): copy back for DMA_FROM_DEVICE / DMA_BIDIRECTIONAL unless
 * DMA_ATTR_SKIP_CPU_SYNC (through `copy`, if given), then
 * {@link swiotlbReleaseSlots}. v5.4 takes alloc_size from the caller (the
 * kernel trusts it); v5.12+ reads it from the slot bookkeeping.
 * @throws ModelConfigError for an address that is not a live bounce buffer,
 * a bad size or direction (nothing changes).
 */
export function swiotlbTblUnmapSingle(dev: Device, mem: IoTlbMem, tlbAddr: PhysAddr, mappingSize: number, opts: SwiotlbUnmapOptions = {}): void {
  checkInt("swiotlbTblUnmapSingle(mappingSize)", mappingSize, 0, 0xffffffff);
  const dir = checkDirection("swiotlbTblUnmapSingle(dir)", opts.dir ?? DMA_BIDIRECTIONAL);
  const attrs = checkInt("swiotlbTblUnmapSingle(attrs)", opts.attrs ?? 0, 0, 2 ** 31 - 1);
  const allocSize = checkInt("swiotlbTblUnmapSingle(allocSize)", opts.allocSize ?? mappingSize, 0, 0xffffffff);
  const index = liveSlot(mem, tlbAddr, "swiotlbTblUnmapSingle");
  // the span is checked before the copy back (a bad address changes nothing), then released as found
  const span = swiotlbReleaseSpan(dev, mem, tlbAddr, allocSize, "swiotlbTblUnmapSingle");
  if (!hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC) && (dir === DMA_FROM_DEVICE || dir === DMA_BIDIRECTIONAL)) {
    doBounce(dev, mem, tlbAddr, index, mappingSize, false, opts.copy);
  }
  releaseSpan(dev, mem, tlbAddr, span);
}

/**
 * swiotlb_sync_single_for_cpu / _for_device (v6.19 __swiotlb_sync_single_*;
 * v5.4 swiotlb_tbl_sync_single): for the CPU, copy bounce -> original when
 * the direction is FROM_DEVICE or BIDIRECTIONAL; for the device, original
 * -> bounce when TO_DEVICE or BIDIRECTIONAL. The other direction is the
 * kernel's BUG_ON for a direction that does not fit (DMA_NONE) and a no-op
 * for the legal but copy-free one. Copies go through `copy`; without it
 * this only validates.
 * @throws ModelConfigError for an address that is not a live bounce buffer,
 * a bad size or direction.
 */
export function swiotlbSyncSingle(dev: Device, mem: IoTlbMem, tlbAddr: PhysAddr, size: number, dir: DmaDataDirection, target: "cpu" | "device", copy?: SwiotlbCopy): void {
  checkInt("swiotlbSyncSingle(size)", size, 0, 0xffffffff);
  checkDirection("swiotlbSyncSingle(dir)", dir);
  if (target !== "cpu" && target !== "device") throw new ModelConfigError("swiotlbSyncSingle(target)", target, '"cpu" or "device"');
  const index = liveSlot(mem, tlbAddr, "swiotlbSyncSingle");
  if (target === "cpu" && (dir === DMA_FROM_DEVICE || dir === DMA_BIDIRECTIONAL)) doBounce(dev, mem, tlbAddr, index, size, false, copy);
  if (target === "device" && (dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL)) doBounce(dev, mem, tlbAddr, index, size, true, copy);
}

/**
 * The original address a live bounce address shadows (orig_addr of its
 * slot, adjusted to the position as swiotlb_bounce does), or null if the
 * address is outside the pool or its slot is free.
 */
export function swiotlbOrigAddr(dev: Device, mem: IoTlbMem, tlbAddr: PhysAddr): PhysAddr | null {
  const pool = mem.defpool;
  if (!Number.isSafeInteger(tlbAddr) || tlbAddr < pool.start || tlbAddr >= pool.end) return null;
  const index = Math.floor((tlbAddr - pool.start) / IO_TLB_SIZE);
  if (pool.origAddr[index] === INVALID_PHYS_ADDR) return null;
  return bounceTarget(dev, mem, tlbAddr, index).orig as PhysAddr;
}

/** The machine's swiotlb state: the pool (undefined until booted, null when the machine has none) and the boot decision. */
export interface SwiotlbMachineState {
  swiotlb: IoTlbMem | null | undefined;
  boot: SwiotlbBootDecision | undefined;
  /** Bytes the bounce copies ({@link bounceCopier}: swiotlb_bounce through the CPU cache model) have moved on this machine, all calls. */
  copiedBytes: number;
  /** The machine's bounce copier, made by the first {@link bounceCopier} call. */
  copier?: BounceCopier;
}

/** A bounce copy callback and the bytes it copied since {@link bounceCopier} handed it out. */
export interface BounceCopier {
  readonly copy: (from: PhysAddr, to: PhysAddr, n: number) => void;
  readonly bytes: () => number;
  /** Bytes copied since handed out. */
  total: number;
}

/** What the machine-level swiotlb code needs: the DMA machine with its typed swiotlb state (lib/platform/machine.ts `swiotlbState`). */
export interface SwiotlbHost extends DmaMachine {
  readonly swiotlbState: SwiotlbMachineState;
}

/**
 * The machine of a device, with its swiotlb state.
 * @throws ModelConfigError if the device was built outside a machine.
 */
export function swiotlbHostOf(dev: Device): SwiotlbHost {
  // The device's cacheHost is the Machine that created it, which implements SwiotlbHost.
  return hostOf(dev) as unknown as SwiotlbHost;
}


// ---- the machine's pool (boot decision, io_tlb_default_mem) and swiotlb_map ----

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
  return atLeast(v, SWIOTLB_MIN_ALIGN_MASK);
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
export function swiotlbBootDecision(machine: SwiotlbHost): SwiotlbBootDecision {
  const p = machine.profile;
  const opt = machine.swiotlbOptions;
  const ramTotal = p.ram.reduce((a, b) => a + b.size, 0);
  const hooks = archHooksOf(p.arch);
  const det = hooks.swiotlbDetect(machine);
  const lowLimit = det.lowLimit;
  let pool = det.pool;
  let nslabs = IO_TLB_DEFAULT_SIZE / IO_TLB_SIZE;
  let reason = det.reason;
  if (!pool && hooks.bounceUnalignedKmalloc && atLeast(machine.kernel, KMALLOC_BOUNCE)) {
    pool = true;
    nslabs = swiotlbNslabsForSize(Math.min(IO_TLB_DEFAULT_SIZE, Math.ceil(ramTotal / 1024)));
    reason += "; CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC: a pool of 1 MiB per GiB of RAM for kmalloc bouncing";
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
export function swiotlbOf(machine: SwiotlbHost): IoTlbMem | null {
  const s = machine.swiotlbState;
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
      if (b.isFreeRange(st / ps, bytes / ps)) {
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
export function swiotlbBootOf(machine: SwiotlbHost): SwiotlbBootDecision {
  swiotlbOf(machine);
  return machine.swiotlbState.boot!;
}

/**
 * A bounce copy through the CPU cache (for the swiotlb copy callbacks)
 * (linear-map aliases of both addresses); `bytes()`: the bytes copied since
 * this call (the machine's swiotlbState.copiedBytes counts them too). The
 * machine has one copier, made on first use and handed out again with its
 * count at 0 by each call: a caller uses it before the next call on the
 * machine (every DMA call does: no call nests another's copy).
 */
export function bounceCopier(m: SwiotlbHost): BounceCopier {
  const st = m.swiotlbState;
  const have = st.copier;
  if (have !== undefined) {
    have.total = 0;
    return have;
  }
  const out = { total: 0, copy: undefined as unknown as (from: PhysAddr, to: PhysAddr, n: number) => void, bytes: undefined as unknown as () => number };
  // Assigned, not written as properties of the literal: tsx's keepNames helper renames each named closure on every call (Object.defineProperty), a tenth of a bounce's time under `npm run bench`.
  out.bytes = (): number => out.total;
  out.copy = (from: PhysAddr, to: PhysAddr, n: number): void => {
    m.cpuCache.cpuCopy(from, to, n, { fromVa: physToVirt(m, from), toVa: physToVirt(m, to) });
    out.total += n;
    m.swiotlbState.copiedBytes += n;
    if (!m.trace.detailed) m.trace.recordBare("swiotlb_bounce", "swiotlb_bounce");
    else m.trace.record({ fn: "swiotlb_bounce", kind: "swiotlb_bounce", msg: `memcpy ${n} bytes ${hex(from)} -> ${hex(to)} (its cost, ${n} x cachedByteNs, is in the calling map/sync/unmap event)`, data: { from, to, size: n } });
  };
  st.copier = out;
  return out;
}

/**
 * swiotlb_map(dev, phys, size, dir, attrs) (kernel/dma/swiotlb.c, v6.19;
 * v5.4.6 swiotlb_map in the same file), called by dma-direct's map
 * (lib/dma/direct.ts) when a buffer must bounce: take slots and copy in
 * (swiotlb_tbl_map_single with a copy through the cache), reject a bounce
 * address that is not dma_capable (slots released), then
 * arch_sync_dma_for_device on the bounce buffer for a non-coherent device
 * unless DMA_ATTR_SKIP_CPU_SYNC; record the active mapping, the map event
 * (with the copy's cost, cachedByteNs per byte), then the caller's map hook (dma-debug).
 * `label` and `why` word the trace messages; null: worded here when a
 * message is recorded, as dma-direct words them (mapCallLabel, and
 * directBounceReason: the dma_capable / kmalloc reason), so a caller whose
 * trace is not detailed builds no text.
 * @returns the bounce buffer's DMA address, or DMA_MAPPING_ERROR (pool full, or not dma_capable).
 */
export function swiotlbMap(dev: Device, m: SwiotlbHost, s: DmaStreamingState, mem: IoTlbMem, paddr: number, size: number, d: number, attrs: number, meta: CallMeta, fn: string, label: string | null, why: string | null): DmaAddr {
  checkInt("swiotlbMap(paddr)", paddr);
  checkInt("swiotlbMap(size)", size, 0, 0xffffffff);
  checkDirection("swiotlbMap(dir)", d);
  checkInt("swiotlbMap(attrs)", attrs, 0, 2 ** 31 - 1);
  const cp = bounceCopier(m);
  const tlb = swiotlbTblMapSingle(dev, mem, paddr as PhysAddr, size, { dir: d as 0 | 1 | 2, attrs, copy: cp.copy });
  if (tlb === SWIOTLB_MAP_ERROR) return swiotlbMapFail(dev, m, paddr, size, d, fn, label, why, "swiotlb buffer is full");
  const dma = physToDma(dev, tlb);
  if (dma === null || !dmaCapable(dev, dma, size)) {
    swiotlbTblUnmapSingle(dev, mem, tlb, size, { dir: d as 0 | 1 | 2, attrs: withAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC), allocSize: size });
    return swiotlbMapFail(dev, m, paddr, size, d, fn, label, why, `the bounce buffer ${hex(tlb)}+${size} is not dma_capable either (swiotlb addr overflow): slots released`);
  }
  let out: SyncOutcome = NO_SYNC;
  if (!dev.dmaCoherent && !hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC)) {
    out = archSyncDmaForDeviceOn(m, tlb, size, d);
  }
  const specId = size === 0 ? -1 : m.cpuCache.addSpeculationRange(tlb, size, m.cpuCache.colourOf(physToVirt(m, tlb)));
  const rec: ActiveMapping = { dev, dmaAddr: dma, paddr: tlb, origPaddr: paddr, bounced: true, size, dir: d, type: meta.type ?? "single", owner: "device", specId, seq: 0 };
  addMapping(s, rec);
  const copied = cp.bytes();
  if (!m.trace.detailed) m.trace.recordBare(fn, "dma_map", m.costs.mapCallNs + out.costNs + copied * m.costs.cachedByteNs);
  else {
    m.trace.record({
      fn,
      kind: "dma_map",
      msg: `${label ?? mapCallLabel(fn, dev, paddr, size, d)} = ${hex(dma)}: bounced through swiotlb (${why ?? directBounceReason(dev, paddr, size, m.profile.cpuCache.lineSize)}), ${copied} bytes copied in; ${dev.dmaCoherent ? "coherent device, no cache maintenance" : hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC) ? "DMA_ATTR_SKIP_CPU_SYNC, no cache maintenance" : describeOps(out.ops)}`,
      costNs: m.costs.mapCallNs + out.costNs + copied * m.costs.cachedByteNs,
      data: { dmaAddr: dma, paddr, tlb, size, dir: d, lines: out.lines, writebacks: out.writebacks, call: "map", bounced: true, copiedBytes: copied },
    });
  }
  if (meta.hooks?.mapped) meta.hooks.mapped(dev, { type: rec.type, dmaAddr: dma, paddr, size, dir: d, sgCallEnts: meta.sgCallEnts ?? 0 }, hasAttr(attrs, DMA_ATTR_SKIP_CPU_SYNC));
  stepAfter(m, fn);
  return dma;
}

/** A failed swiotlb_map: the dma_map_error warning (worded as {@link swiotlbMap} says), the cache's step; DMA_MAPPING_ERROR. */
function swiotlbMapFail(dev: Device, m: DmaMachine, paddr: number, size: number, d: number, fn: string, label: string | null, why: string | null, text: string): DmaAddr {
  const l = label ?? mapCallLabel(fn, dev, paddr, size, d);
  const w = why ?? directBounceReason(dev, paddr, size, m.profile.cpuCache.lineSize);
  m.trace.record({ fn, kind: "dma_map_error", level: "warn", msg: `${l}: bounce needed (${w}): ${text}; DMA_MAPPING_ERROR`, costNs: m.costs.mapCallNs, data: { paddr, size, swiotlb: true } });
  stepAfter(m, fn);
  return DMA_MAPPING_ERROR;
}

