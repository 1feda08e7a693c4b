/**
 * An interval map over integer keys (cache-line numbers): non-overlapping
 * half-open runs [start, end) each carrying one value, sorted by start, with
 * equal neighbours merged. A 64 MiB buffer written in one go is one run, so
 * memory stays proportional to the number of distinct writes, not to the
 * number of lines.
 *
 * Keys are exact integers below 2^53; no bitwise operators are used.
 */
import { checkInt } from "../core/arith.js";
import { ModelConfigError } from "../core/errors.js";

/** One run of the map: keys [start, end) all map to `value`. */
export interface IntervalRun<T> {
  readonly start: number;
  readonly end: number;
  readonly value: T;
}

/**
 * A sorted run-length map from integer keys to values. Keys with no run are
 * "unset" (callers supply their own default).
 */
export class IntervalMap<T> {
  // Parallel arrays (starts, ends, values): compact and fast to search.
  private starts: number[] = [];
  private ends: number[] = [];
  private values: T[] = [];

  /** Number of stored runs (the memory the map costs). */
  get size(): number {
    return this.starts.length;
  }

  /** Index of the first run whose end is > key (binary search). */
  private firstEndingAfter(key: number): number {
    const ends = this.ends;
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (ends[mid]! <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The value at `key`, or undefined if unset. */
  get(key: number): T | undefined {
    const i = this.firstEndingAfter(key);
    return i < this.starts.length && this.starts[i]! <= key ? this.values[i] : undefined;
  }

  /**
   * Set keys [start, end) to `value`, replacing whatever was there.
   * @throws ModelConfigError for a non-integer or empty range.
   */
  set(start: number, end: number, value: T): void {
    checkInt("IntervalMap.set(start)", start);
    checkInt("IntervalMap.set(end)", end);
    if (end <= start) throw new ModelConfigError("IntervalMap.set(end)", end, `an end > start (${start})`);
    const i = this.firstEndingAfter(start);
    let j = i;
    const ns: number[] = [];
    const ne: number[] = [];
    const nv: T[] = [];
    // The run overlapping the start keeps its part before `start`.
    if (j < this.starts.length && this.starts[j]! < start) {
      ns.push(this.starts[j]!);
      ne.push(start);
      nv.push(this.values[j]!);
    }
    ns.push(start);
    ne.push(end);
    nv.push(value);
    // Skip runs inside [start, end); the last one may stick out past `end`.
    while (j < this.starts.length && this.starts[j]! < end) {
      if (this.ends[j]! > end) {
        ns.push(end);
        ne.push(this.ends[j]!);
        nv.push(this.values[j]!);
      }
      j++;
    }
    this.starts.splice(i, j - i, ...ns);
    this.ends.splice(i, j - i, ...ne);
    this.values.splice(i, j - i, ...nv);
    // Merge equal neighbours around the inserted run.
    const k = i + (ns[0] === start ? 0 : 1);
    this.mergeWithNext(k);
    if (k > 0) this.mergeWithNext(k - 1);
  }

  private mergeWithNext(k: number): void {
    if (k + 1 >= this.starts.length) return;
    if (this.ends[k] === this.starts[k + 1] && this.values[k] === this.values[k + 1]) {
      this.ends[k] = this.ends[k + 1]!;
      this.starts.splice(k + 1, 1);
      this.ends.splice(k + 1, 1);
      this.values.splice(k + 1, 1);
    }
  }

  /**
   * Runs and gaps covering [start, end), in order: each piece has the value,
   * or undefined for a gap.
   */
  pieces(start: number, end: number): Array<{ start: number; end: number; value: T | undefined }> {
    const out: Array<{ start: number; end: number; value: T | undefined }> = [];
    let cur = start;
    let i = this.firstEndingAfter(start);
    while (cur < end) {
      if (i >= this.starts.length || this.starts[i]! >= end) {
        out.push({ start: cur, end, value: undefined });
        break;
      }
      const rs = this.starts[i]!;
      if (rs > cur) {
        out.push({ start: cur, end: rs, value: undefined });
        cur = rs;
      }
      const e = Math.min(this.ends[i]!, end);
      out.push({ start: cur, end: e, value: this.values[i] });
      cur = e;
      i++;
    }
    return out;
  }

  /** All runs, in key order (copies). */
  entries(): IntervalRun<T>[] {
    return this.starts.map((s, i) => ({ start: s, end: this.ends[i]!, value: this.values[i]! }));
  }

  /** Remove every run. */
  clear(): void {
    this.starts = [];
    this.ends = [];
    this.values = [];
  }
}
