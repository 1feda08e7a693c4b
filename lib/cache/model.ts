/**
 * The CPU data cache and memory contents, as the DMA layer sees them.
 *
 * Memory is tracked per cache line as a *token* saying who wrote the line
 * last ("init", "cpu:n", "dev:n"), in run-length ranges
 * ({@link IntervalMap}), not bytes. The CPU cache is write-back and
 * write-allocate: it holds valid lines, clean or dirty, each with its token,
 * keyed by physical line and, on VIPT-aliasing CPUs, by the virtual colour of
 * the alias used (colours = wayBytes / PAGE_SIZE), so two aliases of one page
 * can disagree. L1 and L2 up to the point of coherency are modelled as one
 * cache; capacity is sizeBytes / lineSize lines with FIFO replacement.
 *
 * Devices: a coherent device snoops (its reads see dirty lines, its writes go
 * to memory and invalidate every cached copy); a non-coherent device reads
 * and writes memory only.
 *
 * Hazards (trace events at level "fault", also kept in {@link CacheModel.hazards}):
 * - "stale_read": the CPU reads a token older than the device's last write
 *   to that line;
 * - "lost_write": a dirty line is written back (evicted or cleaned) over
 *   memory the device wrote after the CPU's write;
 * - "device_read_stale": a non-coherent device reads memory while the CPU
 *   holds a newer dirty line.
 * Each names the call that should have prevented it (set by the DMA layer
 * through {@link CacheModel.explain}). An invalidation that drops a dirty
 * line (the CPU's write is lost, e.g. PA-RISC's purge of a partial line) is
 * recorded as an info event "discard_dirty".
 *
 * Line granularity: a write by anyone makes the whole line that writer's.
 * For a coherent device writing a line the CPU holds dirty, the hardware
 * merges the bytes; the model gives the line the device's (newer) token and
 * reports nothing, which is the right verdict for the hazards modelled.
 *
 * Speculative fills and evictions happen in {@link CacheModel.step} at
 * points drawn from a seeded {@link Prng}, with configurable probabilities,
 * so hazards are reproducible.
 */
import { checkInt, checkPowerOf2, hex } from "../core/arith.js";
import { checkIntArg } from "../core/arg-checks.js";
import { ModelConfigError } from "../core/errors.js";
import type { Prng } from "../core/prng.js";
import type { Trace } from "../core/trace.js";
import { IntervalMap } from "./intervals.js";
import type { MaintOp } from "./maint.js";

/** A token: the global write sequence number (0 = the initial contents). Larger = newer. */
export type Token = number;
/** Who produced a token. */
export type TokenWho = "init" | "cpu" | "dev";

/** Attributes of the CPU mapping used for an access (pgprot): only "cacheable" goes through the cache. */
export type MappingAttr = "cacheable" | "write-combine" | "uncached" | "device";

/** Hazard kinds recorded as trace events (level "fault"). */
export type HazardKind = "stale_read" | "lost_write" | "device_read_stale";

/** One recorded hazard. */
export interface Hazard {
  readonly kind: HazardKind;
  /** Physical address of the first affected line, bytes. */
  readonly paddr: number;
  /** Number of consecutive lines affected. */
  readonly lines: number;
  /** Line number (paddr / lineSize) of the first affected line. */
  readonly line: number;
  /** Token seen or written back, and the newer token it hid. */
  readonly seen: string;
  readonly newer: string;
  /** The API call that should have prevented it. */
  readonly shouldHaveCalled: string;
  /** Trace sequence number of the event. */
  readonly seq: number;
}

/** A run of lines with one token, in bytes: [start, end). */
export interface TokenRun {
  readonly start: number;
  readonly end: number;
  readonly token: Token;
  readonly label: string;
}

/** Configuration of a {@link CacheModel}. */
export interface CacheConfig {
  /** Line size, bytes: a power of two in [16, 256]. */
  lineSize: number;
  /** "pipt" or "vipt-aliasing". */
  indexing?: "pipt" | "vipt-aliasing";
  /** For VIPT-aliasing caches: bytes per way (colours = wayBytes / pageSize). */
  wayBytes?: number;
  /** Total data cache size, bytes; default 32 KiB (a typical L1 D). */
  sizeBytes?: number;
  /** PAGE_SIZE, bytes; default 4096. */
  pageSize?: number;
  /** Probability per {@link CacheModel.step} of a speculative fill, [0, 1]; default 0. */
  specFillProb?: number;
  /** Probability per step of evicting a random valid line, [0, 1]; default 0. */
  evictProb?: number;
}

/**
 * One cached copy of a line. The copies of one line (one per colour) form a
 * chain through `sib` in the order they were filled; every copy is also in
 * the cache's FIFO (a doubly linked list through `prev` / `next`, oldest
 * first), so filling, evicting and dropping a copy allocate nothing; the
 * objects of dropped copies are reused by later fills (no code keeps a
 * dropped copy across a fill).
 */
interface CacheLine {
  line: number;
  colour: number;
  token: Token;
  dirty: boolean;
  /**
   * When the line's contents were last written by the CPU, on the token
   * scale, if that differs from `token` (else -1): a {@link CacheModel.cpuCopy}
   * puts an older token into a line at a later time (newest issued token +
   * 0.5). Hazard checks compare this time ({@link writeTime}), not the token's age.
   */
  seq: number;
  /** False once the copy has left the cache. */
  alive: boolean;
  prev: CacheLine | null;
  next: CacheLine | null;
  sib: CacheLine | null;
  /** For the first copy of a line on a VIPT-aliasing cache: neighbours in the order lines entered the cache (see {@link CacheModel.entryFirst}; unused on PIPT caches). */
  eprev: CacheLine | null;
  enext: CacheLine | null;
}

function newLine(line: number, colour: number, token: Token, dirty: boolean, seq: number): CacheLine {
  return { line, colour, token, dirty, seq, alive: false, prev: null, next: null, sib: null, eprev: null, enext: null };
}

/** Lines per block of the line table: the first copies of lines [k * LINE_BLOCK, (k + 1) * LINE_BLOCK). */
const LINE_BLOCK = 64;

/** One block of the line table: slot i holds the first copy of line k * LINE_BLOCK + i; `n` slots are set. */
interface LineBlock {
  n: number;
  readonly slots: Array<CacheLine | null>;
}

/** When a copy's contents were written, on the token scale: its seq if set, else its token. */
function writeTime(c: CacheLine): number {
  return c.seq < 0 ? c.token : c.seq;
}

/** State of one line for charts and tests. */
export interface LineState {
  readonly line: number;
  readonly paddr: number;
  /** Token held by the CPU cache (for the asked colour), or null if not cached. */
  readonly cpu: string | null;
  readonly dirty: boolean;
  /** Token in memory. */
  readonly memory: string;
  /** What a device read would see: memory for a non-coherent device, a dirty line for a coherent one. */
  readonly deviceView: string;
}

/** Counters kept by the model (for costs and benchmarks). */
export interface CacheStats {
  fills: number;
  evictions: number;
  writebacks: number;
  specFills: number;
  linesMaintained: number;
}

const DEFAULT_HINT: Record<HazardKind, string> = {
  stale_read: "dma_sync_single_for_cpu() or dma_unmap_single() before the CPU reads the buffer",
  lost_write: "a buffer that owns its cache lines (ARCH_DMA_MINALIGN alignment) and no CPU write to them while the device owns the buffer",
  device_read_stale: "dma_map_single() or dma_sync_single_for_device() after the CPU's last write",
};

/**
 * The speculation ranges of a {@link CacheModel}, in the order they were
 * added, as parallel Float64Arrays (no object per range: a mapped 40 MiB
 * buffer registers 10,240 page ranges): id, first line, end line
 * (exclusive), colour. Ids only grow, so the arrays are sorted by id and a
 * removal finds its range by binary search (the last range first); a removed
 * range is marked dead (end -1) and the dead are dropped, the live keeping
 * their order, once they outnumber the live, when the last range is removed,
 * or before a pick by position ({@link compact}). Add and remove cost O(1)
 * amortized plus the search, a pick O(1) when no range was removed since the
 * last one (O(ranges) otherwise, as the Map copy it replaces cost on every
 * pick). A separate object: as more fields of the model itself, it pushed the
 * model into V8's dictionary mode in Chromium (see {@link CacheModel}).
 */
class SpecRanges {
  // Slots [0, n) of Float64Arrays (doubling when full): their storage is
  // outside the JS heap, so 300,000 page ranges are no garbage-collector work.
  ids = new Float64Array(64);
  starts = new Float64Array(64);
  ends = new Float64Array(64);
  colours = new Float64Array(64);
  /** Ranges stored, live or dead (slots [0, n) are used). */
  n = 0;
  /** Ranges registered and not removed. */
  live = 0;
  private lastId = 0;
  /** The slot after the last one removed: tried first (checked against the id: the ids are unique and sorted). */
  private nextHint = 0;

  /** Register lines [l0, l1) of `colour`. @returns the new id (1, 2, ...). */
  add(l0: number, l1: number, colour: number): number {
    const id = ++this.lastId;
    const i = this.n;
    if (i === this.ids.length) this.grow();
    this.ids[i] = id;
    this.starts[i] = l0;
    this.ends[i] = l1;
    this.colours[i] = colour;
    this.n = i + 1;
    this.live++;
    return id;
  }

  /** Double the capacity of the four arrays, keeping slots [0, n). */
  private grow(): void {
    const cap = this.ids.length * 2;
    const ids = new Float64Array(cap);
    ids.set(this.ids);
    this.ids = ids;
    const st = new Float64Array(cap);
    st.set(this.starts);
    this.starts = st;
    const en = new Float64Array(cap);
    en.set(this.ends);
    this.ends = en;
    const co = new Float64Array(cap);
    co.set(this.colours);
    this.colours = co;
  }

  /** Remove range `id`; an unknown or already removed id is ignored. */
  remove(id: number): void {
    const ids = this.ids;
    const ends = this.ends;
    const n = this.n;
    let i: number;
    const h = this.nextHint;
    if (n > 0 && ids[n - 1] === id) i = n - 1;
    // the slot after the last removal's (a buffer unmapped page by page, oldest first)
    else if (h < n && ids[h] === id) i = h;
    else {
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (ids[mid]! < id) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    if (i >= n || ids[i] !== id || ends[i]! < 0) return;
    ends[i] = -1;
    this.live--;
    this.nextHint = i + 1;
    if (i === n - 1) {
      // the last range: drop it and the dead just before it
      let k = n - 1;
      while (k >= 0 && ends[k]! < 0) k--;
      this.n = k + 1;
    } else if (this.live * 2 < n) this.compact();
  }

  /** Drop the dead ranges, in place (the live keep their order): afterwards index i is the i-th live range. */
  compact(): void {
    const n = this.n;
    if (n === this.live) return;
    const ids = this.ids;
    const st = this.starts;
    const en = this.ends;
    const co = this.colours;
    let k = 0;
    for (let i = 0; i < n; i++) {
      if (en[i]! < 0) continue;
      if (k !== i) {
        ids[k] = ids[i]!;
        st[k] = st[i]!;
        en[k] = en[i]!;
        co[k] = co[i]!;
      }
      k++;
    }
    this.n = k;
  }
}

/** Writer codes of {@link TokenLog}: index = code. */
const WHO_NAMES: readonly TokenWho[] = ["init", "cpu", "dev"];
const WHO_CPU = 1;
const WHO_DEV = 2;

/**
 * The tokens a {@link CacheModel} issued: for token t (0 = "init"), who
 * wrote it and its ordinal among that writer's tokens ("dev:7" is the 7th
 * device write), in typed arrays that double when full. The label text is
 * built when asked ({@link label}), not per token: a mapped 40 MiB buffer
 * that the device fills page by page issues 10,240 tokens whose labels are
 * never read by a sweep, and a string kept per token was garbage-collector
 * work for nothing. A separate object, as {@link SpecRanges}, to keep the
 * model's own field count low.
 */
class TokenLog {
  /** Writer code per token: 0 init, 1 cpu, 2 dev. */
  who = new Uint8Array(1024);
  /** Ordinal per token among its writer's (1, 2, ...; 0 for init). */
  ord = new Uint32Array(1024);
  /** Tokens issued, init included. */
  n = 1;
  cpuN = 0;
  devN = 0;

  /** Issue the next token for `code` (WHO_CPU or WHO_DEV). @returns the token. */
  issue(code: number): Token {
    const t = this.n;
    if (t === this.who.length) {
      const who = new Uint8Array(t * 2);
      who.set(this.who);
      this.who = who;
      const ord = new Uint32Array(t * 2);
      ord.set(this.ord);
      this.ord = ord;
    }
    this.who[t] = code;
    this.ord[t] = code === WHO_CPU ? ++this.cpuN : ++this.devN;
    this.n = t + 1;
    return t;
  }

  /** True when `t` is an issued token (an integer in [0, n)). */
  has(t: Token): boolean {
    return Number.isInteger(t) && t >= 0 && t < this.n;
  }

  /** True when issued token `t` is a device write's (t must be issued: {@link has}). */
  isDev(t: Token): boolean {
    return this.who[t] === WHO_DEV;
  }

  /** "init", "cpu:3", "dev:2" for issued token `t` (see {@link has}). */
  label(t: Token): string {
    const code = this.who[t]!;
    return code === 0 ? "init" : `${WHO_NAMES[code]}:${this.ord[t]}`;
  }
}

/**
 * The newest copies of a PIPT {@link CacheModel} that bulk {@link CacheModel.cpuCopy}
 * calls filled and that no line object holds yet: runs of consecutive lines
 * [start, end), each line dirty, colour 0, with the run's token and write
 * time (seq), oldest first, in parallel Float64Arrays (slots [head, tail)).
 * A bounce through swiotlb copies page after page into lines that the next
 * copies evict in the same order; kept as runs, a 4 KiB copy is one run
 * added and one taken off the front, not 64 line objects linked and
 * unlinked. The model keeps these rules (its own invariants): every line
 * object in the FIFO is older than every run (so the FIFO is the objects,
 * oldest first, then the runs); no run line has a line object; the runs'
 * lines are counted in the model's cachedCount, lineCount and fills. Any
 * other use of the lines first turns the runs into objects
 * ({@link CacheModel.settle}). A separate object, as {@link SpecRanges}.
 */
class LazyFills {
  starts = new Float64Array(16);
  ends = new Float64Array(16);
  tokens = new Float64Array(16);
  seqs = new Float64Array(16);
  /** Runs are slots [head, tail). */
  head = 0;
  tail = 0;

  /** Runs held. */
  get count(): number {
    return this.tail - this.head;
  }

  /** Append lines [l0, l1) with token `t` and write time `seq` (merged into the last run when it ends at l0 with the same token and time). */
  push(l0: number, l1: number, t: Token, seq: number): void {
    const k = this.tail - 1;
    if (k >= this.head && this.ends[k] === l0 && this.tokens[k] === t && this.seqs[k] === seq) {
      this.ends[k] = l1;
      return;
    }
    if (this.tail === this.starts.length) this.makeRoom();
    const i = this.tail++;
    this.starts[i] = l0;
    this.ends[i] = l1;
    this.tokens[i] = t;
    this.seqs[i] = seq;
  }

  /** Slide the runs to slot 0, or double the arrays when more than half are in use. */
  private makeRoom(): void {
    const n = this.tail - this.head;
    const cap = n * 2 > this.starts.length ? this.starts.length * 2 : this.starts.length;
    for (const f of ["starts", "ends", "tokens", "seqs"] as const) {
      const a = cap === this[f].length ? this[f] : new Float64Array(cap);
      a.set(this[f].subarray(this.head, this.tail));
      this[f] = a;
    }
    this.head = 0;
    this.tail = n;
  }

  /** True when some run has a line in [l0, l1). */
  overlaps(l0: number, l1: number): boolean {
    for (let i = this.head; i < this.tail; i++) if (this.starts[i]! < l1 && l0 < this.ends[i]!) return true;
    return false;
  }

  /** Drop every run. */
  clear(): void {
    this.head = this.tail = 0;
  }
}

/**
 * The CPU data cache plus memory contents of one machine. See the module comment.
 *
 * Its fields are declared (`declare`) and set in the constructor: a class
 * field with an initializer becomes, in the live pages' bundle (esbuild,
 * target es2020), a keyed store per field that V8 does not count when it
 * sizes the object: with 39 such fields the model is in dictionary mode
 * in Chromium 156 (%HasFastProperties false on an esbuild bundle, as with
 * 36; 35 fields were just under the limit), every field access a hash lookup, and
 * notebook 04's page ran 2x slower. Plain assignments in the constructor are
 * counted, so the object stays fast whatever fields are added.
 */
export class CacheModel {
  declare readonly lineSize: number;
  declare readonly pageSize: number;
  declare readonly colours: number;
  declare readonly capacityLines: number;
  declare specFillProb: number;
  declare evictProb: number;
  declare readonly trace: Trace;
  declare readonly prng: Prng;
  /** Hazards seen so far, oldest first. */
  declare readonly hazards: Hazard[];
  declare readonly stats: CacheStats;
  /**
   * Resolver for the "call that should have prevented it" of a hazard at a
   * line; the DMA layer installs one that knows the active mappings.
   */
  declare explain: (kind: HazardKind, paddr: number) => string | undefined;

  /**
   * The line table: first copy of each cached line (the others follow
   * through `sib`), in blocks of LINE_BLOCK lines keyed by line / LINE_BLOCK,
   * with the last block used remembered (a buffer's lines are looked up in
   * order). Lines that have a copy are also listed in the order they entered
   * the cache (on VIPT-aliasing caches firstLine / lastLine through `enext` /
   * `eprev`; on PIPT caches the FIFO is that order: {@link entryFirst}):
   * random evictions and whole-cache operations go in that order.
   */
  private declare readonly blocks: Map<number, LineBlock>;
  private declare lastKey: number;
  private declare lastBlock: LineBlock | null;
  /** The block looked up before the last one (a copy alternates between its source's or destination's block and the evicted lines' block). */
  private declare prevKey: number;
  private declare prevBlock: LineBlock | null;
  /** Emptied blocks (every slot null), reused for new ones (a copy through a large buffer empties and fills a block every 64 lines). */
  private declare readonly spareBlocks: LineBlock[];
  private declare firstLine: CacheLine | null;
  private declare lastLine: CacheLine | null;
  /** Lines with at least one copy. */
  private declare lineCount: number;
  private declare cachedCount: number;
  /** FIFO replacement order: oldest and newest copy. */
  private declare fifoHead: CacheLine | null;
  private declare fifoTail: CacheLine | null;
  /** Objects of dropped copies, reused by {@link fill}. */
  private declare readonly spare: CacheLine[];
  /** Memory tokens by line; lines [pendStart, pendEnd) hold pendToken, not yet written into the map (see {@link writeMemoryLine}). */
  private declare readonly memory: IntervalMap<Token>;
  private declare pendStart: number;
  private declare pendEnd: number;
  private declare pendToken: Token;
  private declare readonly devLast: IntervalMap<Token>;
  /** Who wrote each token, and its label on demand (see {@link TokenLog}). */
  private declare readonly tokens: TokenLog;
  /** The registered speculation ranges (see {@link SpecRanges}). */
  private declare readonly spec: SpecRanges;
  /** The newest copies of a PIPT cache, as runs of lines not yet made into objects (see {@link LazyFills}). */
  private declare readonly lazy: LazyFills;

  /**
   * @throws ModelConfigError for a line size not a power of two in [16, 256],
   * a way size that is not a multiple of the page size, a cache smaller than
   * one line, or probabilities outside [0, 1].
   */
  constructor(cfg: CacheConfig, trace: Trace, prng: Prng) {
    this.hazards = [];
    this.stats = { fills: 0, evictions: 0, writebacks: 0, specFills: 0, linesMaintained: 0 };
    this.explain = () => undefined;
    this.blocks = new Map<number, LineBlock>();
    this.lastKey = -1;
    this.lastBlock = null;
    this.prevKey = -1;
    this.prevBlock = null;
    this.spareBlocks = [];
    this.firstLine = null;
    this.lastLine = null;
    this.lineCount = 0;
    this.cachedCount = 0;
    this.fifoHead = null;
    this.fifoTail = null;
    this.spare = [];
    this.memory = new IntervalMap<Token>();
    this.pendStart = 0;
    this.pendEnd = 0;
    this.pendToken = 0;
    this.devLast = new IntervalMap<Token>();
    this.tokens = new TokenLog();
    this.spec = new SpecRanges();
    this.lazy = new LazyFills();
    this.lineSize = checkPowerOf2("cpuCache.lineSize", cfg.lineSize, 16, 256);
    this.pageSize = checkPowerOf2("cpuCache.pageSize", cfg.pageSize ?? 4096, 4096, 65536);
    if ((cfg.indexing ?? "pipt") === "vipt-aliasing") {
      const way = cfg.wayBytes;
      if (way === undefined) throw new ModelConfigError("cpuCache.wayBytes", way, "a power of two >= pageSize for a VIPT-aliasing cache");
      checkPowerOf2("cpuCache.wayBytes", way, this.pageSize);
      this.colours = way / this.pageSize;
    } else this.colours = 1;
    const size = cfg.sizeBytes ?? 32768;
    checkPowerOf2("cpuCache.sizeBytes", size, this.lineSize);
    this.capacityLines = size / this.lineSize;
    this.specFillProb = checkProb("cpuCache.specFillProb", cfg.specFillProb ?? 0);
    this.evictProb = checkProb("cpuCache.evictProb", cfg.evictProb ?? 0);
    this.trace = trace;
    this.prng = prng;
  }

  // ---- tokens ----

  /** Allocate a new token for a write by `who`. */
  newToken(who: "cpu" | "dev"): Token {
    return this.tokens.issue(who === "cpu" ? WHO_CPU : WHO_DEV);
  }

  /** "init", "cpu:3", "dev:2". */
  label(t: Token): string {
    const tokens = this.tokens;
    if (!tokens.has(t)) throw new ModelConfigError("token", t, `a token below ${tokens.n}`);
    return tokens.label(t);
  }

  /** Who wrote token `t`. */
  tokenWho(t: Token): TokenWho {
    const tokens = this.tokens;
    return tokens.has(t) ? WHO_NAMES[tokens.who[t]!]! : "init";
  }

  /** Number of tokens issued (including init). */
  get tokenCount(): number {
    return this.tokens.n;
  }

  // ---- geometry ----

  /** Virtual colour of a virtual address: (va / PAGE_SIZE) mod colours; 0 on PIPT caches. */
  colourOf(va: number | undefined): number {
    if (this.colours === 1 || va === undefined) return 0;
    checkInt("colourOf(va)", va);
    return Math.floor(va / this.pageSize) % this.colours;
  }

  /** Line number of a physical address. */
  lineOf(paddr: number): number {
    return Math.floor(paddr / this.lineSize);
  }

  /** Number of memory runs plus cached lines: the model's memory footprint, in entries. */
  get footprint(): { memoryRuns: number; devRuns: number; cachedLines: number; specRanges: number } {
    return { memoryRuns: this.mem().size, devRuns: this.devLast.size, cachedLines: this.cachedCount, specRanges: this.spec.live };
  }

  private checkRange(fn: string, paddr: number, size: number): { l0: number; l1: number } {
    this.checkSpan(fn, paddr, size);
    return { l0: this.lineOf(paddr), l1: this.endLine(paddr, size) };
  }

  /** The checks of {@link checkRange} without its object (for calls made once per page): lines are {@link lineOf} and {@link endLine}. */
  private checkSpan(fn: string, paddr: number, size: number): void {
    checkIntArg(fn, "paddr", paddr);
    checkIntArg(fn, "size", size, 1);
    checkIntArg(fn, "paddr + size", paddr + size);
  }

  /** One past the last line of [paddr, paddr + size). */
  private endLine(paddr: number, size: number): number {
    return Math.ceil((paddr + size) / this.lineSize);
  }

  private memAt(line: number): Token {
    if (line >= this.pendStart && line < this.pendEnd) return this.pendToken;
    return this.memory.get(line) ?? 0;
  }

  /** Memory with the pending write-backs applied (for every use but {@link memAt} and {@link writeMemoryLine}). */
  private mem(): IntervalMap<Token> {
    if (this.pendEnd > this.pendStart) {
      this.memory.set(this.pendStart, this.pendEnd, this.pendToken);
      this.pendStart = this.pendEnd = 0;
    }
    return this.memory;
  }

  /**
   * A write-back of one line: consecutive write-backs of consecutive lines
   * with one token (an eviction sweeping a buffer written in one go) are
   * gathered into one pending run and written to the interval map as one
   * range, which gives the same map (runs are kept maximal).
   */
  private writeMemoryLine(line: number, t: Token): void {
    if (this.pendEnd > this.pendStart) {
      if (line === this.pendEnd && t === this.pendToken) {
        this.pendEnd = line + 1;
        return;
      }
      this.mem();
    }
    this.pendStart = line;
    this.pendEnd = line + 1;
    this.pendToken = t;
  }

  /** Lines in [l0, l1) that have at least one cached copy, ascending. */
  private cachedLinesIn(l0: number, l1: number): number[] {
    const out: number[] = [];
    if (l1 - l0 <= this.lineCount) {
      for (let l = l0; l < l1; l++) if (this.headOf(l) !== null) out.push(l);
    } else {
      for (let c = this.entryFirst(); c !== null; c = this.entryNext(c)) if (c.line >= l0 && c.line < l1) out.push(c.line);
      out.sort((a, b) => a - b);
    }
    return out;
  }

  /** The first copies of the lines in [l0, l1) that have one, by ascending line (the lines of {@link cachedLinesIn}). */
  private cachedHeadsIn(l0: number, l1: number): CacheLine[] {
    const out: CacheLine[] = [];
    if (l1 - l0 <= this.lineCount) {
      // block by block: a block with no line cached is skipped whole
      for (let l = l0; l < l1; ) {
        const base = Math.floor(l / LINE_BLOCK) * LINE_BLOCK;
        const end = Math.min(l1, base + LINE_BLOCK);
        const b = this.blockOf(l);
        if (b !== null) {
          const slots = b.slots;
          for (let i = l - base; i < end - base; i++) {
            const c = slots[i]!;
            if (c !== null) out.push(c);
          }
        }
        l = end;
      }
    } else {
      for (let c = this.entryFirst(); c !== null; c = this.entryNext(c)) if (c.line >= l0 && c.line < l1) out.push(c);
      out.sort((a, b) => a.line - b.line);
    }
    return out;
  }

  /**
   * The first copy of the line that entered the cache first, or null. On a
   * PIPT cache a line has one copy, which enters and leaves the FIFO when the
   * line enters and leaves the cache, so the entry order is the FIFO's and
   * is not kept separately (firstLine / eprev / enext stay unused).
   */
  private entryFirst(): CacheLine | null {
    return this.colours === 1 ? this.fifoHead : this.firstLine;
  }

  /** The first copy of the line that entered the cache after `c`'s (see {@link entryFirst}). */
  private entryNext(c: CacheLine): CacheLine | null {
    return this.colours === 1 ? c.next : c.enext;
  }

  /** The block of the line table holding `line`, or null. */
  private blockOf(line: number): LineBlock | null {
    const key = Math.floor(line / LINE_BLOCK);
    if (key === this.lastKey) return this.lastBlock;
    const b = key === this.prevKey ? this.prevBlock : (this.blocks.get(key) ?? null);
    this.prevKey = this.lastKey;
    this.prevBlock = this.lastBlock;
    this.lastKey = key;
    this.lastBlock = b;
    return b;
  }

  /** First copy of `line`, or null. */
  private headOf(line: number): CacheLine | null {
    const b = this.blockOf(line);
    return b === null ? null : b.slots[line - Math.floor(line / LINE_BLOCK) * LINE_BLOCK]!;
  }

  /** The block of the line table holding `line`, made (a spare one if any) if there is none. */
  private blockFor(line: number): LineBlock {
    let b = this.blockOf(line);
    if (b === null) {
      const key = Math.floor(line / LINE_BLOCK);
      b = this.spareBlocks.pop() ?? { n: 0, slots: new Array<CacheLine | null>(LINE_BLOCK).fill(null) };
      this.blocks.set(key, b);
      if (this.prevKey === key) this.prevBlock = b;
      this.lastKey = key;
      this.lastBlock = b;
    }
    return b;
  }

  /** Make `c` the first copy of its line (`old`: the previous first copy, null if the line had none). */
  private setHead(c: CacheLine, old: CacheLine | null): void {
    const line = c.line;
    const b = this.blockFor(line);
    b.slots[line - Math.floor(line / LINE_BLOCK) * LINE_BLOCK] = c;
    if (old === null) {
      b.n++;
      this.lineCount++;
      if (this.colours === 1) return;
      c.eprev = this.lastLine;
      c.enext = null;
      if (this.lastLine !== null) this.lastLine.enext = c;
      else this.firstLine = c;
      this.lastLine = c;
    } else {
      // The line keeps its place in the entry order.
      c.eprev = old.eprev;
      c.enext = old.enext;
      if (old.eprev !== null) old.eprev.enext = c;
      else this.firstLine = c;
      if (old.enext !== null) old.enext.eprev = c;
      else this.lastLine = c;
      old.eprev = old.enext = null;
    }
  }

  /** Block `b` (key `key`) has no line any more: out of the table, kept as a spare. */
  private retireBlock(key: number, b: LineBlock): void {
    this.blocks.delete(key);
    if (this.prevKey === key) this.prevBlock = null;
    if (this.lastKey === key) this.lastBlock = null;
    if (this.spareBlocks.length < 64) this.spareBlocks.push(b);
  }

  /** `c`, the only copy of its line, leaves: the line has no copy any more. */
  private dropLine(c: CacheLine): void {
    const line = c.line;
    const key = Math.floor(line / LINE_BLOCK);
    const b = this.blockOf(line)!;
    b.slots[line - key * LINE_BLOCK] = null;
    if (--b.n === 0) this.retireBlock(key, b);
    this.lineCount--;
    if (this.colours === 1) return;
    if (c.eprev !== null) c.eprev.enext = c.enext;
    else this.firstLine = c.enext;
    if (c.enext !== null) c.enext.eprev = c.eprev;
    else this.lastLine = c.eprev;
    c.eprev = c.enext = null;
  }

  private findCopy(line: number, colour: number): CacheLine | undefined {
    let c = this.headOf(line);
    while (c !== null && c.colour !== colour) c = c.sib;
    return c ?? undefined;
  }

  /** The copies of one line, in fill order (a fresh array). */
  private copiesOf(line: number): CacheLine[] {
    const out: CacheLine[] = [];
    for (let c = this.headOf(line); c !== null; c = c.sib) out.push(c);
    return out;
  }

  /**
   * Fill a copy of `line` for `colour` holding `token` (read by the caller
   * before the fill: the evictions come first), evicting the oldest copies
   * while the cache is full.
   */
  private fill(line: number, colour: number, token: Token, dirty: boolean, seq: number): CacheLine {
    while (this.cachedCount >= this.capacityLines) this.evictOldest();
    const c = this.spare.pop();
    if (c === undefined) {
      const n = newLine(line, colour, token, dirty, seq);
      this.insert(n);
      return n;
    }
    c.line = line;
    c.colour = colour;
    c.token = token;
    c.dirty = dirty;
    c.seq = seq;
    this.insert(c);
    return c;
  }

  /** Link a new copy in (the cache has room; on a PIPT cache the line has no copy: fills follow a missed lookup). */
  private insert(c: CacheLine): void {
    const head = this.colours === 1 ? null : this.headOf(c.line);
    if (head === null) this.setHead(c, null);
    else {
      let t = head;
      while (t.sib !== null) t = t.sib;
      t.sib = c;
    }
    c.alive = true;
    this.cachedCount++;
    c.prev = this.fifoTail;
    c.next = null;
    if (this.fifoTail !== null) this.fifoTail.next = c;
    else this.fifoHead = c;
    this.fifoTail = c;
  }

  private removeCopy(c: CacheLine): void {
    if (!c.alive) return;
    const head = this.headOf(c.line);
    if (head === null) return;
    if (head === c) {
      if (c.sib === null) this.dropLine(c);
      else this.setHead(c.sib, c);
    } else {
      let p = head;
      while (p.sib !== null && p.sib !== c) p = p.sib;
      if (p.sib !== c) return;
      p.sib = c.sib;
    }
    c.sib = null;
    if (c.prev !== null) c.prev.next = c.next;
    else this.fifoHead = c.next;
    if (c.next !== null) c.next.prev = c.prev;
    else this.fifoTail = c.prev;
    c.prev = null;
    c.next = null;
    this.cachedCount--;
    c.alive = false;
    if (this.spare.length < 1024) this.spare.push(c);
  }

  private evictOldest(): void {
    const c = this.fifoHead;
    if (c !== null) this.evict(c, "capacity");
  }

  /**
   * Evict the `k` oldest copies (k <= cachedCount), oldest first, as `k`
   * calls of {@link evictOldest} would: the same write-backs (and lost-write
   * hazards) in the same order, the same counters; the FIFO is cut once
   * after the last instead of unlinking each copy. On a PIPT cache (a copy is
   * its line's only one, so the copies evicted are of distinct lines) the
   * dirty copies of consecutive lines with one token are written back as one
   * run ({@link writeBackRun}).
   */
  private evictOldestN(k: number): void {
    let c = this.fifoHead;
    const pipt = this.colours === 1;
    const spare = this.spare;
    let blk: LineBlock | null = null;
    let base = 0;
    let i = 0;
    while (i < k && c !== null) {
      let n = 1;
      if (c.dirty) {
        if (pipt) {
          // the dirty copies of lines c.line, c.line + 1, ... with c's token that follow in the FIFO
          const t = c.token;
          for (let x = c.next; i + n < k && x !== null && x.dirty && x.token === t && x.line === c.line + n; x = x.next) n++;
          this.writeBackRun(c, c.line, n, t, 0);
        } else this.writeBack(c, "eviction (capacity)");
      }
      for (let j = 0; j < n; j++) {
        const next: CacheLine | null = c!.next;
        if (pipt) {
          // dropLine with the block kept across the lines of one block
          const line = c!.line;
          if (blk === null || line < base || line >= base + LINE_BLOCK) {
            base = Math.floor(line / LINE_BLOCK) * LINE_BLOCK;
            blk = this.blockOf(line)!;
          }
          blk.slots[line - base] = null;
          if (--blk.n === 0) {
            this.retireBlock(base / LINE_BLOCK, blk);
            blk = null;
          }
        } else this.unlinkFromLine(c!);
        c!.sib = null;
        c!.prev = null;
        c!.next = null;
        c!.alive = false;
        if (spare.length < 1024) spare.push(c!);
        c = next;
      }
      this.cachedCount -= n;
      this.stats.evictions += n;
      i += n;
    }
    this.fifoHead = c;
    if (c !== null) c.prev = null;
    else this.fifoTail = null;
    // then the lazy runs, oldest first (the FIFO's newest copies; PIPT only)
    const lazy = this.lazy;
    while (i < k && lazy.head < lazy.tail) {
      const h = lazy.head;
      const s = lazy.starts[h]!;
      const n = Math.min(lazy.ends[h]! - s, k - i);
      this.writeBackRun(null, s, n, lazy.tokens[h]!, lazy.seqs[h]!);
      if (s + n === lazy.ends[h]) lazy.head = h + 1;
      else lazy.starts[h] = s + n;
      this.cachedCount -= n;
      this.stats.evictions += n;
      i += n;
    }
    if (lazy.head === lazy.tail) lazy.clear();
    if (pipt) this.lineCount -= i;
  }

  /**
   * Write back `n` dirty copies of lines l0 .. l0 + n - 1 (distinct lines,
   * ascending), one token `t`: the line objects that follow each other in
   * the FIFO from `c` (each with its own write time), or, with `c` null,
   * lines of a lazy run ({@link LazyFills}) with write time `wt`; as
   * `n` calls of {@link writeBack} would (cause "eviction (capacity)"): the
   * same lost-write hazards in line order, the same memory and counter. Each
   * line's check reads only its own line, which no earlier write-back of the
   * run touches, so the checks come first, walking memory's runs by index
   * (a run whose token is not the device's hides no lost write), then the
   * lines become one pending run (the map the per-line writes would give).
   */
  private writeBackRun(c: CacheLine | null, l0: number, n: number, t: Token, wt: number): void {
    const l1 = l0 + n;
    const mem = this.mem();
    const tokens = this.tokens;
    let x: CacheLine | null = c;
    let l = l0;
    let i = mem.indexAfter(l0);
    while (l < l1) {
      // memory's piece [l, pe) holds token m (0 in a gap)
      let pe: number;
      let m: Token = 0;
      if (i >= mem.size || mem.runStart(i) >= l1) pe = l1;
      else if (mem.runStart(i) > l) pe = mem.runStart(i);
      else {
        pe = Math.min(mem.runEnd(i), l1);
        m = mem.runValue(i);
        i++;
      }
      if (x === null) {
        // lazy lines: one write time, no objects
        if (tokens.isDev(m) && m > wt) for (; l < pe; l++) this.hazard("lost_write", l, 1, t, m, "eviction (capacity)");
        l = pe;
      } else if (tokens.isDev(m)) {
        for (; l < pe; l++, x = x!.next) {
          if (m > writeTime(x!)) this.hazard("lost_write", l, 1, t, m, "eviction (capacity)");
          x!.dirty = false;
        }
      } else {
        for (; l < pe; l++, x = x!.next) x!.dirty = false;
      }
    }
    this.pendStart = l0;
    this.pendEnd = l1;
    this.pendToken = t;
    this.stats.writebacks += n;
  }

  /** Take copy `c` out of its line's chain (the line table and entry order when it was the only copy); the FIFO is the caller's. */
  private unlinkFromLine(c: CacheLine): void {
    const head = this.headOf(c.line)!;
    if (head === c) {
      if (c.sib === null) this.dropLine(c);
      else this.setHead(c.sib, c);
    } else {
      let p = head;
      while (p.sib !== c) p = p.sib!;
      p.sib = c.sib;
    }
  }

  /** True if some line of [l0, l1) has a copy (any colour). */
  private anyCopyIn(l0: number, l1: number): boolean {
    if (this.lineCount === 0) return false;
    for (let l = l0; l < l1; ) {
      const key = Math.floor(l / LINE_BLOCK);
      const base = key * LINE_BLOCK;
      const end = Math.min(l1, base + LINE_BLOCK);
      const b = this.blockOf(l);
      if (b !== null) {
        const slots = b.slots;
        for (let i = l - base; i < end - base; i++) if (slots[i] !== null) return true;
      }
      l = end;
    }
    return false;
  }

  /**
   * The fills of a bulk {@link cpuCopy}: copies of lines [l0, l1), none of
   * which has a copy, for `colour`, dirty with write time `seq`, each with
   * the token of the source byte that lands at its first copied byte
   * (`read`: the source runs, bytes; the copy goes from `fromPa` to `toPa`),
   * appended in line order to the FIFO and the entry order, as a {@link fill}
   * per line would with the cache having room. Consecutive lines with one
   * token go in as one run: on a PIPT cache a lazy run ({@link LazyFills}),
   * on a VIPT-aliasing cache line objects ({@link linkCopies}).
   */
  private appendCopies(l0: number, l1: number, colour: number, seq: number, read: TokenRun[], fromPa: number, toPa: number): void {
    const ls = this.lineSize;
    const pipt = this.colours === 1;
    const lazy = this.lazy;
    // bounded runs: their overlap tests scan them all
    if (pipt && lazy.count >= 64) this.settle();
    // Line l takes the token of the source byte at max(l * ls, toPa) - toPa + fromPa, which grows with l, so the
    // lines that take run r of `read` are consecutive: from the first line at or past the previous run's end.
    let a = l0;
    for (let r = 0; r < read.length && a < l1; r++) {
      // the first line whose source byte lies at or past run r's end (l0's is fromPa, inside the first run)
      const b = r === read.length - 1 ? l1 : Math.min(l1, Math.max(l0 + 1, Math.ceil((read[r]!.end - fromPa + toPa) / ls)));
      if (b <= a) continue;
      if (pipt) lazy.push(a, b, read[r]!.token, seq);
      else this.linkCopies(a, b, colour, read[r]!.token, seq);
      a = b;
    }
    const n = l1 - l0;
    this.lineCount += n;
    this.cachedCount += n;
    this.stats.fills += n;
  }

  /**
   * Line objects for lines [l0, l1), none of which has a copy, for `colour`,
   * dirty with token `t` and write time `seq`, linked in line order at the
   * FIFO's end (and, on a VIPT-aliasing cache, the entry order's) as a
   * {@link fill} per line would with the cache having room, the line
   * table's block looked up once per LINE_BLOCK lines. The counters are the
   * caller's.
   */
  private linkCopies(l0: number, l1: number, colour: number, t: Token, seq: number): void {
    const spare = this.spare;
    let tail = this.fifoTail;
    let etail = this.lastLine;
    const pipt = this.colours === 1;
    let slots: Array<CacheLine | null> = [];
    let blk: LineBlock | null = null;
    let base = 0;
    let bend = 0;
    for (let l = l0; l < l1; l++) {
      if (blk === null || l >= bend) {
        blk = this.blockFor(l);
        slots = blk.slots;
        base = Math.floor(l / LINE_BLOCK) * LINE_BLOCK;
        bend = base + LINE_BLOCK;
      }
      let c = spare.pop();
      if (c === undefined) c = newLine(l, colour, t, true, seq);
      else {
        c.line = l;
        c.colour = colour;
        c.token = t;
        c.dirty = true;
        c.seq = seq;
      }
      c.alive = true;
      slots[l - base] = c;
      blk.n++;
      if (!pipt) {
        c.eprev = etail;
        c.enext = null;
        if (etail !== null) etail.enext = c;
        else this.firstLine = c;
        etail = c;
      }
      c.prev = tail;
      c.next = null;
      if (tail !== null) tail.next = c;
      else this.fifoHead = c;
      tail = c;
    }
    this.lastLine = etail;
    this.fifoTail = tail;
  }

  /**
   * Make the lazy runs ({@link LazyFills}) line objects, oldest first, at
   * the FIFO's end: afterwards every copy is an object, as if each bulk copy
   * had linked its lines when it ran (same FIFO order, same line table;
   * the counters already count them). Every use of the lines but the bulk
   * copy's calls this first; nothing to do when there is no run.
   */
  private settle(): void {
    const lazy = this.lazy;
    if (lazy.head === lazy.tail) return;
    for (let i = lazy.head; i < lazy.tail; i++) this.linkCopies(lazy.starts[i]!, lazy.ends[i]!, 0, lazy.tokens[i]!, lazy.seqs[i]!);
    lazy.clear();
  }

  private evict(c: CacheLine, why: string): void {
    if (c.dirty) this.writeBack(c, why === "capacity" ? "eviction (capacity)" : `eviction (${why})`);
    this.removeCopy(c);
    this.stats.evictions++;
  }

  /** Write a dirty copy back to memory; reports a lost write if the device wrote memory since. */
  private writeBack(c: CacheLine, cause: string): void {
    const line = c.line;
    const m = this.memAt(line);
    if (this.tokenWho(m) === "dev" && m > writeTime(c)) {
      this.hazard("lost_write", line, 1, c.token, m, cause);
    }
    this.writeMemoryLine(line, c.token);
    c.dirty = false;
    this.stats.writebacks++;
  }

  private hazard(kind: HazardKind, line: number, lines: number, seen: Token, newer: Token, cause: string): void {
    const paddr = line * this.lineSize;
    const should = this.explain(kind, paddr) ?? DEFAULT_HINT[kind];
    const what =
      kind === "stale_read"
        ? `CPU read ${this.label(seen)} but the device wrote ${this.label(newer)}`
        : kind === "lost_write"
          ? `${cause} wrote ${this.label(seen)} back over ${this.label(newer)} written by the device`
          : `device read ${this.label(seen)} from memory while the CPU holds ${this.label(newer)} dirty`;
    const ev = this.trace.record({
      fn: "cpu_cache",
      kind,
      level: "fault",
      msg: `${kind.replace(/_/g, " ")} at ${hex(paddr)} (${lines} line${lines === 1 ? "" : "s"}): ${what}; should have called ${should}`,
      data: { paddr, line, lines, seen: this.label(seen), newer: this.label(newer), shouldHaveCalled: should },
    });
    this.hazards.push({ kind, paddr, lines, line, seen: this.label(seen), newer: this.label(newer), shouldHaveCalled: should, seq: ev.seq });
  }

  /** Group per-line hazards into runs of consecutive lines with the same tokens. */
  private flushHazards(kind: HazardKind, items: Array<{ line: number; seen: Token; newer: Token }>, cause = ""): void {
    let i = 0;
    while (i < items.length) {
      let j = i + 1;
      while (j < items.length && items[j]!.line === items[j - 1]!.line + 1 && items[j]!.seen === items[i]!.seen && items[j]!.newer === items[i]!.newer) j++;
      this.hazard(kind, items[i]!.line, j - i, items[i]!.seen, items[i]!.newer, cause);
      i = j;
    }
  }

  // ---- CPU accesses ----

  /**
   * The CPU reads [paddr, paddr + size) through a mapping with attribute
   * `attr` at virtual address `va` (its colour matters on VIPT caches).
   * Cacheable reads hit or fill lines; other attributes read memory.
   * @returns the tokens seen, as runs in bytes.
   * @throws ModelConfigError for a bad range (nothing changes).
   */
  cpuRead(paddr: number, size: number, opts: { va?: number; attr?: MappingAttr } = {}): TokenRun[] {
    const { l0, l1 } = this.checkRange("cpuRead", paddr, size);
    this.settle();
    const attr = opts.attr ?? "cacheable";
    const colour = this.colourOf(opts.va);
    if (attr !== "cacheable") {
      return mergeRuns(this.mem().pieces(l0, l1).map((p) => this.run(p.start, p.end, p.value ?? 0)));
    }
    const stale: Array<{ line: number; seen: Token; newer: Token }> = [];
    const runs: TokenRun[] = [];
    // The device's last writes do not change during the read: walk their runs once, by index.
    const devLast = this.devLast;
    let di = devLast.indexAfter(l0);
    for (let l = l0; l < l1; l++) {
      let c = this.findCopy(l, colour);
      if (!c) {
        c = this.fill(l, colour, this.memAt(l), false, -1);
        this.stats.fills++;
      }
      while (di < devLast.size && devLast.runEnd(di) <= l) di++;
      const d = di < devLast.size && devLast.runStart(di) <= l ? devLast.runValue(di) : undefined;
      if (d !== undefined && d > writeTime(c)) stale.push({ line: l, seen: c.token, newer: d });
      this.pushLines(runs, l, l + 1, c.token);
    }
    this.flushHazards("stale_read", stale);
    return runs;
  }

  /** Append lines [l0, l1) with token `t` to `runs`, extending the last run if it has the same token (runs are fresh objects built by the caller). */
  private pushLines(runs: TokenRun[], l0: number, l1: number, t: Token): void {
    const last = runs[runs.length - 1] as { end: number; token: Token } | undefined;
    if (last !== undefined && last.token === t && last.end === l0 * this.lineSize) last.end = l1 * this.lineSize;
    else runs.push({ start: l0 * this.lineSize, end: l1 * this.lineSize, token: t, label: this.label(t) });
  }

  /**
   * The CPU writes [paddr, paddr + size). Cacheable: write-allocate, the
   * touched lines become dirty with a new token (partial lines whole: the
   * model is line-granular). Other attributes write memory directly.
   * @returns the new token.
   * @throws ModelConfigError for a bad range (nothing changes).
   */
  cpuWrite(paddr: number, size: number, opts: { va?: number; attr?: MappingAttr } = {}): Token {
    const { l0, l1 } = this.checkRange("cpuWrite", paddr, size);
    this.settle();
    const attr = opts.attr ?? "cacheable";
    const colour = this.colourOf(opts.va);
    const t = this.newToken("cpu");
    if (attr !== "cacheable") {
      this.mem().set(l0, l1, t);
      return t;
    }
    for (let l = l0; l < l1; l++) {
      const c = this.findCopy(l, colour);
      if (c) {
        c.token = t;
        c.dirty = true;
        c.seq = -1;
      } else {
        this.fill(l, colour, t, true, -1);
        this.stats.fills++;
      }
    }
    return t;
  }

  /**
   * The CPU copies `size` bytes from physical `fromPa` to physical `toPa`
   * (memcpy through the kernel's linear map, as swiotlb_bounce does in
   * kernel/dma/swiotlb.c, v5.4.6 and v6.19). Token-preserving: the
   * destination carries the SOURCE tokens, not a new CPU token, so a token
   * can be followed through a bounce buffer.
   *
   * - Source: read through the cache for "cacheable" (a cached line of
   *   the `fromVa` colour is seen, dirty or clean, and one older than the
   *   device's last write to it is a "stale_read"), memory otherwise. The
   *   read allocates no lines (a streaming read: the model's bounce copies
   *   never read their source again before the next maintenance, and it
   *   keeps large copies cheap).
   * - Destination: each destination line takes the token of the source
   *   byte that lands at its first copied byte (lines are the model's
   *   granularity; a line the copy covers only partly still becomes the
   *   copy's, as a {@link cpuWrite} does). Cacheable: write-allocate, the
   *   line is dirty in the cache with that token (colour of `toVa`);
   *   other attributes write memory directly.
   * Overlapping ranges are not allowed (memcpy's rule).
   *
   * Cost: a cacheable destination with no cached line, no larger than the
   * cache (a bounce into a swiotlb slot or back into the buffer) takes a
   * bulk path: the capacity evictions first, oldest first (consecutive
   * dirty lines with one token written back as one run on PIPT caches), then
   * the fills, with the same results as line by line (test/cache/equivalence-bulk.test.ts).
   * On a PIPT cache the fills stay runs of lines ({@link LazyFills}) until a
   * call other than such a copy uses the lines, and a later bulk copy evicts
   * them as runs: a page bounced is O(1) runs, not 64 line objects.
   * @returns the source runs read (bytes of the source) and the number of destination lines written.
   * @throws ModelConfigError for a bad or empty range, or overlapping ranges (nothing changes).
   */
  cpuCopy(
    fromPa: number,
    toPa: number,
    size: number,
    opts: { fromVa?: number; toVa?: number; fromAttr?: MappingAttr; toAttr?: MappingAttr } = {},
  ): { read: TokenRun[]; lines: number } {
    this.checkRange("cpuCopy(from)", fromPa, size);
    const { l0, l1 } = this.checkRange("cpuCopy(to)", toPa, size);
    if (fromPa < toPa + size && toPa < fromPa + size) {
      throw new ModelConfigError("cpuCopy(fromPa, toPa, size)", `${hex(fromPa)} -> ${hex(toPa)} (${size} bytes)`, "non-overlapping source and destination (memcpy)");
    }
    if (opts.toVa !== undefined) this.colourOf(opts.toVa);
    if (opts.fromVa !== undefined) this.colourOf(opts.fromVa);
    const s0 = this.lineOf(fromPa);
    const s1 = Math.ceil((fromPa + size) / this.lineSize);
    const fromColour = this.colourOf(opts.fromVa);
    const srcCached = (opts.fromAttr ?? "cacheable") === "cacheable";
    const attr = opts.toAttr ?? "cacheable";
    // The lazy runs (PIPT) stay runs through a copy that reads and writes none of their lines (the bulk path's test
    // below sees only line objects; a copy that does not take it settles them before its per-line fills).
    const lazy = this.lazy;
    if (lazy.head !== lazy.tail && ((srcCached && lazy.overlaps(s0, s1)) || lazy.overlaps(l0, l1))) this.settle();
    const stale: Array<{ line: number; seen: Token; newer: Token }> = [];
    const read: TokenRun[] = [];
    // The read changes nothing, so memory is walked run by run and only the
    // lines with a cached copy are looked at one by one.
    // the source lines with a cached copy (their first copies), ascending
    const held = srcCached ? this.cachedHeadsIn(s0, s1) : [];
    const devLast = this.devLast;
    let h = 0;
    // Memory's runs and gaps over [s0, s1) in order (what IntervalMap.pieces lists; a gap holds token 0), walked
    // by index: piece [ps, pe) with token tok.
    const mem = this.mem();
    let i = mem.indexAfter(s0);
    for (let ps = s0; ps < s1; ) {
      let pe: number;
      let tok: Token = 0;
      if (i >= mem.size || mem.runStart(i) >= s1) pe = s1;
      else if (mem.runStart(i) > ps) pe = mem.runStart(i);
      else {
        pe = Math.min(mem.runEnd(i), s1);
        tok = mem.runValue(i);
        i++;
      }
      let s = ps;
      for (; h < held.length && held[h]!.line < pe; h++) {
        const l = held[h]!.line;
        // the copy of the source colour (findCopy from the line's first copy)
        let c: CacheLine | null = held[h]!;
        while (c !== null && c.colour !== fromColour) c = c.sib;
        if (!c) continue;
        if (l > s) this.pushLines(read, s, l, tok);
        this.pushLines(read, l, l + 1, c.token);
        const d = devLast.get(l);
        if (d !== undefined && d > writeTime(c)) stale.push({ line: l, seen: c.token, newer: d });
        s = l + 1;
      }
      if (s < pe) this.pushLines(read, s, pe, tok);
      ps = pe;
    }
    this.flushHazards("stale_read", stale);
    const colour = this.colourOf(opts.toVa);
    const seq = this.tokens.n - 1 + 0.5;
    let r = 0;
    // Uncached destination: memory is written once per run of lines with one
    // token (the same map as line-by-line writes: runs are canonical).
    let runStart = l0;
    let runToken: Token = 0;
    // Bulk path: a cacheable destination none of whose lines has a copy (any
    // colour), no larger than the cache. Line by line, each fill would first
    // evict the oldest copy while the cache is full: the copies evicted are
    // the cachedCount + lines - capacity oldest (never a destination line,
    // none is cached, nor a line filled by this copy, it fits), so they are
    // evicted first, oldest first, with the same write-backs and hazards in
    // the same order, then the lines are filled in order, with the same
    // tokens. Nothing reads the cache between the two in the per-line order
    // either (the write-back hazards' explain() resolver reads the DMA
    // layer's mappings).
    const bulk = attr === "cacheable" && l1 - l0 <= this.capacityLines && !this.anyCopyIn(l0, l1);
    if (bulk) {
      const over = this.cachedCount + (l1 - l0) - this.capacityLines;
      if (over > 0) this.evictOldestN(over);
      this.appendCopies(l0, l1, colour, seq, read, fromPa, toPa);
      return { read, lines: l1 - l0 };
    }
    this.settle();
    for (let l = l0; l < l1; l++) {
      const firstByte = Math.max(l * this.lineSize, toPa);
      // The token of the source byte landing at the line's first copied byte (source bytes only grow).
      const srcByte = fromPa + (firstByte - toPa);
      while (r < read.length - 1 && read[r]!.end <= srcByte) r++;
      const t = read[r]!.token;
      if (attr !== "cacheable") {
        if (l > runStart && t !== runToken) {
          this.mem().set(runStart, l, runToken);
          runStart = l;
        }
        runToken = t;
        if (l === l1 - 1) this.mem().set(runStart, l1, runToken);
        continue;
      }
      const c = this.findCopy(l, colour);
      if (c) {
        c.token = t;
        c.dirty = true;
        c.seq = seq;
      } else {
        this.fill(l, colour, t, true, seq);
        this.stats.fills++;
      }
    }
    return { read, lines: l1 - l0 };
  }

  // ---- device accesses ----

  /**
   * A device reads [paddr, paddr + size) (physical, after dma_to_phys).
   * Coherent: a dirty cached line (any colour; the newest if several) is
   * seen instead of memory. Non-coherent: memory only, and a newer dirty
   * line in the CPU cache is a "device_read_stale" hazard.
   * @returns the tokens the device got, as runs in bytes.
   */
  deviceRead(paddr: number, size: number, coherent: boolean): TokenRun[] {
    const { l0, l1 } = this.checkRange("deviceRead", paddr, size);
    this.settle();
    const dirty: Array<{ line: number; token: Token; seq: number }> = [];
    for (const l of this.cachedLinesIn(l0, l1)) {
      let best: CacheLine | null = null;
      for (let c = this.headOf(l); c !== null; c = c.sib) if (c.dirty && (best === null || writeTime(c) > writeTime(best))) best = c;
      if (best) dirty.push({ line: l, token: best.token, seq: writeTime(best) });
    }
    const stale: Array<{ line: number; seen: Token; newer: Token }> = [];
    const items: TokenRun[] = [];
    let k = 0;
    for (const p of this.mem().pieces(l0, l1)) {
      const tok = p.value ?? 0;
      let s = p.start;
      while (k < dirty.length && dirty[k]!.line < p.end) {
        const d = dirty[k]!;
        if (coherent) {
          if (d.line > s) items.push(this.run(s, d.line, tok));
          items.push(this.run(d.line, d.line + 1, d.token));
          s = d.line + 1;
        } else if (d.seq > tok && d.token !== tok) stale.push({ line: d.line, seen: tok, newer: d.token });
        k++;
      }
      if (s < p.end) items.push(this.run(s, p.end, tok));
    }
    this.flushHazards("device_read_stale", stale);
    return mergeRuns(items);
  }

  private run(l0: number, l1: number, t: Token): TokenRun {
    return { start: l0 * this.lineSize, end: l1 * this.lineSize, token: t, label: this.label(t) };
  }

  /**
   * A device writes [paddr, paddr + size): memory gets a new "dev" token
   * (whole lines). Coherent: cached copies (every colour) are invalidated
   * by the snoop. Non-coherent: cached copies are left as they are.
   * @returns the new token.
   */
  deviceWrite(paddr: number, size: number, coherent: boolean): Token {
    this.checkSpan("deviceWrite", paddr, size);
    const l0 = this.lineOf(paddr);
    const l1 = this.endLine(paddr, size);
    const t = this.newToken("dev");
    this.mem().set(l0, l1, t);
    this.devLast.set(l0, l1, t);
    // (an empty cache holds no copy to snoop: no walk)
    if (coherent && this.lineCount > 0) {
      this.settle();
      if (l1 - l0 <= this.lineCount) for (let l = l0; l < l1; l++) this.dropCopies(l);
      else for (const l of this.cachedLinesIn(l0, l1)) this.dropCopies(l);
    }
    return t;
  }

  /** Drop every copy of `line` (a snoop), first copy first. */
  private dropCopies(line: number): void {
    for (let c = this.headOf(line); c !== null; ) {
      const n: CacheLine | null = c.sib;
      this.removeCopy(c);
      c = n;
    }
  }

  // ---- maintenance ----

  /**
   * Apply one maintenance operation. Range operations act on the lines of
   * [op.start, op.end) for one colour (the alias the kernel used; 0 on PIPT
   * caches); scope "all" acts on every line of every colour.
   * @returns lines covered (the cost basis) and lines written back.
   * @throws ModelConfigError for a range not aligned to the line size.
   */
  maintain(op: MaintOp, colour = 0): { lines: number; writebacks: number } {
    this.settle();
    let wb = 0;
    if (op.scope === "all") {
      const all: CacheLine[] = [];
      for (let head = this.entryFirst(); head !== null; head = this.entryNext(head)) for (let c: CacheLine | null = head; c !== null; c = c.sib) all.push(c);
      for (const c of all) wb += this.applyOne(op.kind, c);
      this.stats.linesMaintained += this.capacityLines;
      return { lines: this.capacityLines, writebacks: wb };
    }
    checkInt("maintain(start)", op.start);
    checkInt("maintain(end)", op.end, op.start + 1);
    if (op.start % this.lineSize !== 0 || op.end % this.lineSize !== 0) {
      throw new ModelConfigError("maintain(range)", `${hex(op.start)}-${hex(op.end)}`, `a range aligned to the ${this.lineSize}-byte line size`);
    }
    const l0 = op.start / this.lineSize;
    const l1 = op.end / this.lineSize;
    if (op.level === "inner") {
      // Line by line over a range no larger than the lines cached, else over the cached lines in it (same lines, same order).
      if (l1 - l0 <= this.lineCount) {
        for (let l = l0; l < l1; l++) {
          const c = this.findCopy(l, colour);
          if (c) wb += this.applyOne(op.kind, c);
        }
      } else {
        for (const l of this.cachedLinesIn(l0, l1)) {
          const c = this.findCopy(l, colour);
          if (c) wb += this.applyOne(op.kind, c);
        }
      }
    }
    this.stats.linesMaintained += l1 - l0;
    return { lines: l1 - l0, writebacks: wb };
  }

  private applyOne(kind: MaintOp["kind"], c: CacheLine): number {
    const l = c.line;
    let wb = 0;
    if (kind !== "invalidate" && c.dirty) {
      this.writeBack(c, kind === "clean" ? "clean" : "clean+invalidate");
      wb = 1;
    }
    if (kind === "invalidate" && c.dirty) {
      if (!this.trace.detailed) this.trace.recordBare("cpu_cache", "discard_dirty");
      else this.trace.record({ fn: "cpu_cache", kind: "discard_dirty", msg: `invalidate discards dirty line ${hex(l * this.lineSize)} (${this.label(c.token)}): the CPU's write to it is lost`, data: { paddr: l * this.lineSize, token: this.label(c.token) } });
    }
    if (kind !== "clean") this.removeCopy(c);
    return wb;
  }

  // ---- speculation ----

  /**
   * Register a physical range the CPU may speculatively fill lines from
   * (e.g. a mapped buffer's linear-map alias: normal cacheable memory can be
   * prefetched at any time, which is why for-cpu invalidation exists).
   * @returns an id for {@link removeSpeculationRange}.
   */
  addSpeculationRange(paddr: number, size: number, colour = 0): number {
    this.checkSpan("addSpeculationRange", paddr, size);
    return this.spec.add(this.lineOf(paddr), this.endLine(paddr, size), colour);
  }

  /** Forget a speculation range (an id never returned, or already removed, is ignored). */
  removeSpeculationRange(id: number): void {
    this.spec.remove(id);
  }

  /**
   * One seeded step: with probability specFillProb a random line of a
   * registered range is filled (clean, from memory) if not cached; with
   * probability evictProb a random cached line is evicted (written back if
   * dirty). The three draws (two probabilities and a pick) are always
   * taken, so the PRNG stream does not depend on the cache contents; when
   * both probabilities are 0 and the generator can jump ahead
   * ({@link Prng.skip}), the stream is moved on by three draws without
   * computing them (the same stream afterwards).
   * @param where a label for the trace ("after dma_map_single").
   */
  step(where = ""): void {
    const prng = this.prng;
    if (this.specFillProb === 0 && this.evictProb === 0 && prng.skip !== undefined) {
      // Neither draw can succeed (a float in [0, 1) is never < 0): the three draws only move the stream on.
      prng.skip(3);
      return;
    }
    this.settle();
    const a = this.prng.nextFloat();
    const b = this.prng.nextFloat();
    const pick = this.prng.nextU32();
    const spec = this.spec;
    if (a < this.specFillProb && spec.live > 0) {
      // the (pick mod live)-th live range in the order the ranges were added
      spec.compact();
      const n = spec.live;
      const i = pick % n;
      const start = spec.starts[i]!;
      const colour = spec.colours[i]!;
      const l = start + (Math.floor(pick / n) % (spec.ends[i]! - start));
      if (!this.findCopy(l, colour)) {
        this.fill(l, colour, this.memAt(l), false, -1);
        this.stats.specFills++;
        this.trace.record({ fn: "cpu_cache", kind: "spec_fill", msg: `speculative fill of line ${hex(l * this.lineSize)} (${this.label(this.memAt(l))}) ${where}`.trim(), data: { paddr: l * this.lineSize, token: this.label(this.memAt(l)) } });
      }
    }
    if (b < this.evictProb && this.cachedCount > 0) {
      let c = this.entryFirst()!;
      for (let i = pick % this.lineCount; i > 0; i--) c = this.entryNext(c)!;
      const l = c.line;
      const dirty = c.dirty;
      this.evict(c, "random");
      this.trace.record({ fn: "cpu_cache", kind: "evict", msg: `eviction of ${dirty ? "dirty" : "clean"} line ${hex(l * this.lineSize)} ${where}`.trim(), data: { paddr: l * this.lineSize, dirty } });
    }
  }

  /**
   * Evict the line holding `paddr` (every colour), writing it back if dirty:
   * a deterministic stand-in for a capacity eviction at a chosen point.
   */
  evictLine(paddr: number): void {
    const { l0 } = this.checkRange("evictLine", paddr, 1);
    this.settle();
    for (const c of this.copiesOf(l0)) this.evict(c, "forced");
  }

  // ---- inspection ----

  /**
   * Per-line state of [paddr, paddr + size) for one colour: CPU copy,
   * memory, what a device would read.
   * @throws ModelConfigError for a bad range, or more than 4096 lines.
   */
  lineStates(paddr: number, size: number, opts: { va?: number; coherent?: boolean } = {}): LineState[] {
    const { l0, l1 } = this.checkRange("lineStates", paddr, size);
    if (l1 - l0 > 4096) throw new ModelConfigError("lineStates(size)", size, `at most 4096 lines (${4096 * this.lineSize} bytes)`);
    this.settle();
    const colour = this.colourOf(opts.va);
    const out: LineState[] = [];
    for (let l = l0; l < l1; l++) {
      const c = this.findCopy(l, colour);
      const m = this.memAt(l);
      let dev = m;
      let when = m;
      if (opts.coherent) {
        for (let x = this.headOf(l); x !== null; x = x.sib) {
          if (x.dirty && writeTime(x) > when) {
            dev = x.token;
            when = writeTime(x);
          }
        }
      }
      out.push({ line: l, paddr: l * this.lineSize, cpu: c ? this.label(c.token) : null, dirty: c ? c.dirty : false, memory: this.label(m), deviceView: this.label(dev) });
    }
    return out;
  }

  /** Token in memory at `paddr`'s line. */
  memoryToken(paddr: number): Token {
    return this.memAt(this.lineOf(checkInt("memoryToken(paddr)", paddr)));
  }

  /** Copies of `paddr`'s line held by the cache: colour, token label, dirty. */
  cachedCopies(paddr: number): Array<{ colour: number; token: string; dirty: boolean }> {
    const line = this.lineOf(checkInt("cachedCopies(paddr)", paddr));
    this.settle();
    const arr = this.copiesOf(line);
    return arr.map((c) => ({ colour: c.colour, token: this.label(c.token), dirty: c.dirty }));
  }
}

function mergeRuns(items: TokenRun[]): TokenRun[] {
  const out: TokenRun[] = [];
  for (const r of items) {
    const last = out[out.length - 1];
    if (last && last.token === r.token && last.end === r.start) out[out.length - 1] = { ...last, end: r.end };
    else out.push(r);
  }
  return out;
}

function checkProb(field: string, p: number): number {
  if (typeof p !== "number" || !Number.isFinite(p) || p < 0 || p > 1) throw new ModelConfigError(field, p, "a probability in [0, 1]");
  return p;
}
