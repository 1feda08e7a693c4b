/**
 * Notebook 06 live: what the code cells of
 * notebooks/06-what-does-a-mapping-cost.ipynb compute from its parameters
 * cell, as plain data for the HTML export's page script
 * (scripts/live/runtime.ts).
 *
 * The cells call the same builders as the notebook (runCase06 on the runs
 * of case06PlatformRuns, case06ReleaseRuns and case06IovaRuns;
 * case06SummaryText, case06CostChart, case06RunTable, case06ReleaseChart,
 * case06IovaChart, case06IovaTable, case06TlbTable, mapBenchmarkComparison
 * and its chart and table, dmaMapBenchmark and mapBenchmarkRunText,
 * case06CostFigureTable); test/pipeline/live-pages.test.ts checks that on
 * the notebook's parameters they give exactly the executed notebook's
 * outputs.
 *
 * Speed: a notebook run is about 30 runCase06 runs (tens to hundreds of ms
 * each, most of it the swiotlb bounces) and six dma_map_benchmark runs.
 * Each run is memoized on its exact parameters ({@link memoLast}; the
 * model is deterministic), the cells compute one run at a time with a step
 * between runs (LiveStep), and with `same` (the live page) a cell or output
 * whose parameters still have the notebook's values is kept as exported:
 * changing the platform re-runs the platform's runs only, a benchmark
 * parameter re-runs the reader's dma_map_benchmark only.
 */
import { z } from "zod";
import { ModelConfigError } from "../../core/errors.js";
import {
  CASE06_BENCH_MAX_LOOPS,
  CASE06_PARAMS,
  case06CostChart,
  case06CostFigureTable,
  case06IovaChart,
  case06IovaRuns,
  case06IovaTable,
  case06PlatformRuns,
  case06ReleaseChart,
  case06ReleaseRuns,
  case06RunTable,
  case06SummaryText,
  case06TlbChart,
  case06TlbTable,
  dmaMapBenchmark,
  MAP_BENCHMARK_PARAMS,
  mapBenchmarkComparison,
  mapBenchmarkComparisonChart,
  mapBenchmarkComparisonTable,
  mapBenchmarkRunText,
  runCase06,
  type Case06Base,
  type Case06Params,
  type Case06Result,
  type MapBenchmarkResult,
} from "../06-mapping-cost.js";
import { parseScenarioParams, zInt } from "../params.js";
import { chart, liveResult, md, memoLast, paramOfField, table, type LiveOutput, type LiveResult, type LiveStep, type SameAsNotebook } from "./types.js";

const S = CASE06_PARAMS.shape;
const B = MAP_BENCHMARK_PARAMS.shape;

/**
 * The parameters of notebook 06, named as in its parameters cell: the
 * workload runs' (platform, kernel, workload, ops, threads of
 * CASE06_PARAMS; ops capped at 4096 so a change re-runs in seconds, not
 * minutes: the notebook runs about 30 workloads) and the reader's
 * dma_map_benchmark run's (granule, threads, backend of
 * MAP_BENCHMARK_PARAMS, prefixed "bench").
 */
export const NOTEBOOK06_PARAMS = z
  .object({
    platform: S.platform,
    kernel: S.kernel,
    workload: S.workload,
    ops: zInt(1, 4096, "operations per run (the notebook runs about 30 workloads of this many)"),
    threads: S.threads.unwrap(),
    benchGranule: B.granule.unwrap(),
    benchThreads: B.threads.unwrap(),
    benchBackend: B.backend,
  })
  .strict();

/** Notebook 06's parameters (the variables of its parameters cell). */
export type Notebook06Params = z.infer<typeof NOTEBOOK06_PARAMS>;

/** Units of the number parameters, shown next to their controls. */
export const NOTEBOOK06_UNITS: Record<string, string> = { ops: "operations", threads: "CPUs", benchGranule: "pages per map", benchThreads: "threads" };

/** dma_map_benchmark's field names (MapBenchmarkParams) to the notebook's. */
const BENCH_FIELDS: Record<string, string> = { granule: "benchGranule", threads: "benchThreads", backend: "benchBackend" };

/** The notebook parameter a ModelConfigError from {@link notebook06Live} concerns, or null (dma_map_benchmark's errors are renamed to the bench parameters before they leave the module). */
export function notebook06ParamOf(field: string): string | null {
  return paramOfField(field, Object.keys(NOTEBOOK06_PARAMS.shape));
}

// The parameters each output reads (the live page keeps an exported output while they have the notebook's values).
const BASE_DEPS = ["kernel", "workload", "ops", "threads"];
const PLATFORM_DEPS = ["platform", ...BASE_DEPS];
const CMP_DEPS = ["kernel"];
const BENCH_DEPS = ["platform", "kernel", "benchGranule", "benchThreads", "benchBackend"];

const run06 = memoLast((p: Case06Params) => runCase06(p), 48);
const cmpOf = memoLast((kernel: string) => mapBenchmarkComparison(kernel), 2);
const benchOf = memoLast(
  (a: { platform: string; kernel: string; backend: string; threads: number; granule: number }) =>
    dmaMapBenchmark({ platform: a.platform, kernel: a.kernel, backend: a.backend, threads: a.threads, granule: a.granule, maxLoops: CASE06_BENCH_MAX_LOOPS }),
  8,
);

/** runCase06 on each of `params`, one run at a time (a step after each), in order. */
function* runAll(params: readonly Case06Params[]): Generator<undefined, Case06Result[]> {
  const out: Case06Result[] = [];
  for (const p of params) {
    out.push(run06(p));
    yield undefined;
  }
  return out;
}

/** The reader's dma_map_benchmark run; a ModelConfigError names the notebook's bench parameter. */
function benchRun(p: Notebook06Params): MapBenchmarkResult {
  try {
    return benchOf({ platform: p.platform, kernel: p.kernel, backend: p.benchBackend, threads: p.benchThreads, granule: p.benchGranule });
  } catch (e) {
    if (e instanceof ModelConfigError && e.field in BENCH_FIELDS) throw new ModelConfigError(BENCH_FIELDS[e.field]!, e.value, e.allowed);
    throw e;
  }
}

/**
 * Notebook 06's code cells after the parameters cell, one output list per
 * cell, computed one run at a time (an `undefined` step after each run).
 * With `same` (the live page), a cell or output whose parameters still
 * have the notebook's values is null and not computed.
 * @throws ModelConfigError naming the bad parameter, before the first cell
 *   (the reader's dma_map_benchmark run, whose own checks can reject the
 *   bench parameters, e.g. more threads than RAM holds buffers for, runs
 *   first).
 */
export function* notebook06Cells(params: Notebook06Params, same: SameAsNotebook = () => false): Generator<LiveStep> {
  parseScenarioParams(NOTEBOOK06_PARAMS, params, "notebook 06");
  const { platform, kernel, workload, ops, threads } = params;
  const base: Case06Base = { kernel: kernel, workload: workload, ops: ops, threads: threads };
  const keepBench = same(BENCH_DEPS);
  const bench = keepBench ? null : benchRun(params);
  // the summary of the chosen platform; the cost chart and the IOTLB table need every platform's runs
  const keepBase = same(BASE_DEPS);
  const all = case06PlatformRuns(base);
  const keepPlatform = same(PLATFORM_DEPS);
  const runs = keepPlatform ? [] : yield* runAll(keepBase ? all.filter((p) => p.platform === platform) : all);
  yield keepPlatform ? null : [md(case06SummaryText(runs, workload, platform, kernel))];
  if (keepBase) yield null;
  else {
    const c = case06CostChart(runs, workload, kernel);
    const t = case06RunTable(runs);
    yield [chart(c.spec, c.summary), table(t.rows, t.caption)];
  }
  // v5.4 against today, IOVA space over time: the chosen platform
  if (keepPlatform) yield null;
  else {
    const releaseRuns = yield* runAll(case06ReleaseRuns(base, platform));
    const c = case06ReleaseChart(releaseRuns, workload, platform, kernel);
    yield [chart(c.spec, c.summary)];
  }
  if (keepPlatform) yield null;
  else {
    const cases = case06IovaRuns(base, platform);
    const results = yield* runAll(cases.map((c) => c.params));
    const iovaRuns = cases.map((c, i) => ({ label: c.label, result: results[i]! }));
    const c = case06IovaChart(iovaRuns, workload, platform);
    const t = case06IovaTable(iovaRuns);
    yield [chart(c.spec, c.summary), table(t.rows, t.caption)];
  }
  if (keepBase) yield null;
  else {
    const c = case06TlbChart(runs, workload, kernel);
    const t = case06TlbTable(runs, workload, kernel);
    yield [chart(c.spec, c.summary), table(t.rows, t.caption)];
  }
  // dma_map_benchmark: the published comparison reads the release only
  if (same(CMP_DEPS) && keepBench) yield null;
  else {
    let cmpOut: Array<LiveOutput | null> = [null, null];
    if (!same(CMP_DEPS)) {
      const cmp = cmpOf(kernel);
      const c = mapBenchmarkComparisonChart(cmp, kernel);
      const t = mapBenchmarkComparisonTable(cmp);
      cmpOut = [chart(c.spec, c.summary), table(t.rows, t.caption)];
    }
    yield [...cmpOut, bench ? md(mapBenchmarkRunText(bench)) : null];
  }
  // the cost figures read no parameter
  if (same([])) yield null;
  else {
    const t = case06CostFigureTable();
    yield [table(t.rows, t.caption)];
  }
}

/**
 * Run notebook 06 on `params`: every code cell's outputs (see {@link notebook06Cells}).
 * @throws ModelConfigError naming the bad parameter (see {@link notebook06ParamOf}).
 */
export function notebook06Live(params: Notebook06Params): LiveResult {
  return liveResult(notebook06Cells(params));
}
