/**
 * IOVA rcache fast path benchmark (issue 12): alloc_iova_fast /
 * free_iova_fast on one CPU in a steady state where almost every
 * allocation is served from a magazine.
 *
 * Workload, exactly: domain initIovaDomain(4096, 1, { kernel }) with
 * iovaDomainInitRcaches(d, { cpus: 1 }); xorshift32 seeded 0x2c0ffee;
 * 1,000,000 timed ops: op is a FREE when op >= 2,048 and
 * (op - 2,048) is even, else an ALLOC of size 1 + next() % 32 pages,
 * limit_pfn 0xFFFFF, flush_rcache true, CPU 0; FREE picks next() %
 * live.length, calls free_iova_fast(pfn, size) with the size it was
 * allocated with, and swap-removes it. v6.19 rounds inside alloc_iova_fast;
 * for v5.4 the bench rounds as dma-iommu's iommu_dma_alloc_iova does
 * (sizes below 32 to a power of two) before calling.
 * So: 2,048 allocations (all from the rbtree: the caches start empty), then
 * 498,976 (FREE, ALLOC) pairs with 2,048 live ranges. The whole loop is
 * timed (PRNG and bookkeeping included), wall clock and user CPU time (the
 * machine is shared: CPU time is the steadier figure). Each mode below is
 * run once to warm the JIT, then each 3 times, and the run with the least
 * user CPU is reported (its wall time with it). A hit is an allocation that did not add
 * a range to the rbtree (the first 2,048 count as misses).
 *
 * The loop draws xorshift32 inline (the shifts of lib/core/prng.ts, checked
 * against it at start-up), takes next() % n with a floor division (exact
 * below 2^32), and keeps the live ranges in two typed arrays: the same
 * stream and the same operations as with xorshift32() and JS arrays, without
 * their call and allocation costs.
 *
 * Prints ns/op, the hit rate, the placement checksum (sum of the pfns of
 * every allocation, hex) and the ratio to the kernel C figure of issue 12,
 * ~9 ns/op for the same fast path (measured in userspace on this machine
 * kind by the author; not re-measured here).
 *
 * Two extra timings split the figure (same stream, same warm-up and least
 * user CPU of 3 runs as the full loop):
 * "empty" runs the loop with the same PRNG draws and live-array bookkeeping
 * but no IOVA call (the allocation returns a counter): the bench's own
 * overhead. "check x2" runs the full loop with checkFreeIovaFast called once
 * more before each free: its excess over the full run is what the model's
 * free-side misuse checks (the range's start, end and cached mark from the
 * domain's start table, the order test) cost, per op.
 *
 * Run: npx tsx bench/iova-rcache.bench.ts   (npm run bench -- iova-rcache)
 */
import { xorshift32 } from "../lib/core/prng.js";
import { initIovaDomain } from "../lib/iommu/iova.js";
import { allocIovaFast, checkFreeIovaFast, freeIovaFast, iovaDomainInitRcaches } from "../lib/iommu/iova-rcache.js";

const OPS = 1_000_000;
const LIVE0 = 2048;
const LIMIT_PFN = 0xfffff;
const KERNEL_C_NS = 9;
const SEED = 0x2c0ffee;

/** What iommu_dma_alloc_iova does to a size before v5.17: sizes below 32 up to a power of two (a table for 1..32, the loop run once per size). */
const CALLER_ROUND = new Float64Array(33);
for (let n = 1; n <= 32; n++) {
  let p = 1;
  while (p < n) p *= 2;
  CALLER_ROUND[n] = n < 32 ? p : n;
}

// The loop inlines lib/core/prng.ts's xorshift32 (same shifts, the state kept as a signed 32-bit integer, read
// unsigned with >>> 0) and takes the residues with a floor division (exact for integers below 2^32). Checked here
// against xorshift32 itself so the stream cannot drift from the header's.
{
  const ref = xorshift32(SEED);
  let x = SEED | 0;
  for (let i = 0; i < 10_000; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const u = x >>> 0;
    const r = ref.nextU32();
    const n = 1 + (i % 2049);
    if (u !== r || u - Math.floor(u / n) * n !== r % n) throw new Error(`inlined xorshift32 differs from lib/core/prng.ts at draw ${i}`);
  }
}

/** "full": the workload; "empty": PRNG and bookkeeping only; "check2": full plus a second free-side check per free. */
type Mode = "full" | "empty" | "check2";

function run(kernel: string, mode: Mode = "full"): { ns: number; cpuNs: number; hits: number; allocs: number; checksum: number; failures: number } {
  const d = initIovaDomain(4096, 1, { kernel });
  const rc = iovaDomainInitRcaches(d, { cpus: 1 });
  const empty = mode === "empty";
  const check2 = mode === "check2";
  let fake = 1;
  const callerRounds = kernel === "v5.4";
  // The live ranges: (pfn, size) in two typed arrays, swap-removed (at most LIVE0 + 1 live at once).
  const livePfn = new Float64Array(LIVE0 + 1);
  const liveSize = new Float64Array(LIVE0 + 1);
  let live = 0;
  let x = SEED | 0;
  let hits = 0;
  let allocs = 0;
  let failures = 0;
  let checksum = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let op = 0; op < OPS; op++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const u = x >>> 0;
    if (op >= LIVE0 && (op - LIVE0) % 2 === 0) {
      const idx = u - Math.floor(u / live) * live; // next() % live.length
      const pfn = livePfn[idx]!;
      const size = liveSize[idx]!;
      if (check2) checkFreeIovaFast(d, rc, pfn, size, "bench");
      if (!empty) freeIovaFast(d, pfn, size, 0);
      live--;
      livePfn[idx] = livePfn[live]!;
      liveSize[idx] = liveSize[live]!;
    } else {
      let size = 1 + (u - Math.floor(u / 32) * 32); // 1 + next() % 32
      if (callerRounds) size = CALLER_ROUND[size]!;
      const before = d.count;
      const pfn = empty ? fake++ : allocIovaFast(d, size, LIMIT_PFN, true, 0);
      allocs++;
      if (!pfn) {
        failures++;
        continue;
      }
      if (d.count === before && !empty) hits++;
      livePfn[live] = pfn;
      liveSize[live] = size;
      live++;
      checksum += pfn; // < 1e6 * 2^20, exact
    }
  }
  const t1 = process.hrtime.bigint();
  const c1 = process.cpuUsage(c0);
  return { ns: Number(t1 - t0) / OPS, cpuNs: (c1.user * 1000) / OPS, hits, allocs, checksum, failures };
}

type Result = ReturnType<typeof run>;

/** Run the mode 3 times and keep the run with the least user CPU (noise on a shared machine only adds). */
function best(kernel: string, mode: Mode): Result {
  let b = run(kernel, mode);
  for (let i = 0; i < 2; i++) {
    const r = run(kernel, mode);
    if (r.cpuNs < b.cpuNs) b = r;
  }
  return b;
}

for (const kernel of ["v6.19", "v5.4"]) {
  // Warm-up: one run of each mode before any timing. The loop is one function for the three modes: timing the
  // first mode while the others have not run yet measures code V8 later replaces (about 1.5x slower here).
  for (const mode of ["full", "empty", "check2"] as const) run(kernel, mode);
  const r = best(kernel, "full");
  const e = best(kernel, "empty").cpuNs;
  const c = best(kernel, "check2").cpuNs;
  const f = r.cpuNs;
  console.log(
    `iova rcache fast path (${kernel}, the least user CPU of 3 runs after a warm-up): ${r.ns.toFixed(1)} ns/op wall, ${r.cpuNs.toFixed(1)} ns/op user CPU, ${OPS} ops, hits ${((100 * r.hits) / r.allocs).toFixed(2)}% of ${r.allocs} allocs, ` +
      `failed ${r.failures}, checksum 0x${r.checksum.toString(16)}; kernel C ~${KERNEL_C_NS} ns/op (issue 12): ratio ${(r.ns / KERNEL_C_NS).toFixed(1)}x wall, ${(r.cpuNs / KERNEL_C_NS).toFixed(1)}x CPU`,
  );
  console.log(
    `  split (${kernel}, user CPU ns/op, each the least of 3): full ${f.toFixed(1)} = bench overhead (PRNG + bookkeeping, empty loop) ${e.toFixed(1)} + ` +
      `free-side checks ${(c - f).toFixed(1)} (full with a second check per free: ${c.toFixed(1)}) + ` +
      `the rest (kernel work, argument checks, cached-pfn marks) ${(f - e - (c - f)).toFixed(1)}`,
  );
}
