/**
 * The change registry holds (issue 8): every release switch in lib/ goes
 * through a registered change, and every registered change is read by some
 * switch. Read with the TypeScript parser over lib/.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

const LIB = join(__dirname, "../../lib");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

interface Scan {
  /** Identifiers declared as `const X = defineChange(...)`, with their file. */
  declared: Map<string, string>;
  /** Identifiers passed as a call argument or used as a `change:` property value (reads). */
  read: Set<string>;
  /** `atLeast`/`inForce` calls whose change argument is a string or number literal. */
  bare: string[];
}

function scan(): Scan {
  const declared = new Map<string, string>();
  const read = new Set<string>();
  const bare: string[] = [];
  for (const f of files(LIB)) {
    const src = ts.createSourceFile(f, readFileSync(f, "utf8"), ts.ScriptTarget.ES2022, true);
    const visit = (n: ts.Node): void => {
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && ts.isCallExpression(n.initializer) && n.initializer.expression.getText(src) === "defineChange") {
        declared.set(n.name.text, relative(LIB, f));
      }
      if (ts.isCallExpression(n)) {
        const callee = n.expression.getText(src);
        for (const a of n.arguments) if (ts.isIdentifier(a)) read.add(a.text);
        if ((callee === "atLeast" || callee === "inForce") && n.arguments[1] && (ts.isStringLiteral(n.arguments[1]) || ts.isNumericLiteral(n.arguments[1]) || ts.isTemplateExpression(n.arguments[1]))) {
          bare.push(`${relative(LIB, f)}: ${n.getText(src)}`);
        }
      }
      if (ts.isPropertyAssignment(n) && n.name.getText(src) === "change" && ts.isIdentifier(n.initializer)) read.add(n.initializer.text);
      ts.forEachChild(n, visit);
    };
    visit(src);
  }
  return { declared, read, bare };
}

describe("the change registry (lib/kernel/version.ts)", () => {
  const s = scan();

  it("the scan sees the registry (sanity: many changes declared, a known one read)", () => {
    expect(s.declared.size).toBeGreaterThan(40);
    expect(s.declared.get("CHANGE_MAP_SG_ERRNO")).toBe("kernel/api-changes.ts");
    expect(s.read.has("CHANGE_MAP_SG_ERRNO")).toBe(true);
  });

  it("no release switch takes a bare release string", () => {
    expect(s.bare).toEqual([]);
  });

  it("every registered change is read by a switch (a change no code reads is an error)", () => {
    const unread = [...s.declared].filter(([id]) => !s.read.has(id)).map(([id, f]) => `${f}: ${id}`);
    expect(unread).toEqual([]);
  });
});
