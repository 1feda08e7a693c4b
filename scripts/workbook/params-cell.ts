/**
 * Read a notebook's parameters cell (the code cell tagged `parameters`, or
 * the first code cell whose first line is `// Parameters`) with the
 * TypeScript compiler API: each `const name[: type] = literal;` becomes a
 * parameter with its value, its declared type and its trailing comment.
 * The notebook stays the source of truth for default values; the HTML
 * export turns these into form controls (scripts/live/runtime.ts).
 */
import ts from "typescript";
import { cellSource, type Notebook } from "./notebook.js";

/** A parameter value: what a literal in the parameters cell can be. */
export type ParamValue = number | string | boolean | null | ParamValue[] | { [key: string]: ParamValue };

/** One parameter of a notebook. */
export interface NotebookParam {
  /** The variable name, e.g. "iovaGranule". */
  name: string;
  /** Its value in the notebook. */
  value: ParamValue;
  /** The literal as written (e.g. "0xffffffff", "[65536, 16384, 65536]"). */
  source: string;
  /** The declared type as written (e.g. "number | null"), or null when none. */
  type: string | null;
  /** The comment after the declaration on its line, without `//`, or "". */
  comment: string;
  /** True when the declared type admits null. */
  nullable: boolean;
}

/** Thrown when the parameters cell holds something that is not `const name = literal`. */
export class ParamsCellError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParamsCellError";
  }
}

/** The index of the notebook's parameters cell, or -1. */
export function paramsCellIndex(nb: Notebook): number {
  return nb.cells.findIndex((c) => {
    if (c.cell_type !== "code") return false;
    const tags = (c.metadata["tags"] as string[] | undefined) ?? [];
    return tags.includes("parameters") || /^\s*\/\/\s*Parameters\b/.test(cellSource(c));
  });
}

function literal(e: ts.Expression, sf: ts.SourceFile): ParamValue {
  if (ts.isParenthesizedExpression(e)) return literal(e.expression, sf);
  if (ts.isAsExpression(e) || ts.isSatisfiesExpression(e)) return literal(e.expression, sf);
  if (ts.isNumericLiteral(e)) return Number(e.text);
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return e.text;
  if (e.kind === ts.SyntaxKind.NullKeyword) return null;
  if (e.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (e.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.MinusToken && ts.isNumericLiteral(e.operand)) return -Number(e.operand.text);
  if (ts.isArrayLiteralExpression(e)) return e.elements.map((x) => literal(x, sf));
  if (ts.isObjectLiteralExpression(e)) {
    const o: { [key: string]: ParamValue } = {};
    for (const p of e.properties) {
      if (!ts.isPropertyAssignment(p) || !(ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) throw new ParamsCellError(`not a literal property: ${p.getText(sf)}`);
      o[p.name.text] = literal(p.initializer, sf);
    }
    return o;
  }
  // constant arithmetic such as 4 * 1024 * 1024
  if (ts.isBinaryExpression(e)) {
    const a = literal(e.left, sf);
    const b = literal(e.right, sf);
    if (typeof a === "number" && typeof b === "number") {
      switch (e.operatorToken.kind) {
        case ts.SyntaxKind.AsteriskToken: return a * b;
        case ts.SyntaxKind.PlusToken: return a + b;
        case ts.SyntaxKind.MinusToken: return a - b;
        case ts.SyntaxKind.AsteriskAsteriskToken: return a ** b;
      }
    }
  }
  throw new ParamsCellError(`not a literal: ${e.getText(sf)}`);
}

/**
 * Parse the parameters cell source.
 * @throws ParamsCellError for a statement that is not `const name[: T] = literal`.
 */
export function parseParamsSource(src: string): NotebookParam[] {
  const sf = ts.createSourceFile("params.ts", src, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: NotebookParam[] = [];
  for (const st of sf.statements) {
    if (!ts.isVariableStatement(st)) throw new ParamsCellError(`the parameters cell holds a statement that is not a declaration: ${st.getText(sf)}`);
    for (const d of st.declarationList.declarations) {
      if (!ts.isIdentifier(d.name) || !d.initializer) throw new ParamsCellError(`expected name = value: ${d.getText(sf)}`);
      const comments = ts.getTrailingCommentRanges(src, st.end) ?? [];
      const comment = comments.map((r) => src.slice(r.pos, r.end).replace(/^\/\/\s?|^\/\*|\*\/$/g, "").trim()).join(" ");
      const type = d.type ? d.type.getText(sf) : null;
      const nullable = d.type ? (ts.isUnionTypeNode(d.type) ? d.type.types : [d.type]).some((t) => ts.isLiteralTypeNode(t) && t.literal.kind === ts.SyntaxKind.NullKeyword) : false;
      const value = literal(d.initializer, sf);
      out.push({ name: d.name.text, value: value, source: d.initializer.getText(sf), type: type, comment: comment, nullable: nullable || value === null });
    }
  }
  return out;
}

/** The parameters of a notebook, or null when it has no parameters cell. */
export function notebookParams(nb: Notebook): { cell: number; params: NotebookParam[] } | null {
  const i = paramsCellIndex(nb);
  if (i < 0) return null;
  return { cell: i, params: parseParamsSource(cellSource(nb.cells[i]!)) };
}
