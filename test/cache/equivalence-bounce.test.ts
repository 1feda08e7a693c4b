/**
 * End to end, the faster cache model changes nothing the DMA layer shows:
 * the same seeded random sequences of swiotlb bounces (dma_map_page /
 * dma_unmap_page of every direction, partial syncs both ways), CPU reads and
 * writes and device reads and writes run on two machines of one board, one
 * with the machine's own CacheModel (lib/cache/model.ts) and one whose cache
 * is the verbatim reference copy of the model before the issue-12 fast paths
 * (test/cache/reference-model.ts, installed before first use). After every
 * call both machines must have recorded the same trace events (message, data
 * and charged cost: the per-line maintenance and per-byte copy costs of
 * data/costs), the same simulated clock, hazards and cache counters; at the
 * end, the same per-line state (CPU copy, dirty bit, memory, device view) of
 * every buffer and of every bounce slot used.
 *
 * Boards: the x86-64 PC (coherent, 32 KiB cache) and the BeagleBone Black
 * (non-coherent ARMv7, maintenance on every map, sync and unmap), with a
 * forced swiotlb pool, on v5.4 and v6.19 (their bounce rules differ: v5.4
 * copies in only for TO_DEVICE and BIDIRECTIONAL). Expected values are the
 * reference's: the reference's behaviour is checked against kernel rules in
 * test/dma/swiotlb-bounce.test.ts and the other DMA tests.
 */
import { describe, expect, it } from "vitest";
import type { DmaAddr } from "../../lib/core/addr.js";
import { DMA_MAPPING_ERROR } from "../../lib/core/addr.js";
import { createPrng, type Prng } from "../../lib/core/prng.js";
import { ModelConfigError } from "../../lib/core/errors.js";
import { dmaMapPage, dmaSyncSingleForCpu, dmaSyncSingleForDevice, dmaUnmapPage } from "../../lib/dma/mapping.js";
import { swiotlbOf } from "../../lib/dma/swiotlb.js";
import { virtToPhys } from "../../lib/mm/linear-map.js";
import { kmalloc } from "../../lib/mm/slab.js";
import { cpuRead, cpuWrite, deviceRead, deviceWrite } from "../../lib/model/actions.js";
import { createMachine, type Machine } from "../../lib/platform/machine.js";
import { ReferenceCacheModel } from "./reference-model.js";

const BOARDS: Array<[string, string]> = [
  ["x86-64-pc", "0000:00:1a.0"],
  ["am335x-beaglebone-black", "47401c00.usb"],
];

interface Buf {
  va: number;
  pa: number;
  mapped: { dma: DmaAddr; size: number; dir: number } | null;
}

function machine(profile: string, kernel: string, reference: boolean): Machine {
  const m = createMachine(profile, { kernel, swiotlb: { force: true } });
  if (reference) {
    const c = m.profile.cpuCache;
    // The machine builds its cache on first use into this private field: give it the reference model instead.
    (m as unknown as { cacheModel: ReferenceCacheModel }).cacheModel = new ReferenceCacheModel(
      { lineSize: c.lineSize, indexing: c.indexing, ...(c.wayBytes !== undefined ? { wayBytes: c.wayBytes } : {}), ...(c.sizeBytes !== undefined ? { sizeBytes: c.sizeBytes } : {}), pageSize: m.profile.pageSize },
      m.trace,
      createPrng(((m as unknown as { seed: number }).seed + 1) % 4294967296),
    );
  }
  swiotlbOf(m);
  return m;
}

/** Run `f`, returning its result or the error (as text) so both sides can be compared. */
function attempt(f: () => unknown): unknown {
  try {
    return { ok: JSON.parse(JSON.stringify(f() ?? null)) };
  } catch (e) {
    if (e instanceof ModelConfigError || (e as Error).name === "DmaDebugError" || (e as Error).name === "KernelOops") return { err: (e as Error).message };
    throw e;
  }
}

/** One random call on buffer `b`, the same on both machines (drawn once). */
function draw(p: Prng, nbuf: number): { b: number; k: number; off: number; n: number; dir: number } {
  return { b: p.nextInt(nbuf), k: p.nextInt(100), off: p.nextInt(4096), n: 1 + p.nextInt(4096), dir: p.nextInt(3) };
}

function apply(m: Machine, bufs: Buf[], d: ReturnType<typeof draw>, devName: string): unknown {
  const dev = m.device(devName);
  const b = bufs[d.b]!;
  const n = Math.min(d.n, 4096 - d.off);
  if (b.mapped === null) {
    if (d.k < 45) {
      const size = d.k < 30 ? 4096 : n;
      const off = d.k < 30 ? 0 : d.off;
      return attempt(() => {
        const dma = dmaMapPage(dev, b.pa / 4096 + 0, off, size, d.dir);
        if (dma !== DMA_MAPPING_ERROR) b.mapped = { dma: (dma - off) as DmaAddr, size, dir: d.dir };
        return dma;
      });
    }
    if (d.k < 75) return attempt(() => cpuWrite(m, b.va + d.off, n));
    return attempt(() => cpuRead(m, b.va + d.off, n));
  }
  const mp = b.mapped;
  const inside = Math.min(n, mp.size);
  if (d.k < 25) return attempt(() => deviceWrite(dev, mp.dma, inside));
  if (d.k < 40) return attempt(() => deviceRead(dev, mp.dma, inside));
  if (d.k < 55) return attempt(() => dmaSyncSingleForCpu(dev, mp.dma, inside, mp.dir));
  if (d.k < 65) return attempt(() => dmaSyncSingleForDevice(dev, mp.dma, inside, mp.dir));
  return attempt(() => {
    dmaUnmapPage(dev, mp.dma, mp.size, mp.dir);
    b.mapped = null;
    return null;
  });
}

describe("the DMA layer with the fast cache model records what it recorded with the reference model", () => {
  for (const [profile, devName] of BOARDS) {
    for (const kernel of ["v5.4", "v6.19"]) {
      it(`${profile}, ${kernel}: swiotlb bounces, syncs, CPU and device accesses`, () => {
        for (let seed = 1; seed <= 4; seed++) {
          const sides = [machine(profile, kernel, false), machine(profile, kernel, true)];
          expect(sides[0]!.cpuCache).not.toBeInstanceOf(ReferenceCacheModel);
          expect(sides[1]!.cpuCache).toBeInstanceOf(ReferenceCacheModel);
          const bufs = sides.map((m) =>
            Array.from({ length: 3 }, (): Buf => {
              const va = kmalloc(m, 4096)!;
              return { va, pa: virtToPhys(m, va), mapped: null };
            }),
          );
          expect(bufs[0]!.map((b) => b.pa)).toEqual(bufs[1]!.map((b) => b.pa));
          const p = createPrng(seed * 104729);
          const tlbs = new Set<number>();
          for (let i = 0; i < 120; i++) {
            const d = draw(p, 3);
            const from = sides[1]!.trace.length;
            const ra = apply(sides[0]!, bufs[0]!, d, devName);
            const rb = apply(sides[1]!, bufs[1]!, d, devName);
            expect(ra, `seed ${seed} call ${i}`).toEqual(rb);
            const evA = sides[0]!.trace.events().slice(from);
            const evB = sides[1]!.trace.events().slice(from);
            expect(evA, `seed ${seed} call ${i}`).toEqual(evB);
            for (const e of evB) if (typeof e.data.tlb === "number") tlbs.add(e.data.tlb);
            expect(sides[0]!.trace.nowNs).toBe(sides[1]!.trace.nowNs);
            expect(sides[0]!.cpuCache.stats).toEqual(sides[1]!.cpuCache.stats);
            expect(sides[0]!.cpuCache.hazards).toEqual(sides[1]!.cpuCache.hazards);
          }
          expect(tlbs.size).toBeGreaterThan(0);
          const state = (k: number) => {
            const c = sides[k]!.cpuCache;
            const out: unknown[] = [c.footprint, c.tokenCount];
            for (const b of bufs[k]!) out.push(c.lineStates(b.pa, 4096, { coherent: false }), c.lineStates(b.pa, 4096, { coherent: true }));
            for (const t of [...tlbs].sort((x, y) => x - y)) out.push(c.lineStates(t - (t % 64), 4096));
            return out;
          };
          expect(state(0)).toEqual(state(1));
        }
      });
    }
  }
});
