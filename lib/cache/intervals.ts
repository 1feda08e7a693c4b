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

  /**
   * Index of the first run whose end is > key: the index of the last lookup
   * ({@link hint}) or the one after it when it fits (lookups and writes move
   * forward through a buffer), else the same around the lookup before
   * ({@link hint2}: a copy alternates between two buffers), else a binary
   * search; the answer becomes the hint.
   */
  private firstEndingAfter(key: number): number {
    let h = this.near(this.hint, key);
    if (h >= 0) {
      this.hint = h;
      return h;
    }
    h = this.near(this.hint2, key);
    if (h < 0) h = this.search(key);
    this.hint2 = this.hint;
    this.hint = h;
    return h;
  }

  /** `h` or `h + 1` if it is the first run whose end is > key, else -1. */
  private near(h: number, key: number): number {
    const ends = this.ends;
    const n = ends.length;
    // h is the answer iff every run before it ends at or before key and run h (if any) ends after key.
    if (h > n || (h > 0 && ends[h - 1]! > key)) return -1;
    if (h < n && ends[h]! <= key) h++;
    return h === n || ends[h]! > key ? h : -1;
  }

  /** Index of the first run whose end is > key (binary search). */
  private search(key: number): number {
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

  /**
   * Where the last lookup landed: the index of the first run whose end is >
   * that key (a run holding it, or the run after the gap holding it). A hint
   * only: checked before use, so a stale value after a change is safe.
   */
  private hint = 0;
  /** The hint before the last one (see {@link firstEndingAfter}). */
  private hint2 = 0;

  /**
   * The value at `key`, or undefined if unset. A lookup in the run or gap of
   * the last lookup, or in the next run or gap, skips the binary search.
   */
  get(key: number): T | undefined {
    const i = this.firstEndingAfter(key);
    return i < this.starts.length && this.starts[i]! <= key ? this.values[i] : undefined;
  }

  /** Index of the first run at or after index `from` whose start is >= key (binary search). */
  private firstStartingAtOrAfter(key: number, from: number): number {
    const starts = this.starts;
    // a write covers few runs: try `from` and the next one first
    if (from >= starts.length || starts[from]! >= key) return from;
    if (from + 1 >= starts.length || starts[from + 1]! >= key) return from + 1;
    let lo = from;
    let hi = starts.length;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (starts[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Set keys [start, end) to `value`, replacing whatever was there.
   *
   * Cost: O(log n) to find the runs touched, then the runs [a, b) that the
   * write replaces (those overlapping [start, end), plus an adjacent run with
   * the same value that the new run absorbs) are rewritten in place; the
   * arrays are spliced only when the number of runs changes, and the common
   * pattern of consecutive small writes (each extending the run before it,
   * e.g. line-by-line write-backs) changes no lengths at all or grows by one
   * run at a time at the end; a write at or after the end of the last run
   * (writes in address order) extends that run or appends one, without a
   * search. Runs stay maximal: equal neighbours (by ===)
   * are merged.
   * @throws ModelConfigError for a non-integer or empty range (the map is unchanged).
   */
  set(start: number, end: number, value: T): void {
    checkInt("IntervalMap.set(start)", start);
    checkInt("IntervalMap.set(end)", end);
    if (end <= start) throw new ModelConfigError("IntervalMap.set(end)", end, `an end > start (${start})`);
    const starts = this.starts;
    const ends = this.ends;
    const values = this.values;
    const n = starts.length;
    if (n === 0 || start >= ends[n - 1]!) {
      // After the last run (a buffer written page by page, in address order): extend it or append, no search.
      const i = n > 0 && ends[n - 1] === start && values[n - 1] === value ? n - 1 : n;
      if (i === n) {
        starts.push(start);
        ends.push(end);
        values.push(value);
      } else ends[i] = end;
      if (this.hint !== i) {
        this.hint2 = this.hint;
        this.hint = i;
      }
      return;
    }
    // Runs a..b-1 are replaced by: [left piece] new run [right piece].
    let a = this.firstEndingAfter(start); // first run with end > start
    let b = this.firstStartingAtOrAfter(end, a); // first run with start >= end
    let ns = start;
    let ne = end;
    let leftEnd = -1; // left piece [starts[a], start) kept with values[a], if >= 0
    let rightStart = -1; // right piece [end, ends[b - 1]) kept with values[b - 1], if >= 0
    let leftValue: T | undefined;
    let rightValue: T | undefined;
    let leftStart = 0;
    let rightEnd = 0;
    if (a < b && starts[a]! < start) {
      // A run straddles `start`: absorbed if equal, otherwise its head is kept.
      if (values[a] === value) ns = starts[a]!;
      else {
        leftStart = starts[a]!;
        leftEnd = start;
        leftValue = values[a];
      }
    } else if (a > 0 && ends[a - 1] === start && values[a - 1] === value) {
      // The run just before ends exactly at `start` with the same value: extend it.
      a--;
      ns = starts[a]!;
    }
    if (b > a && ends[b - 1]! > end) {
      // A run straddles `end`: absorbed if equal, otherwise its tail is kept.
      if (values[b - 1] === value) ne = ends[b - 1]!;
      else {
        rightStart = end;
        rightEnd = ends[b - 1]!;
        rightValue = values[b - 1];
      }
    } else if (b < n && starts[b] === end && values[b] === value) {
      // The run just after starts exactly at `end` with the same value: absorb it.
      ne = ends[b]!;
      b++;
    }
    const pieces = (leftEnd >= 0 ? 1 : 0) + 1 + (rightStart >= 0 ? 1 : 0);
    const removed = b - a;
    if (pieces > removed) {
      // Grow by (pieces - removed) slots at a (contents overwritten below).
      const grow = pieces - removed;
      if (a === n) {
        for (let g = 0; g < grow; g++) {
          starts.push(0);
          ends.push(0);
          values.push(value);
        }
      } else if (grow === 1) {
        starts.splice(a, 0, 0);
        ends.splice(a, 0, 0);
        values.splice(a, 0, value);
      } else {
        starts.splice(a, 0, 0, 0);
        ends.splice(a, 0, 0, 0);
        values.splice(a, 0, value, value);
      }
    } else if (pieces < removed) {
      const drop = removed - pieces;
      starts.splice(a + pieces, drop);
      ends.splice(a + pieces, drop);
      values.splice(a + pieces, drop);
    }
    let k = a;
    if (leftEnd >= 0) {
      starts[k] = leftStart;
      ends[k] = leftEnd;
      values[k] = leftValue as T;
      k++;
    }
    starts[k] = ns;
    ends[k] = ne;
    values[k] = value;
    k++;
    if (rightStart >= 0) {
      starts[k] = rightStart;
      ends[k] = rightEnd;
      values[k] = rightValue as T;
    }
  }

  /**
   * Index of the first run whose end is > `key`: the run holding `key`, or
   * the first run after it ({@link size} if none). With {@link runStart},
   * {@link runEnd} and {@link runValue} a caller walks the runs in key order
   * without the objects {@link pieces} builds.
   */
  indexAfter(key: number): number {
    return this.firstEndingAfter(key);
  }

  /** Start of run `i` (0 <= i < size). */
  runStart(i: number): number {
    return this.starts[i]!;
  }

  /** End (exclusive) of run `i`. */
  runEnd(i: number): number {
    return this.ends[i]!;
  }

  /** Value of run `i`. */
  runValue(i: number): T {
    return this.values[i]!;
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
