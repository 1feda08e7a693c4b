/**
 * CacheModel.cpuCopy to an uncached destination (lib/cache/model.ts): memory
 * is written per run of destination lines carrying one token. The rule
 * (each destination line takes the token of the source byte landing at its
 * first copied byte) is checked line by line against a naive per-line
 * reference of the source's memory tokens written here, above 4 GiB.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CacheModel } from "../../lib/cache/model.js";
import { createPrng } from "../../lib/core/prng.js";
import { Trace } from "../../lib/core/trace.js";

const LINE = 64;
const G4 = 2 ** 32;

describe("CacheModel.cpuCopy: uncached destination", () => {
  it("destination memory follows the source tokens line by line (property)", () => {
    const SRC = G4 + 0x10000; // source area: 64 lines
    const DST = G4 + 0x40000; // destination area, far from the source
    const NL = 64;
    fc.assert(
      fc.property(
        // source writes (uncached: straight to memory) as [first line, lines]
        fc.array(fc.tuple(fc.integer({ min: 0, max: NL - 1 }), fc.integer({ min: 1, max: 12 })), { maxLength: 12 }),
        fc.integer({ min: 0, max: NL * LINE - 1 }), // source byte offset
        fc.integer({ min: 0, max: 8 * LINE - 1 }), // destination byte offset
        fc.integer({ min: 1, max: 40 * LINE }), // size
        (writes, so, dof, size0) => {
          const c = new CacheModel({ lineSize: LINE }, new Trace(), createPrng(3));
          const srcTok: number[] = new Array(NL + 48).fill(0); // per source line; 0 = init
          for (const [l, n] of writes) {
            const t = c.cpuWrite(SRC + l * LINE, n * LINE, { attr: "uncached" });
            for (let k = l; k < l + n; k++) srcTok[k] = t;
          }
          const size = Math.min(size0, (NL + 48) * LINE - so);
          const fromPa = SRC + so;
          const toPa = DST + dof;
          // a destination line we do not copy to keeps its token: mark two lines around the copy
          const before = c.cpuWrite(toPa - LINE, 1, { attr: "uncached" });
          const after = c.cpuWrite(toPa + size + LINE - 1, 1, { attr: "uncached" });
          const r = c.cpuCopy(fromPa, toPa, size, { toAttr: "uncached" });
          const d0 = Math.floor(toPa / LINE);
          const d1 = Math.ceil((toPa + size) / LINE);
          expect(r.lines).toBe(d1 - d0);
          for (let l = d0; l < d1; l++) {
            const firstByte = Math.max(l * LINE, toPa);
            const srcByte = fromPa + (firstByte - toPa);
            const expected = srcTok[Math.floor((srcByte - SRC) / LINE)]!;
            expect(c.memoryToken(l * LINE)).toBe(expected);
            expect(c.cachedCopies(l * LINE)).toEqual([]);
          }
          expect(c.memoryToken((d0 - 1) * LINE)).toBe(before);
          expect(c.memoryToken(d1 * LINE)).toBe(after);
        },
      ),
      { numRuns: 300 },
    );
  });
});
