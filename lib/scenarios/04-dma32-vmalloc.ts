/**
 * Case 04 (2018): a 32-bit PCI capture card (saa7146) whose driver builds
 * its own DMA page table from a vmalloc buffer, on an x86-64 PC with 8 GiB
 * (RAM 0-3 GiB and 4-9 GiB around the PCI hole), with and without VT-d.
 *
 * The device needs DMA *addresses* below 4 GiB, not physical pages below
 * 4 GiB. Strategies compared (one streaming capture buffer per `buffers`,
 * mapped DMA_FROM_DEVICE once, read by the CPU every frame):
 * - `vmalloc`: pages from vmalloc() (ZONE_NORMAL first: above 4 GiB on
 *   this PC): without an IOMMU every page is bounced through swiotlb (or the
 *   map fails when the pool is full); with an IOMMU any page works;
 * - `vmalloc32`: vmalloc_32() with the release's GFP_VMALLOC32 and
 *   __GFP_HIGHMEM rule (lib/mm/gfp.ts): ZONE_DMA32 on x86-64, except
 *   v4.12 (v4.13 for the 704b862f9efd fix) where GFP_DMA32 | __GFP_HIGHMEM is a bad combination that
 *   falls to ZONE_DMA (16 MiB) and large buffers fail;
 * - `zone-dma32`: pages allocated explicitly with GFP_KERNEL | GFP_DMA32;
 * - `iommu`: vmalloc() pages mapped through the IOMMU (IOVAs below 4 GiB);
 * - `noncontiguous`: dma_alloc_noncontiguous + dma_vmap_noncontiguous
 *   (v5.13+): one contiguous block from dma-direct (at most 4 MiB without
 *   CMA: the top buddy order), single pages through the IOMMU;
 * - `dma_alloc_sg`: Matthew Wilcox's 2018 proposal, never merged, as a
 *   what-if on any release: single pages below the card's mask without an
 *   IOMMU (one DMA segment each, no contiguity needed), pages from anywhere
 *   mapped through the IOMMU with one (lib/dma/noncontiguous.ts
 *   dmaAllocSgWhatIf).
 *
 * Bouncing goes through the real dma-direct path: dma_map_sg
 * (lib/dma/mapping.ts) -> dma_direct_map_sg -> dma_direct_map_phys ->
 * swiotlb_map (lib/dma/direct.ts, lib/dma/swiotlb.ts): each entry that is not dma_capable takes
 * slots from the machine's swiotlb pool (the release's slot search) and is
 * copied through the cache model; when a slot search fails the entries
 * mapped so far are unmapped and the whole map fails ("swiotlb buffer is
 * full"). The pool (swiotlb= size, default 64 MiB) is booted right after the
 * machine is built (lib/dma/swiotlb.ts swiotlbOf), placed like
 * memblock_alloc_low places it (the top of RAM below 4 GiB, here 3 GiB -
 * size) and reserved in the buddy allocator. With VT-d the card is behind
 * the IOMMU and never reaches dma-direct, so no pool is booted.
 *
 * One frame: the card writes every segment, then the driver calls
 * dma_sync_sg_for_cpu; the cost per frame is the trace's cost of those
 * sync calls (data/costs/x86-64-pc.json: mapCallNs per call, cachedByteNs
 * per byte swiotlb copies back; x86 is coherent: no cache maintenance).
 */
import { SZ_1G, SZ_4G, SZ_64M, checkInt, hex } from "../core/arith.js";
import { ModelConfigError } from "../core/errors.js";
import type { Trace, TraceEvent } from "../core/trace.js";
import { createMachine, type Machine } from "../platform/machine.js";
import { loadPlatformProfile, type PlatformProfile } from "../platform/profile.js";
import type { Device } from "../platform/device.js";
import { applyMaintenance } from "../dma/arch/index.js";
import { swiotlbOf } from "../dma/swiotlb.js";
import { findMapping } from "../dma/state.js";
import { cpuRead, deviceWrite } from "../model/actions.js";
import { dmaMapSg, dmaSyncSgForCpu, dmaUnmapSg, useDmaIommu } from "../dma/mapping.js";
import { invalidateKernelVmapRange } from "../dma/arch/parisc.js";
import { physToVirt } from "../mm/linear-map.js";
import { swiotlbUsed, type IoTlbMem } from "../dma/swiotlb.js";
import { dmaAllocNoncontiguous, dmaAllocSgWhatIf, dmaVmapNoncontiguous, DMA_ALLOC_NONCONTIGUOUS } from "../dma/noncontiguous.js";
import { DMA_FROM_DEVICE } from "../core/dma-types.js";
import { buddyOf } from "../mm/page-alloc.js";
import { gfpKernelDma32, vmalloc32, vmallocArchOf, vmallocBuddy, vmallocGfp, vmallocToSg, type VmallocBuffer } from "../mm/vmalloc32.js";
import { gfpVmalloc, gfpVmalloc32, type GfpFlags } from "../mm/gfp.js";
import { atLeast } from "../kernel/version.js";
import { SAA7146_SG_DMA_LEN, saa7146BuildTables, saa7146DriverTable, saa7146PageAddresses } from "../drivers/saa7146.js";
import type { Scatterlist } from "../sg/scatterlist.js";
import type { ZoneMapBar, ZoneMapInput } from "../viz/zones.js";
import { parseScenarioParams, zBool, zInt, zKernel, zOneOf, zSeed } from "./params.js";
import { z } from "zod";

/** The strategies of case 04. */
export type Case04Strategy = "vmalloc" | "vmalloc32" | "zone-dma32" | "iommu" | "noncontiguous" | "dma_alloc_sg";
/** Every strategy, in the order the notebook shows them. */
export const CASE04_STRATEGIES: readonly Case04Strategy[] = ["vmalloc", "vmalloc32", "zone-dma32", "iommu", "noncontiguous", "dma_alloc_sg"];

/** Parameters of case 04 (the notebook's parameters cell). */
export interface Case04Params {
  /** RAM in GiB: the first 3 GiB below the PCI hole, the rest from 4 GiB. 1..64. */
  ramGiB: number;
  /** The card's DMA mask in bits (saa7146: 32). 24..64. */
  dmaMaskBits: number;
  /** Kernel release, "vX.Y". */
  kernel: string;
  /** VT-d on (the device attached to an IOMMU DMA domain). */
  iommu: boolean;
  /** Bytes per capture buffer. 4 KiB .. 1 GiB. */
  bufferSize: number;
  /** Number of capture buffers mapped at once (videobuf queues several). 1..32. */
  buffers: number;
  /** swiotlb pool bytes (swiotlb=; default 64 MiB). 1 MiB .. 1 GiB. */
  swiotlbSize: number;
  strategy: Case04Strategy;
  /** Seed for fragmentation. */
  seed: number;
  /** Fraction of free pages pinned to scatter free memory before the buffers are allocated; 0 = none. [0, 1). */
  fragmentFraction: number;
}

/** Defaults: the 2018 setup on a v4.19 kernel. */
export const CASE04_DEFAULTS: Case04Params = {
  ramGiB: 8,
  dmaMaskBits: 32,
  kernel: "v4.19",
  iommu: false,
  bufferSize: 4 * 1024 * 1024,
  buffers: 2,
  swiotlbSize: SZ_64M,
  strategy: "vmalloc",
  seed: 1,
  fragmentFraction: 0,
};

/** One buffer's outcome. */
export interface Case04Buffer {
  ok: boolean;
  /** Why it failed (kernel-level result), "" if ok. */
  reason: string;
  /** Physical page addresses, bytes, in buffer order. */
  pagePhys: number[];
  /** DMA segments after mapping (what the driver walks). */
  dmaSegments: number;
  /** 4 KiB device page addresses (before truncation). */
  deviceAddrs: number[];
  /** Entries bounced through swiotlb and their bytes. */
  bounced: number;
  bouncedBytes: number;
  /** Page-table entries above 4 GiB (truncated by the 32-bit store). */
  truncated: number;
  tables: number;
  /**
   * Frame pages the card writes to the wrong IOVA because the driver built
   * its table from the CPU lengths (saa7146 before e56429b09d5e, v5.13) of a
   * list the IOMMU merged; 0 when the table is right.
   */
  misdirected: number;
  /** Of the table's entries, those the IOMMU does not translate (an IOMMU fault when the card uses them). */
  unmappedEntries: number;
  /** The mapped scatterlist (DMA segments in the first dmaSegments entries); absent when the buffer failed. */
  sgl?: Scatterlist[];
}

/** The outcome of a case 04 run. */
export interface Case04Result {
  params: Case04Params;
  machine: Machine;
  device: Device;
  buffers: Case04Buffer[];
  /** All buffers mapped and every table entry reachable. */
  ok: boolean;
  reason: string;
  /** swiotlb pool: slots in use after mapping, total slots, physical start (null with an IOMMU). */
  swiotlbSlotsUsed: number;
  swiotlbSlots: number;
  swiotlbStart: number | null;
  /** Bytes copied by swiotlb per frame (all buffers once). */
  bouncedBytesPerFrame: number;
  /** CPU cost per frame, ns: sync calls + bounce copies. */
  costPerFrameNs: number;
  /** Pages of all buffers above 4 GiB / total. */
  pagesAbove4G: number;
  pages: number;
  /**
   * The kernel log line of the run's first swiotlb_full warning
   * (swiotlb_tbl_map_single's "swiotlb buffer is full"), null if the pool
   * never filled: read as the run records it, whether its trace stores
   * events or not.
   */
  swiotlbFull: string | null;
}

/** Types and ranges of {@link Case04Params} (lib/scenarios/params.ts). */
export const CASE04_PARAMS = z
  .object({
    ramGiB: zInt(1, 64, "RAM in GiB"),
    dmaMaskBits: zInt(24, 64, "the card's DMA mask in bits"),
    kernel: zKernel,
    iommu: zBool("VT-d on"),
    bufferSize: zInt(4096, SZ_1G, "bytes per capture buffer"),
    buffers: zInt(1, 32, "capture buffers mapped at once"),
    swiotlbSize: zInt(2 ** 20, SZ_1G, "swiotlb pool in bytes (swiotlb=)"),
    strategy: zOneOf(CASE04_STRATEGIES as [Case04Strategy, ...Case04Strategy[]], "CASE04_STRATEGIES in lib/scenarios/04-dma32-vmalloc.ts"),
    seed: zSeed,
    fragmentFraction: z.number().min(0).lt(1).describe("fraction of free pages pinned before allocating: a number in [0, 1)"),
  })
  .strict();

function checkParams(p: Case04Params): void {
  parseScenarioParams(CASE04_PARAMS, p, "case04Run");
  if (p.strategy === "iommu" && !p.iommu) throw new ModelConfigError("strategy", p.strategy, "iommu: true for the iommu strategy (VT-d on)");
}

/**
 * The machine of case 04: data/platforms/x86-64-pc-8g(-vtd).json with the
 * RAM and the card's mask from the parameters; `keepEvents` false: its
 * trace counts events and charges their costs but stores none.
 * @throws ModelConfigError for bad parameters.
 */
export function case04Machine(p: Case04Params, keepEvents = true): Machine {
  checkParams(p);
  const base: PlatformProfile = loadPlatformProfile(p.iommu ? "x86-64-pc-8g-vtd" : "x86-64-pc-8g");
  const ram = p.ramGiB <= 3 ? [{ base: 0, size: p.ramGiB * SZ_1G }] : [{ base: 0, size: 3 * SZ_1G }, { base: SZ_4G, size: (p.ramGiB - 3) * SZ_1G }];
  const prof = { ...base, ram, devices: base.devices.map((d) => ({ ...d, dmaMaskBits: p.dmaMaskBits })) };
  // swiotlb= <size>: the pool the notebook's parameter asks for (without VT-d; with it the card never reaches dma-direct)
  return createMachine(prof, { keepEvents: keepEvents, kernel: p.kernel, seed: p.seed, ...(p.iommu ? {} : { swiotlb: { size: p.swiotlbSize } }) });
}

/**
 * dma_map_sg through the real dma-direct path (kept for callers of the
 * earlier hand-made version): dmaMapSg(dev, sgl, nents, DMA_FROM_DEVICE).
 * The bounce statistics are read from the mappings the call left: an entry
 * bounced iff its active dma-direct mapping (lib/dma/state.ts, recorded by
 * swiotlb_map with the dma_map event marked `bounced`) is a bounced one, its
 * bytes that mapping's size (the event's `size`); a failure is worded from
 * the first warning or fault the call recorded (watched through
 * ProblemWatch, so a trace that stores nothing builds no info text).
 * @returns the entries mapped (nents; 0 or -EIO when the map failed) and
 * the entries and bytes bounced; `full` when the map failed.
 */
function directMapSgWithSwiotlb(m: Machine, dev: Device, sgl: Scatterlist[], nents: number, pageSize: number, watch: ProblemWatch): { ents: number; bounced: number; bouncedBytes: number; full: boolean; failure: string | null } {
  watch.open();
  let ents: number;
  try {
    ents = dmaMapSg(dev, sgl, nents, DMA_FROM_DEVICE, 0, { pageSize });
  } finally {
    watch.close();
  }
  if (ents <= 0) return { ents: 0, bounced: 0, bouncedBytes: 0, full: true, failure: mapFailure(watch.first) };
  let bounced = 0;
  let bytes = 0;
  // the device's active dma-direct mappings by DMA address (none behind an IOMMU: read, not created)
  const s = m.dmaStreaming;
  if (s) {
    for (let i = 0; i < ents; i++) {
      const rec = findMapping(s, dev, sgl[i]!.dmaAddress);
      if (rec && rec.bounced) {
        bounced++;
        bytes += rec.size;
      }
    }
  }
  return { ents, bounced, bouncedBytes: bytes, full: false, failure: null };
}

/**
 * Why a dma_map_sg failed, from the first warning or fault it recorded
 * (`e`, null if none), never guessed from the pool's state afterwards:
 * swiotlb_tbl_map_single's "swiotlb buffer is full" with the slot counts at
 * that moment, or the map error's own text (for example a bounce buffer that
 * is itself above the device's mask: "swiotlb addr overflow").
 */
function mapFailure(e: TraceEvent | null): string {
  if (e === null) return "dma_map_sg failed";
  if (e.kind === "swiotlb_full") return `dma_map_sg failed: swiotlb buffer is full (${e.data["used"]} of ${e.data["total"]} slots in use when a ${e.data["size"]}-byte bounce was asked for)`;
  return `dma_map_sg failed: ${e.msg}`;
}

/**
 * What case04Run reads of its machine's trace, watched as the events are
 * recorded (Trace.onProblem: warnings and faults only, so a trace that stores
 * nothing builds no info text): the first warning or fault while a window is
 * open (one map call), and the run's first swiotlb_full warning.
 */
class ProblemWatch {
  private watching = false;
  /** The first warning or fault of the last window. */
  first: TraceEvent | null = null;
  /** The run's first swiotlb_full warning. */
  swiotlbFull: TraceEvent | null = null;
  constructor(private readonly trace: Trace) {
    trace.onProblem = (ev) => this.seen(ev);
  }
  private seen(ev: TraceEvent): void {
    if (this.watching && this.first === null) this.first = ev;
    if (ev.kind === "swiotlb_full" && this.swiotlbFull === null) this.swiotlbFull = ev;
  }
  /** Start a window: its first problem is kept in `first`. */
  open(): void {
    this.first = null;
    this.watching = true;
  }
  close(): void {
    this.watching = false;
  }
  /** Stop watching the trace. */
  detach(): void {
    this.trace.onProblem = undefined;
  }
}

/** Why a buffer of a vmalloc strategy failed when its allocator found no pages (the call the strategy makes, named as the driver would see it). */
function allocFailure(s: Case04Strategy): string {
  return `${s === "vmalloc32" ? "vmalloc_32" : "vmalloc"} failed: no pages left in the zonelist`;
}

/**
 * The flags a vmalloc strategy passes down on machine `m`, null for the
 * others: vmalloc()'s (gfpVmalloc), vmalloc_32()'s (gfpVmalloc32: the
 * release and the machine's zones), or GFP_KERNEL | GFP_DMA32 (zone-dma32).
 */
function vmallocCallerGfp(m: Machine, s: Case04Strategy): GfpFlags | null {
  if (s === "vmalloc") return gfpVmalloc(m.kernel);
  if (s === "vmalloc32") return gfpVmalloc32(m.kernel, vmallocArchOf(m));
  if (s === "zone-dma32") return gfpKernelDma32();
  return null;
}

/** The SAA7146 card of case 04's machines (PCI address in the platform profiles). */
const CASE04_CARD = "0000:03:00.0";

/**
 * True when case04Run makes the same model calls with strategy `a` as with
 * strategy `b` on machine `m` (its release, zones and the card's IOMMU
 * domain), so that the two runs on the same other parameters give the same
 * figures:
 * - `a` and `b` are the same strategy;
 * - both are vmalloc strategies passing equal flags (oneBuffer calls
 *   vmallocGfp with them, and nothing else in the run reads which of the
 *   three it is but the caller's name, which only labels the vmap area and
 *   the allocation-failure text). On x86-64, vmalloc_32() passes
 *   GFP_KERNEL | GFP_DMA32 in every modelled release (mm/vmalloc.c
 *   GFP_VMALLOC32 with CONFIG_ZONE_DMA32), so vmalloc32 and zone-dma32 are
 *   the same run there, as the notebook says of their lines;
 * - one is vmalloc and the other iommu, and the card maps through iommu-dma
 *   on `m` (useDmaIommu: VT-d on, a DMA domain). The iommu strategy is a
 *   vmalloc() buffer mapped behind the IOMMU; with VT-d on, the vmalloc
 *   strategy's buffer takes that path too (dma_map_sg dispatches to
 *   iommu_dma_map_sg whatever the buffer's strategy, and the frame's device
 *   writes, which only streaming dma-direct mappings get, are skipped for
 *   both). Without VT-d the iommu strategy is refused (checkParams).
 */
export function case04SameRun(m: Machine, a: Case04Strategy, b: Case04Strategy): boolean {
  if (a === b) return true;
  if ((a === "vmalloc" && b === "iommu") || (a === "iommu" && b === "vmalloc")) return m.devices.has(CASE04_CARD) && useDmaIommu(m.device(CASE04_CARD));
  const fa = vmallocCallerGfp(m, a);
  const fb = vmallocCallerGfp(m, b);
  if (fa === null || fb === null || fa.size !== fb.size) return false;
  for (const f of fa) if (!fb.has(f)) return false;
  return true;
}

function fail(reason: string, pagePhys: number[] = []): Case04Buffer {
  return { ok: false, reason, pagePhys, dmaSegments: 0, deviceAddrs: [], bounced: 0, bouncedBytes: 0, truncated: 0, tables: 0, misdirected: 0, unmappedEntries: 0 };
}

function oneBuffer(m: Machine, dev: Device, p: Case04Params, watch: ProblemWatch): Case04Buffer {
  const ps = m.pageSize;
  const pages = Math.ceil(p.bufferSize / ps);
  if (p.strategy === "noncontiguous" || p.strategy === "dma_alloc_sg") {
    if (p.strategy === "noncontiguous" && !atLeast(m.kernel, DMA_ALLOC_NONCONTIGUOUS)) return fail(`dma_alloc_noncontiguous does not exist before ${DMA_ALLOC_NONCONTIGUOUS.since}`);
    const a = p.strategy === "noncontiguous" ? dmaAllocNoncontiguous(dev, p.bufferSize, DMA_FROM_DEVICE) : dmaAllocSgWhatIf(dev, p.bufferSize, DMA_FROM_DEVICE);
    if (!a) {
      if (useDmaIommu(dev)) return fail("no pages or no IOVA space");
      return fail(p.strategy === "dma_alloc_sg" ? "dma_alloc_sg (what-if): not enough single pages below the card's mask" : `dma-direct needs one contiguous block of ${p.bufferSize} bytes reachable by the device: none (top buddy order is 4 MiB; CMA not modelled)`);
    }
    dmaVmapNoncontiguous(dev, a);
    const addrs = saa7146PageAddresses(a.sgt.sgl, a.sgt.nents);
    const tables = saa7146BuildTables(dev, addrs);
    if (!tables) return fail("no memory for the page tables");
    return { ok: true, reason: "", pagePhys: a.pfns.map((x) => x * ps), dmaSegments: a.sgt.nents, deviceAddrs: addrs, bounced: 0, bouncedBytes: 0, truncated: tables.reduce((s, t) => s + t.truncated, 0), tables: tables.length, misdirected: 0, unmappedEntries: 0, sgl: a.sgt.sgl };
  }
  let buf: VmallocBuffer | null;
  if (p.strategy === "vmalloc32") buf = vmalloc32(m, p.bufferSize);
  else if (p.strategy === "zone-dma32") buf = vmallocGfp(m, p.bufferSize, gfpKernelDma32(), "vmalloc(GFP_DMA32)");
  else buf = vmallocBuddy(m, p.bufferSize);
  if (!buf) return fail(allocFailure(p.strategy));
  const sgl = vmallocToSg(m, buf.va, pages);
  if (!sgl) return fail("vmalloc_to_sg failed");
  const pagePhys = buf.pfns.map((x) => x * ps);
  const r = directMapSgWithSwiotlb(m, dev, sgl, pages, ps, watch);
  const ents = r.ents;
  const bounced = r.bounced;
  const bouncedBytes = r.bouncedBytes;
  if (ents <= 0) return fail(r.failure ?? "dma_map_sg failed", pagePhys);
  // saa7146_vmalloc_build_pgtable -> saa7146_pgtable_build_single over the slen mapped segments, as the release does it.
  const drv = saa7146DriverTable(dev, sgl, ents, Math.ceil(p.bufferSize / 4096));
  const addrs = drv.entries;
  const tables = saa7146BuildTables(dev, addrs);
  if (!tables) return fail("no memory for the page tables", pagePhys);
  const wrong = drv.misdirected > 0;
  const reason = wrong
    ? `saa7146 built its table from the CPU lengths (before ${SAA7146_SG_DMA_LEN.commit}, ${SAA7146_SG_DMA_LEN.since}): dma_map_sg merged ${pages} pages into ${ents} DMA segments, the driver wrote ${drv.written} entries and filled the rest with the last one, so ${drv.misdirected} of ${addrs.length} frame pages go to the wrong IOVA${drv.unmapped ? ` (${drv.unmapped} to an unmapped IOVA: IOMMU fault)` : ""}`
    : "";
  return { ok: !wrong, reason, pagePhys, dmaSegments: ents, deviceAddrs: addrs, bounced, bouncedBytes, truncated: tables.reduce((s, t) => s + t.truncated, 0), tables: tables.length, misdirected: drv.misdirected, unmappedEntries: drv.unmapped, sgl };
}

/**
 * Run case 04 with the given parameters (missing ones from {@link CASE04_DEFAULTS}).
 * `opts.keepEvents` false: the machine's trace stores no events (result.machine.trace
 * is empty); every other figure of the result is the same, the run reading what it
 * needs of its trace as the events happen (for callers that read no event).
 * @throws ModelConfigError for a parameter outside its range, or `opts.keepEvents` that is not a boolean (nothing is built).
 */
export function case04Run(params: Partial<Case04Params> = {}, opts: { keepEvents?: boolean } = {}): Case04Result {
  const keep: unknown = opts === null || typeof opts !== "object" ? opts : opts.keepEvents;
  if (keep !== undefined && typeof keep !== "boolean") throw new ModelConfigError("case04Run(opts.keepEvents)", keep, "true, false or absent (true)");
  return runCase04({ ...CASE04_DEFAULTS, ...params }, keep !== false);
}

// The per-page loops of a run are functions of their own: nested in runCase04's per-buffer loops, V8 compiled
// on-stack-replacement code for each and threw it away when the loop ended, at every buffer of every run.

/** The card writes every DMA segment of a mapped buffer (one deviceWrite per segment, in order). */
function writeSegments(dev: Device, x: Case04Buffer): void {
  const sgl = x.sgl!;
  for (let i = 0; i < x.dmaSegments; i++) deviceWrite(dev, sgl[i]!.dmaAddress, sgl[i]!.dmaLength);
}

/** How many of the physical addresses are at or above 4 GiB. */
function countAbove4G(pagePhys: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < pagePhys.length; i++) if (pagePhys[i]! >= SZ_4G) n++;
  return n;
}

/** case04Run on complete parameters; `keepEvents` false: the machine's trace stores no events (the figures are the same: the run reads its trace through watchers, see directMapSgWithSwiotlb). */
function runCase04(p: Case04Params, keepEvents: boolean): Case04Result {
  const m = case04Machine(p, keepEvents);
  const dev = m.device(CASE04_CARD);
  const watch = new ProblemWatch(m.trace);
  const b = buddyOf(m);
  // Boot: the swiotlb pool is allocated (memblock) before any page allocation.
  const mem: IoTlbMem | null = p.iommu ? null : swiotlbOf(m);
  const swStart: number | null = mem ? mem.defpool.start : null;
  if (p.fragmentFraction > 0) b.fragment(p.seed, p.fragmentFraction);
  const bufs: Case04Buffer[] = [];
  for (let i = 0; i < p.buffers; i++) bufs.push(oneBuffer(m, dev, p, watch));
  const okBufs = bufs.filter((x) => x.ok);
  // One frame: the card fills every segment, the driver syncs each buffer for the CPU.
  // (Only streaming dma-direct mappings are tracked by the device actions of lib/model/actions.ts; the IOMMU and
  // dma_alloc_noncontiguous buffers get the sync calls alone, which is all their cost is made of.)
  const streamingDirect = !useDmaIommu(dev) && (p.strategy === "vmalloc" || p.strategy === "vmalloc32" || p.strategy === "zone-dma32");
  if (streamingDirect) for (const x of okBufs) writeSegments(dev, x);
  // The frame's charged cost, its events' costs summed in event order as Trace.costSince does (Trace.costTally: the
  // sweep's traces store no events), and the bytes swiotlb copied back: the sync events' copiedBytes, which add up
  // to the machine's count of bounce-copied bytes over the frame (only these syncs copy).
  const copiedBefore = m.swiotlbState.copiedBytes;
  let cost = 0;
  m.trace.costTally = 0;
  try {
    for (const x of okBufs) dmaSyncSgForCpu(dev, x.sgl!, x.dmaSegments, DMA_FROM_DEVICE);
    cost = m.trace.costTally;
  } finally {
    m.trace.costTally = null;
  }
  const bouncedBytes = m.swiotlbState.copiedBytes - copiedBefore;
  watch.detach();
  const firstBad = bufs.find((x) => !x.ok);
  const trunc = bufs.reduce((s, x) => s + x.truncated, 0);
  // every buffer's pages: how many, and how many above 4 GiB
  let pages = 0;
  let above4G = 0;
  for (const x of bufs) {
    pages += x.pagePhys.length;
    above4G += countAbove4G(x.pagePhys);
  }
  return {
    params: p,
    machine: m,
    device: dev,
    buffers: bufs,
    ok: !firstBad && trunc === 0,
    reason: firstBad ? firstBad.reason : trunc ? `${trunc} table entries above 4 GiB were truncated` : "",
    swiotlbSlotsUsed: mem ? swiotlbUsed(mem) : 0,
    swiotlbSlots: mem ? mem.nslabs : 0,
    swiotlbStart: swStart,
    bouncedBytesPerFrame: bouncedBytes,
    costPerFrameNs: cost,
    pagesAbove4G: above4G,
    pages: pages,
    swiotlbFull: watch.swiotlbFull === null ? null : watch.swiotlbFull.msg,
  };
}

/** One row of {@link case04Sweep}. */
export interface Case04SweepRow {
  [key: string]: string | number | boolean | null;
  strategy: Case04Strategy;
  bufferMiB: number;
  ok: boolean;
  reason: string;
  bouncedMiBPerFrame: number;
  costPerFrameUs: number;
  swiotlbSlotsUsed: number;
  swiotlbSlots: number;
  pagesAbove4G: number;
}

/**
 * Run every strategy of `strategies` for every buffer size (bytes) on
 * fresh machines; the iommu strategy is skipped when base.iommu is false.
 * Rows come strategies outer, sizes inner. A strategy whose run would make
 * the same model calls as a run already made for that size
 * ({@link case04SameRun} on that run's machine: vmalloc32 and zone-dma32
 * on x86-64, vmalloc and iommu behind VT-d) is not run again: its row is that run's
 * ({@link case04SweepRowAs}).
 * @throws ModelConfigError for bad parameters.
 */
export function case04Sweep(base: Partial<Case04Params>, sizes: readonly number[], strategies: readonly Case04Strategy[] = CASE04_STRATEGIES): Case04SweepRow[] {
  const rows: Case04SweepRow[] = [];
  // rows already known from a run made for another strategy, by "strategy size" (a run's machine is dropped once they are taken)
  const known = new Map<string, Case04SweepRow>();
  for (const s of strategies) {
    if (s === "iommu" && !base.iommu) continue;
    for (const size of sizes) {
      const have = known.get(`${s} ${size}`);
      if (have !== undefined) {
        rows.push(have);
        continue;
      }
      // the rows read no stored event: the sweep's machines keep none
      const r = runCase04({ ...CASE04_DEFAULTS, ...base, strategy: s, bufferSize: size }, false);
      rows.push(case04SweepRow(r));
      for (const t of strategies) {
        if (t === s) continue;
        const row = case04SweepRowAs(r, t);
        if (row !== null) known.set(`${t} ${size}`, row);
      }
    }
  }
  return rows;
}

/**
 * The {@link case04Sweep} row of a run: a case04Run (kept events or not:
 * the row reads none) on the sweep's parameters for its strategy and
 * buffer size, unfragmented, gives the row the sweep computes for them.
 */
export function case04SweepRow(r: Case04Result): Case04SweepRow {
  return {
    strategy: r.params.strategy,
    bufferMiB: r.params.bufferSize / 2 ** 20,
    ok: r.ok,
    reason: r.reason,
    bouncedMiBPerFrame: r.bouncedBytesPerFrame / 2 ** 20,
    costPerFrameUs: Math.round(r.costPerFrameNs) / 1000,
    swiotlbSlotsUsed: r.swiotlbSlotsUsed,
    swiotlbSlots: r.swiotlbSlots,
    pagesAbove4G: r.pagesAbove4G,
  };
}

/**
 * The {@link case04SweepRow} that a run with strategy `s` on r's other
 * parameters gives, read from r when the two runs make the same model
 * calls ({@link case04SameRun} on r's machine): r's figures under s's name,
 * with s's wording when the first failed buffer found no pages (the only
 * text that names the allocator).
 * @returns the row, or null when the runs differ (s must be run itself).
 */
export function case04SweepRowAs(r: Case04Result, s: Case04Strategy): Case04SweepRow | null {
  const own = r.params.strategy;
  if (!case04SameRun(r.machine, own, s)) return null;
  const row = case04SweepRow(r);
  if (s === own) return row;
  return { ...row, strategy: s, reason: row.reason === allocFailure(own) ? allocFailure(s) : row.reason };
}

/**
 * Rows for lib/viz/zones.ts zoneMapChartSpec: zones, RAM banks, the PCI
 * hole, the swiotlb pool, and the buffers' pages as runs of contiguous
 * pages coloured by whether the device's mask reaches them.
 */
export function case04ZoneMap(r: Case04Result): ZoneMapInput {
  const mm = r.machine.mm;
  const bars: ZoneMapBar[] = [];
  for (const z of mm.zones()) bars.push({ lane: "zones", start: z.start, end: z.end, kind: z.name, label: z.name });
  r.machine.profile.ram.forEach((b, i) => bars.push({ lane: "RAM", start: b.base, end: b.base + b.size, kind: "ram", label: `RAM bank ${i}` }));
  for (const x of r.machine.profile.mmio) bars.push({ lane: "RAM", start: x.base, end: x.base + x.size, kind: "mmio", label: x.name });
  if (r.swiotlbStart !== null) bars.push({ lane: "swiotlb", start: r.swiotlbStart, end: r.swiotlbStart + r.swiotlbSlots * 2048, kind: "swiotlb", label: `swiotlb pool (${r.swiotlbSlots} slots)` });
  const limit = r.device.dmaMask ?? 0;
  const ps = r.machine.pageSize;
  const sorted = [...new Set(r.buffers.flatMap((b) => b.pagePhys))].sort((a, b) => a - b);
  let s = -1;
  let prev = -1;
  const flush = () => {
    if (s < 0) return;
    const end = prev + ps;
    const above = end - 1 > limit;
    bars.push({ lane: "buffer pages", start: s, end, kind: above ? "above mask" : "below mask", label: `${(end - s) / ps} page(s) ${above ? "beyond" : "within"} the device's mask` });
  };
  for (const a of sorted) {
    if (s < 0 || a !== prev + ps || (prev <= limit) !== (a <= limit)) {
      flush();
      s = a;
    }
    prev = a;
  }
  flush();
  const bits = r.params.dmaMaskBits;
  return {
    title: `Case 04: ${r.params.strategy} on ${r.params.ramGiB} GiB, ${r.params.kernel}, IOMMU ${r.params.iommu ? "on" : "off"}`,
    bars,
    maskLine: limit + 1 > 2 ** 52 ? Math.max(...bars.map((b) => b.end)) : limit + 1,
    maskLabel: `DMA_BIT_MASK(${bits}) + 1 = ${hex(limit + 1)}`,
  };
}

/** One run of the VIPT variant ({@link case04Vipt}). */
export interface Case04ViptRow {
  [key: string]: string | number | boolean | null;
  /** "without invalidate_kernel_vmap_range" or "with invalidate_kernel_vmap_range". */
  variant: string;
  /** Lines the CPU read through the vmalloc alias that held the device's data. */
  freshLines: number;
  /** Lines it read that were stale (an older token than the device's write). */
  staleLines: number;
  /** stale_read fault events in the trace. */
  staleReadEvents: number;
  /** Cost of the CPU-side work after the DMA (unmap + the vmap invalidation), ns, from the trace. */
  costNs: number;
  /** Cache colours of the linear-map alias and of the vmalloc alias of the first page. */
  linearColour: number;
  vmallocColour: number;
}

/**
 * The VIPT variant of case 04 on the PA-RISC profile (data/platforms/parisc-c8000.json:
 * VIPT-aliasing data cache, 4 MiB per way, so 1024 page colours; devices
 * not coherent, no IOMMU): a vmalloc() buffer that the CPU has read
 * through its vmalloc alias (the previous frame) is mapped with
 * dma_map_sg(DMA_FROM_DEVICE), the device writes all of it, the driver
 * calls dma_unmap_sg() (arch_sync_dma_for_cpu purges the lines of the
 * *linear-map* alias only) and then reads through the vmalloc alias.
 * Without invalidate_kernel_vmap_range() the lines cached under the
 * vmalloc colour are still there: a stale read. With it (on parisc a
 * whole data-cache flush, arch/parisc/kernel/cache.c, v6.19) the CPU
 * reads the device's data. Documented in Documentation/core-api/
 * cachetlb.rst (invalidate_kernel_vmap_range after DMA into a vmap area).
 * @param size bytes of the buffer, 4 KiB .. 1 MiB (default 64 KiB).
 * @throws ModelConfigError for a size outside that range.
 */
export function case04Vipt(invalidate: boolean, size = 64 * 1024, kernel = "v6.19"): Case04ViptRow {
  if (typeof invalidate !== "boolean") throw new ModelConfigError("case04Vipt(invalidate)", invalidate, "true or false");
  if (typeof kernel !== "string") throw new ModelConfigError("case04Vipt(kernel)", kernel, 'a release name such as "v6.19"');
  checkInt("case04Vipt(size)", size, 4096, 2 ** 20);
  const m = createMachine("parisc-c8000", { kernel: kernel });
  const dev = m.device("0000:00:01.0");
  const ps = m.pageSize;
  const buf = vmallocBuddy(m, size);
  if (!buf) throw new ModelConfigError("case04Vipt(size)", size, "a size vmalloc can satisfy on the parisc profile");
  const pages = Math.ceil(size / ps);
  const sgl = vmallocToSg(m, buf.va, pages)!;
  cpuRead(m, buf.va, size); // last frame's read through the vmalloc alias: lines cached under its colour
  const n = dmaMapSg(dev, sgl, pages, DMA_FROM_DEVICE, 0, { pageSize: ps });
  if (n <= 0) throw new ModelConfigError("case04Vipt", n, "a successful dma_map_sg on the parisc profile");
  for (let i = 0; i < n; i++) deviceWrite(dev, sgl[i]!.dmaAddress, sgl[i]!.dmaLength);
  const from = m.trace.length;
  dmaUnmapSg(dev, sgl, n, DMA_FROM_DEVICE);
  if (invalidate) {
    const out = applyMaintenance(m, invalidateKernelVmapRange(size), buf.pfns[0]! * ps);
    m.trace.record({ fn: "invalidate_kernel_vmap_range", kind: "vmap_invalidate", msg: `invalidate_kernel_vmap_range(${m.mm.fmtVa(buf.va)}, ${size}): flush_data_cache (every colour)`, costNs: out.costNs, data: { size: size } });
  }
  const cost = m.trace.costSince(from);
  const faultsBefore = m.trace.faults().length;
  const runs = cpuRead(m, buf.va, size);
  const stale = m.trace.faults().slice(faultsBefore).filter((e) => e.kind === "stale_read");
  let fresh = 0;
  let staleLines = 0;
  const line = m.profile.cpuCache.lineSize;
  for (const r of runs) {
    const lines = (r.end - r.start) / line;
    if (m.cpuCache.tokenWho(r.token) === "dev") fresh += lines;
    else staleLines += lines;
  }
  return {
    variant: invalidate ? "with invalidate_kernel_vmap_range" : "without invalidate_kernel_vmap_range",
    freshLines: fresh,
    staleLines: staleLines,
    staleReadEvents: stale.length,
    costNs: cost,
    linearColour: m.cpuCache.colourOf(physToVirt(m, buf.pfns[0]! * ps)),
    vmallocColour: m.cpuCache.colourOf(buf.va),
  };
}
