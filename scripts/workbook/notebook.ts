/**
 * Reading and executing nbformat 4 notebooks with the tslab kernel.
 */
import { readFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { KernelClient, type NbOutput } from "./kernel-client.js";

/** The parts of an nbformat 4 notebook this project uses. */
export interface Notebook {
  cells: NbCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

export interface NbCell {
  cell_type: "code" | "markdown" | "raw";
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: NbOutput[];
  execution_count?: number | null;
  id?: string;
}

/** Cell source as one string (nbformat allows a list of lines). */
export function cellSource(c: NbCell): string {
  return Array.isArray(c.source) ? c.source.join("") : c.source;
}

/**
 * Read and check a notebook file.
 * @throws Error naming the file when it is not nbformat 4 JSON.
 */
export function readNotebook(path: string): Notebook {
  const nb = JSON.parse(readFileSync(path, "utf8")) as Notebook;
  if (nb.nbformat !== 4 || !Array.isArray(nb.cells)) throw new Error(`${path}: not an nbformat 4 notebook`);
  return nb;
}

/** Progress callback: after each code cell. */
export type Progress = (e: { notebook: string; cell: number; cells: number; codeCell: number; codeCells: number; seconds: number; status: string }) => void;

/** The outcome of executing one notebook. */
export interface NotebookRun {
  notebook: string;
  /** An executed copy (the source file is never modified). */
  executed: Notebook;
  seconds: number;
  /** The first failing cell, if any: 1-based index among all cells, and the error text. */
  failure: { cell: number; codeCell: number; errorText: string; source: string } | null;
}

/**
 * Execute every code cell of a notebook in a fresh tslab kernel started in
 * the notebook's folder, stopping at the first failing cell (as nbconvert
 * does). The returned copy carries outputs and execution counts; cells after
 * a failure keep no outputs.
 */
export async function executeNotebook(path: string, repoRoot: string, opts: { cellTimeoutMs?: number; onProgress?: Progress } = {}): Promise<NotebookRun> {
  const nb = readNotebook(path);
  const executed: Notebook = JSON.parse(JSON.stringify(nb)) as Notebook;
  const name = basename(path);
  const t0 = Date.now();
  const kernel = await KernelClient.start(dirname(path), repoRoot);
  const codeCells = executed.cells.filter((c) => c.cell_type === "code").length;
  let codeCell = 0;
  let failure: NotebookRun["failure"] = null;
  try {
    for (let i = 0; i < executed.cells.length; i++) {
      const cell = executed.cells[i]!;
      if (cell.cell_type !== "code") continue;
      codeCell++;
      const src = cellSource(cell);
      const c0 = Date.now();
      const r = await kernel.execute(src, opts.cellTimeoutMs ?? 120_000);
      cell.outputs = r.outputs;
      cell.execution_count = r.executionCount;
      opts.onProgress?.({ notebook: name, cell: i + 1, cells: executed.cells.length, codeCell, codeCells, seconds: (Date.now() - c0) / 1000, status: r.status });
      if (r.status !== "ok") {
        failure = { cell: i + 1, codeCell, errorText: r.errorText, source: src };
        break;
      }
    }
  } finally {
    await kernel.shutdown();
  }
  return { notebook: name, executed, seconds: (Date.now() - t0) / 1000, failure };
}
