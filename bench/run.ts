/**
 * npm run bench: run every bench/*.bench.ts in turn, each in its own process
 * (so one benchmark's heap does not disturb the next), and print their
 * result lines. Benchmarks report ns/op and ratios measured within one run;
 * absolute numbers on a small, noisy machine are indicative only.
 *
 * Usage: npm run bench [-- iova cache]   (names filter by file stem prefix)
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const filters = process.argv.slice(2);
const files = readdirSync("bench")
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => !filters.length || filters.some((p) => f.startsWith(p)))
  .sort();
if (!files.length) {
  console.error(`no benchmarks match ${filters.join(", ") || "bench/*.bench.ts"}`);
  process.exit(2);
}
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f}`);
  const r = spawnSync(process.execPath, ["--expose-gc", "node_modules/tsx/dist/cli.mjs", join("bench", f)], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
