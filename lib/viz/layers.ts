/**
 * The layer diagram of the front page (notebooks/index.ipynb): the path a
 * DMA mapping takes in the kernel, driver -> DMA API -> dma-direct /
 * iommu-dma / swiotlb / per-device pool -> arch cache maintenance -> bus or
 * IOMMU -> memory, each box naming the kernel files it models and the lib/
 * files that model them.
 *
 * The arrows are not drawn by hand: {@link libImports} reads the import
 * statements of lib/ and {@link layerEdges} draws an arrow from box A to box
 * B when a lib file of A imports (at run time, not `import type`) a lib file
 * of B. So the picture is the model's own call structure, and a refactor
 * that moves a file shows up here (and in test/viz/layers.test.ts, which
 * checks that every named file exists).
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, posix, relative, sep } from "node:path";
import type { VlSpec } from "./types.js";

/** One box of the diagram. */
export interface LayerBox {
  /** Short id, e.g. "dma-direct". */
  id: string;
  /** Title shown in the box. */
  label: string;
  /** Row, 0 = top (the driver). */
  row: number;
  /** The kernel files the box stands for (one line of text). */
  kernel: string;
  /**
   * The lib/ files modelling it, repository-relative ("lib/dma/direct.ts"),
   * or patterns where `*` stands for any part of one file name
   * ("lib/dma/direct*.ts", "lib/mm/*.ts"), so files added later land in
   * their box. A file matched by an exact entry of one box and a pattern of
   * another belongs to the exact one.
   */
  files: string[];
}

/**
 * The layers as the model has them. Kernel file names are those of v6.19
 * (kernel/dma/*.c, drivers/iommu/*.c, arch/{arm64,arm,x86,parisc}); older
 * releases kept the same split from v5.0 (kernel/dma/ was created in v4.17
 * from lib/dma-*.c).
 */
export const DMA_LAYERS: readonly LayerBox[] = [
  {
    id: "driver",
    label: "Driver (DMA API client)",
    row: 0,
    kernel: "drivers/media/common/videobuf2, drivers/dma-buf, drivers/media/common/saa7146",
    files: ["lib/drivers/videobuf2-dma-contig.ts", "lib/drivers/dma-buf.ts", "lib/drivers/saa7146.ts"],
  },
  {
    id: "dma-api",
    label: "DMA API: dma_map_*, dma_alloc_*, dma_sync_*",
    row: 1,
    kernel: "kernel/dma/mapping.c, include/linux/dma-mapping.h, kernel/dma/debug.c",
    files: ["lib/dma/mapping.ts", "lib/dma/parms.ts", "lib/dma/debug.ts", "lib/dma/noncontiguous.ts"],
  },
  {
    id: "swiotlb",
    label: "swiotlb (bounce)",
    row: 2,
    kernel: "kernel/dma/swiotlb.c",
    files: ["lib/dma/swiotlb.ts"],
  },
  {
    id: "dma-direct",
    label: "dma-direct",
    row: 2,
    kernel: "kernel/dma/direct.c",
    files: ["lib/dma/direct*.ts"],
  },
  {
    id: "iommu-dma",
    label: "iommu-dma",
    row: 2,
    kernel: "drivers/iommu/dma-iommu.c",
    files: ["lib/iommu/dma-iommu*.ts"],
  },
  {
    id: "coherent-pool",
    label: "per-device coherent pool",
    row: 2,
    kernel: "kernel/dma/coherent.c",
    files: ["lib/dma/coherent.ts"],
  },
  {
    id: "arch-cache",
    label: "arch: cache maintenance (and 32-bit ARM's own DMA ops)",
    row: 3,
    kernel: "arch/arm64/mm/dma-mapping.c, arch/arm/mm/dma-mapping.c, arch/parisc/kernel/pci-dma.c (x86: none needed)",
    files: ["lib/dma/arch/*.ts", "lib/cache/maint.ts"],
  },
  {
    id: "bus",
    label: "bus: masks, dma-ranges, phys_to_dma",
    row: 4,
    kernel: "include/linux/dma-direct.h, struct device",
    files: ["lib/platform/device.ts"],
  },
  {
    id: "iommu",
    label: "IOMMU: IOVA allocator, page tables",
    row: 4,
    kernel: "drivers/iommu/iova.c, io-pgtable-arm.c",
    files: ["lib/iommu/iova.ts", "lib/iommu/io-pgtable.ts", "lib/iommu/domain.ts"],
  },
  {
    id: "memory",
    label: "memory: pages, linear map, vmalloc, CPU cache",
    row: 5,
    kernel: "mm/page_alloc.c, mm/vmalloc.c, mm/memremap.c",
    files: ["lib/mm/*.ts", "lib/cache/model.ts", "lib/cache/intervals.ts"],
  },
];

/** Repository-relative POSIX path ("lib/dma/direct.ts") -> the lib files it imports at run time. */
export type ImportGraph = Map<string, string[]>;

function walkTs(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walkTs(p, out);
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
  }
}

/** How a file refers to another module. */
export type ModuleRefHow =
  | "import"
  | "import type"
  | "export from"
  | "export type from"
  | "import = require"
  | "dynamic import()"
  | "inline import() type"
  | "declare module";

/** One module specifier in a source file, and how it is used. */
export interface ModuleRef {
  /** The specifier as written ("./x.js", "node:fs"). */
  spec: string;
  how: ModuleRefHow;
}

/** The few parts of the TypeScript compiler API this reader uses (typed here so lib/ does not need typescript's declarations). */
interface TsNode {
  kind: number;
}
interface TsApi {
  createSourceFile(name: string, text: string, target: number, setParents: boolean): TsNode;
  forEachChild(n: TsNode, f: (c: TsNode) => void): void;
  ScriptTarget: { Latest: number };
  SyntaxKind: { ImportKeyword: number };
  isImportDeclaration(n: TsNode): boolean;
  isExportDeclaration(n: TsNode): boolean;
  isImportEqualsDeclaration(n: TsNode): boolean;
  isExternalModuleReference(n: TsNode): boolean;
  isImportTypeNode(n: TsNode): boolean;
  isLiteralTypeNode(n: TsNode): boolean;
  isCallExpression(n: TsNode): boolean;
  isModuleDeclaration(n: TsNode): boolean;
  isStringLiteral(n: TsNode | undefined): boolean;
}
// Field access on nodes already narrowed by the is* tests above.
type AnyNode = TsNode & Record<string, any>;

let tsApi: TsApi | null = null;
/** The TypeScript compiler (the project's devDependency), loaded on first use. */
function typescript(): TsApi {
  if (!tsApi) tsApi = createRequire(join(process.cwd(), "noop.js"))("typescript") as TsApi;
  return tsApi;
}

/**
 * Every module specifier of one TypeScript source, read with the TypeScript
 * compiler's parser (not a regular expression): `import ... from`,
 * `import type`, `export ... from`, `export type ... from`,
 * `import x = require(...)`, dynamic `import("...")`, inline
 * `import("...")` types and `declare module "..."` blocks.
 * @param file the file name (for the parser's diagnostics only).
 * @param text its source text.
 * @returns the references in source order.
 * @throws Error when the typescript package cannot be loaded from the
 *   working directory's node_modules.
 */
export function moduleRefs(file: string, text: string): ModuleRef[] {
  const ts = typescript();
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: ModuleRef[] = [];
  const visit = (node: TsNode): void => {
    const n = node as AnyNode;
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      out.push({ spec: n.moduleSpecifier.text, how: n.importClause?.isTypeOnly ? "import type" : "import" });
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      out.push({ spec: n.moduleSpecifier.text, how: n.isTypeOnly ? "export type from" : "export from" });
    } else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference) && ts.isStringLiteral(n.moduleReference.expression)) {
      out.push({ spec: n.moduleReference.expression.text, how: "import = require" });
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      out.push({ spec: n.argument.literal.text, how: "inline import() type" });
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) {
      out.push({ spec: n.arguments[0].text, how: "dynamic import()" });
    } else if (ts.isModuleDeclaration(n) && ts.isStringLiteral(n.name)) {
      out.push({ spec: n.name.text, how: "declare module" });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Kinds of reference that load the other module at run time (type-only ones are erased by the compiler). */
export const RUN_TIME_REFS: readonly ModuleRefHow[] = ["import", "export from", "import = require", "dynamic import()"];

/**
 * Read every `.ts` file under `libDir` ({@link moduleRefs}) and list its
 * run-time imports of other lib files: `import ... from "./x.js"`,
 * `export ... from`, `require` and dynamic `import()`, but not
 * `import type` / `export type` / type positions (erased at compile time).
 * A named import whose names are all `type X` still counts (TypeScript 5.0
 * keeps such an import for its side effects only when
 * `verbatimModuleSyntax` is set, which tslab does not set; counting it errs
 * on the side of drawing an arrow).
 * @param libDir the lib/ folder; keys and values are relative to its parent
 *   ("lib/dma/direct.ts").
 * @throws Error from node:fs when `libDir` cannot be read, or from
 *   {@link moduleRefs} when typescript cannot be loaded.
 */
export function libImports(libDir: string): ImportGraph {
  const root = join(libDir, "..");
  const files: string[] = [];
  walkTs(libDir, files);
  const graph: ImportGraph = new Map();
  for (const f of files) {
    const rel = relative(root, f).split(sep).join("/");
    const deps = new Set<string>();
    for (const r of moduleRefs(f, readFileSync(f, "utf8"))) {
      if (!r.spec.startsWith(".") || !RUN_TIME_REFS.includes(r.how)) continue;
      const target = posix.normalize(posix.join(posix.dirname(rel), r.spec)).replace(/\.js$/, ".ts");
      if (target !== rel) deps.add(target);
    }
    graph.set(rel, Array.from(deps).sort());
  }
  return graph;
}

/** An arrow: some lib file of `from` imports some lib file of `to`. */
export interface LayerEdge {
  from: string;
  to: string;
  /** The imports that make the arrow, "lib/a.ts -> lib/b.ts". */
  via: string[];
}

function patternRe(entry: string): RegExp {
  const body = entry.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*");
  return new RegExp(`^${body}$`);
}

/**
 * The box each file belongs to: an exact entry wins over a pattern; among
 * patterns, the first box listing one.
 */
export function boxOfFile(layers: readonly LayerBox[], file: string): string | null {
  for (const b of layers) if (b.files.includes(file)) return b.id;
  for (const b of layers) if (b.files.some((f) => f.includes("*") && patternRe(f).test(file))) return b.id;
  return null;
}

/**
 * The arrows between boxes implied by an import graph. Imports inside one
 * box and imports of files no box names are left out.
 */
export function layerEdges(layers: readonly LayerBox[], graph: ImportGraph): LayerEdge[] {
  const edges = new Map<string, LayerEdge>();
  const files = Array.from(graph.keys()).sort();
  for (const f of files) {
    const from = boxOfFile(layers, f);
    if (!from) continue;
    for (const dep of graph.get(f) ?? []) {
      const to = boxOfFile(layers, dep);
      if (!to || to === from) continue;
      const key = `${from}>${to}`;
      const e = edges.get(key) ?? { from: from, to: to, via: [] };
      e.via.push(`${f} -> ${dep}`);
      edges.set(key, e);
    }
  }
  const order = new Map(layers.map((b, i) => [b.id, i] as [string, number]));
  return Array.from(edges.values()).sort((a, b) => order.get(a.from)! - order.get(b.from)! || order.get(a.to)! - order.get(b.to)!);
}

/**
 * Entries of the layers that name no file under `repoRoot`: an exact file
 * that does not exist, or a pattern that matches none (empty when the table
 * is current).
 */
export function missingLayerFiles(layers: readonly LayerBox[], repoRoot: string): string[] {
  return layers
    .flatMap((b) => b.files)
    .filter((f) => {
      if (!f.includes("*")) return !existsSync(join(repoRoot, f));
      const dir = posix.dirname(f);
      if (dir.includes("*") || !existsSync(join(repoRoot, dir))) return true;
      const re = patternRe(f);
      return !readdirSync(join(repoRoot, dir)).some((n) => re.test(`${dir}/${n}`));
    });
}

/** Geometry of the drawing, pixels. */
const W = 840; // width of the boxes' area
const GUTTER = 36; // left and right gutters for arrows that skip a layer
const ROW_GAP = 34;
const PAD = 8;
const TITLE_H = 18;
const LINE_H = 13;

interface Placed {
  box: LayerBox;
  x: number;
  y: number;
  w: number;
  h: number;
}

function place(layers: readonly LayerBox[]): { placed: Placed[]; height: number } {
  const rows = Array.from(new Set(layers.map((b) => b.row))).sort((a, b) => a - b);
  const placed: Placed[] = [];
  let y = 12;
  for (const r of rows) {
    const inRow = layers.filter((b) => b.row === r);
    const h = PAD + TITLE_H + LINE_H + Math.max(...inRow.map((b) => b.files.length)) * LINE_H + PAD;
    const gap = 12;
    const w = (W - gap * (inRow.length - 1)) / inRow.length;
    inRow.forEach((b, i) => placed.push({ box: b, x: GUTTER + i * (w + gap), y: y, w: w, h: h }));
    y += h + ROW_GAP;
  }
  return { placed: placed, height: y - ROW_GAP };
}

/** How an arrow is drawn: straight to the next row, beside or over a neighbour in its row, or round a gutter. */
export type EdgeRoute = "down" | "row" | "gutter" | "up (not drawn)";

/** Which way {@link layerDiagramSpec} draws an edge: arrows into a higher layer (callbacks into the DMA API's helpers) are listed, not drawn. */
export function edgeRoute(layers: readonly LayerBox[], e: LayerEdge): EdgeRoute {
  const a = layers.find((b) => b.id === e.from);
  const b = layers.find((x) => x.id === e.to);
  if (!a || !b) return "up (not drawn)";
  if (b.row < a.row) return "up (not drawn)";
  if (b.row === a.row) return "row";
  return b.row === a.row + 1 ? "down" : "gutter";
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * The vega-lite spec of the layer diagram: one box per layer (title, kernel
 * files, lib files) and an arrow from importer to imported. An arrow to the
 * next row goes straight down; within a row it goes side to side (or over
 * the boxes between); an arrow that skips a layer runs down a gutter beside
 * the boxes and enters its target from the side; an import of a higher
 * layer (a helper of the DMA API called back from below) is not drawn.
 * `highlight` (a box id) draws that box and its arrows in orange.
 * @throws Error when `highlight` names no box.
 */
export function layerDiagramSpec(layers: readonly LayerBox[], edges: readonly LayerEdge[], opts: { highlight?: string; title?: string } = {}): VlSpec {
  const hl = opts.highlight ?? "";
  if (hl && !layers.some((b) => b.id === hl)) {
    throw new Error(`highlight: got ${JSON.stringify(hl)}, expected one of ${layers.map((b) => b.id).join(", ")}`);
  }
  const { placed, height } = place(layers);
  const at = new Map(placed.map((p) => [p.box.id, p] as [string, Placed]));
  const boxes = placed.map((p) => ({ id: p.box.id, x: p.x, x2: p.x + p.w, y: p.y, y2: p.y + p.h, hl: p.box.id === hl }));
  const texts: Array<{ x: number; y: number; text: string; kind: string }> = [];
  for (const p of placed) {
    texts.push({ x: p.x + PAD, y: p.y + PAD + 12, text: p.box.label, kind: "title" });
    texts.push({ x: p.x + PAD, y: p.y + PAD + TITLE_H + 10, text: p.box.kernel, kind: "kernel" });
    p.box.files.forEach((f, i) => texts.push({ x: p.x + PAD, y: p.y + PAD + TITLE_H + LINE_H + 10 + i * LINE_H, text: f, kind: "file" }));
  }
  // Targets of gutter arrows get one lane each: left gutter if the target box
  // starts at the left edge and does not reach the right one, else right.
  const gutterTargets = Array.from(new Set(edges.filter((e) => edgeRoute(layers, e) === "gutter").map((e) => e.to)));
  const lane = new Map<string, { side: "left" | "right"; x: number; k: number }>();
  let nl = 0;
  let nr = 0;
  gutterTargets.forEach((t, k) => {
    const p = at.get(t)!;
    const left = p.x <= GUTTER + 1 && p.x + p.w < GUTTER + W - 1;
    lane.set(t, left ? { side: "left", x: GUTTER - 10 - 10 * nl++, k: k } : { side: "right", x: GUTTER + W + 10 + 10 * nr++, k: k });
  });
  const points: Array<{ edge: number; i: number; x: number; y: number; hl: boolean; from: string; to: string; imports: number }> = [];
  const heads: Array<{ x: number; y: number; hl: boolean; angle: number }> = [];
  edges.forEach((e, n) => {
    const route = edgeRoute(layers, e);
    if (route === "up (not drawn)") return;
    const a = at.get(e.from)!;
    const b = at.get(e.to)!;
    const on = e.from === hl || e.to === hl;
    const spread = ((n % 5) - 2) * 8;
    let path: Array<[number, number]>;
    if (route === "down") {
      const sx = clamp(b.x + b.w / 2, a.x + 16, a.x + a.w - 16) + spread;
      const ex = clamp(a.x + a.w / 2, b.x + 16, b.x + b.w - 16) + spread;
      path = [[sx, a.y + a.h], [ex, b.y]];
    } else if (route === "row") {
      const adjacent = !placed.some((p) => p.box.row === a.box.row && p.x > Math.min(a.x, b.x) && p.x < Math.max(a.x, b.x));
      if (adjacent) {
        const right = b.x > a.x;
        const yy = a.y + a.h / 2 + spread / 2;
        path = [[right ? a.x + a.w : a.x, yy], [right ? b.x : b.x + b.w, yy]];
      } else {
        const over = a.y - 8 - (n % 2) * 6;
        const sx = a.x + a.w / 2 + 20;
        const ex = b.x + b.w / 2 + 20;
        path = [[sx, a.y], [sx, over], [ex, over], [ex, b.y]];
      }
    } else {
      const l = lane.get(e.to)!;
      const gy = a.y + a.h + 8 + 9 * (l.k % 3);
      const sx = l.side === "right" ? a.x + a.w - 14 - 8 * l.k : a.x + 14 + 8 * l.k;
      const ey = b.y + b.h / 2 + 6 * (l.k % 3) - 6;
      path = [[sx, a.y + a.h], [sx, gy], [l.x, gy], [l.x, ey], [l.side === "right" ? b.x + b.w : b.x, ey]];
    }
    path.forEach(([x, y], i) => points.push({ edge: n, i: i, x: x, y: y, hl: on, from: e.from, to: e.to, imports: e.via.length }));
    const [x1, y1] = path[path.length - 2]!;
    const [x2, y2] = path[path.length - 1]!;
    // triangle-up rotated clockwise so that it points from (x1,y1) to (x2,y2), screen y down
    heads.push({ x: x2, y: y2, hl: on, angle: (Math.atan2(x2 - x1, y1 - y2) * 180) / Math.PI });
  });
  const total = W + 2 * GUTTER;
  const xs = { type: "quantitative", scale: { domain: [0, total] }, axis: null };
  const ys = { type: "quantitative", scale: { domain: [height, 0] }, axis: null };
  const color = (on: string, off: string) => ({ condition: { test: "datum.hl", value: on }, value: off });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: opts.title ?? "The layers a DMA mapping goes through, as lib/ models them",
    width: total,
    height: height,
    config: { view: { stroke: null }, title: { fontSize: 13, anchor: "start" } },
    layer: [
      {
        data: { values: points },
        mark: { type: "line", strokeWidth: 1.2, interpolate: "linear" },
        encoding: {
          x: { field: "x", ...xs },
          y: { field: "y", ...ys },
          detail: { field: "edge", type: "nominal" },
          order: { field: "i", type: "quantitative" },
          color: color("#e8730c", "#8a94a0"),
          tooltip: [{ field: "from" }, { field: "to" }, { field: "imports", type: "quantitative" }],
        },
      },
      {
        data: { values: heads },
        mark: { type: "point", shape: "triangle-up", filled: true, size: 36, opacity: 1 },
        encoding: {
          x: { field: "x", ...xs },
          y: { field: "y", ...ys },
          angle: { field: "angle", type: "quantitative", scale: null },
          color: color("#e8730c", "#8a94a0"),
        },
      },
      {
        data: { values: boxes },
        mark: { type: "rect", cornerRadius: 4, strokeWidth: 1.2 },
        encoding: {
          x: { field: "x", ...xs },
          x2: { field: "x2" },
          y: { field: "y", ...ys },
          y2: { field: "y2" },
          fill: color("#fff3e6", "#f4f7fb"),
          stroke: color("#e8730c", "#6b8bb5"),
        },
      },
      ...[
        { kind: "title", font: "sans-serif", fontSize: 12.5, fontWeight: "bold", color: "#1b1f23" },
        { kind: "kernel", font: "sans-serif", fontSize: 10.5, fontWeight: "normal", color: "#57606a" },
        { kind: "file", font: "monospace", fontSize: 10.5, fontWeight: "normal", color: "#1b1f23" },
      ].map((t) => ({
        data: { values: texts.filter((x) => x.kind === t.kind) },
        mark: { type: "text", align: "left", baseline: "alphabetic", font: t.font, fontSize: t.fontSize, fontWeight: t.fontWeight, color: t.color },
        encoding: {
          x: { field: "x", ...xs },
          y: { field: "y", ...ys },
          text: { field: "text" },
        },
      })),
    ],
  };
}
