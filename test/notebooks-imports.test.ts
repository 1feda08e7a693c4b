/**
 * Notebooks import the model through its public API only: every module a
 * notebook's code cells name (import and export declarations, `import type`,
 * `import("...")`, `require("...")`) is "./lib/index.js", the curated index
 * of lib/ (docs/ARCHITECTURE.md, "The public API"). Cells are read with the
 * TypeScript parser, not a regular expression.
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { cellSource, readNotebook } from "../scripts/workbook/notebook.js";

const root = resolve(__dirname, "..");
const nbDir = join(root, "notebooks");
const notebooks = readdirSync(nbDir).filter((f) => f.endsWith(".ipynb")).sort();
const PUBLIC_API = "./lib/index.js";

/** Every module specifier a TypeScript source names, in source order. */
function moduleSpecifiers(code: string): string[] {
  const sf = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) out.push(n.moduleSpecifier.text);
    else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference) && ts.isStringLiteral(n.moduleReference.expression)) out.push(n.moduleReference.expression.text);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) out.push(n.argument.literal.text);
    else if (ts.isCallExpression(n) && (n.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(n.expression) && n.expression.text === "require"))) {
      const a = n.arguments[0];
      out.push(a && ts.isStringLiteralLike(a) ? a.text : "<computed>");
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** The specifiers of a notebook's code cells that are not the public API, as "cell N: spec". */
function offending(cells: readonly string[]): string[] {
  return cells.flatMap((code, i) => moduleSpecifiers(code).filter((s) => s !== PUBLIC_API).map((s) => `cell ${i}: ${s}`));
}

describe("notebooks import from ./lib/index.js only", () => {
  it("the check sees every form of import (honesty check on planted cells)", () => {
    const planted = [
      'import { hex } from "./lib/core/arith.js";',
      'import type { VlSpec } from "./lib/viz/types.js";',
      'export { showChart } from "./lib/viz/display.js";',
      'const m = await import("./lib/platform/machine.js");',
      'const fs = require("node:fs");',
      'let t: import("./lib/core/trace.js").Trace;',
      'import { runTour, type TourResult } from "./lib/index.js";\nconst r: TourResult = runTour({});',
    ];
    expect(offending(planted)).toEqual([
      "cell 0: ./lib/core/arith.js",
      "cell 1: ./lib/viz/types.js",
      "cell 2: ./lib/viz/display.js",
      "cell 3: ./lib/platform/machine.js",
      "cell 4: node:fs",
      "cell 5: ./lib/core/trace.js",
    ]);
  });

  for (const f of notebooks) {
    it(`${f}: every import names ${PUBLIC_API}`, () => {
      const nb = readNotebook(join(nbDir, f));
      const code = nb.cells.filter((c) => c.cell_type === "code").map(cellSource);
      expect(offending(code)).toEqual([]);
    });
  }
});
