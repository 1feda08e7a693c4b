/**
 * Benchmark of the cache model and the streaming DMA path (run: npx tsx bench/cache.bench.ts).
 * Prints "name: N ns/op" lines and the model's footprint (interval entries,
 * cached lines, tokens) to show memory stays bounded: untouched lines cost
 * nothing, a 64 MiB device write is one memory run.
 *
 * 1. map + device write + sync_for_cpu + unmap of a 64 MiB DMA_FROM_DEVICE
 *    buffer on the non-coherent BeagleBone Black (ARMv7, 64-byte lines:
 *    1,048,576 lines maintained per call);
 * 2. 10^5 small packet mappings (1.5 KiB, a ring of 256 buffers): map,
 *    device write, unmap, CPU read.
 * 3. Notebook 04's bounce pattern on the CacheModel alone (issue 14): a
 *    32 KiB PIPT cache with 64-byte lines (the x86-64 PC), buffers of 2,560
 *    pages mapped page by page (a 4 KiB copy into a slot not cached, a
 *    speculation range, a step), one coherent device write over the slots,
 *    the pages synced back (a copy, a step), the ranges removed (a step):
 *    20,000 pages, three rounds, the best printed in ms with the counters and
 *    footprint as a checksum that must not move. The same code bundled by
 *    esbuild runs in Chromium (the live pages' engine) for A/B comparisons.
 */
import { createMachine } from "../lib/platform/machine.js";
import { kmalloc } from "../lib/mm/slab.js";
import { DMA_FROM_DEVICE } from "../lib/core/dma-types.js";
import { cpuRead } from "../lib/model/actions.js";
import { deviceWrite } from "../lib/model/actions.js";
import { dmaMapSingle, dmaSyncSingleForCpu, dmaUnmapSingle } from "../lib/dma/mapping.js";
import type { VirtAddr } from "../lib/core/addr.js";
import { CacheModel } from "../lib/cache/model.js";
import { Trace } from "../lib/core/trace.js";
import { createPrng } from "../lib/core/prng.js";

function now(): number {
  return Number(process.hrtime.bigint());
}

{
  const m = createMachine("am335x-beaglebone-black", { keepEvents: false });
  const dev = m.device("47401c00.usb");
  const size = 64 * 1048576;
  const buf = kmalloc(m, size)!;
  const reps = 10;
  const t0 = now();
  for (let i = 0; i < reps; i++) {
    const dma = dmaMapSingle(dev, buf, size, DMA_FROM_DEVICE);
    deviceWrite(dev, dma, size);
    dmaSyncSingleForCpu(dev, dma, size, DMA_FROM_DEVICE);
    dmaUnmapSingle(dev, dma, size, DMA_FROM_DEVICE);
  }
  const t1 = now();
  console.log(`map+write+sync+unmap 64MiB non-coherent: ${Math.round((t1 - t0) / reps)} ns/op`);
  cpuRead(m, buf, size);
  const t2 = now();
  console.log(`cpu read 64MiB (1M lines through a 256 KiB cache): ${Math.round(t2 - t1)} ns/op`);
  const f = m.cpuCache.footprint;
  console.log(`footprint after 64MiB runs: memoryRuns=${f.memoryRuns} devRuns=${f.devRuns} cachedLines=${f.cachedLines} (capacity ${m.cpuCache.capacityLines}) tokens=${m.cpuCache.tokenCount}`);
}

{
  const m = createMachine("am335x-beaglebone-black", { keepEvents: false });
  const dev = m.device("47401c00.usb");
  const ring: VirtAddr[] = [];
  for (let i = 0; i < 256; i++) ring.push(kmalloc(m, 1536)!);
  const n = 100000;
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const b = ring[i % 256]!;
    const dma = dmaMapSingle(dev, b, 1536, DMA_FROM_DEVICE);
    deviceWrite(dev, dma, 1536);
    dmaUnmapSingle(dev, dma, 1536, DMA_FROM_DEVICE);
    cpuRead(m, b, 1536);
  }
  const t1 = now();
  console.log(`packet cycle 1.5KiB (map+write+unmap+read): ${Math.round((t1 - t0) / n)} ns/op`);
  const f = m.cpuCache.footprint;
  console.log(`footprint after 1e5 packets: memoryRuns=${f.memoryRuns} devRuns=${f.devRuns} cachedLines=${f.cachedLines} specRanges=${f.specRanges} hazards=${m.cpuCache.hazards.length} tokens=${m.cpuCache.tokenCount}`);
}

/** Notebook 04's bounce pattern on a CacheModel alone (section 3 of the header). @returns ms and a checksum line. */
function bouncePattern(pages: number): { ms: number; check: string } {
  const c = new CacheModel({ lineSize: 64, sizeBytes: 32768 }, new Trace({ keepEvents: false }), createPrng(7));
  const t0 = performance.now();
  const BUF = 2560;
  const orig = (i: number): number => 2 ** 33 + i * 4096;
  const slot = (i: number): number => 0x10000000 + i * 4096;
  for (let b = 0; b * BUF < pages; b++) {
    const ids: number[] = [];
    if (b % 2 === 0) c.cpuWrite(orig(0), 4096 * 16);
    for (let i = 0; i < BUF; i++) {
      c.cpuCopy(orig(i), slot(i), 4096);
      ids.push(c.addSpeculationRange(slot(i), 4096));
      c.step("after map");
    }
    c.deviceWrite(slot(0), BUF * 4096, true);
    for (let i = 0; i < BUF; i++) {
      c.cpuCopy(slot(i), orig(i), 4096);
      c.step("after sync");
    }
    for (let i = 0; i < BUF; i++) {
      c.removeSpeculationRange(ids[i]!);
      c.step("after unmap");
    }
  }
  const ms = performance.now() - t0;
  return { ms, check: `${JSON.stringify(c.stats)} ${JSON.stringify(c.footprint)} hazards ${c.hazards.length}` };
}

{
  let best = Infinity;
  let check = "";
  for (let r = 0; r < 3; r++) {
    const x = bouncePattern(20000);
    best = Math.min(best, x.ms);
    check = x.check;
  }
  console.log(`notebook 04 bounce pattern, 20,000 pages (CacheModel alone): ${best.toFixed(0)} ms (best of 3); ${check}`);
}
