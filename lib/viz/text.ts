/**
 * Text helpers for chart specs. The workbook renders charts to SVG in node
 * without a canvas, where vega estimates a text's width as 0.8 x font size
 * per character (vega-scenegraph textMetrics.estimateWidth); titles wider
 * than the chart widen the SVG, so long titles are broken into lines here.
 */

/** Estimated rendered width of `text` at `fontSize` px, as vega estimates it without a canvas: 0.8 * fontSize per character. */
export function estimateTextWidth(text: string, fontSize: number): number {
  return 0.8 * fontSize * text.length;
}

/**
 * Break `text` into lines of at most `maxChars` characters at spaces (a
 * word longer than `maxChars` stays whole on its own line). Returns the
 * text itself when it fits, else the lines (a vega-lite title accepts
 * either).
 */
export function wrapText(text: string, maxChars: number): string | string[] {
  if (text.length <= maxChars) return text;
  const lines: string[] = [];
  let cur = "";
  for (const word of text.split(" ")) {
    if (cur && cur.length + 1 + word.length > maxChars) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines;
}
