/**
 * A bad parameter in a notebook shows one clear line: the kernelspec's
 * preload (jupyter/kernels/tslab/model-errors.cjs) turns the thrown
 * ModelConfigError into a Jupyter error output
 * `ModelConfigError: <field>: got <value>, expected <allowed>`, with no Node
 * stack and no compiled JavaScript. Executed through the workbook's own
 * kernel client (scripts/workbook), which starts the kernel exactly as
 * kernel.json says.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { executeNotebook } from "../../scripts/workbook/notebook.js";
import { kernelArgv } from "../../scripts/workbook/kernel-client.js";

const root = resolve(__dirname, "..", "..");
const dir = join(root, "build", "test-model-errors");

function tinyNotebook(cells: string[]): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  symlinkSync(join(root, "lib"), join(dir, "lib"));
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
    cells: cells.map((src, i) => ({ id: `c${i}`, cell_type: "code", source: src, metadata: {}, outputs: [], execution_count: null })),
  };
  const path = join(dir, "bad-parameter.ipynb");
  writeFileSync(path, JSON.stringify(nb));
  return path;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("kernelspec", () => {
  it("kernel.json preloads model-errors.cjs before tslab", () => {
    const argv = kernelArgv(root, "/tmp/conn.json");
    expect(argv[0]).toBe("--require");
    expect(argv[1]).toBe(join(root, "jupyter", "kernels", "tslab", "model-errors.cjs"));
    expect(argv.slice(3)).toEqual(["kernel", "--config-path", "/tmp/conn.json"]);
  });
});

describe("a bad parameter in a live notebook", () => {
  it("is one ModelConfigError line naming the parameter, the value and the allowed range", async () => {
    // 1000 bytes is not a whole 4 KiB page: runIommuGaps checks each piece
    // with checkInt(`segments.${i}`, s, pageSize, 2 ** 31) before anything runs.
    const path = tinyNotebook([
      `// Parameters\nconst segments = [65536, 1000];`,
      `import { runIommuGapsReleases } from "./lib/scenarios/01-iommu-gaps.js";\n` +
        `runIommuGapsReleases({ segments: segments, granule: 4096, maxSegSize: null, segBoundaryMask: null, seed: 1 }, ["v4.4"]);`,
    ]);
    const run = await executeNotebook(path, root);
    expect(run.failure?.codeCell).toBe(2);
    const outs = run.executed.cells[1]!.outputs ?? [];
    const errors = outs.filter((o) => o.output_type === "error");
    expect(errors).toHaveLength(1);
    const e = errors[0]!;
    if (e.output_type !== "error") throw new Error("unreachable");
    expect(e.ename).toBe("ModelConfigError");
    expect(e.evalue).toBe("segments.1: got 1000, expected an integer in [4096, 0x80000000]");
    expect(e.traceback).toEqual([`ModelConfigError: ${e.evalue}`]);
    // no stack dump on stderr
    expect(outs.filter((o) => o.output_type === "stream" && o.name === "stderr")).toEqual([]);
    expect(run.failure!.errorText).toBe(`ModelConfigError: ${e.evalue}`);
  }, 90_000);

  it("a cell that does not compile is an error output with tslab's diagnostic", async () => {
    const path = tinyNotebook([`const n: number = "a";`]);
    const run = await executeNotebook(path, root);
    const outs = run.executed.cells[0]!.outputs ?? [];
    const e = outs.find((o) => o.output_type === "error");
    expect(e && e.output_type === "error" && e.ename).toBe("TSError");
    expect(e && e.output_type === "error" && e.evalue).toMatch(/^1:7 - Type 'string' is not assignable to type 'number'/);
  }, 90_000);
});
