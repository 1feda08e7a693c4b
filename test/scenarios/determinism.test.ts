/**
 * Determinism: the same inputs give the same outputs whatever ran before and
 * in whichever process. Every id and counter lives on the machine
 * (lib/platform/machine.ts MachineCounters: the dma-buf inode numbers of
 * v6.19 drivers/dma-buf/dma-buf.c dma_buf_getfile start at 1 per boot), so a
 * case run on a fresh machine cannot see an earlier run.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { runCase02, type Case02Params, type Case02Result } from "../../lib/scenarios/02-coherent-no-page.js";

const A: Case02Params = { board: "uniphier-pxs3", kernel: "v6.19", variant: "baseline" };
const B: Case02Params = { board: "exynos5422-odroidxu4", kernel: "v5.4", variant: "baseline" };

/** Everything a caller reads, without the machine object itself (its counters are kept). */
function view(r: Case02Result): unknown {
  const { machine, ...rest } = r;
  return JSON.parse(JSON.stringify({ ...rest, counters: machine.counters }));
}

describe("runCase02 is deterministic", () => {
  it("A then B equals B then A equals A, A (deep-equal results)", () => {
    const a1 = view(runCase02(A));
    const b1 = view(runCase02(B));
    const b2 = view(runCase02(B));
    const a2 = view(runCase02(A));
    const a3 = view(runCase02(A));
    expect(a2).toEqual(a1);
    expect(a3).toEqual(a1);
    expect(b2).toEqual(b1);
  });
  it("the first dma-buf of each run is inode 1 (a per-boot counter)", () => {
    runCase02(A);
    const r = runCase02(A);
    const ids = r.events.filter((e) => e.kind === "dmabuf_attach").map((e) => e.data["id"]);
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids)).toEqual(new Set([1]));
  });
  it("a fresh process gives the same result as this one", () => {
    runCase02(B); // something else first in this process
    const here = view(runCase02(A));
    const code = `import { runCase02 } from "./lib/scenarios/02-coherent-no-page.ts";
const { machine, ...rest } = runCase02(${JSON.stringify(A)});
process.stdout.write(JSON.stringify({ ...rest, counters: machine.counters }));`;
    const out = execFileSync(process.execPath, ["node_modules/tsx/dist/cli.mjs", "--eval", code], { encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
    expect(JSON.parse(out)).toEqual(here);
  }, 30000);
});
