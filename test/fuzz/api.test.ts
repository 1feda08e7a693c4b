/**
 * Bad-input fuzzing of every public entry point in test/fuzz/entry-points.ts.
 *
 * For each entry and each listed argument, seeded fast-check samples of each
 * bad kind (negative, NaN, non-integer, above 2^53, wrong type, invalid
 * direction or attrs, parameter object of the wrong shape, misaligned) are
 * put in place of the valid argument on a freshly built machine. The call
 * must either return the kernel's error value (DMA_MAPPING_ERROR, NULL,
 * -errno, 0 segments) or throw ModelConfigError whose field names the
 * argument (KernelOops where the entry says the kernel crashes), and a
 * snapshot of the machine (allocators, pools, page tables, active mappings,
 * cache and memory contents; the trace aside) must be the same before and
 * after. Anything else is reported with the entry, argument and value.
 */
import { afterAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import fc from "fast-check";
import * as L from "../../lib/index.js";
import { ENTRIES, EXEMPT, PENDING, type Entry, type Kind } from "./entry-points.js";
import { snapshot } from "./snapshot.js";

const SEED = 20261203;
const PER_KIND = 3;

const VALUES: Record<Exclude<Kind, "misaligned">, fc.Arbitrary<unknown>> = {
  // -1 is DMA_MAPPING_ERROR, a valid dma_addr_t argument; other negatives are not
  neg: fc.oneof(fc.constantFrom(-2, -4096), fc.integer({ min: -(2 ** 52), max: -2 })),
  nan: fc.constant(NaN),
  frac: fc.oneof(fc.constantFrom(0.5, 4096.25), fc.double({ min: 0.001, max: 2 ** 40, noNaN: true }).filter((x) => !Number.isInteger(x))),
  huge: fc.oneof(fc.constantFrom(2 ** 53, 2 ** 64 - 1, Infinity), fc.integer({ min: 1, max: 2 ** 20 }).map((k) => 2 ** 53 + 2 * k)),
  type: fc.constantFrom<unknown>("4096", null, {}, true, [1], 4096n),
  dir: fc.constantFrom<unknown>(3, 4, -1, 0.5, NaN, "1", null),
  attrs: fc.constantFrom<unknown>(-1, NaN, 0.5, 2 ** 53, "0", null),
  obj: fc.constantFrom<unknown>(null, 42, "x", [], true),
};

const stats = { entries: 0, inputs: 0, clear: 0, kernelErr: 0, answers: 0, stateChanges: 0, foreign: 0 };
const problems: string[] = [];

function show(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : String(v);
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
}

function sample(kind: Kind, valid: unknown, entry: Entry, pos: number): unknown[] {
  if (kind === "misaligned") return entry.args.find((a) => a.pos === pos && a.misaligned)?.misaligned?.(valid) ?? [];
  return fc.sample(VALUES[kind], { seed: SEED + pos * 31 + kind.length, numRuns: kind === "nan" ? 1 : PER_KIND });
}

function runEntry(entry: Entry): void {
  const name = entry.fn.split("@")[0]!;
  const fn = (L as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
  if (typeof fn !== "function") { problems.push(`${entry.fn}: not a function exported from lib/index.ts`); return; }
  // the valid call works (so a rejection below is due to the bad value)
  { const b = entry.build(); fn(...b.args); }
  for (const spec of entry.args) {
    for (const kind of spec.kinds) {
      const proto = entry.build();
      for (const bad of sample(kind, proto.args[spec.pos], entry, spec.pos)) {
        const b = entry.shared ? proto : entry.build();
        const args = b.args.slice();
        if (spec.set) spec.set(args, bad);
        else args[spec.pos] = bad;
        const before = snapshot(b.root);
        stats.inputs++;
        const where = `${entry.fn}(${spec.name} = ${show(bad)} [${kind}])`;
        let outcome: "clear" | "kernelErr" | "answer" | "bad";
        try {
          const r = fn(...args);
          if (entry.err?.(r)) outcome = "kernelErr";
          else if (entry.anyReturn) outcome = "answer";
          else { outcome = "bad"; problems.push(`${where}: accepted, returned ${show(r)}`); stats.foreign++; }
        } catch (e) {
          if (e instanceof L.ModelConfigError && e.field.toLowerCase().includes(spec.name.toLowerCase())) outcome = "clear";
          else if (e instanceof L.KernelOops && entry.oops?.includes(kind)) outcome = "clear";
          else {
            outcome = "bad";
            stats.foreign++;
            problems.push(`${where}: ${e instanceof L.ModelConfigError ? `ModelConfigError not naming ${spec.name}: ` : ""}${String(e).split("\n")[0]}`);
          }
        }
        if (outcome === "clear") stats.clear++;
        if (outcome === "kernelErr") stats.kernelErr++;
        if (outcome === "answer") stats.answers++;
        if (outcome !== "bad" && snapshot(b.root) !== before) {
          stats.stateChanges++;
          problems.push(`${where}: ${outcome} but the machine changed`);
        }
      }
    }
  }
  stats.entries++;
}

describe("fuzz: every entry point rejects bad input cleanly", () => {
  it("the table covers every function exported from lib/index.ts", () => {
    const fns = Object.entries(L).filter(([, v]) => typeof v === "function").map(([k]) => k);
    const inTable = new Set(ENTRIES.map((e) => e.fn.split("@")[0]!));
    const missing = fns.filter((f) => !inTable.has(f) && !(f in EXEMPT) && !(f in PENDING));
    expect(missing, "exported functions neither in ENTRIES nor in EXEMPT (add them to test/fuzz/entry-points.ts)").toEqual([]);
    const twice = Object.keys(EXEMPT).filter((f) => inTable.has(f) || f in PENDING).concat(Object.keys(PENDING).filter((f) => inTable.has(f)));
    expect(twice, "functions listed in more than one of ENTRIES / EXEMPT / PENDING").toEqual([]);
    const stale = [...inTable, ...Object.keys(EXEMPT), ...Object.keys(PENDING)].filter((f) => !fns.includes(f));
    expect(stale, "table rows for functions lib/index.ts no longer exports").toEqual([]);
  });
  for (const entry of ENTRIES) {
    it(entry.fn, () => {
      const n = problems.length;
      runEntry(entry);
      expect(problems.slice(n)).toEqual([]);
    });
  }
  afterAll(() => {
    if (process.env["FUZZ_DUMP"]) writeFileSync(process.env["FUZZ_DUMP"], problems.join("\n"));
    console.log(`fuzz: ${stats.entries} entry points, ${stats.inputs} inputs, ${stats.clear} clear errors, ${stats.kernelErr} kernel error returns, ${stats.stateChanges} state changes, ${stats.foreign} foreign exceptions (${stats.answers} answers from predicates; ${Object.keys(PENDING).length} exports pending, ${Object.keys(EXEMPT).length} exempt)`);
  });
});
