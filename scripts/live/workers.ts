/// <reference lib="dom" />
/**
 * Web Workers for the live pages (issue 14): a live module hands long,
 * independent model runs to the page as task calls (LiveTasksStep in
 * lib/scenarios/live/types.ts, for example the twenty runs of notebook 04's
 * cost sweep), and the page runs them on several cores at once.
 *
 * The workers run the page script itself: scripts/live/bundle.ts wraps the
 * whole bundle in one named function (`__dmaLiveBundle`), whose source text
 * (Function.prototype.toString) becomes a Blob URL a Worker can start from,
 * which works from `file://` where a worker script file could not be loaded
 * (a `file://` page has an opaque origin). In a worker the page script
 * answers task messages instead of building a page ({@link serveTasks}).
 *
 * When there is no Worker, no bundle source (the runtime loaded some other
 * way), or a worker fails to start, the calls run in the page's own thread:
 * the same functions, the same results (the model is deterministic).
 */
import type { LiveTask, LiveTaskCall } from "../../lib/scenarios/live/types.js";

/** The bundle's wrapper function (scripts/live/bundle.ts banner), absent when the runtime was loaded unwrapped. */
declare const __dmaLiveBundle: (() => void) | undefined;

/** A task call as posted to a worker. */
interface TaskMessage {
  id: number;
  name: string;
  arg: unknown;
}

/** A worker's answer: the call's result, or the error it threw (name, message and the ModelConfigError field). */
type TaskReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: { name: string; message: string; field?: unknown } };

/** One queued call of a {@link TaskPool.run}. */
interface Job {
  msg: TaskMessage;
  /** The worker that must run it (warm-up calls go to every worker), or null for any. */
  slot: Slot | null;
  call: LiveTaskCall;
  stale: () => boolean;
  done(value: unknown): void;
  fail(e: unknown): void;
}

/** A started worker and the job it runs (null: idle). */
interface Slot {
  worker: Worker;
  job: Job | null;
  dead: boolean;
}

/** Thrown into a run's promise when a newer run made its remaining calls useless (the caller drops the run). */
export class StaleRun extends Error {
  constructor() {
    super("a newer change replaced this run");
    this.name = "StaleRun";
  }
}

/** Workers running live task calls. */
export interface TaskPool {
  /** Workers started (0: every call runs in the page's thread). */
  readonly size: number;
  /**
   * Queue the calls, heaviest first (`weight`), each to run on the next idle
   * worker (in this thread when there is none). `stale()` is asked before
   * each call starts: once true, the calls not started are dropped.
   * @returns one promise per call, in the order of `calls`, each settled on
   * its own: the call's result; a call dropped as stale rejects with
   * {@link StaleRun}, a call that threw with its error (rebuilt with its
   * name, message and ModelConfigError `field`).
   */
  start(calls: readonly LiveTaskCall[], stale?: () => boolean): Array<Promise<unknown>>;
  /**
   * Run every call on every worker (a warm-up: each worker compiles the
   * code the calls take); resolves when all are done, errors ignored.
   */
  warm(calls: readonly LiveTaskCall[]): Promise<void>;
}

/** An Error with the name, message and ModelConfigError `field` a worker sent. */
function rebuilt(e: { name: string; message: string; field?: unknown }): Error {
  const err = new Error(e.message) as Error & { field?: unknown };
  err.name = e.name;
  if (e.field !== undefined) err.field = e.field;
  return err;
}

/** The source a worker starts from: the bundle's wrapper called, or null when there is none. */
function bundleSource(): string | null {
  if (typeof __dmaLiveBundle !== "function") return null;
  return `(${__dmaLiveBundle.toString()})();`;
}

/**
 * Start `n` workers (1..16) running the page script, or none when workers
 * cannot be made here (then every call runs in this thread).
 */
export function createTaskPool(n: number): TaskPool {
  const slots: Slot[] = [];
  const src = typeof Worker === "function" && typeof Blob === "function" ? bundleSource() : null;
  if (src !== null) {
    let url: string | null = null;
    try {
      url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
      for (let i = 0; i < Math.max(1, Math.min(16, Math.floor(n))); i++) slots.push({ worker: new Worker(url), job: null, dead: false });
    } catch {
      for (const s of slots) s.worker.terminate();
      slots.length = 0;
    }
  }
  const queue: Job[] = [];
  let nextId = 0;
  /** A job for `call` with the next message id, bound to worker `slot` or to any (null). */
  const newJob = (call: LiveTaskCall, slot: Slot | null, stale: () => boolean, done: (v: unknown) => void, fail: (e: unknown) => void): Job => ({
    msg: { id: ++nextId, name: call.task.name, arg: call.arg },
    slot: slot,
    call: call,
    stale: stale,
    done: done,
    fail: fail,
  });

  /** Run a job in this thread (no worker, or its worker died). */
  const runHere = (job: Job) => {
    try {
      job.done((job.call.task.fn as (a: unknown) => unknown)(job.call.arg));
    } catch (e) {
      job.fail(e);
    }
  };
  /** Give idle workers the next jobs that are not stale. */
  const pump = () => {
    for (const s of slots) {
      if (s.dead || s.job !== null) continue;
      let job: Job | undefined;
      for (let i = 0; i < queue.length; ) {
        const q = queue[i]!;
        if (q.stale()) {
          queue.splice(i, 1);
          q.fail(new StaleRun());
        } else if (q.slot === null || q.slot === s) {
          queue.splice(i, 1);
          job = q;
          break;
        } else i++;
      }
      if (!job) continue;
      s.job = job;
      s.worker.postMessage(job.msg);
    }
  };
  for (const s of slots) {
    s.worker.onmessage = (e: MessageEvent<TaskReply>) => {
      const job = s.job;
      s.job = null;
      if (job && job.msg.id === e.data.id) {
        if (e.data.ok) job.done(e.data.value);
        else job.fail(rebuilt(e.data.error));
      }
      pump();
    };
    // a worker that cannot start (or dies): its job and, once every worker is dead, the queue run here
    s.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      s.dead = true;
      s.worker.terminate();
      const job = s.job;
      s.job = null;
      if (job) {
        if (job.slot === s) job.done(undefined);
        else runHere(job);
      }
      // its own warm-up calls are dropped; with no worker left, the queue runs here
      for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.slot === s) queue.splice(i, 1)[0]!.done(undefined);
      if (slots.every((x) => x.dead)) while (queue.length) runHere(queue.shift()!);
      else pump();
    };
  }

  return {
    get size() {
      return slots.filter((s) => !s.dead).length;
    },
    start(calls, stale = () => false) {
      const promises: Array<Promise<unknown>> = [];
      const jobs: Job[] = [];
      for (const call of calls) promises.push(new Promise<unknown>((resolve, reject) => jobs.push(newJob(call, null, stale, resolve, reject))));
      const order = jobs.map((_, i) => i).sort((a, b) => calls[b]!.weight - calls[a]!.weight || a - b);
      if (slots.every((s) => s.dead)) for (const i of order) runHere(jobs[i]!);
      else {
        for (const i of order) queue.push(jobs[i]!);
        pump();
      }
      return promises;
    },
    warm(calls) {
      const live = slots.filter((s) => !s.dead);
      if (live.length === 0 || calls.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        let left = live.length * calls.length;
        const one = () => {
          if (--left === 0) resolve();
        };
        for (const s of live) for (const call of calls) queue.push(newJob(call, s, () => false, one, one));
        pump();
      });
    },
  };
}

/**
 * In a worker: answer task messages ({ id, name, arg }) by running the task
 * of that name from `tasks` (LIVE_TASKS) and posting { id, ok, value } or
 * { id, ok: false, error }.
 */
export function serveTasks(tasks: Record<string, LiveTask<never, unknown>>): void {
  const scope = self as unknown as { onmessage: ((e: MessageEvent<TaskMessage>) => void) | null; postMessage(m: TaskReply): void };
  scope.onmessage = (e) => {
    const { id, name, arg } = e.data;
    try {
      const t = tasks[name];
      if (!t) throw new Error(`no live task named ${JSON.stringify(name)}`);
      scope.postMessage({ id: id, ok: true, value: (t.fn as (a: unknown) => unknown)(arg) });
    } catch (err) {
      const x = err as Error & { field?: unknown };
      const field = typeof x.field === "string" ? x.field : undefined;
      scope.postMessage({ id: id, ok: false, error: { name: String(x?.name ?? "Error"), message: String(x?.message ?? x), ...(field !== undefined ? { field } : {}) } });
    }
  };
}
