/** lib/viz/text.ts: the renderer's width estimate and title wrapping. */
import { describe, expect, it } from "vitest";
import { estimateTextWidth, wrapText } from "../../lib/viz/text.js";

describe("text helpers", () => {
  it("estimates 0.8 x font size per character (vega's estimate without a canvas)", () => {
    expect(estimateTextWidth("abcde", 10)).toBe(40);
  });
  it("wraps at spaces, keeps short text as is and long words whole", () => {
    expect(wrapText("short", 10)).toBe("short");
    expect(wrapText("one two three four", 9)).toEqual(["one two", "three", "four"]);
    expect(wrapText("averyveryverylongword x", 5)).toEqual(["averyveryverylongword", "x"]);
  });
});
