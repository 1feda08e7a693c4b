/**
 * The DMA layer's per-machine state, typed: the machine as the DMA code sees
 * it ({@link DmaMachine}, which lib/platform/machine.ts's Machine
 * implements) and the bookkeeping of active dma-direct streaming mappings
 * ({@link DmaStreamingState}, the machine's `dmaStreaming` field). The
 * kernel keeps no such list (dma-debug's hash aside); the model needs it to
 * route device accesses, explain cache hazards and check CPU ownership.
 *
 * The DMA code reaches the machine from a device through
 * {@link dmaMachineOf} (the device's `cacheHost` link), never by importing
 * the Machine class, which sits above it in the layers (docs/ARCHITECTURE.md).
 */
import { alignDown, alignUp, hex } from "../core/arith.js";
import { dirName } from "../core/dma-types.js";
import type { Trace } from "../core/trace.js";
import type { KernelVersion } from "../kernel/version.js";
import type { Device } from "../platform/device.js";
import type { PlatformProfile } from "../platform/profile.js";
import { hostOf } from "../cache/host.js";
import type { CacheModel } from "../cache/model.js";
import type { CostValues } from "../cost/schema.js";
import type { MemoryModel } from "../mm/memory.js";
import { archDmaMinAlign } from "../mm/slab.js";
import type { DebugMapType, DmaDebug } from "./debug.js";

/** The machine as the DMA layer sees it (implemented by lib/platform/machine.ts Machine). */
export interface DmaMachine {
  readonly profile: PlatformProfile;
  readonly kernel: KernelVersion;
  readonly trace: Trace;
  readonly seed: number;
  readonly cpuCache: CacheModel;
  readonly mm: MemoryModel;
  readonly pageSize: number;
  readonly devices: Map<string, Device>;
  /** The validated swiotlb= option of the machine (MachineOptions.swiotlb). */
  readonly swiotlbOptions: { size?: number; force?: boolean; noforce?: boolean } | undefined;
  /** Cost parameters in force (lib/cost). */
  readonly costs: CostValues;
  /** The dma-debug checker, null while off (lib/dma/debug.ts enableDmaDebug). */
  dmaDebug: DmaDebug | null;
  /** Active dma-direct streaming mappings; undefined until the first DMA call ({@link streamingOf}). */
  dmaStreaming: DmaStreamingState | undefined;
}

/**
 * The machine a device belongs to, as the DMA layer sees it.
 * @throws ModelConfigError if the device was built outside a machine.
 */
export function dmaMachineOf(dev: Device): DmaMachine {
  // The device's cacheHost is the Machine that created it, which implements DmaMachine.
  return hostOf(dev) as unknown as DmaMachine;
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
  /** Model bookkeeping: the record's place in its machine's {@link MappingList} (set by addMapping; 0 until then). */
  seq: number;
}

/** The active dma-direct streaming mappings of a machine. */
export interface DmaStreamingState {
  /** The active mappings in the order they were made (an unmap removes its record in O(1)). */
  mappings: MappingList;
  /** Active mappings by device and DMA address (exact start), for O(1) lookups with many mappings. */
  byStart: Map<Device, StartIndex>;
  /** The device of the last {@link startIndexOf} lookup and its index (a one-entry cache: most machines map for one device at a time). */
  lastDev: Device | null;
  lastIndex: StartIndex | null;
  /** Mappings added while another with the same device and DMA address was active (double maps). */
  duplicates: number;
}

/** A mapping as the caller's map hook sees it (dma_debug_entry fields). */
export interface MappedEntry {
  type: DebugMapType;
  dmaAddr: number;
  /** The driver's buffer (not the bounce buffer). */
  paddr: number;
  size: number;
  dir: number;
  sgCallEnts: number;
}

/** An unmap as the caller's unmap hook sees it. */
export interface UnmapRef {
  type: DebugMapType;
  dmaAddr: number;
  size: number;
  dir: number;
  isMappingError: boolean;
  sgCallEnts?: number;
}

/** A sync as the caller's sync hook sees it. */
export interface SyncRef {
  dmaAddr: number;
  size: number;
  dir: number;
  toCpu: boolean;
}

/**
 * The points of a backend call where the caller runs its hooks: the
 * dispatcher (lib/dma/mapping.ts) passes its dma-debug hooks here
 * (debug_dma_map_phys / _map_sg after a successful map, debug_dma_unmap_*
 * before an unmap, debug_dma_sync_* before a sync), so the checker runs at
 * the kernel's place in the call while the backend knows nothing of it.
 */
export interface DmaCallHooks {
  /** After a successful map, before the cache's speculation step. */
  mapped?(dev: Device, e: MappedEntry, skipCpuSync: boolean): void;
  /** Before an unmap does anything. */
  unmapping?(dev: Device, ref: UnmapRef): void;
  /** Before a sync does anything. */
  syncing?(dev: Device, ref: SyncRef): void;
}

/** Per-call metadata: the kernel function name for the trace, the dma-debug type, and the caller's hooks. */
export interface CallMeta {
  fn?: string;
  type?: DebugMapType;
  sgCallEnts?: number;
  hooks?: DmaCallHooks | undefined;
}

/** An empty streaming state (no mappings, no index). */
export function newStreamingState(): DmaStreamingState {
  return { mappings: new MappingList(), byStart: new Map(), lastDev: null, lastIndex: null, duplicates: 0 };
}

/**
 * The active mappings of a machine in the order they were added, answering
 * as a Set<ActiveMapping> does for add / delete / has / size and iteration
 * (insertion order; a record added during an iteration is visited, one
 * deleted before its turn is not), without hashing the records: each record
 * keeps its place in `seq` (index + base), a deleted record leaves a hole
 * (null), holes at the end are dropped, and the others are squeezed out (the
 * places renumbered) once they outnumber the records; neither happens while
 * an iteration is under way. Model-only
 * bookkeeping (the kernel keeps no such list).
 */
export class MappingList implements Iterable<ActiveMapping> {
  private list: (ActiveMapping | null)[] = [];
  /** `seq` of list[0]. */
  private base = 0;
  private live = 0;
  /** Iterations under way (no renumbering meanwhile). */
  private iterating = 0;

  /** Number of records. */
  get size(): number {
    return this.live;
  }

  /** True when `rec` is in the list. */
  has(rec: ActiveMapping): boolean {
    const i = rec.seq - this.base;
    return i >= 0 && i < this.list.length && this.list[i] === rec;
  }

  /** Append `rec` (nothing if it is already in the list). */
  add(rec: ActiveMapping): this {
    if (this.has(rec)) return this;
    rec.seq = this.base + this.list.length;
    this.list.push(rec);
    this.live++;
    return this;
  }

  /** Remove `rec`. @returns false when it was not in the list. */
  delete(rec: ActiveMapping): boolean {
    if (!this.has(rec)) return false;
    const list = this.list;
    const i = rec.seq - this.base;
    list[i] = null;
    this.live--;
    if (this.iterating === 0) {
      if (this.live === 0) {
        this.base += list.length;
        list.length = 0;
      } else if (i === list.length - 1) {
        // the last record went (a map call's entries unmapped after a failure, last one last): drop the holes at the end
        let n = i;
        while (list[n - 1] === null) n--;
        list.length = n;
      } else if (list.length > 64 && list.length - this.live > this.live) this.squeeze();
    }
    return true;
  }

  /** Drop the holes, renumbering the records' places (same order). */
  private squeeze(): void {
    const list = this.list;
    let n = 0;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      if (r !== null) {
        r.seq = this.base + n;
        list[n++] = r;
      }
    }
    list.length = n;
  }

  /** The first record in insertion order for which `pred` is true, or undefined (`pred` must not change the list). */
  find(pred: (rec: ActiveMapping) => boolean): ActiveMapping | undefined {
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      if (r !== null && pred(r)) return r;
    }
    return undefined;
  }

  /** The records in insertion order. */
  *[Symbol.iterator](): Iterator<ActiveMapping> {
    this.iterating++;
    try {
      for (let i = 0; i < this.list.length; i++) {
        const r = this.list[i]!;
        if (r !== null) yield r;
      }
    } finally {
      this.iterating--;
    }
  }
}

/** Pages of one {@link StartIndex} chunk (64 pages of 4 KiB: 256 KiB of DMA addresses). */
const START_CHUNK_PAGES = 64;
/** The page granule of a {@link StartIndex}, bytes (4 KiB whatever the machine's page size: the index only groups addresses). */
const START_PAGE = 4096;

/** The {@link StartIndex} chunk of `dma`: floor(dma / 2^18) (NaN or infinite for an address that is not a finite number). */
function startChunkNo(dma: number): number {
  return Math.floor(Math.floor(dma / START_PAGE) / START_CHUNK_PAGES);
}

/** The slot of `dma` in its chunk `no` (startChunkNo): its 4 KiB page's index there, in [0, 64) for a finite address. */
function startSlot(dma: number, no: number): number {
  return Math.floor(dma / START_PAGE) - no * START_CHUNK_PAGES;
}

/** One chunk of a {@link StartIndex}: a slot per page, and how many slots hold a mapping. */
interface StartChunk {
  readonly slots: (ActiveMapping | null)[];
  used: number;
}

/**
 * A map from DMA address (exact start) to one active mapping, as a
 * Map<number, ActiveMapping> answers get / has / set / delete, built for
 * many mappings at consecutive pages: addresses are grouped in chunks of
 * {@link START_CHUNK_PAGES} 4 KiB pages (chunk number floor(dma / 2^18), a
 * small integer key), each chunk an array with one slot per page; a slot
 * holds a mapping whose start lies in that page (at any offset). A second
 * start in a page whose slot is taken, or an address that is not a finite
 * number, goes to `other`, a plain Map by address. Every key lives in
 * exactly one place, so a lookup is: the slot, if its mapping starts
 * exactly there; else `other`. Lookups of consecutive pages stay in one
 * small array (the last chunk is cached). Model-only bookkeeping (the kernel
 * keeps no such index).
 */
export class StartIndex {
  private readonly chunks = new Map<number, StartChunk>();
  private readonly other = new Map<number, ActiveMapping>();
  private lastNo = NaN;
  private lastChunk: StartChunk | null = null;

  /** The chunk numbered `no` (floor(dma / 2^18)), or null; `create`: made when absent. */
  private chunkOf(no: number, create: boolean): StartChunk | null {
    if (no === this.lastNo) return this.lastChunk;
    let c = this.chunks.get(no);
    if (c === undefined) {
      if (!create) return null;
      c = { slots: new Array<ActiveMapping | null>(START_CHUNK_PAGES).fill(null), used: 0 };
      this.chunks.set(no, c);
    }
    this.lastNo = no;
    this.lastChunk = c;
    return c;
  }

  /** The mapping recorded at exactly `dma`, or undefined. */
  get(dma: number): ActiveMapping | undefined {
    const no = startChunkNo(dma);
    const i = startSlot(dma, no);
    if (i >= 0 && i < START_CHUNK_PAGES) {
      const c = this.chunkOf(no, false);
      if (c !== null) {
        const r = c.slots[i]!;
        if (r !== null && r.dmaAddr === dma) return r;
      }
    }
    return this.other.size === 0 ? undefined : this.other.get(dma);
  }

  /** True when a mapping is recorded at exactly `dma`. */
  has(dma: number): boolean {
    return this.get(dma) !== undefined;
  }

  /** Record `rec` at `dma` (rec.dmaAddr), replacing the one recorded there if any. */
  set(dma: number, rec: ActiveMapping): void {
    const no = startChunkNo(dma);
    const i = startSlot(dma, no);
    if (i >= 0 && i < START_CHUNK_PAGES) {
      const c = this.chunkOf(no, true)!;
      const r = c.slots[i]!;
      if (r === null) {
        // the key may live in `other` (added while the slot held another start): it stays there
        if (this.other.size !== 0 && this.other.has(dma)) {
          this.other.set(dma, rec);
          return;
        }
        c.slots[i] = rec;
        c.used++;
        return;
      }
      if (r.dmaAddr === dma) {
        c.slots[i] = rec;
        return;
      }
    }
    this.other.set(dma, rec);
  }

  /** Forget the mapping recorded at `dma` (nothing if none). */
  delete(dma: number): void {
    const no = startChunkNo(dma);
    const i = startSlot(dma, no);
    if (i >= 0 && i < START_CHUNK_PAGES) {
      const c = this.chunkOf(no, false);
      if (c !== null) {
        const r = c.slots[i]!;
        if (r !== null && r.dmaAddr === dma) {
          c.slots[i] = null;
          if (--c.used === 0) {
            this.chunks.delete(no);
            this.lastNo = NaN;
            this.lastChunk = null;
          }
          return;
        }
      }
    }
    if (this.other.size !== 0) this.other.delete(dma);
  }

  /** Number of addresses recorded. */
  get size(): number {
    let n = this.other.size;
    for (const c of this.chunks.values()) n += c.used;
    return n;
  }
}

/**
 * The machine's streaming state, created on first use; creating it installs
 * the cache model's hazard explanations (which name the mapping involved).
 */
export function streamingOf(m: DmaMachine): DmaStreamingState {
  if (m.dmaStreaming) return m.dmaStreaming;
  const s = newStreamingState();
  m.dmaStreaming = s;
  installExplain(m, s);
  return s;
}

/** The active streaming mappings of a machine (copies of the records). */
export function activeMappings(machine: DmaMachine): ActiveMapping[] {
  return [...streamingOf(machine).mappings];
}

/** The start index of `dev`'s active mappings (DMA address -> the first active mapping there); `create` false: null when the device has none yet. */
function startIndexOf(s: DmaStreamingState, dev: Device, create: boolean): StartIndex | null {
  if (s.lastDev === dev) return s.lastIndex;
  let per = s.byStart.get(dev);
  if (per === undefined) {
    if (!create) return null;
    per = new StartIndex();
    s.byStart.set(dev, per);
  }
  s.lastDev = dev;
  s.lastIndex = per;
  return per;
}

/** Record a new active mapping (the start index keeps the first of several at one address: a double map counts in `duplicates`). */
export function addMapping(s: DmaStreamingState, rec: ActiveMapping): void {
  s.mappings.add(rec);
  const per = startIndexOf(s, rec.dev, true)!;
  if (!per.has(rec.dmaAddr)) per.set(rec.dmaAddr, rec);
  else s.duplicates++;
}

/** Forget an active mapping (the oldest other mapping of its device and address, if any, takes its place in the start index). */
export function removeMapping(s: DmaStreamingState, rec: ActiveMapping): void {
  s.mappings.delete(rec);
  const per = startIndexOf(s, rec.dev, false);
  if (per !== null && per.get(rec.dmaAddr) === rec) {
    if (s.duplicates > 0) {
      // the oldest other mapping of the same device and address takes its place
      const other = s.mappings.find((x) => x.dev === rec.dev && x.dmaAddr === rec.dmaAddr);
      if (other !== undefined) {
        per.set(other.dmaAddr, other);
        s.duplicates--;
        return;
      }
    }
    per.delete(rec.dmaAddr);
  }
}

/** The active mapping of `dev` starting exactly at `dma` (the first mapped of several there), or undefined. */
export function findMapping(s: DmaStreamingState, dev: Device, dma: number): ActiveMapping | undefined {
  const per = startIndexOf(s, dev, false);
  return per === null ? undefined : per.get(dma);
}

/** The active mapping of `dev` containing [dmaAddr, dmaAddr + size): exact start first (O(1)), else a scan in mapping order. */
export function mappingContaining(s: DmaStreamingState, dev: Device, dmaAddr: number, size: number): ActiveMapping | undefined {
  const per = startIndexOf(s, dev, false);
  const exact = per === null ? undefined : per.get(dmaAddr);
  if (exact && dmaAddr + size <= exact.dmaAddr + exact.size) return exact;
  return s.mappings.find((x) => x.dev === dev && dmaAddr >= x.dmaAddr && dmaAddr + size <= x.dmaAddr + x.size);
}

/** One seeded speculation step of the CPU cache after a call or action. */
export function step(m: DmaMachine, where: string): void {
  m.cpuCache.step(where);
}

/** The labels "after <fn>" of {@link stepAfter}, one per kernel function name (a bounded set), built once. */
const AFTER_LABELS = new Map<string, string>();

/** The label `after ${fn}` of the cache's step after the kernel call `fn`, built once per function name. */
export function stepLabel(fn: string): string {
  let where = AFTER_LABELS.get(fn);
  if (where === undefined) {
    where = `after ${fn}`;
    AFTER_LABELS.set(fn, where);
  }
  return where;
}

/** {@link step} after the kernel call `fn`: step(m, `after ${fn}`), the label built once per function name. */
export function stepAfter(m: DmaMachine, fn: string): void {
  m.cpuCache.step(stepLabel(fn));
}

function installExplain(m: DmaMachine, s: DmaStreamingState): void {
  const cache = m.cpuCache;
  const line = cache.lineSize;
  cache.explain = (kind, paddr) => {
    let inside: ActiveMapping | undefined;
    let shared: ActiveMapping | undefined;
    for (const x of s.mappings) {
      if (inside === undefined && paddr >= x.paddr && paddr < x.paddr + x.size) inside = x;
      if (shared === undefined && paddr >= alignDown(x.paddr, line) && paddr < alignUp(x.paddr + x.size, line)) shared = x;
    }
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
