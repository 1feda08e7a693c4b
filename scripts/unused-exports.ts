/**
 * List the exports of lib/ modules that no other file uses: not lib/, test/,
 * bench/, scripts/, vitest.config.ts, nor a code cell of notebooks/*.ipynb
 * (compiled as virtual files at the repository root, so `./lib/...` resolves).
 * A re-export (`export * from`, `export { x } from`, the lib/ index files) is
 * not a use. Read with the TypeScript compiler API (symbols, not text).
 *
 * Usage: npx tsx scripts/unused-exports.ts
 * Output, one line per export: file, name, value|type, "local" (used in its
 * own module only) or "UNUSED" (used nowhere), "index" (re-exported by
 * lib/index.ts, the public API) or "-".
 */
import { readFileSync, readdirSync, realpathSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";

const root = resolve(import.meta.dirname, "..");
const real = (f: string): string => {
  try {
    return realpathSync(f);
  } catch {
    return f;
  }
};

const cfg = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
if (!cfg) throw new Error("tsconfig.json: cannot read");

// Notebook code cells as virtual TypeScript files.
const virt = new Map<string, string>();
for (const f of readdirSync(join(root, "notebooks")).filter((x) => x.endsWith(".ipynb"))) {
  const nb = JSON.parse(readFileSync(join(root, "notebooks", f), "utf8")) as { cells: Array<{ cell_type: string; source: string | string[] }> };
  const code = nb.cells
    .filter((c) => c.cell_type === "code")
    .map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source))
    .join("\n;\n");
  virt.set(join(root, `__nb_${f.replace(/\.ipynb$/, "")}.ts`), `${code}\nexport {};\n`);
}
const host = ts.createCompilerHost(cfg.options);
const getSourceFile = host.getSourceFile.bind(host);
const fileExists = host.fileExists.bind(host);
const readFile = host.readFile.bind(host);
host.getSourceFile = (fn, lv, ...rest) => {
  const text = virt.get(fn);
  return text !== undefined ? ts.createSourceFile(fn, text, lv, true) : getSourceFile(fn, lv, ...rest);
};
host.fileExists = (fn) => virt.has(fn) || fileExists(fn);
host.readFile = (fn) => virt.get(fn) ?? readFile(fn);
const prog = ts.createProgram([...cfg.fileNames, ...virt.keys()], cfg.options, host);
const checker = prog.getTypeChecker();
const target = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);

interface Row {
  file: string;
  name: string;
  isType: boolean;
  local: number;
  others: Set<string>;
  pub: boolean;
}
const isLibModule = (f: string): boolean => f.startsWith(join(root, "lib") + "/") && !/\/index\.ts$/.test(f) && /\.c?ts$/.test(f) && !f.endsWith(".d.cts");
const rows = new Map<ts.Symbol, Row>();
for (const sf of prog.getSourceFiles()) {
  const fn = real(sf.fileName);
  if (!isLibModule(fn)) continue;
  const ms = checker.getSymbolAtLocation(sf);
  if (!ms) continue;
  for (const s of checker.getExportsOfModule(ms)) {
    const t = target(s);
    const decl = t.declarations?.[0];
    if (!decl || real(decl.getSourceFile().fileName) !== fn) continue; // a re-export of another module
    rows.set(t, { file: relative(root, fn), name: s.name, isType: (t.flags & ts.SymbolFlags.Value) === 0, local: 0, others: new Set(), pub: false });
  }
}

// The public API: everything lib/index.ts exports.
const index = prog.getSourceFile(join(root, "lib/index.ts"));
const indexSym = index && checker.getSymbolAtLocation(index);
if (indexSym) for (const s of checker.getExportsOfModule(indexSym)) {
  const r = rows.get(target(s));
  if (r) r.pub = true;
}

const inExportDeclaration = (n: ts.Node): boolean => {
  for (let p = n.parent; p; p = p.parent) {
    if (ts.isExportDeclaration(p)) return true;
    if (ts.isStatement(p)) return false;
  }
  return false;
};
for (const sf of prog.getSourceFiles()) {
  const fn = real(sf.fileName);
  if (fn.includes("/node_modules/")) continue;
  const rel = relative(root, fn);
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n) && !inExportDeclaration(n)) {
      let s = checker.getSymbolAtLocation(n);
      if (n.parent && ts.isShorthandPropertyAssignment(n.parent)) s = checker.getShorthandAssignmentValueSymbol(n.parent) ?? s;
      const r = s && rows.get(target(s));
      const p = n.parent;
      const isDeclName = s !== undefined && (s.declarations ?? []).some((d) => (d as ts.NamedDeclaration).name === n);
      const isImport = p !== undefined && (ts.isImportSpecifier(p) || ts.isImportClause(p) || ts.isNamespaceImport(p));
      if (r && !isDeclName && !isImport) {
        if (rel === r.file) r.local++;
        else r.others.add(rel);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}

const out = [...rows.values()].filter((r) => r.others.size === 0).sort((a, b) => (a.file + "\0" + a.name).localeCompare(b.file + "\0" + b.name));
for (const r of out) console.log([r.file, r.name, r.isType ? "type" : "value", r.local > 0 ? "local" : "UNUSED", r.pub ? "index" : "-"].join("\t"));
console.error(`${out.length} of ${rows.size} exports of lib/ modules are used by no other file`);
