/**
 * The change registry holds (issue 8): every release switch in lib/ goes
 * through a registered change, and every registered change is read by some
 * switch. Read with the TypeScript parser over lib/.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import "../../lib/index.js";
import { BRACKET_FORMS, isWellFormedBracket, kernelChanges } from "../../lib/kernel/version.js";

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
  /** Every `defineChange({...})` literal: its file, id and bracket text (null when missing or not a plain string). */
  entries: Array<{ file: string; id: string; bracket: string | null }>;
}

function scan(): Scan {
  const declared = new Map<string, string>();
  const read = new Set<string>();
  const bare: string[] = [];
  const entries: Scan["entries"] = [];
  for (const f of files(LIB)) {
    const src = ts.createSourceFile(f, readFileSync(f, "utf8"), ts.ScriptTarget.ES2022, true);
    const visit = (n: ts.Node): void => {
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && ts.isCallExpression(n.initializer) && n.initializer.expression.getText(src) === "defineChange") {
        declared.set(n.name.text, relative(LIB, f));
      }
      if (ts.isCallExpression(n) && n.expression.getText(src) === "defineChange" && n.arguments[0] && ts.isObjectLiteralExpression(n.arguments[0])) {
        const prop = (name: string): ts.Expression | undefined => {
          const p = (n.arguments[0] as ts.ObjectLiteralExpression).properties.find((q) => ts.isPropertyAssignment(q) && q.name.getText(src) === name);
          return p && ts.isPropertyAssignment(p) ? p.initializer : undefined;
        };
        const text = (e: ts.Expression | undefined): string | null => (e && (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) ? e.text : null);
        entries.push({ file: relative(LIB, f), id: text(prop("id")) ?? "?", bracket: text(prop("bracket")) });
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
  return { declared, read, bare, entries };
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

describe("every registered change names its bracketing trees (issue 9)", () => {
  const s = scan();

  it("the bracket rule accepts the two forms and nothing else", () => {
    expect(isWellFormedBracket("absent in v5.14-rc5 (lsk-legends/linux-5.14, drivers/iommu/dma-iommu.c:iommu_dma_map_sg), present in v5.15.16 (yashlala/fastswap-linux-5.16.16, drivers/iommu/dma-iommu.c:iommu_dma_map_sg)")).toBe(true);
    expect(isWellFormedBracket("unbracketed: no readable tree before v4.4 holds the file")).toBe(true);
    for (const bad of [
      undefined,
      "",
      "v5.15",
      "absent in v5.14, present in v5.15", // no trees named
      "absent in v5.14 (lsk-legends/linux-5.14, kernel/dma/direct.c)", // no present side
      "present in v5.15.16 (yashlala/fastswap-linux-5.16.16, kernel/dma/direct.c), absent in v5.14-rc5 (lsk-legends/linux-5.14, kernel/dma/direct.c)",
      "absent in v5.14 (linux-5.14, kernel/dma/direct.c), present in v5.15 (linux-5.15, kernel/dma/direct.c)", // no owner/repo
      "unbracketed:",
      "unbracketed: unknown",
    ]) {
      expect([bad, isWellFormedBracket(bad)]).toEqual([bad, false]);
    }
    expect(BRACKET_FORMS.pair.source.startsWith("^absent in v")).toBe(true);
  });

  it("every defineChange literal in lib/ has a well-formed bracket (parser scan)", () => {
    expect(s.entries.length).toBeGreaterThan(70);
    const bad = s.entries.filter((e) => !isWellFormedBracket(e.bracket)).map((e) => `${e.file}: ${e.id}: ${e.bracket ?? "(no plain-string bracket)"}`);
    expect(bad).toEqual([]);
  });

  it("every change registered at run time (after importing lib/index.js) has a well-formed bracket", () => {
    const all = kernelChanges();
    expect(all.length).toBeGreaterThan(50);
    const bad = all.filter((c) => !isWellFormedBracket(c.bracket)).map((c) => `${c.id}: ${String(c.bracket)}`);
    expect(bad).toEqual([]);
  });

  it("a change's since lies inside its bracket: after the absent tree's release, at or before the present tree's", () => {
    const rel = (t: string): [number, number] => {
      const m = /v(\d+)\.(\d+)/.exec(t)!;
      return [Number(m[1]), Number(m[2])];
    };
    const cmp = (a: [number, number], b: [number, number]) => a[0] - b[0] || a[1] - b[1];
    const out: string[] = [];
    for (const c of kernelChanges()) {
      const m = /^absent in (v[\d.]+)(-rc\d+)?[^]*?, present in (v[\d.]+)(-rc\d+)?/.exec(c.bracket);
      if (!m) continue;
      const since = rel(c.since);
      const absent = rel(m[1]!);
      const present = rel(m[3]!);
      // A final or stable tree of release N without the change puts it after N. An -rc tree of N lacks late
      // fixes, so a change absent there may still be in N (swiotlb-map-copies-all-directions: absent in v5.17-rc5, v5.17).
      const absentOk = m[2] ? cmp(since, absent) >= 0 : cmp(since, absent) > 0;
      const presentOk = cmp(since, present) <= 0;
      if (!absentOk || !presentOk) out.push(`${c.id}: since ${c.since}, bracket ${m[1]}${m[2] ?? ""} .. ${m[3]}${m[4] ?? ""}`);
    }
    expect(out).toEqual([]);
  });
});
