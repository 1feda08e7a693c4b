/**
 * The HTML export: the front page comes first, teasers are rendered
 * markdown cut at a sentence or word boundary, links between notebooks point
 * at the exported pages, and detail tables are folded (docs/CONVENTIONS.md,
 * "Folded output").
 */
import { describe, expect, it } from "vitest";
import { cutText, indexHtml, linkHtml, notebookList, notebookToHtml, workbookOrder } from "../../scripts/workbook/export-html.js";
import type { Notebook } from "../../scripts/workbook/notebook.js";

describe("workbookOrder", () => {
  it("puts index.ipynb first, then the notebooks by name", () => {
    expect(workbookOrder(["01-b.ipynb", "index.ipynb", "00-a.ipynb"])).toEqual(["index.ipynb", "00-a.ipynb", "01-b.ipynb"]);
    expect(workbookOrder(["01-b.ipynb", "00-a.ipynb"])).toEqual(["00-a.ipynb", "01-b.ipynb"]);
  });
});

describe("cutText", () => {
  it("keeps short text", () => {
    expect(cutText("One. Two.", 50)).toBe("One. Two.");
  });
  it("cuts after the last sentence end in the second half", () => {
    // "Alpha beta gamma. Delta epsilon zeta." is 37 characters; the first "." is at 17 (>= 30/2)
    expect(cutText("Alpha beta gamma. Delta epsilon zeta.", 30)).toBe("Alpha beta gamma.");
  });
  it("otherwise cuts at a word boundary with an ellipsis, never mid-word", () => {
    expect(cutText("alpha beta gamma delta", 13)).toBe("alpha beta …");
  });
  it("does not leave a code span, bold or italic open", () => {
    expect(cutText("see the call `dma_map_sg_attrs` here", 22)).toBe("see the call …");
    expect(cutText("a **bold claim here** b", 12)).toBe("a …");
    expect(cutText('words *"an italic quote goes on"* more', 20)).toBe("words …");
  });
});

describe("markdown in the index", () => {
  it("renders titles and teasers as HTML, no raw ** or backticks", () => {
    const html = notebookList([{ file: "01.html", title: "01 — `map_sg` gaps", summary: "**The question.** A `V4L2` codec." }]);
    expect(html).toContain("<code>map_sg</code>");
    expect(html).toContain("<strong>The question.</strong>");
    expect(html).not.toMatch(/\*\*|`/);
  });
  it("an index without the front page still lists the notebooks", () => {
    expect(indexHtml([{ file: "00.html", title: "00", summary: "x" }])).toContain('<a href="00.html">00</a>');
  });
});

describe("links and folding", () => {
  it("rewrites relative .ipynb links to .html, leaves absolute ones", () => {
    expect(linkHtml('<a href="01-x.ipynb">a</a> <a href="02.ipynb#part">b</a> <a href="https://h/x.ipynb">c</a>')).toBe(
      '<a href="01-x.html">a</a> <a href="02.html#part">b</a> <a href="https://h/x.ipynb">c</a>',
    );
  });
  const nb = (outputs: unknown[], tags: string[] = []): Notebook => ({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { cell_type: "markdown", source: "# T\n\nSee [01](01-x.ipynb).", metadata: {} },
      { cell_type: "code", source: "x", metadata: tags.length ? { tags: tags } : {}, outputs: outputs as never, execution_count: 1 },
    ],
  });
  it("folds a table whose caption starts with Details:, collapsed", () => {
    const table = '<table class="dma-table"><caption>Details: all rows</caption><thead></thead><tbody></tbody></table>';
    const html = notebookToHtml(nb([{ output_type: "display_data", data: { "text/html": table }, metadata: {} }]), "t.ipynb", { index: "index.html" });
    expect(html).toContain('<details class="fold"><summary>Details: all rows</summary><table class="dma-table"><thead>');
    expect(html).not.toContain("<details class=\"fold\" open");
    expect(html).toContain('href="01-x.html"');
  });
  it("leaves other tables open", () => {
    const table = '<table class="dma-table"><caption>Outcome</caption></table>';
    const html = notebookToHtml(nb([{ output_type: "display_data", data: { "text/html": table }, metadata: {} }]), "t.ipynb", { index: "index.html" });
    expect(html).not.toContain('class="fold"');
  });
  it("folds every output of a cell tagged details", () => {
    const html = notebookToHtml(nb([{ output_type: "stream", name: "stdout", text: "a" }, { output_type: "stream", name: "stdout", text: "b" }], ["details"]), "t.ipynb", { index: "index.html" });
    expect(html).toContain('<details class="fold"><summary>Details (2 outputs)</summary>');
  });
  it("folds a chart caption longer than 200 characters behind its first sentence", () => {
    const cap = "The first sentence says what. " + "word ".repeat(60);
    const out = { output_type: "display_data", data: { "image/svg+xml": "<svg></svg>", "text/plain": cap }, metadata: {} };
    const html = notebookToHtml(nb([out]), "t.ipynb", { index: "index.html" });
    expect(html).toContain("<figcaption><details><summary>The first sentence says what.</summary>word word");
  });
  it("shows a model error once, without a repeated header", () => {
    const err = { output_type: "error", ename: "ModelConfigError", evalue: "segments.1: got 1000, expected x", traceback: ["ModelConfigError: segments.1: got 1000, expected x"] };
    const html = notebookToHtml(nb([err]), "t.ipynb", { index: "index.html" });
    expect(html).toContain('<pre class="error">ModelConfigError: segments.1: got 1000, expected x</pre>');
  });
});
