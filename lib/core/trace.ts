/**
 * The trace: every model operation records what it did as events, with the
 * modelled cost in nanoseconds, on a simulated clock. Notebooks chart traces;
 * tests assert on them.
 */
import { checkInt } from "./arith.js";
import { ModelConfigError } from "./errors.js";

/** Severity of an event: plain progress, a kernel warning, or a modelled fault. */
export type TraceLevel = "info" | "warn" | "fault";

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
  /** Short event kind, e.g. "alloc_iova", "cache_clean", "oops", "stale_read". */
  readonly kind: string;
  readonly level: TraceLevel;
  /** Human message in kernel terms. */
  readonly msg: string;
  /** Structured details (addresses as numbers, sizes in bytes). */
  readonly data: Readonly<Record<string, number | string | boolean | null>>;
}

/** Input to {@link Trace.record}. */
export interface TraceInput {
  fn: string;
  kind: string;
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
  /** When false, events are counted (and the clock advanced) but not stored: for benchmarks. */
  keepEvents: boolean;

  constructor(opts: { keepEvents?: boolean } = {}) {
    this.keepEvents = opts.keepEvents ?? true;
  }

  /** Current simulated time, ns. */
  get nowNs(): number {
    return this.clock;
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
    if (this.keepEvents) this.list.push(ev);
    return ev;
  }

  /** All stored events, oldest first. */
  events(): readonly TraceEvent[] {
    return this.list;
  }

  /** Events whose kind is one of `kinds`. */
  ofKind(...kinds: string[]): TraceEvent[] {
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
