/**
 * Notebook 04's cost sweep and its live page (issue 14: a parameter change
 * redraws every chart in under 1 s).
 *
 * 1. case04Sweep({ ramGiB: 8 }, [size], [strategy]) for every strategy of
 *    CASE04_STRATEGIES (the iommu one is skipped: VT-d is off) and sizes 1,
 *    4, 16 and 40 MiB, each on fresh machines, as the live page runs it (one
 *    run per step); two rounds, the second printed: wall and process CPU ms
 *    per run, and a checksum of the rows (SHA-256 of their JSON) that must not
 *    move when the model gets faster.
 * 2. notebook04Cells after a change of RAM (8 -> 12, 6 and 10 GiB in turn),
 *    with the page's rule for what to recompute (a computation whose
 *    parameters all have the notebook's values is kept): wall and CPU ms of
 *    the whole update, in Node (the page adds the charts' drawing).
 *
 * Usage: npx tsx bench/case04-sweep.bench.ts [rounds]
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { CASE04_STRATEGIES, case04Sweep, type Case04SweepRow } from "../lib/scenarios/04-dma32-vmalloc.js";
import { notebook04Cells } from "../lib/scenarios/live/04.js";
import { readNotebook } from "../scripts/workbook/notebook.js";
import { notebookParams } from "../scripts/workbook/params-cell.js";

const ROUNDS = Math.max(1, Number(process.argv[2] ?? 2));
const SIZES_MIB = [1, 4, 16, 40];

/** The first 12 hex digits of the SHA-256 of a string. */
function digest(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 12);
}

function cpuMs(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000;
}

// 1. the sweep, run by run
let lines: string[] = [];
let rows: Case04SweepRow[] = [];
let totalWall = 0;
let totalCpu = 0;
for (let round = 0; round < ROUNDS; round++) {
  lines = [];
  rows = [];
  totalWall = 0;
  totalCpu = 0;
  for (const s of CASE04_STRATEGIES) {
    if (s === "iommu") continue;
    const parts: string[] = [];
    for (const mib of SIZES_MIB) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      rows.push(...case04Sweep({ ramGiB: 8 }, [mib * 2 ** 20], [s]));
      const wall = performance.now() - t0;
      const cpu = cpuMs(process.cpuUsage(c0));
      totalWall += wall;
      totalCpu += cpu;
      parts.push(`${mib} MiB ${wall.toFixed(0)}/${cpu.toFixed(0)}`);
    }
    lines.push(`  ${s.padEnd(14)} ${parts.join(", ")}`);
  }
}
console.log(`case04Sweep, ramGiB 8, one run per strategy and size (round ${ROUNDS} of ${ROUNDS}; wall/CPU ms):`);
for (const l of lines) console.log(l);
console.log(`case04Sweep total: ${totalWall.toFixed(0)} ms wall, ${totalCpu.toFixed(0)} ms CPU; rows checksum ${digest(JSON.stringify(rows))} (${rows.length} rows)`);

// 2. a RAM change on the live page's computation
const nb = readNotebook(join("notebooks", "04-32bit-dma-and-vmalloc.ipynb"));
const found = notebookParams(nb);
if (!found) throw new Error("bench: notebook 04 has no parameters cell");
const defaults: Record<string, unknown> = Object.fromEntries(found.params.map((p) => [p.name, p.value]));
const updates: string[] = [];
for (const ram of [12, 6, 10]) {
  const params: Record<string, unknown> = { ...defaults, ramGiB: ram };
  const same = (names: readonly string[]) => names.every((n) => JSON.stringify(params[n]) === JSON.stringify(defaults[n]));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const step of notebook04Cells(params as unknown as Parameters<typeof notebook04Cells>[0], same)) void step;
  updates.push(`${ram} GiB ${(performance.now() - t0).toFixed(0)}/${cpuMs(process.cpuUsage(c0)).toFixed(0)}`);
}
console.log(`notebook 04, RAM changed from ${String(defaults["ramGiB"])} GiB (Node, wall/CPU ms per update; the first includes warm-up): ${updates.join(", ")}`);
