import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { ModelConfigError } from "../../lib/core/errors.js";
import {
  IOVA_ANCHOR,
  allocIova,
  freeIova,
  initIovaDomain,
  iovaRanges,
  reserveIova,
  type IovaDomain,
  type IovaRange,
} from "../../lib/iommu/iova.js";
import { RefIovaDomain } from "./iova-reference.js";

// The allocator per release (issue 9). Each boundary test states the rule,
// the two trees that bracket it (as in lib/iommu/iova-release.ts), and runs
// the same operations on the release before and the release after, with the
// expected values worked out by hand from each release's code.
// Granule 4096 throughout the hand tests: 2^32 / 4096 = 2^20 = 0x100000, so
// from v4.15 dma_32bit_pfn = 0x100000 and limit_pfn 0xFFFFF is "32-bit";
// before v4.15 the default pfn_32bit is 0xFFFFF.

const G4K = 4096;
const ANCHOR = { pfnLo: IOVA_ANCHOR, pfnHi: IOVA_ANCHOR };

function r(pfnLo: number, pfnHi: number): IovaRange {
  return { pfnLo, pfnHi };
}

function dom(kernel: string, startPfn = 1, pfn32bit?: number): IovaDomain {
  return initIovaDomain(G4K, startPfn, pfn32bit === undefined ? { kernel } : { kernel, pfn32bit });
}

describe("initIovaDomain per release", () => {
  it("defaults to the newest release and keeps the two-argument call", () => {
    const d = initIovaDomain(G4K, 1);
    expect(d.kernel).toBe("v6.19");
    expect(d.pfn32bit).toBeNull();
    expect(d.dma32PfnLimit).toBe(0x100000);
    expect(initIovaDomain(G4K, 1, { kernel: "v6.19.10" }).kernel).toBe("v6.19");
  });

  it("before v4.15 takes pfn_32bit: dma_32bit_pfn = pfn_32bit (v4.4 .. v4.12) or pfn_32bit + 1 (v4.13, v4.14)", () => {
    // Default pfn_32bit: 2^32 / 4096 - 1 = 0xFFFFF.
    expect(dom("v4.4").pfn32bit).toBe(0xfffff);
    expect(dom("v4.4").dma32PfnLimit).toBe(0xfffff);
    expect(dom("v4.12", 1, 0x1234).dma32PfnLimit).toBe(0x1234);
    expect(dom("v4.13", 1, 0x1234).dma32PfnLimit).toBe(0x1235);
    expect(dom("v4.14").dma32PfnLimit).toBe(0x100000);
    // No cached node yet (NULL reads as the anchor), max32_alloc_size not a field: reads dma_32bit_pfn.
    expect(dom("v4.4").cached32Node).toEqual(ANCHOR);
    expect(dom("v4.4").max32AllocSize).toBe(0xfffff);
  });

  it("rejects pfn32bit from v4.15 on, and bad releases or options, naming the field", () => {
    const bad = (f: () => unknown, field: string) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ModelConfigError);
        expect((e as ModelConfigError).message).toContain(field);
        return;
      }
      throw new Error("no throw");
    };
    bad(() => initIovaDomain(G4K, 1, { kernel: "v4.15", pfn32bit: 0xfffff }), "initIovaDomain(options.pfn32bit)");
    bad(() => initIovaDomain(G4K, 1, { kernel: "v4.4", pfn32bit: -1 }), "initIovaDomain(options.pfn32bit)");
    bad(() => initIovaDomain(G4K, 1, { kernel: "4.x" }), "initIovaDomain(options.kernel)");
    bad(() => initIovaDomain(G4K, 1, null as unknown as undefined), "initIovaDomain(options)");
  });
});

describe("release boundaries, each on both sides", () => {
  it("start_pfn itself: never handed out in v4.4 .. v4.12 (inclusive arithmetic), handed out from v4.13 (absent in 4.12.0, present in 4.13.9)", () => {
    // Empty tree, size 2, limit_pfn 2, start_pfn 1.
    // v4.12: limit 2, no node: start + size + pad = 1 + 2 + 0 = 3 > 2: -ENOMEM.
    expect(allocIova(dom("v4.12"), 2, 2, false)).toBeNull();
    // v4.13: limit 3 (exclusive), 1 + 2 + 0 = 3 is not > 3: pfn_lo = 3 - 2 = 1.
    expect(allocIova(dom("v4.13"), 2, 2, false)).toEqual(r(1, 2));
    // v4.15 on: high = 3, new = 1 >= start_pfn 1: [1, 2].
    expect(allocIova(dom("v4.15"), 2, 2, false)).toEqual(r(1, 2));
  });

  it("cached32_node: used only when limit_pfn == pfn_32bit in v4.9, for any limit_pfn <= pfn_32bit from v4.10, then topping at its pfn_lo even above the caller's limit (absent in 4.9.0, present in 4.10.17; gone in 4.15.0)", () => {
    for (const [kernel, want] of [
      // v4.9: limit 0x7FFFF != pfn_32bit: walk from rb_last = [0xFFFFF]; 0x7FFFF < its pfn_lo: passed;
      // no node left: pfn_lo = 0x7FFFF - 1 + 1 = 0x7FFFF.
      ["v4.9", r(0x7ffff, 0x7ffff)],
      // v4.10: 0x7FFFF <= pfn_32bit and cached32 = [0xFFFFF]: start at rb_prev(cached32) = none with
      // limit = 0xFFFFF - 1 = 0xFFFFE: pfn_lo = 0xFFFFE, above the requested 0x7FFFF (the defect).
      ["v4.10", r(0xffffe, 0xffffe)],
      // v4.14 (exclusive): limit = cached32 pfn_lo = 0xFFFFF, pfn_lo = 0xFFFFF - 1 = 0xFFFFE.
      ["v4.14", r(0xffffe, 0xffffe)],
      // v4.15: high = min(0x80000, 0xFFFFF) = 0x80000, new = 0x7FFFF.
      ["v4.15", r(0x7ffff, 0x7ffff)],
    ] as const) {
      const d = dom(kernel);
      // limit_pfn == pfn_32bit (0xFFFFF): [0xFFFFF] becomes cached32_node in every release.
      expect(allocIova(d, 1, 0xfffff, false)).toEqual(r(0xfffff, 0xfffff));
      expect(d.cached32Node).toEqual(r(0xfffff, 0xfffff));
      expect(allocIova(d, 1, 0x7ffff, false), kernel).toEqual(want);
    }
  });

  it("a range at pfn 0: pfn_lo - 1 wraps before v4.12 (the model refuses), is clamped to 0 from v4.12 (absent in 4.11.0, present in 4.12.0)", () => {
    for (const kernel of ["v4.11", "v4.12"]) {
      const d = dom(kernel);
      reserveIova(d, 0, 0);
      // size 1, limit 1: node [0, 0] ends below 1 and 0 + 1 + 0 <= 1: pfn_lo = 1 - 1 + 1 = 1.
      expect(allocIova(d, 1, 1, false)).toEqual(r(1, 1));
      freeIova(d, 1);
      // size 2, limit 1: 0 + 2 > 1, so the limit drops to pfn_lo - 1 of [0, 0]:
      // v4.11 wraps to ~0UL (not representable: ModelConfigError, nothing changed);
      // v4.12 clamps to 0 and then 1 + 2 + 0 > 0: NULL.
      if (kernel === "v4.11") {
        expect(() => allocIova(d, 2, 1, false)).toThrow(ModelConfigError);
        expect(iovaRanges(d)).toEqual([r(0, 0)]);
      } else {
        expect(allocIova(d, 2, 1, false)).toBeNull();
      }
    }
  });

  it("free: the successor is cached while its pfn_lo < dma_32bit_pfn, i.e. pfn_lo < pfn_32bit up to v4.12 and <= pfn_32bit from v4.13 (absent in 4.12.0, present in 4.13.9)", () => {
    for (const [kernel, want] of [
      ["v4.12", ANCHOR], // 0xFFFFF < 0xFFFFF fails: cached32_node = NULL
      ["v4.13", r(0xfffff, 0xfffff)], // 0xFFFFF < 0x100000: cached32_node = A
    ] as const) {
      const d = dom(kernel);
      expect(allocIova(d, 1, 0xfffff, false)).toEqual(r(0xfffff, 0xfffff)); // A
      // From rb_prev(A) = none with top A.pfn_lo: [0xFFFFE], now cached32_node.
      expect(allocIova(d, 1, 0xfffff, false)).toEqual(r(0xffffe, 0xffffe));
      freeIova(d, 0xffffe); // at cached32_node: rb_next = A
      expect(d.cached32Node, kernel).toEqual(want);
    }
  });

  it("stale cached32_node: freeing cached32_node when it ends at or above 4 GiB leaves it in v4.15 .. v5.2, moves it from v5.3 (absent in 5.2.1, present in 5.3.1)", () => {
    for (const [kernel, want] of [
      ["v4.19", r(0x100000, 0x100000)],
      ["v5.2", r(0x100000, 0x100000)],
      ["v5.3", ANCHOR],
    ] as const) {
      const d = dom(kernel);
      // limit_pfn 0x100000: limit 0x100001 > dma_32bit_pfn: cached_node path, new = 0x100000: A, cached_node.
      expect(allocIova(d, 1, 0x100000, false)).toEqual(r(0x100000, 0x100000));
      // 32-bit: from cached32 = anchor, high 0x100000, new 0xFFFFF <= A.pfn_hi: go on; below A nothing: B = [0xFFFFF].
      expect(allocIova(d, 1, 0xfffff, false)).toEqual(r(0xfffff, 0xfffff));
      expect(d.cached32Node).toEqual(r(0xfffff, 0xfffff));
      freeIova(d, 0xfffff); // B below 4 GiB, at cached32: cached32_node = rb_next(B) = A
      expect(d.cached32Node).toEqual(r(0x100000, 0x100000));
      freeIova(d, 0x100000); // A: pfn_hi 0x100000 is not below dma_32bit_pfn; only v5.3's free == cached test moves it
      expect(d.cached32Node, kernel).toEqual(want);
      expect(d.cachedNode).toEqual(ANCHOR); // cached_node: A.pfn_lo >= its pfn_lo: rb_next(A) = anchor
      // The next 32-bit walk: from the stale A, high = min(0x100000, 0x100000), new 0xFFFFF, nothing below.
      expect(allocIova(d, 1, 0xfffff, false)).toEqual(r(0xfffff, 0xfffff));
    }
  });

  it("stale cached32_node across 4 GiB: the next 32-bit walk still tops at the freed node's pfn_lo in v4.15 .. v5.2 (absent in 5.2.1, present in 5.3.1 as the fix)", () => {
    for (const [kernel, want] of [
      // Stale S = [0xFFFFC, 0x100003]: high = min(0x100000, 0xFFFFC), new 0xFFFFB, nothing below: [0xFFFFB].
      ["v4.19", r(0xffffb, 0xffffb)],
      // cached32_node moved to the anchor: high 0x100000, new 0xFFFFF.
      ["v5.3", r(0xfffff, 0xfffff)],
    ] as const) {
      const d = dom(kernel);
      // limit_pfn 0x100003: limit 0x100004 > 0x100000, from the anchor: S = [0x100004 - 8, 0x100003], cached_node.
      expect(allocIova(d, 8, 0x100003, false)).toEqual(r(0xffffc, 0x100003));
      // 32-bit, from the anchor: 0xFFFFF is inside S, high drops to 0xFFFFC, new 0xFFFFB: B, cached32_node.
      expect(allocIova(d, 1, 0xfffff, false)).toEqual(r(0xffffb, 0xffffb));
      freeIova(d, 0xffffb); // cached32_node = rb_next(B) = S
      freeIova(d, 0xffffc); // S ends above 4 GiB: stays cached32_node before v5.3
      expect(d.cached32Node, kernel).toEqual(kernel === "v4.19" ? r(0xffffc, 0x100003) : ANCHOR);
      expect(allocIova(d, 1, 0xfffff, false), kernel).toEqual(want);
    }
  });

  it("max32_alloc_size fast fail: absent in v4.19, present from v5.0 (absent in 4.19.1, present in 5.0.1)", () => {
    for (const [kernel, want] of [
      // v4.19: the second request walks from cached32 (anchor): high 0x100000, new 0xFFFFC.
      ["v4.19", r(0xffffc, 0xfffff)],
      // v5.0: the failure stored max32_alloc_size = 4; 4 >= 4 fails at once.
      ["v5.0", null],
    ] as const) {
      const d = dom(kernel);
      // size 4, limit_pfn 3: high 4, new 0 < start_pfn 1: fails (no retry before v5.11).
      expect(allocIova(d, 4, 3, false)).toBeNull();
      expect(allocIova(d, 4, 0xfffff, false), kernel).toEqual(want);
    }
  });

  it("v5.0's fast fail also stores size in max32_alloc_size; from v5.1 it does not (absent in 5.0.1, present in 5.2.1)", () => {
    for (const [kernel, want] of [
      // v5.0: the size-8 fast fail raised max32 to 8; 6 < 8 walks: high 0x100000, new 0xFFFFA.
      ["v5.0", r(0xffffa, 0xfffff)],
      // v5.1: max32 stays 4; 6 >= 4 fails at once.
      ["v5.1", null],
    ] as const) {
      const d = dom(kernel);
      expect(allocIova(d, 4, 3, false)).toBeNull(); // walk fails: max32 = 4
      expect(allocIova(d, 8, 0xfffff, false)).toBeNull(); // 8 >= 4: fast fail
      expect(d.max32AllocSize).toBe(kernel === "v5.0" ? 8 : 4);
      expect(allocIova(d, 6, 0xfffff, false), kernel).toEqual(want);
    }
  });

  it("retry pass above the start node: absent in v5.10, present from v5.11 (absent in 5.10.89, present in 5.11.0)", () => {
    for (const [kernel, want] of [
      ["v5.10", null],
      // Retry: high = limit 0x100000, low = C.pfn_hi + 1 = 10; from the top: 0xFFFFE is inside A,
      // high drops to 0xFFFFF, new 0xFFFFD > C.pfn_hi: [0xFFFFD, 0xFFFFE].
      ["v5.11", r(0xffffd, 0xffffe)],
      ["v6.19", r(0xffffd, 0xffffe)],
    ] as const) {
      const d = dom(kernel, 9);
      expect(allocIova(d, 1, 0xfffff, false)).toEqual(r(0xfffff, 0xfffff)); // A, cached32
      // From A: high min(10, 0xFFFFF) = 10, new 9 >= start 9: C = [9], now cached32_node.
      expect(allocIova(d, 1, 9, false)).toEqual(r(9, 9));
      // From C: high 9, new 7 < start_pfn 9: the first pass fails.
      expect(allocIova(d, 2, 0xfffff, false), kernel).toEqual(want);
    }
  });

  it("retry_pfn = pfn_hi + 1 wraps for the anchor in v5.11 .. v6.1, letting the retry go below start_pfn; fixed from v6.2 (absent in 6.1.0-rc7, present in 6.2.12)", () => {
    for (const [kernel, want] of [
      // Fresh domain, start_pfn 8: from the anchor, high 16, new 0 < 8: fails; retry_pfn = ~0UL + 1 = 0 < 16:
      // low 0, new 0 >= 0: [0, 15], below start_pfn.
      ["v6.0", r(0, 15)],
      ["v6.1", r(0, 15)],
      // v6.2: retry_pfn = ~0UL is not below 16: no retry, NULL.
      ["v6.2", null],
    ] as const) {
      expect(allocIova(dom(kernel, 8), 16, 15, false), kernel).toEqual(want);
    }
  });

  it("max32_alloc_size reset: only when a free moves cached32_node up to v5.17, on any free below 4 GiB from v5.18 (absent in 5.17-rc5, present in 5.19.0)", () => {
    for (const [kernel, want] of [
      ["v5.17", null],
      // Reset to 0x100000: 0xFFFF0 walks from A: high 0xFFFFF, new 0xF, nothing below A now: [0xF, 0xFFFFE].
      ["v5.18", r(0xf, 0xffffe)],
    ] as const) {
      const d = dom(kernel);
      reserveIova(d, 1, 0x10); // R
      expect(allocIova(d, 1, 0xfffff, false)).toEqual(r(0xfffff, 0xfffff)); // A, cached32_node
      // From A: high 0xFFFFF, new 0xF <= R.pfn_hi: go on, high 1 < size: fails; retry_pfn A.pfn_hi + 1 = 0x100000
      // is not below the limit 0x100000: no retry. max32_alloc_size = 0xFFFF0.
      expect(allocIova(d, 0xffff0, 0xfffff, false)).toBeNull();
      expect(d.max32AllocSize).toBe(0xffff0);
      freeIova(d, 1); // R: below cached32_node, does not move it
      expect(d.max32AllocSize, kernel).toBe(kernel === "v5.17" ? 0xffff0 : 0x100000);
      expect(allocIova(d, 0xffff0, 0xfffff, false), kernel).toEqual(want);
    }
  });
});

// ---------------------------------------------------------------------------
// Every era against its literal walk (test/iommu/iova-reference.ts), op by op.

type Op =
  | { kind: "alloc"; size: number; limit: number; aligned: boolean }
  | { kind: "free"; pick: number; stray: boolean }
  | { kind: "reserve"; lo: number; len: number };

/** Granule 65536: dma_32bit_pfn 2^16 from v4.15, default pfn_32bit 2^16 - 1 before. `p32` is a pfn_32bit inside the window. */
function opArb(p32: number): fc.Arbitrary<Op> {
  const limits = fc.oneof(
    fc.integer({ min: 1, max: 300 }),
    fc.integer({ min: 1, max: 4000 }),
    fc.integer({ min: 65536 - 40, max: 65536 + 40 }),
    fc.constant(p32),
    fc.constant(65535),
  );
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant("alloc" as const), size: fc.integer({ min: 1, max: 70 }), limit: limits, aligned: fc.boolean() }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat(), stray: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("reserve" as const), lo: fc.integer({ min: 0, max: 400 }), len: fc.integer({ min: 1, max: 40 }) }) },
  );
}

/** Run `f` on both; both throw (model: ModelConfigError) or both return. */
function both<A, B>(model: () => A, ref: () => B): { got: A; want: B } | null {
  let refErr: unknown = null;
  let want: B | undefined;
  try {
    want = ref();
  } catch (e) {
    refErr = e;
  }
  if (refErr !== null) {
    expect(model).toThrow(ModelConfigError);
    return null;
  }
  return { got: model(), want: want as B };
}

function runRelease(kernel: string, start: number, p32: number | undefined, ops: Op[]): void {
  const old = /^v4\.(\d+)$/.exec(kernel) !== null && Number(kernel.slice(3)) < 15;
  const opts = old && p32 !== undefined ? { kernel, pfn32bit: p32 } : { kernel };
  const d = initIovaDomain(65536, start, opts);
  const ref = new RefIovaDomain(65536, start, opts);
  const live: number[] = [];
  for (const op of ops) {
    if (op.kind === "alloc") {
      const res = both(
        () => allocIova(d, op.size, Math.max(op.limit, start), op.aligned),
        () => ref.alloc(op.size, Math.max(op.limit, start), op.aligned),
      );
      if (res !== null) {
        expect(res.got).toEqual(res.want === null ? null : r(res.want.pfnLo, res.want.pfnHi));
        if (res.got !== null) live.push(res.got.pfnLo);
      }
    } else if (op.kind === "free") {
      let pfn: number;
      if (op.stray || live.length === 0) pfn = op.pick % 500;
      else {
        const i = op.pick % live.length;
        pfn = live[i]!;
        live[i] = live[live.length - 1]!;
        live.pop();
      }
      const got = freeIova(d, pfn);
      const want = ref.free(pfn);
      expect(got).toEqual(want === null ? null : r(want.pfnLo, want.pfnHi));
    } else {
      const got = reserveIova(d, op.lo, op.lo + op.len - 1);
      const want = ref.reserve(op.lo, op.lo + op.len - 1);
      expect(got).toEqual(r(want.pfnLo, want.pfnHi));
    }
    expect(iovaRanges(d)).toEqual(ref.ranges());
    expect(d.cachedNode).toEqual(r(ref.cachedNode.pfnLo, ref.cachedNode.pfnHi));
    expect(d.cached32Node).toEqual(r(ref.cached32Node.pfnLo, ref.cached32Node.pfnHi));
    expect(d.max32AllocSize).toBe(ref.max32AllocSize);
  }
}

/** Operations packed around dma_32bit_pfn = 2^16 (granule 65536), so ranges straddle 4 GiB and cached32_node can go stale. */
function edgeOpArb(): fc.Arbitrary<Op> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant("alloc" as const), size: fc.integer({ min: 1, max: 70 }), limit: fc.integer({ min: 65536 - 120, max: 65536 + 60 }), aligned: fc.boolean() }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat(), stray: fc.constant(false) }) },
  );
}

describe("model equals each release's literal walk, op by op", () => {
  ["v4.15", "v5.2", "v5.3", "v6.19"].forEach((kernel, i) => {
    it(`${kernel}: allocations and frees across the 4 GiB edge (stale cached32_node before v5.3)`, () => {
      fc.assert(
        fc.property(fc.array(edgeOpArb(), { minLength: 1, maxLength: 120, size: "max" }), (ops) => runRelease(kernel, 65536 - 400, undefined, ops)),
        { numRuns: 40, seed: 0x4a00 + i },
      );
    });
  });

  // One release per era of lib/iommu/iova-release.ts (and both sides of the v5.0/v5.1 and v6.1/v6.2 steps).
  const releases = ["v4.4", "v4.10", "v4.11", "v4.12", "v4.13", "v4.14", "v4.15", "v4.19", "v5.0", "v5.1", "v5.3", "v5.10", "v5.11", "v5.17", "v5.18", "v6.1", "v6.2", "v6.19"];
  releases.forEach((kernel, i) => {
    it(`${kernel}: start_pfn 1 and 40, pfn_32bit default or inside the window`, () => {
      fc.assert(
        fc.property(
          fc.array(opArb(150), { minLength: 1, maxLength: 150, size: "max" }),
          fc.constantFrom(1, 40),
          fc.boolean(),
          (ops, start, ownP32) => runRelease(kernel, start, ownP32 ? 150 : undefined, ops),
        ),
        { numRuns: 25, seed: 0x9000 + i },
      );
    });
  });
});
