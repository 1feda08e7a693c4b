/**
 * CacheModel builds token labels on demand from typed arrays (TokenLog in
 * lib/cache/model.ts); before, it kept an eager array of label strings and
 * of writers. The reference below is that eager bookkeeping: after any
 * sequence of issued tokens (more than the log's initial 1,024 slots, so the
 * arrays grow), every label, writer and the count must agree, and labels of
 * tokens never issued must be refused as before.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CacheModel } from "../../lib/cache/model.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { createPrng } from "../../lib/core/prng.js";
import { Trace } from "../../lib/core/trace.js";

/** The eager reference: one label string and one writer per token, pushed when the token is issued. */
class EagerTokens {
  who: string[] = ["init"];
  labels: string[] = ["init"];
  cpuN = 0;
  devN = 0;
  issue(who: "cpu" | "dev"): number {
    const t = this.who.length;
    this.who.push(who);
    const n = who === "cpu" ? ++this.cpuN : ++this.devN;
    this.labels.push(`${who}:${n}`);
    return t;
  }
}

function model(): CacheModel {
  return new CacheModel({ lineSize: 64 }, new Trace({ keepEvents: false }), createPrng(1));
}

describe("token labels built on demand", () => {
  it("match the eager label array for any sequence of cpu and dev tokens (past the first growth)", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 0, maxLength: 2600 }), (dev) => {
        const c = model();
        const ref = new EagerTokens();
        for (const d of dev) expect(c.newToken(d ? "dev" : "cpu")).toBe(ref.issue(d ? "dev" : "cpu"));
        expect(c.tokenCount).toBe(ref.who.length);
        for (let t = 0; t < ref.who.length; t++) {
          expect(c.label(t)).toBe(ref.labels[t]);
          expect(c.tokenWho(t)).toBe(ref.who[t]);
        }
        // not issued: label refuses, tokenWho answers "init" (as `who[t] ?? "init"` did)
        for (const t of [ref.who.length, ref.who.length + 5, -1, 0.5, Number.NaN]) {
          expect(() => c.label(t)).toThrow(ModelConfigError);
          expect(c.tokenWho(t)).toBe("init");
        }
      }),
      { numRuns: 60 },
    );
  });
  it("device writes through the model label their tokens dev:1, dev:2, ... (hand count)", () => {
    const c = model();
    const t1 = c.deviceWrite(0x1000, 4096, false);
    const t2 = c.cpuWrite(0x3000, 64);
    const t3 = c.deviceWrite(0x2000, 4096, false);
    expect([c.label(0), c.label(t1), c.label(t2), c.label(t3)]).toEqual(["init", "dev:1", "cpu:1", "dev:2"]);
  });
});
