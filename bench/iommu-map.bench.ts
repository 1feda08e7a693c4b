/**
 * iommu-dma map+unmap benchmark (issue 12): 10^6 pairs of
 * iommu_dma_map_page / iommu_dma_unmap_page of one 4 KiB page through the
 * whole model path (IOVA from the rcaches, io-pgtable PTE write and clear,
 * flush queue, cache-maintenance rules, trace with keepEvents off).
 *
 * Workload, exactly: createMachine("arm64-server", { kernel: "v6.19",
 * keepEvents: false, iommu: { strict: false } }) (SMMUv3, lazy: the flush
 * queue), device "0000:02:00.0"; pair i maps phys 0x80000000 + (i mod 512)
 * * 4096, 4096 bytes, DMA_TO_DEVICE, CPU 0, then unmaps it. Checksum: the sum
 * of the handles mod 2^32 (hex), and the domain's counters at the end.
 * Target: under 10 s on the project's 2-core machines (wall clock).
 *
 * Run: npx tsx bench/iommu-map.bench.ts   (npm run bench -- iommu)
 */
import { createMachine } from "../lib/platform/machine.js";
import { iommuDmaMapPage, iommuDmaUnmapPage } from "../lib/iommu/dma-iommu.js";
import { iommuDomainCounters } from "../lib/iommu/domain.js";
import { DMA_TO_DEVICE } from "../lib/core/dma-types.js";

const PAIRS = Number(process.env.IOMMU_BENCH_PAIRS ?? 1_000_000);
const m = createMachine("arm64-server", { kernel: "v6.19", keepEvents: false, iommu: { strict: false } });
const dev = m.device("0000:02:00.0");
let sum = 0;
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (let i = 0; i < PAIRS; i++) {
  const h = iommuDmaMapPage(dev, 0x80000000 + (i % 512) * 4096, 4096, DMA_TO_DEVICE) as number;
  sum = (sum + h) % 4294967296;
  iommuDmaUnmapPage(dev, h, 4096, DMA_TO_DEVICE);
}
const wall = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(c0);
const c = iommuDomainCounters(dev.iommuDomain!);
console.log(`iommu-map: ${PAIRS} map+unmap pairs (4 KiB, lazy, rcaches) in ${wall.toFixed(2)} s wall, ${(cpu.user / 1e6).toFixed(2)} s user CPU (${((wall * 1e9) / PAIRS).toFixed(0)} ns/pair); checksum 0x${sum.toString(16)}`);
console.log(`counters: ${JSON.stringify(c)}`);
