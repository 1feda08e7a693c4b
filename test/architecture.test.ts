/**
 * The dependency layers of lib/ (docs/layers.json, shown in
 * docs/ARCHITECTURE.md): every import of a lib/ file, type-only ones
 * included, runs down the layers or stays in its layer, and the units
 * (folders, or the parts of a folder that sit in two layers) import each
 * other without cycles.
 *
 * The import graph is read with the TypeScript compiler's parser
 * (node_modules/typescript, through lib/viz/layers.ts moduleRefs, which the
 * front page's diagram uses too): `import ... from`, `import type`,
 * `export ... from`, `import x = require(...)`, dynamic `import("...")`,
 * inline `import("...")` types and `declare module "..."` augmentations.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { moduleRefs, type ModuleRef } from "../lib/viz/layers.js";
import { describe, expect, it } from "vitest";

const ROOT = resolve(__dirname, "..");
const LIB = join(ROOT, "lib");

interface LayersFile {
  layers: Array<Record<string, string[]>>;
}
const LAYERS = (JSON.parse(readFileSync(join(ROOT, "docs/layers.json"), "utf8")) as LayersFile).layers;

/** unit name -> layer index, and (path prefix, unit) pairs, longest prefix first. */
const unitLayer = new Map<string, number>();
const prefixes: Array<[string, string]> = [];
LAYERS.forEach((layer, i) => {
  for (const [unit, paths] of Object.entries(layer)) {
    unitLayer.set(unit, i);
    for (const p of paths) prefixes.push([p, unit]);
  }
});
prefixes.sort((a, b) => b[0].length - a[0].length);

function unitOf(rel: string): string | null {
  for (const [p, u] of prefixes) if (p.endsWith("/") ? rel.startsWith(p) : rel === p) return u;
  return null;
}

function libFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...libFiles(full));
    else if (/\.(ts|cts)$/.test(name)) out.push(full);
  }
  return out.sort();
}

/** Every module specifier a file refers to, with how (the same reader as the front page's diagram). */
function specifiers(file: string): ModuleRef[] {
  return moduleRefs(file, readFileSync(file, "utf8"));
}

/** The lib/ file a relative specifier names (".js" -> ".ts", ".cjs" -> ".cts" declarations), or null for a package. */
function resolveSpec(from: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  const base = resolve(dirname(from), spec);
  const candidates = [base.replace(/\.js$/, ".ts"), base.replace(/\.cjs$/, ".d.cts"), base, `${base}.ts`, join(base, "index.ts")];
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) return c;
    } catch {
      // try the next form
    }
  }
  throw new Error(`${relative(ROOT, from)}: cannot resolve ${spec}`);
}

interface Edge {
  from: string;
  to: string;
  how: string;
}

const rel = (f: string) => relative(LIB, f).split(sep).join("/");

function importGraph(): Edge[] {
  const edges: Edge[] = [];
  for (const f of libFiles(LIB)) {
    for (const { spec, how } of specifiers(f)) {
      const to = resolveSpec(f, spec);
      if (to === null || !to.startsWith(LIB + sep)) continue;
      edges.push({ from: rel(f), to: rel(to), how });
    }
  }
  return edges;
}

/** A cycle in a directed graph given as adjacency sets, or null. */
function findCycle(adj: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const dfs = (u: string): string[] | null => {
    state.set(u, 1);
    stack.push(u);
    for (const v of [...(adj.get(u) ?? [])].sort()) {
      if (state.get(v) === 1) return [...stack.slice(stack.indexOf(v)), v];
      if (!state.has(v)) {
        const c = dfs(v);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(u, 2);
    return null;
  };
  for (const u of [...adj.keys()].sort()) {
    if (!state.has(u)) {
      const c = dfs(u);
      if (c) return c;
    }
  }
  return null;
}

/** The layer diagram docs/ARCHITECTURE.md shows, built from docs/layers.json (highest layer first). */
export function layerDiagram(): string {
  return LAYERS.map((layer, i) => `${String(i).padStart(2)}  ${Object.entries(layer).map(([u, ps]) => `${u} (${ps.join(", ")})`).join("  |  ")}`)
    .reverse()
    .join("\n");
}

describe("lib/ import graph (TypeScript parser)", () => {
  const edges = importGraph();

  it("the parser sees every kind of reference (sanity: the graph is not empty and holds type-only edges)", () => {
    // lib/dma/mapping.ts imports lib/core/errno.ts; lib/cache/host.ts has an `import type` of lib/core/trace.ts.
    expect(edges.some((e) => e.from === "dma/mapping.ts" && e.to === "core/errno.ts")).toBe(true);
    expect(edges.some((e) => e.from === "cache/host.ts" && e.to === "core/trace.ts" && e.how === "import type")).toBe(true);
  });

  it("every lib/ file belongs to a unit of docs/layers.json", () => {
    const orphans = libFiles(LIB).map(rel).filter((f) => unitOf(f) === null);
    expect(orphans).toEqual([]);
  });

  it("no import runs up the layers", () => {
    const up = edges
      .filter((e) => unitLayer.get(unitOf(e.from)!)! < unitLayer.get(unitOf(e.to)!)!)
      .map((e) => `${e.from} (${unitOf(e.from)}) -> ${e.to} (${unitOf(e.to)}) [${e.how}]`);
    expect(up).toEqual([]);
  });

  it("units of one layer are independent: none imports another (e.g. iommu-dma never imports dma-direct)", () => {
    const sideways = edges
      .filter((e) => unitOf(e.from) !== unitOf(e.to) && unitLayer.get(unitOf(e.from)!) === unitLayer.get(unitOf(e.to)!))
      .map((e) => `${e.from} (${unitOf(e.from)}) -> ${e.to} (${unitOf(e.to)}) [${e.how}]`);
    expect(sideways).toEqual([]);
  });

  it("no cycle between units (folders, or the parts of a folder in different layers)", () => {
    const adj = new Map<string, Set<string>>();
    for (const e of edges) {
      const a = unitOf(e.from)!;
      const b = unitOf(e.to)!;
      if (a === b) continue;
      if (!adj.has(a)) adj.set(a, new Set());
      adj.get(a)!.add(b);
    }
    expect(findCycle(adj)).toBeNull();
  });

  it("the cycle finder finds a planted cycle (honesty check of the check)", () => {
    const adj = new Map<string, Set<string>>([
      ["a", new Set(["b"])],
      ["b", new Set(["c"])],
      ["c", new Set(["a"])],
    ]);
    expect(findCycle(adj)).toEqual(["a", "b", "c", "a"]);
  });

  it("docs/ARCHITECTURE.md shows the layers exactly as docs/layers.json has them", () => {
    const doc = readFileSync(join(ROOT, "docs/ARCHITECTURE.md"), "utf8");
    expect(doc).toContain(layerDiagram());
  });
});
