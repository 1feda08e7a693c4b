// npm test: strict typecheck with the project's TypeScript (not tslab's
// bundled one), a typecheck of lib/ with tslab's own compiler and options,
// then every vitest suite (unit, property, golden, and the
// execution of every notebook), then one closing line "N passed, N failed".
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";

const run = (cmd, args) => spawnSync(cmd, args, { stdio: "inherit" }).status ?? 1;

console.log("== typecheck (tsc -p ., strict)");
const tsc = run(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "."]);
if (tsc !== 0) console.log("typecheck FAILED");

console.log("== typecheck lib/ as tslab compiles it (TypeScript 5.0, not strict: tsconfig.tslab.json)");
const tslabTsc = run(process.execPath, ["node_modules/@tslab/typescript-for-tslab/bin/tsc", "-p", "tsconfig.tslab.json"]);
if (tslabTsc !== 0) console.log("tslab typecheck FAILED");

console.log("== vitest");
mkdirSync("build", { recursive: true });
const report = "build/vitest-report.json";
rmSync(report, { force: true });
const vitest = run(process.execPath, [
  "node_modules/vitest/vitest.mjs",
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
]);

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const r = JSON.parse(readFileSync(report, "utf8"));
  passed = r.numPassedTests;
  failed = r.numFailedTests;
  skipped = r.numPendingTests + r.numTodoTests;
  // A suite that failed to load has no tests but still failed.
  failed += (r.testResults ?? []).filter((s) => s.status === "failed" && (s.assertionResults ?? []).length === 0).length;
} catch {
  failed += 1;
}
if (tsc !== 0) failed += 1;
if (tslabTsc !== 0) failed += 1;
if (vitest !== 0 && failed === 0) failed = 1;
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 && tsc === 0 && tslabTsc === 0 && vitest === 0 ? 0 : 1);
