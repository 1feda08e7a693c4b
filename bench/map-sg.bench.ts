/**
 * iommu-dma scatterlist benchmark: 10^4 dma_map_sg / dma_unmap_sg pairs of
 * seeded random lists (1..64 entries, each 1..16 pages at its own physical
 * place, page-aligned) on the MT8173 decoder behind the M4U, for v4.4
 * (natural-alignment padding, no merging) and v6.19 (boundary padding,
 * merging up to max_seg_size). Prints `name: N ns/op` (one op = one map +
 * one unmap of one list) and the v6.19/v4.4 ratio from the same run, plus
 * the mean PTE writes per list. Trace events are not stored.
 *
 * Usage: npx tsx bench/map-sg.bench.ts [pairs]
 */
import type { Pfn } from "../lib/core/addr.js";
import { createPrng } from "../lib/core/prng.js";
import { createMachine } from "../lib/platform/machine.js";
import { sgTableFromEntries } from "../lib/sg/scatterlist.js";
import { dmaMapSg, dmaUnmapSg } from "../lib/dma/mapping.js";
import { DMA_FROM_DEVICE } from "../lib/core/dma-types.js";

const PAIRS = Number(process.argv[2] ?? 10_000);

function run(kernel: string, pairs = PAIRS): { nsPerOp: number; ptesPerList: number; failures: number } {
  const m = createMachine("mt8173-evb", { kernel, keepEvents: false });
  const dev = m.device("16020000.vcodec");
  const prng = createPrng(4242);
  // Build the lists first so only map + unmap are timed.
  const lists = Array.from({ length: Math.min(pairs, 2000) }, () => {
    const n = 1 + prng.nextInt(64);
    let pfn = 0x40000 + prng.nextInt(0x1000);
    return Array.from({ length: n }, () => {
      const pages = 1 + prng.nextInt(16);
      const e = { pfn: pfn as Pfn, offset: 0, length: pages * 4096 };
      pfn += pages + 1 + prng.nextInt(8);
      return e;
    });
  });
  let failures = 0;
  const pt = dev.iommuDomain!.pgtable;
  const w0 = pt.pteWrites;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < pairs; i++) {
    const list = lists[i % lists.length]!;
    const sgt = sgTableFromEntries(list);
    const n = dmaMapSg(dev, sgt.sgl, list.length, DMA_FROM_DEVICE);
    if (n === 0) {
      failures++;
      continue;
    }
    dmaUnmapSg(dev, sgt.sgl, list.length, DMA_FROM_DEVICE);
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return { nsPerOp: ns / pairs, ptesPerList: (pt.pteWrites - w0) / pairs, failures };
}

run("v6.19", 500); // warm-up
const a = run("v4.4");
const b = run("v6.19");
console.log(`map-sg v4.4 (padding, no merge): ${a.nsPerOp.toFixed(0)} ns/op`);
console.log(`map-sg v6.19 (merge, boundary padding): ${b.nsPerOp.toFixed(0)} ns/op`);
console.log(`map-sg ratio v6.19/v4.4: ${(b.nsPerOp / a.nsPerOp).toFixed(2)}`);
console.log(`map-sg PTE writes per list: v4.4 ${a.ptesPerList.toFixed(1)}, v6.19 ${b.ptesPerList.toFixed(1)}; failures ${a.failures}/${b.failures}`);
