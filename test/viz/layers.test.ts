/**
 * The front page's layer diagram: the boxes name files that exist, the
 * arrows come from the import statements (checked on a hand-made tree), and
 * the real lib/ has the arrows the kernel's structure implies.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { DMA_LAYERS, boxOfFile, edgeRoute, layerDiagramSpec, layerEdges, libImports, missingLayerFiles, type LayerBox } from "../../lib/viz/layers.js";
import { renderSvg } from "../../lib/viz/render.js";

const root = resolve(__dirname, "..", "..");

describe("DMA_LAYERS", () => {
  it("names only lib files that exist, each in one box", () => {
    expect(missingLayerFiles(DMA_LAYERS, root)).toEqual([]);
    const files = DMA_LAYERS.flatMap((b) => b.files);
    expect(new Set(files).size).toBe(files.length);
  });
  it("puts a file in the box naming it exactly before a box whose pattern matches it", () => {
    const boxes: LayerBox[] = [
      { id: "P", label: "P", row: 0, kernel: "", files: ["lib/dma/*.ts"] },
      { id: "E", label: "E", row: 1, kernel: "", files: ["lib/dma/swiotlb.ts"] },
    ];
    expect(boxOfFile(boxes, "lib/dma/swiotlb.ts")).toBe("E");
    expect(boxOfFile(boxes, "lib/dma/direct.ts")).toBe("P");
    // * stays inside one path component
    expect(boxOfFile(boxes, "lib/dma/arch/arm.ts")).toBeNull();
    expect(missingLayerFiles([{ id: "X", label: "X", row: 0, kernel: "", files: ["lib/dma/nothing*.ts", "lib/dma/direct*.ts"] }], root)).toEqual(["lib/dma/nothing*.ts"]);
  });
  it("has the layers of the kernel's DMA path, top to bottom", () => {
    const rowOf = (id: string) => DMA_LAYERS.find((b) => b.id === id)!.row;
    expect(rowOf("driver")).toBeLessThan(rowOf("dma-api"));
    for (const impl of ["dma-direct", "iommu-dma", "swiotlb"]) {
      expect(rowOf("dma-api")).toBeLessThan(rowOf(impl));
      expect(rowOf(impl)).toBeLessThan(rowOf("arch-cache"));
    }
    expect(rowOf("arch-cache")).toBeLessThan(rowOf("bus"));
    expect(rowOf("bus")).toBe(rowOf("iommu"));
    expect(rowOf("iommu")).toBeLessThan(rowOf("memory"));
  });
});

describe("libImports and layerEdges on a hand-made tree", () => {
  it("counts run-time imports and export-from, skips `import type`", () => {
    const dir = mkdtempSync(join(tmpdir(), "layers-"));
    try {
      const lib = join(dir, "lib");
      mkdirSync(join(lib, "a"), { recursive: true });
      mkdirSync(join(lib, "b"), { recursive: true });
      // a parser, not a pattern: the import inside a string and the one in a comment are text, the dynamic import() is real
      writeFileSync(
        join(lib, "a", "x.ts"),
        `import { f } from "../b/y.js";\nimport type { T } from "../b/z.js";\nexport { g } from "./w.js";\nexport type { U } from "../b/u.js";\n` +
          `const s = 'import { q } from "../b/q.js"';\n// import { r } from "../b/r.js";\nexport const lazy = () => import("../b/v.js");\n`,
      );
      for (const n of ["u", "q", "r", "v"]) writeFileSync(join(lib, "b", `${n}.ts`), `export type U = number;\n`);
      writeFileSync(join(lib, "a", "w.ts"), `export const g = 1;\n`);
      writeFileSync(join(lib, "b", "y.ts"), `export const f = 1;\n`);
      writeFileSync(join(lib, "b", "z.ts"), `export type T = number;\n`);
      const g = libImports(lib);
      expect(g.get("lib/a/x.ts")).toEqual(["lib/a/w.ts", "lib/b/v.ts", "lib/b/y.ts"]);
      expect(g.get("lib/b/z.ts")).toEqual([]);
      const boxes: LayerBox[] = [
        { id: "A", label: "A", row: 0, kernel: "", files: ["lib/a/x.ts", "lib/a/w.ts"] },
        { id: "B", label: "B", row: 1, kernel: "", files: ["lib/b/*.ts"] },
      ];
      // x -> w stays inside A; x -> y is the one arrow; the type import of z is none
      expect(layerEdges(boxes, g)).toEqual([{ from: "A", to: "B", via: ["lib/a/x.ts -> lib/b/v.ts", "lib/a/x.ts -> lib/b/y.ts"] }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the model's own arrows", () => {
  const edges = layerEdges(DMA_LAYERS, libImports(join(root, "lib")));
  const has = (from: string, to: string) => edges.some((e) => e.from === from && e.to === to);
  it("follow the kernel's calls", () => {
    // kernel/dma/mapping.c dispatches to dma-direct or to the IOMMU's ops
    expect(has("dma-api", "dma-direct")).toBe(true);
    expect(has("dma-api", "iommu-dma")).toBe(true);
    // dma_direct_map_phys() bounces through swiotlb_map()
    expect(has("dma-direct", "swiotlb")).toBe(true);
    // dma-direct does arch_sync_dma_for_{device,cpu}
    expect(has("dma-direct", "arch-cache")).toBe(true);
    // iommu-dma allocates IOVAs and maps them in the page tables
    expect(has("iommu-dma", "iommu")).toBe(true);
    // the driver calls the DMA API
    expect(has("driver", "dma-api")).toBe(true);
  });
  it("are routed by row: next row down, same row, skipping rows, or up (listed only)", () => {
    const e = (from: string, to: string) => ({ from: from, to: to, via: [] });
    expect(edgeRoute(DMA_LAYERS, e("driver", "dma-api"))).toBe("down");
    expect(edgeRoute(DMA_LAYERS, e("dma-direct", "swiotlb"))).toBe("row");
    expect(edgeRoute(DMA_LAYERS, e("dma-direct", "memory"))).toBe("gutter");
    expect(edgeRoute(DMA_LAYERS, e("swiotlb", "dma-api"))).toBe("up (not drawn)");
  });
  it("render to an SVG with every box title, and reject an unknown highlight", async () => {
    const svg = await renderSvg(layerDiagramSpec(DMA_LAYERS, edges, { highlight: "iommu-dma" }));
    for (const b of DMA_LAYERS) expect(svg).toContain(b.label.replace(/&/g, "&amp;"));
    expect(() => layerDiagramSpec(DMA_LAYERS, edges, { highlight: "nope" })).toThrow(/highlight: got "nope"/);
  });
});
