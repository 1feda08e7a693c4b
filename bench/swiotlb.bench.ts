/**
 * swiotlb slot search benchmark: 10^6 map/unmap pairs of seeded random sizes
 * (64 B .. 64 KiB) against a 64 MiB pool (32768 slots), with a working set
 * of 300 live mappings (each step maps one buffer and unmaps a random live
 * one once the set is full), for the v5.4-era search and the v6.19 search
 * (one area, and 8 areas with the CPU rotating). Prints `name: N ns/op`
 * (one op = one map + one unmap) and the ratio between the searches,
 * measured in the same run. Trace events are not stored (keepEvents false).
 *
 * Then the data path: one 4 KiB page bounced through a forced swiotlb pool
 * with its data copied through the CPU cache model (swiotlb_bounce as
 * CacheModel.cpuCopy), on the x86-64 PC (coherent, 32 KiB cache) and the
 * non-coherent BeagleBone Black (ARMv7, 256 KiB cache, maintenance on every
 * map and unmap). One cycle: CPU write of the page, dma_map_page
 * DMA_TO_DEVICE, unmap, dma_map_page DMA_FROM_DEVICE, device write, unmap;
 * printed as µs per map+unmap (a cycle is two; median of three rounds, the
 * boards alternating), with the simulated clock
 * (the sum of charged costs), the cache counters and the hazard count as a
 * checksum that must not move when the model gets faster.
 *
 * Usage: npx tsx bench/swiotlb.bench.ts [pairs] [bounceCycles]
 */
import type { PhysAddr } from "../lib/core/addr.js";
import { createPrng } from "../lib/core/prng.js";
import { Trace } from "../lib/core/trace.js";
import { SWIOTLB_MAP_ERROR, swiotlbInit, swiotlbTblMapSingle, swiotlbTblUnmapSingle } from "../lib/dma/swiotlb.js";
import { createDevice } from "../lib/platform/device.js";
import { createMachine } from "../lib/platform/machine.js";
import { kmalloc } from "../lib/mm/slab.js";
import { virtToPhys } from "../lib/mm/linear-map.js";
import { DMA_FROM_DEVICE, DMA_TO_DEVICE } from "../lib/core/dma-types.js";
import { cpuWrite, deviceWrite } from "../lib/model/actions.js";
import { dmaMapPage, dmaMappingErrorFor, dmaUnmapPage } from "../lib/dma/mapping.js";
import { swiotlbOf } from "../lib/dma/swiotlb.js";

const PAIRS = Number(process.argv[2] ?? 1_000_000);
const CYCLES = Number(process.argv[3] ?? 5000);
const LIVE = 300;

function run(kernel: string, nareas: number, pairs = PAIRS): { nsPerOp: number; failures: number } {
  const trace = new Trace({ keepEvents: false });
  const dev = createDevice({ name: "0000:01:00.0", driver: "bench", bus: "pci", dmaMaskBits: 32, dmaCoherent: true }, { kernel, trace });
  const mem = swiotlbInit({ start: 0x10000000, kernel, nareas });
  const prng = createPrng(12345);
  const live: Array<{ t: PhysAddr; size: number }> = [];
  let failures = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < pairs; i++) {
    const size = 64 + prng.nextInt(65536 - 64 + 1);
    const orig = (2 ** 33 + prng.nextInt(2 ** 20) * 4096 + prng.nextInt(4096)) as PhysAddr;
    const t = swiotlbTblMapSingle(dev, mem, orig, size, { allocSize: size, cpu: i % 8 });
    if (t === SWIOTLB_MAP_ERROR) failures++;
    else live.push({ t, size });
    if (live.length > LIVE || (t === SWIOTLB_MAP_ERROR && live.length)) {
      const j = prng.nextInt(live.length);
      const e = live[j]!;
      live[j] = live[live.length - 1]!;
      live.pop();
      swiotlbTblUnmapSingle(dev, mem, e.t, e.size, { allocSize: e.size });
    }
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return { nsPerOp: ns / pairs, failures };
}

// Warm up every configuration so the JIT has compiled both searches before timing.
run("v5.4", 1, PAIRS / 10);
run("v6.19", 1, PAIRS / 10);
run("v6.19", 8, PAIRS / 10);
const a = run("v5.4", 1);
const b = run("v6.19", 1);
const c = run("v6.19", 8);
console.log(`swiotlb map+unmap v5.4 search: ${a.nsPerOp.toFixed(0)} ns/op (failures ${a.failures})`);
console.log(`swiotlb map+unmap v6.19 search, 1 area: ${b.nsPerOp.toFixed(0)} ns/op (failures ${b.failures})`);
console.log(`swiotlb map+unmap v6.19 search, 8 areas: ${c.nsPerOp.toFixed(0)} ns/op (failures ${c.failures})`);
console.log(`ratio v6.19 (1 area) / v5.4: ${(b.nsPerOp / a.nsPerOp).toFixed(2)}`);
console.log(`ratio v6.19 (8 areas) / v5.4: ${(c.nsPerOp / a.nsPerOp).toFixed(2)}`);

/** One 4 KiB page bounced `cycles` times (see the module comment); µs per map+unmap and a checksum. */
function bounce(profile: string, devName: string, cycles: number): { usPerMapUnmap: number; cpuUsPerMapUnmap: number; check: string } {
  const m = createMachine(profile, { keepEvents: false, swiotlb: { force: true } });
  swiotlbOf(m);
  const dev = m.device(devName);
  const buf = kmalloc(m, 4096)!;
  const pfn = virtToPhys(m, buf) / 4096;
  // Collect the previous machines first (npm run bench passes --expose-gc), so their garbage is not timed here.
  (globalThis as { gc?: () => void }).gc?.();
  const t0 = process.hrtime.bigint();
  const u0 = process.cpuUsage();
  for (let i = 0; i < cycles; i++) {
    cpuWrite(m, buf, 4096);
    const a = dmaMapPage(dev, pfn, 0, 4096, DMA_TO_DEVICE);
    if (dmaMappingErrorFor(dev, a)) throw new Error("bench: bounce map failed");
    dmaUnmapPage(dev, a, 4096, DMA_TO_DEVICE);
    const b = dmaMapPage(dev, pfn, 0, 4096, DMA_FROM_DEVICE);
    if (dmaMappingErrorFor(dev, b)) throw new Error("bench: bounce map failed");
    deviceWrite(dev, b, 4096);
    dmaUnmapPage(dev, b, 4096, DMA_FROM_DEVICE);
  }
  const ns = Number(process.hrtime.bigint() - t0);
  const u = process.cpuUsage(u0);
  const c = m.cpuCache;
  const st = c.stats;
  const check = `clock ${m.trace.nowNs} ns, fills ${st.fills}, evictions ${st.evictions}, writebacks ${st.writebacks}, maintained ${st.linesMaintained}, hazards ${c.hazards.length}, tokens ${c.tokenCount}, events ${m.trace.length}`;
  return { usPerMapUnmap: ns / cycles / 2 / 1000, cpuUsPerMapUnmap: (u.user + u.system) / cycles / 2, check };
}

const boards: Array<[string, string]> = [
  ["x86-64-pc", "0000:00:1a.0"],
  ["am335x-beaglebone-black", "47401c00.usb"],
];
for (const [p, d] of boards) bounce(p, d, Math.max(1, Math.floor(CYCLES / 10)));
// Three rounds, the boards alternating; the median round of each board is printed.
const rounds = new Map<string, Array<ReturnType<typeof bounce>>>();
for (let round = 0; round < 3; round++) {
  for (const [p, d] of boards) {
    const list = rounds.get(p) ?? [];
    list.push(bounce(p, d, CYCLES));
    rounds.set(p, list);
  }
}
for (const [p] of boards) {
  const list = rounds.get(p)!;
  const mid = [...list].sort((x, y) => x.usPerMapUnmap - y.usPerMapUnmap)[1]!;
  const cpu = list.map((r) => r.cpuUsPerMapUnmap).sort((x, y) => x - y)[1]!;
  const checks = new Set(list.map((r) => r.check));
  if (checks.size !== 1) throw new Error(`bench: rounds disagree: ${[...checks].join(" / ")}`);
  console.log(`4 KiB bounce with copies through the cache, ${p}: ${mid.usPerMapUnmap.toFixed(1)} us per map+unmap (median of 3 rounds; CPU time ${cpu.toFixed(1)} us; ${CYCLES} cycles per round; ${mid.check})`);
}
