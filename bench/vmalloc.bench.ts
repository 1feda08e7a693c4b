/**
 * vmalloc + vmalloc_to_sg benchmark: a 64 MiB buffer (16384 pages) from the
 * buddy allocator (lib/mm/vmalloc32.ts) on the case-04 PC (8 GiB), then one
 * scatterlist entry per page, then vfree. Fresh machine per round (its
 * buddy set-up is measured separately). Prints `name: N ns/op` lines where
 * one op is one page; ratios within this run only.
 *
 * Usage: npx tsx bench/vmalloc.bench.ts [rounds]
 */
import { createMachine } from "../lib/platform/machine.js";
import { buddyOf } from "../lib/mm/page-alloc.js";
import { vfreeBuddy, vmallocBuddy, vmallocToSg } from "../lib/mm/vmalloc32.js";

const ROUNDS = Number(process.argv[2] ?? 5);
const SIZE = 64 * 2 ** 20;
const PAGES = SIZE / 4096;

let tInit = 0n;
let tAlloc = 0n;
let tSg = 0n;
let tFree = 0n;
for (let r = 0; r < ROUNDS; r++) {
  const m = createMachine("x86-64-pc-8g", { kernel: "v6.19", keepEvents: false });
  const t0 = process.hrtime.bigint();
  buddyOf(m);
  const t1 = process.hrtime.bigint();
  const b = vmallocBuddy(m, SIZE);
  const t2 = process.hrtime.bigint();
  const sg = vmallocToSg(m, b!.va, PAGES);
  const t3 = process.hrtime.bigint();
  vfreeBuddy(m, b!.va);
  const t4 = process.hrtime.bigint();
  if (!sg || sg.length !== PAGES) throw new Error("vmallocToSg failed");
  tInit += t1 - t0;
  tAlloc += t2 - t1;
  tSg += t3 - t2;
  tFree += t4 - t3;
}
const per = (t: bigint) => (Number(t) / ROUNDS / PAGES).toFixed(1);
console.log(`buddy init (8 GiB, per 64 MiB-buffer page): ${per(tInit)} ns/op`);
console.log(`vmalloc 64 MiB (per page): ${per(tAlloc)} ns/op`);
console.log(`vmallocToSg 64 MiB (per page): ${per(tSg)} ns/op`);
console.log(`vfree 64 MiB (per page): ${per(tFree)} ns/op`);
console.log(`vmalloc + vmallocToSg (per page): ${per(tAlloc + tSg)} ns/op`);
