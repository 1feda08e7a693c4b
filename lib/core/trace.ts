/**
 * The trace: every model operation records what it did as events, with the
 * modelled cost in nanoseconds, on a simulated clock. Notebooks chart traces;
 * tests assert on them.
 */
import { checkInt } from "./arith.js";
import { ModelConfigError } from "./errors.js";

/** Severity of an event: plain progress, a kernel warning, or a modelled fault. */
export type TraceLevel = "info" | "warn" | "fault";

/**
 * Every event kind the model records: a typo in `trace.record({ kind })` or
 * `trace.ofKind(...)` fails to compile. One place for all kinds, grouped by
 * what records them (a one-line comment per group), one kind a line, sorted
 * within its group; add a new kind to its group (or a new group) here.
 */
export type TraceKind =
  // Kernel messages: WARN_ON/WARN_ONCE, pr_err, dev_err, an oops, a dma-debug report (lib/dma/debug.ts).
  | "dev_err"
  | "dev_notice"
  | "dma_debug"
  | "oops"
  | "pr_err"
  | "warn"
  // CPU cache (lib/cache/model.ts): the HazardKind faults, then line fills and evictions.
  | "device_read_stale"
  | "discard_dirty"
  | "evict"
  | "lost_write"
  | "spec_fill"
  | "stale_read"
  // Model-only accesses by the CPU and the device (lib/model/actions.ts, lib/iommu/dma-iommu.ts).
  | "cpu_read"
  | "cpu_write"
  | "device_read"
  | "device_write"
  // Scatterlists and the page allocator (lib/sg, lib/mm/page-alloc.ts).
  | "gfp_zone_bad"
  | "page_alloc_failed"
  | "page_alloc_order_too_big"
  | "sg_size_wrapped"
  // IOMMU page tables (lib/iommu/io-pgtable.ts).
  | "iommu_fault"
  | "iommu_map"
  | "iommu_map_unaligned"
  | "iommu_unmap"
  | "iotlb_stale_access"
  // Streaming DMA API, any backend (dma-direct, iommu-dma, swiotlb, map_resource).
  | "dma_map"
  | "dma_map_error"
  | "dma_sync_for_cpu"
  | "dma_sync_for_device"
  | "dma_unmap"
  | "map_failed"
  | "map_resource"
  | "map_sg"
  | "map_sg_pad_wrap"
  | "map_sg_failed"
  | "would_bounce"
  // swiotlb bounce buffers (lib/dma/swiotlb.ts).
  | "swiotlb_bounce"
  | "swiotlb_full"
  | "swiotlb_init"
  | "swiotlb_invalid_sizes"
  | "swiotlb_map"
  | "swiotlb_none"
  | "swiotlb_overflow"
  | "swiotlb_unmap"
  // Coherent and non-contiguous allocations, per-device pools, get_sgtable (lib/dma, lib/iommu/dma-iommu-alloc.ts).
  | "alloc_coherent"
  | "alloc_failed"
  | "alloc_sg"
  | "alloc_noncontiguous"
  | "alloc_pages"
  | "alloc_remap"
  | "dev_coherent_pool"
  | "free_coherent"
  | "get_sgtable"
  | "get_sgtable_enxio"
  | "memremap_failed"
  | "rmem_beyond_mask"
  | "rmem_refused"
  // Drivers (lib/drivers): videobuf2-dma-contig, dma-buf, saa7146.
  | "contig_too_small"
  | "dma_addr_truncated"
  | "dmabuf_attach"
  | "dmabuf_imported"
  | "dmabuf_map"
  | "pgtable_overrun"
  | "rfc_nopage_map"
  // Scenario steps that are no kernel call of the release (lib/scenarios).
  | "hypothetical"
  | "vmap_invalidate";

/** One recorded event. */
export interface TraceEvent {
  /** Sequence number, from 0, in recording order. */
  readonly seq: number;
  /** Simulated time when the event started, ns since the trace began. */
  readonly timeNs: number;
  /** Modelled cost of the operation, ns (0 for pure bookkeeping). */
  readonly costNs: number;
  /** Kernel function or subsystem the event belongs to, e.g. "iommu_dma_map_sg". */
  readonly fn: string;
  /** Event kind, one of {@link TraceKind}, e.g. "map_sg", "iommu_map", "oops", "stale_read". */
  readonly kind: TraceKind;
  readonly level: TraceLevel;
  /** Human message in kernel terms. */
  readonly msg: string;
  /** Structured details (addresses as numbers, sizes in bytes). */
  readonly data: Readonly<Record<string, number | string | boolean | null>>;
}

/** Input to {@link Trace.record}. */
export interface TraceInput {
  fn: string;
  kind: TraceKind;
  msg: string;
  level?: TraceLevel;
  costNs?: number;
  data?: Record<string, number | string | boolean | null>;
}

/**
 * An append-only event log with a simulated clock. Recording an event with a
 * cost advances the clock by that cost.
 */
export class Trace {
  private readonly list: TraceEvent[] = [];
  private clock = 0;
  /** When false, events advance the clock (and reach onRecord / onProblem watchers) but are not stored: for benchmarks and sweeps. */
  keepEvents: boolean;

  /**
   * Called with every recorded event, stored or not, after the clock has
   * advanced (a scenario that reads a few events of a long run watches them
   * here and can leave keepEvents false). Undefined: nothing is called.
   */
  onRecord: ((ev: TraceEvent) => void) | undefined = undefined;

  /**
   * Called with every event of level "warn" or "fault", stored or not, after
   * {@link onRecord}: a watcher of warnings and faults that, unlike onRecord,
   * leaves the trace not {@link detailed} (callers build warnings and faults
   * in full whatever `detailed` says). Undefined: nothing is called.
   */
  onProblem: ((ev: TraceEvent) => void) | undefined = undefined;

  /**
   * When a number, the cost (ns) of every event recorded from then on
   * ({@link record} and {@link recordBare}) is added to it in recording
   * order, as a sum over the events would be: a caller that wants the cost
   * of a few calls sets it to 0, makes them, reads it and sets it back to
   * null, without storing or watching events. null: no tally.
   */
  costTally: number | null = null;

  constructor(opts: { keepEvents?: boolean } = {}) {
    this.keepEvents = opts.keepEvents ?? true;
  }

  /** Current simulated time, ns. */
  get nowNs(): number {
    return this.clock;
  }

  /**
   * True when someone reads the events' messages and details: the trace
   * stores its events (keepEvents) or an {@link onRecord} watcher sees
   * them. When false, a caller may record an info event with
   * {@link recordBare} instead of building a message and details nobody
   * reads (benchmarks and sweeps that keep no events); the clock is the same.
   */
  get detailed(): boolean {
    return this.keepEvents || this.onRecord !== undefined;
  }

  /**
   * Let `ns` nanoseconds of simulated time pass without an event (idle time;
   * lib/platform/machine.ts machineAdvanceTime runs the timers that fall due).
   * @throws ModelConfigError for a negative, fractional or unsafe `ns`.
   */
  advanceNs(ns: number): void {
    if (!Number.isSafeInteger(ns) || ns < 0 || !Number.isSafeInteger(this.clock + ns)) throw new ModelConfigError("advanceNs(ns)", ns, "an integer number of ns >= 0 (the clock stays below 2^53)");
    this.clock += ns;
  }

  /**
   * Record an event and advance the clock by its cost.
   * @throws ModelConfigError for a negative or non-finite cost.
   */
  record(e: TraceInput): TraceEvent {
    const cost = e.costNs ?? 0;
    if (!Number.isFinite(cost) || cost < 0) throw new ModelConfigError("costNs", cost, "a finite number >= 0");
    const ev: TraceEvent = {
      seq: this.list.length,
      timeNs: this.clock,
      costNs: cost,
      fn: e.fn,
      kind: e.kind,
      level: e.level ?? "info",
      msg: e.msg,
      data: e.data ?? {},
    };
    this.clock += cost;
    if (this.costTally !== null) this.costTally += cost;
    if (this.keepEvents) this.list.push(ev);
    if (this.onRecord !== undefined) this.onRecord(ev);
    if (this.onProblem !== undefined && ev.level !== "info") this.onProblem(ev);
    return ev;
  }

  /**
   * Record an info event of `kind` by `fn` with an empty message and no
   * details, advancing the clock by `costNs` as {@link record} does: what a
   * caller records when the trace is not {@link detailed} (nobody stores or
   * watches the event, so its text would be built for nothing). When the
   * trace is detailed, the bare event is recorded as record() would record it.
   * @throws ModelConfigError for a negative or non-finite cost.
   */
  recordBare(fn: string, kind: TraceKind, costNs = 0): void {
    if (this.keepEvents || this.onRecord !== undefined) {
      this.record({ fn, kind, msg: "", costNs });
      return;
    }
    if (!Number.isFinite(costNs) || costNs < 0) throw new ModelConfigError("costNs", costNs, "a finite number >= 0");
    this.clock += costNs;
    if (this.costTally !== null) this.costTally += costNs;
  }

  /** All stored events, oldest first. */
  events(): readonly TraceEvent[] {
    return this.list;
  }

  /** Events whose kind is one of `kinds`. */
  ofKind(...kinds: TraceKind[]): TraceEvent[] {
    return this.list.filter((e) => kinds.includes(e.kind));
  }

  /** Events at level "fault" (oops, stale read, lost write, IOMMU fault). */
  faults(): TraceEvent[] {
    return this.list.filter((e) => e.level === "fault");
  }

  /** Sum of costs of stored events since sequence number `fromSeq`, ns. */
  costSince(fromSeq = 0): number {
    checkInt("fromSeq", fromSeq);
    let s = 0;
    for (let i = fromSeq; i < this.list.length; i++) s += this.list[i]!.costNs;
    return s;
  }

  /** Number of stored events (the next event's seq). */
  get length(): number {
    return this.list.length;
  }
}
