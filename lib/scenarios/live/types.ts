/**
 * The shapes shared by the live modules (lib/scenarios/live/NN.ts): what a
 * notebook's code cells display, as plain data the HTML export's page script
 * (scripts/live/runtime.ts) renders, and the small helpers they share.
 */
import type { VlSpec } from "../../viz/types.js";

/** A table cell, as lib/viz/display.ts showTable takes it. */
export type LiveCell = string | number | boolean | null;

/** One output of a code cell, in the order the notebook displays them. */
export type LiveOutput =
  | { kind: "markdown"; md: string }
  | { kind: "table"; rows: Array<Record<string, LiveCell>>; caption: string }
  | { kind: "chart"; spec: VlSpec; summary: string };

/**
 * The outputs of one code cell. null (the whole cell, or one output) means
 * "as exported": the live page keeps the executed notebook's output, because
 * it depends only on parameters that still have the notebook's values (see
 * {@link SameAsNotebook}) or on none at all.
 */
export type LiveCellOutputs = Array<LiveOutput | null> | null;

/**
 * A model computation a live module may hand to its driver instead of
 * running it: the HTML page runs it in a Web Worker (scripts/live/workers.ts,
 * several at once on a machine with several cores), finding it by `name` in
 * the worker's copy of the page script (LIVE_TASKS in scripts/live/registry.ts);
 * any other driver runs `fn` in its own thread. `fn` must be a pure function of
 * its argument (the model is deterministic: a run in a worker gives the same
 * result), and the argument and the result plain data (numbers, strings,
 * booleans, null, arrays and objects of them: what postMessage copies).
 */
export interface LiveTask<A = never, R = unknown> {
  readonly name: string;
  readonly fn: (arg: A) => R;
}

/** Define a {@link LiveTask}; `name` must be unique among the live modules' tasks (scripts/live/registry.ts checks it). */
export function defineLiveTask<A, R>(name: string, fn: (arg: A) => R): LiveTask<A, R> {
  return { name: name, fn: fn };
}

/** One call of a task: its argument, and a rough relative cost (`weight`, any unit: the page starts the heaviest calls first). */
export interface LiveTaskCall {
  readonly task: LiveTask<never, unknown>;
  readonly arg: unknown;
  readonly weight: number;
}

/**
 * A step of task calls.
 * - kind "tasks": the driver runs the independent calls (in any order, in
 *   parallel if it can) and resumes the generator with their results, an
 *   array in the order of `calls`. A driver that resumes with anything else
 *   (a plain `for...of`) gets the calls run in the generator's thread
 *   ({@link runTasks}).
 * - kind "prefetch": a hint that a later "tasks" step will ask for these
 *   calls; a driver with workers may start them now, while the generator
 *   computes the cells before; it resumes the generator at once, with
 *   nothing ({@link prefetchTasks}). A driver may ignore it.
 */
export interface LiveTasksStep {
  readonly kind: "tasks" | "prefetch";
  readonly calls: readonly LiveTaskCall[];
}

/**
 * What a live module's cell generator yields: a cell's outputs, or
 * `undefined` between two steps of a long cell ("still working": the page
 * may paint, and drop the run when a newer change came in), or a
 * {@link LiveTasksStep} inside a long cell (work the page may run in
 * workers). The next LiveCellOutputs is always the same cell's.
 */
export type LiveStep = LiveCellOutputs | undefined | LiveTasksStep;

/** True for a {@link LiveTasksStep} of either kind (not a cell's outputs). */
export function isTasksStep(s: LiveStep): s is LiveTasksStep {
  return s !== undefined && s !== null && !Array.isArray(s) && (s.kind === "tasks" || s.kind === "prefetch");
}

/**
 * What a driver without workers resumes a tasks step with: for kind "tasks"
 * the calls run here, in order (the results as the step asks for them); for
 * a "prefetch", undefined (nothing is run ahead).
 * @throws what a task throws.
 */
export function runTasksHere(step: LiveTasksStep): unknown[] | undefined {
  if (step.kind === "prefetch") return undefined;
  return step.calls.map((c) => (c.task.fn as (a: unknown) => unknown)(c.arg));
}

/** The key a driver matches a prefetched call with: the task's name and the JSON of its argument. */
export function taskCallKey(c: LiveTaskCall): string {
  return `${c.task.name} ${JSON.stringify(c.arg)}`;
}

/** `yield* prefetchTasks(calls)`: tell the driver a later {@link runTasks} will ask for these calls (no calls: no step). */
export function* prefetchTasks(calls: readonly LiveTaskCall[]): Generator<LiveStep, void, unknown> {
  if (calls.length > 0) yield { kind: "prefetch", calls: calls };
}

/**
 * `yield* runTasks(calls)` inside a cell generator: the results of the calls,
 * in call order, as the driver computed them (the page's workers), or run
 * here when the driver resumed with no results of the right length. No
 * calls: no step.
 * @throws what a task throws (here, or as the driver rethrows it into the generator).
 */
export function* runTasks<R>(calls: readonly LiveTaskCall[]): Generator<LiveStep, R[], unknown> {
  if (calls.length === 0) return [];
  const step: LiveTasksStep = { kind: "tasks", calls: calls };
  const got: unknown = yield step;
  if (Array.isArray(got) && got.length === calls.length) return got as R[];
  return runTasksHere(step)! as R[];
}

/**
 * Asked by a live module before it computes an output: true when every
 * named parameter still has the notebook's value, so the executed output
 * can stay. Without it (Node, tests) everything is computed.
 */
export type SameAsNotebook = (names: readonly string[]) => boolean;

/**
 * What a notebook computes from its parameters.
 * - `cells`: the outputs of each code cell after the parameters cell, one
 *   array per code cell, in notebook order (a cell without output has [];
 *   null: the cell does not depend on the parameters, the page keeps the
 *   executed notebook's outputs);
 * - `charts`: every chart's vega-lite spec, in order;
 * - `texts`: every markdown output, in order.
 */
export interface LiveResult {
  cells: LiveCellOutputs[];
  charts: VlSpec[];
  texts: string[];
}

/** A markdown output (showMarkdown). */
export function md(text: string): LiveOutput {
  return { kind: "markdown", md: text };
}

/** A table output (showTable). */
export function table(rows: Array<Record<string, LiveCell>>, caption: string): LiveOutput {
  return { kind: "table", rows: rows, caption: caption };
}

/** A chart output (showChart). */
export function chart(spec: VlSpec, summary: string): LiveOutput {
  return { kind: "chart", spec: spec, summary: summary };
}

/** A LiveResult from the outputs of each code cell, in order (the `undefined` progress steps of a generator are dropped). */
export function liveResult(steps: Iterable<LiveStep>): LiveResult {
  const cells: LiveCellOutputs[] = [];
  // (a tasks step is resumed with nothing: the generator runs its calls itself)
  for (const c of steps) if (c !== undefined && !isTasksStep(c)) cells.push(c);
  const all = cells.flatMap((c) => c ?? []);
  return {
    cells: cells,
    charts: all.flatMap((o) => (o && o.kind === "chart" ? [o.spec] : [])),
    texts: all.flatMap((o) => (o && o.kind === "markdown" ? [o.md] : [])),
  };
}

/**
 * A memo of the last `size` results of `fn`, keyed by the JSON of its
 * argument: a live page re-runs a cell only when the parameters it reads
 * changed (the model is deterministic, so a cached result is the result).
 * The returned function throws what `fn` throws (nothing is cached then).
 */
export function memoLast<A, R>(fn: (a: A) => R, size = 4): (a: A) => R {
  const memo = new LastResults<A, R>(size);
  return (a: A) => {
    const got = memo.get(a);
    if (got !== undefined) return got.value;
    const v = fn(a);
    memo.put(a, v);
    return v;
  };
}

/**
 * The last `size` results put, keyed by the JSON of their argument (the
 * store of {@link memoLast}, for results computed elsewhere: a task run in a
 * worker). Putting a key again replaces its result.
 */
export class LastResults<A, R> {
  private readonly keys: string[] = [];
  private readonly vals: R[] = [];
  /** @param size results kept, a positive integer (the oldest put goes first). */
  constructor(private readonly size: number) {}
  /** The result put for `a` (boxed: a result may itself be undefined), or undefined. */
  get(a: A): { value: R } | undefined {
    const i = this.keys.indexOf(JSON.stringify(a));
    return i >= 0 ? { value: this.vals[i]! } : undefined;
  }
  /** Keep `v` as the result for `a`. */
  put(a: A, v: R): void {
    const k = JSON.stringify(a);
    const i = this.keys.indexOf(k);
    if (i >= 0) {
      this.keys.splice(i, 1);
      this.vals.splice(i, 1);
    }
    this.keys.push(k);
    this.vals.push(v);
    if (this.keys.length > this.size) {
      this.keys.shift();
      this.vals.shift();
    }
  }
}

/**
 * The notebook parameter a ModelConfigError's field names: its first path
 * element, mapped through `aliases` (scenario names to the notebook's),
 * else itself when it is one of `params`, else null.
 */
export function paramOfField(field: string, params: readonly string[], aliases: Record<string, string> = {}): string | null {
  const head = field.split(".")[0]!;
  if (head in aliases) return aliases[head]!;
  return params.includes(head) ? head : null;
}
