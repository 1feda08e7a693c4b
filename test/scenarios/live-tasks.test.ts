/**
 * Task calls of the live modules (lib/scenarios/live/types.ts): a generator
 * hands independent model runs to its driver (the HTML page runs them in Web
 * Workers, scripts/live/workers.ts); any other driver gets them run in the
 * generator's own thread, with the same results. Notebook 04's cost sweep is
 * the user: its runs are announced by a prefetch step before the first cell
 * and asked for by one tasks step, only the runs not memoized.
 */
import { describe, expect, it } from "vitest";
import { defineLiveTask, isTasksStep, LastResults, liveResult, prefetchTasks, runTasks, runTasksHere, taskCallKey, type LiveStep, type LiveTasksStep } from "../../lib/scenarios/live/types.js";
import { CASE04_SINGLE_RUN, CASE04_SWEEP_RUN, case04WarmCalls, case04BuffersOutputs, case04RunOutputs, notebook04Cells, notebook04Live, type Case04SweepRunArg, type Notebook04Params } from "../../lib/scenarios/live/04.js";
import { CASE04_DEFAULTS, case04Run, case04Sweep, case04SweepRow, type Case04Strategy } from "../../lib/scenarios/04-dma32-vmalloc.js";

const square = defineLiveTask("test-square", (x: number) => x * x);
const calls = [3, 4, 5].map((x) => ({ task: square, arg: x as never, weight: x }));

function* cell(): Generator<LiveStep, void, unknown> {
  yield* prefetchTasks(calls);
  const got = yield* runTasks<number>(calls);
  yield [{ kind: "markdown", md: got.join(",") }];
}

describe("runTasks and prefetchTasks", () => {
  it("a driver that resumes with nothing gets the calls run in the generator (9, 16, 25)", () => {
    expect(liveResult(cell()).texts).toEqual(["9,16,25"]);
  });

  it("a driver's results are used as given; results of the wrong length are ignored", () => {
    const it1 = cell();
    const pre = it1.next().value as LiveTasksStep;
    expect(pre.kind).toBe("prefetch");
    const ask = it1.next().value as LiveTasksStep;
    expect(ask.kind).toBe("tasks");
    expect(ask.calls.map(taskCallKey)).toEqual(pre.calls.map(taskCallKey));
    expect(it1.next([1, 2, 3]).value).toEqual([{ kind: "markdown", md: "1,2,3" }]);
    const it2 = cell();
    it2.next();
    it2.next();
    expect(it2.next([1]).value).toEqual([{ kind: "markdown", md: "9,16,25" }]);
  });

  it("no calls: no step", () => {
    expect([...prefetchTasks([])]).toEqual([]);
    const g = runTasks<number>([]);
    expect(g.next()).toEqual({ done: true, value: [] });
  });

  it("isTasksStep tells task steps from cells; runTasksHere runs a tasks step and not a prefetch", () => {
    expect([undefined, null, [], [null]].map((s) => isTasksStep(s as LiveStep))).toEqual([false, false, false, false]);
    expect(isTasksStep({ kind: "tasks", calls: calls })).toBe(true);
    expect(isTasksStep({ kind: "prefetch", calls: calls })).toBe(true);
    expect(runTasksHere({ kind: "tasks", calls: calls })).toEqual([9, 16, 25]);
    expect(runTasksHere({ kind: "prefetch", calls: calls })).toBeUndefined();
  });
});

describe("LastResults", () => {
  it("keeps the last `size` results by the JSON of their argument, the oldest put going first", () => {
    const m = new LastResults<{ a: number }, string>(2);
    m.put({ a: 1 }, "one");
    m.put({ a: 2 }, "two");
    expect(m.get({ a: 1 })).toEqual({ value: "one" });
    m.put({ a: 3 }, "three");
    expect(m.get({ a: 1 })).toBeUndefined();
    expect(m.get({ a: 2 })).toEqual({ value: "two" });
    // putting a key again replaces its result and makes it the newest
    m.put({ a: 2 }, "TWO");
    m.put({ a: 4 }, "four");
    expect(m.get({ a: 2 })).toEqual({ value: "TWO" });
    expect(m.get({ a: 3 })).toBeUndefined();
  });

  it("a result that is itself undefined is told from none", () => {
    const m = new LastResults<number, undefined>(1);
    m.put(1, undefined);
    expect(m.get(1)).toEqual({ value: undefined });
    expect(m.get(2)).toBeUndefined();
  });
});

describe("notebook 04's cost sweep as task calls", () => {
  // a quick sweep: one buffer per run on a 2 GiB machine
  const P: Notebook04Params = { ...CASE04_DEFAULTS, ramGiB: 2, buffers: 1, kernel: "v5.10", pgtableReleases: ["v5.13"] };

  function tasksSteps(params: Notebook04Params): LiveTasksStep[] {
    const out: LiveTasksStep[] = [];
    for (const s of notebook04Cells(params)) if (isTasksStep(s)) out.push(s);
    return out;
  }

  it("a prefetch step before the first cell announces the single run first, then exactly the runs the sweep's tasks step asks for; a second run asks for none (memoized)", () => {
    // the first step, before the first cell's outputs
    const first = notebook04Cells({ ...P, ramGiB: 3 }).next().value as LiveStep;
    expect(isTasksStep(first) && first.kind).toBe("prefetch");
    const steps = tasksSteps(P);
    expect(steps.map((s) => s.kind)).toEqual(["prefetch", "tasks", "tasks"]);
    const [ahead, single, sweep] = steps as [LiveTasksStep, LiveTasksStep, LiveTasksStep];
    // the single run: one call, the heaviest (the page's workers start it first)
    expect(single.calls.map((c) => c.task)).toEqual([CASE04_SINGLE_RUN]);
    expect(Math.max(...ahead.calls.map((c) => c.weight))).toBe(single.calls[0]!.weight);
    // 5 strategies (iommu skipped without VT-d) x 4 sizes in 4 tasks per size (vmalloc32 and zone-dma32 share
    // one: the same run on x86-64), but for the single run's (vmalloc, 4 MiB, unfragmented: its row comes from the single run)
    expect(sweep.calls.length).toBe(15);
    expect(sweep.calls.every((c) => c.task === CASE04_SWEEP_RUN)).toBe(true);
    const names = sweep.calls.map((c) => `${(c.arg as Case04SweepRunArg).strategies.join("+")} ${(c.arg as Case04SweepRunArg).size}`);
    expect(names).not.toContain(`vmalloc ${4 * 2 ** 20}`);
    expect(names).toContain(`vmalloc32+zone-dma32 ${4 * 2 ** 20}`);
    expect(names.filter((n) => n.includes("zone-dma32"))).toHaveLength(4);
    // the prefetch announced exactly the calls the two tasks steps ask for
    expect(ahead.calls.map(taskCallKey)).toEqual([...single.calls, ...sweep.calls].map(taskCallKey));
    // the same parameters again: the single run and every sweep run are memoized, no task step
    expect(tasksSteps(P)).toEqual([]);
  });

  it("the single run's task gives the outputs of case04Run", () => {
    const p = { ...CASE04_DEFAULTS, ramGiB: 4, buffers: 2, strategy: "zone-dma32" as const };
    const r = case04Run(p, { keepEvents: false });
    const got = CASE04_SINGLE_RUN.fn(p);
    expect(got.run).toEqual(case04RunOutputs(r, p));
    expect(got.buffers).toEqual(case04BuffersOutputs(r));
    expect(got.pool).toEqual({ swiotlbFull: r.swiotlbFull, swiotlbSlotsUsed: r.swiotlbSlotsUsed, swiotlbSlots: r.swiotlbSlots });
    // its rows: its own, and vmalloc32's (the same run on x86-64: the rows a run of each strategy gives)
    const twin = case04Run({ ...p, strategy: "vmalloc32" }, { keepEvents: false });
    expect(got.rows).toEqual([case04SweepRow(twin), case04SweepRow(r)]);
    // plain data: a worker's structured clone keeps it whole
    expect(structuredClone(got)).toEqual(got);
  });

  it("the sweep's row for the single run's strategy and size is the one case04Sweep computes", () => {
    for (const q of [{ ...P, ramGiB: 5 }, { ...P, ramGiB: 5, strategy: "zone-dma32" as const, bufferSize: 2 ** 20 }, { ...P, ramGiB: 5, strategy: "vmalloc32" as const, bufferSize: 16 * 2 ** 20 }]) {
      const live = notebook04Live(q);
      const { pgtableReleases: _releases, ...c } = q;
      const rows = case04Sweep({ ...c, fragmentFraction: 0 }, [1, 4, 16, 40].map((m) => m * 2 ** 20));
      // the sweep's folded table lists every run, in case04Sweep's order, with the single run's row in its place
      const table = live.cells.flatMap((c) => c ?? []).find((o) => o !== null && o.kind === "table" && /the sweep, run by run/.test(o.caption));
      expect(table).toBeDefined();
      expect((table as { rows: Array<Record<string, unknown>> }).rows.map((r) => [r.strategy, r.MiB, r["µs per frame"], r["MiB bounced per frame"]])).toEqual(
        rows.map((r) => [r.strategy, r.bufferMiB, r.costPerFrameUs, r.bouncedMiBPerFrame]),
      );
    }
  });

  it("the page's warm-up, run twice: one sweep task per group on the notebook's release, RAM, mask and pool: 6 x 16 MiB, 8 x 40 MiB for vmalloc, 6 x 4 MiB for noncontiguous", () => {
    const calls = case04WarmCalls({ ...P, kernel: "v6.19", ramGiB: 12, iommu: false });
    const groups = [["vmalloc"], ["vmalloc32", "zone-dma32"], ["noncontiguous"], ["dma_alloc_sg"]];
    expect(calls.map((c) => (c.arg as Case04SweepRunArg).strategies)).toEqual([...groups, ...groups]);
    for (const c of calls) {
      const a = c.arg as Case04SweepRunArg;
      expect(c.task).toBe(CASE04_SWEEP_RUN);
      const [size, buffers] = a.strategies[0] === "vmalloc" ? [40 * 2 ** 20, 8] : a.strategies[0] === "noncontiguous" ? [4 * 2 ** 20, 6] : [16 * 2 ** 20, 6];
      expect([a.size, a.base.buffers, a.base.kernel, a.base.ramGiB, a.base.fragmentFraction]).toEqual([size, buffers, "v6.19", 12, 0]);
    }
    // noncontiguous warms its success path: 4 MiB is the top buddy order dma-direct can give (16 MiB would fail at once)
    const nc = CASE04_SWEEP_RUN.fn(calls[2]!.arg as Case04SweepRunArg)[0]!;
    expect([nc.strategy, nc.ok]).toEqual(["noncontiguous", true]);
    expect(CASE04_SWEEP_RUN.fn({ ...(calls[2]!.arg as Case04SweepRunArg), size: 16 * 2 ** 20 })[0]!.ok).toBe(false);
    // the vmalloc call fills the notebook's 64 MiB pool: its first 40 MiB buffer fits, the next ones fail on a full pool
    const bounce = CASE04_SWEEP_RUN.fn(calls[0]!.arg as Case04SweepRunArg)[0]!;
    // 64 MiB / 2 KiB slots = 32768; the first buffer keeps 40 MiB / 2 KiB = 20480 (the failed ones are unmapped)
    expect([bounce.ok, bounce.swiotlbSlots, bounce.swiotlbSlotsUsed]).toEqual([false, 32768, 20480]);
    expect(bounce.reason).toMatch(/swiotlb buffer is full/);
    // behind VT-d the iommu strategy is warmed too, in vmalloc's task (the same run there)
    expect(case04WarmCalls({ ...P, iommu: true }).map((c) => (c.arg as Case04SweepRunArg).strategies)).toContainEqual(["vmalloc", "iommu"]);
  });

  it("behind VT-d one task per size runs vmalloc and iommu, and the swiotlb cell's sweep without VT-d is a tasks step of its own", () => {
    const steps = tasksSteps({ ...P, ramGiB: 7, iommu: true });
    expect(steps.map((s) => s.kind)).toEqual(["prefetch", "tasks", "tasks", "tasks"]);
    const names = (s: LiveTasksStep) => s.calls.map((c) => `${(c.arg as Case04SweepRunArg).base.iommu ? "vt-d " : ""}${(c.arg as Case04SweepRunArg).strategies.join("+")} ${(c.arg as Case04SweepRunArg).size / 2 ** 20}`);
    // 6 strategies x 4 sizes in 4 tasks per size (vmalloc+iommu, vmalloc32+zone-dma32), but for the single run's
    // (vmalloc, 4 MiB: its rows, vmalloc's and iommu's, come from the single run)
    expect(names(steps[2]!).sort()).toEqual(
      ["vmalloc+iommu", "vmalloc32+zone-dma32", "noncontiguous", "dma_alloc_sg"].flatMap((g) => [1, 4, 16, 40].map((m) => `vt-d ${g} ${m}`)).filter((n) => n !== "vt-d vmalloc+iommu 4").sort(),
    );
    // the bounce figures come from vmalloc without VT-d, all four sizes
    expect(names(steps[3]!)).toEqual([1, 4, 16, 40].map((m) => `vmalloc ${m}`));
  });

  it("a fragmented single run is not a sweep run: all 16 tasks run", () => {
    const steps = tasksSteps({ ...P, ramGiB: 6, fragmentFraction: 0.2 });
    expect(steps[2]!.calls.length).toBe(16);
  });

  it("a task gives the rows a run of each of its strategies gives for that size", () => {
    const base = { ...CASE04_DEFAULTS, ramGiB: 4, buffers: 2 };
    const arg = { base: base, strategies: ["vmalloc32", "zone-dma32"] as Case04Strategy[], size: 2 ** 20 };
    const own = (s: Case04Strategy) => case04SweepRow(case04Run({ ...base, strategy: s, bufferSize: arg.size }, { keepEvents: false }));
    expect(CASE04_SWEEP_RUN.fn(arg)).toEqual([own("vmalloc32"), own("zone-dma32")]);
    expect(CASE04_SWEEP_RUN.fn({ ...arg, strategies: ["vmalloc"] })).toEqual([own("vmalloc")]);
  });
});
