/**
 * IOVA steady-state benchmark: the workload of
 * /work/shared/reference/iova-workload.md, exactly.
 *
 * Domain init_iova_domain(4096, 1); xorshift32 seeded 0x12345678;
 * 1,000,000 ops: op is a FREE when op >= 10000 and (op - 10000) is even,
 * else an ALLOC of 1 + next() % 64 pfns, limit_pfn 0xFFFFF, size-aligned;
 * FREE picks next() % live.length, frees its pfn_lo and swap-removes it.
 * The whole loop is timed (PRNG and bookkeeping included).
 *
 * Prints ns/op for the model (lib/iommu/iova.ts) and for the literal linear
 * walk (test/iommu/iova-reference.ts) on the same op stream, their ratio, and
 * checksums (sum of pfn_lo of every allocation, and the count of failed
 * allocations) to compare with the kernel C run.
 *
 * Then the same op stream through the model of older releases' allocators
 * (initIovaDomain(4096, 1, { kernel })): ns/op and checksum per release (the
 * checksums may differ from v6.19's where that release places differently;
 * on this workload, one limit equal to pfn_32bit and no failures, they agree).
 *
 * Run: npx tsx bench/iova.bench.ts [refOps]   (refOps defaults to the full 1,000,000)
 */
import { xorshift32 } from "../lib/core/prng.js";
import { allocIova, freeIova, initIovaDomain } from "../lib/iommu/iova.js";
import { RefIovaDomain } from "../test/iommu/iova-reference.js";

const OPS = 1_000_000;
const WARMUP = 10_000;
const LIMIT_PFN = 0xfffff;

interface Result {
  ns: number;
  ops: number;
  checksum: bigint;
  failures: number;
  allocs: number;
}

function runModel(ops: number, kernel?: string): Result {
  const rng = xorshift32(0x12345678);
  const d = kernel === undefined ? initIovaDomain(4096, 1) : initIovaDomain(4096, 1, { kernel });
  const live: number[] = [];
  let checksum = 0n;
  let sum = 0; // exact while below 2^53; folded into the bigint every so often
  let failures = 0;
  let allocs = 0;
  const t0 = process.hrtime.bigint();
  for (let op = 0; op < ops; op++) {
    if (op >= WARMUP && (op - WARMUP) % 2 === 0) {
      const idx = rng.nextU32() % live.length;
      freeIova(d, live[idx]!);
      live[idx] = live[live.length - 1]!;
      live.pop();
    } else {
      const size = 1 + (rng.nextU32() % 64);
      const got = allocIova(d, size, LIMIT_PFN, true);
      allocs++;
      if (got === null) failures++;
      else {
        live.push(got.pfnLo);
        sum += got.pfnLo;
        if (sum > 2 ** 50) {
          checksum += BigInt(sum);
          sum = 0;
        }
      }
    }
  }
  const t1 = process.hrtime.bigint();
  checksum += BigInt(sum);
  return { ns: Number(t1 - t0) / ops, ops, checksum, failures, allocs };
}

function runReference(ops: number): Result & { prevSteps: number } {
  const rng = xorshift32(0x12345678);
  const d = new RefIovaDomain(4096, 1);
  const live: number[] = [];
  let checksum = 0n;
  let sum = 0;
  let failures = 0;
  let allocs = 0;
  const t0 = process.hrtime.bigint();
  for (let op = 0; op < ops; op++) {
    if (op >= WARMUP && (op - WARMUP) % 2 === 0) {
      const idx = rng.nextU32() % live.length;
      d.free(live[idx]!);
      live[idx] = live[live.length - 1]!;
      live.pop();
    } else {
      const size = 1 + (rng.nextU32() % 64);
      const got = d.alloc(size, LIMIT_PFN, true);
      allocs++;
      if (got === null) failures++;
      else {
        live.push(got.pfnLo);
        sum += got.pfnLo;
        if (sum > 2 ** 50) {
          checksum += BigInt(sum);
          sum = 0;
        }
      }
    }
  }
  const t1 = process.hrtime.bigint();
  checksum += BigInt(sum);
  return { ns: Number(t1 - t0) / ops, ops, checksum, failures, allocs, prevSteps: d.prevSteps };
}

const refOps = Number(process.argv[2] ?? OPS);

const model = runModel(OPS);
console.log(
  `iova steady-state: ${model.ns.toFixed(0)} ns/op (model), ${OPS} ops, checksum 0x${model.checksum.toString(16)}, failed allocs ${model.failures}`,
);
// Same op stream, shorter if asked, to compare like with like.
const modelShort = refOps === OPS ? model : runModel(refOps);
const ref = runReference(refOps);
console.log(
  `iova steady-state: ${ref.ns.toFixed(0)} ns/op (reference linear walk), ${refOps} ops, checksum 0x${ref.checksum.toString(16)}, ` +
    `failed allocs ${ref.failures}, ${(ref.prevSteps / ref.allocs).toFixed(0)} rb_prev steps/alloc`,
);
console.log(
  `iova steady-state: model ${(ref.ns / modelShort.ns).toFixed(1)}x faster than the linear walk over ${refOps} ops; ` +
    `checksums ${modelShort.checksum === ref.checksum ? "match" : "DIFFER"}`,
);
console.log(`iova steady-state: kernel C reference about 7400 ns/op (iova-workload.md): model/kernel ratio ${(model.ns / 7400).toFixed(3)}`);
for (const kernel of ["v4.4", "v4.19", "v5.10"]) {
  const m = runModel(OPS, kernel);
  console.log(`iova steady-state: ${m.ns.toFixed(0)} ns/op (model, ${kernel} allocator), checksum 0x${m.checksum.toString(16)}, failed allocs ${m.failures}`);
}
