/**
 * The kernel's general-purpose special-memory allocator (lib/genalloc.c), as
 * the DMA atomic pools use it, plus the bitmap search it is built on
 * (lib/bitmap.c bitmap_find_next_zero_area_off, which mm/cma.c uses too).
 *
 * A pool is a list of chunks; each chunk is a virtually contiguous range with
 * a physical base and a bitmap with one bit per granule of 2^min_alloc_order
 * bytes. Rules followed (read in v6.19 and v5.4.6; v4.4.1 checked for the
 * chunk order and the order-align algorithm):
 *
 * - gen_pool_add_owner puts a new chunk at the HEAD of the chunk list
 *   (list_add_rcu, not list_add_tail), so the newest chunk is searched
 *   first. Its `avail` starts at the full byte size, while the bitmap has
 *   floor(size / granule) bits: a tail smaller than one granule counts in
 *   gen_pool_avail / gen_pool_size but can never be allocated.
 * - gen_pool_alloc_algo_owner: size 0 returns 0. nbits = DIV_ROUND_UP(size,
 *   granule). For each chunk, head first: skip it when the requested (not
 *   rounded) size exceeds its avail; otherwise run the algorithm over
 *   [0, nbits_of_chunk); a result >= the chunk's bit count means no room.
 *   On success the chunk's avail drops by nbits * granule and the address is
 *   chunk start + bit * granule. Nothing found: 0.
 * - gen_pool_free_owner: finds the chunk whose [start, end] holds `addr`;
 *   BUG()s if none holds it, if the range runs past the chunk end, or if any
 *   of the bits was already clear (clear_bits_ll returns -EBUSY, BUG_ON).
 *   The model throws {@link KernelOops} for these BUGs, before changing state.
 * - gen_pool_first_fit: bitmap_find_next_zero_area(map, size, start, nr, 0).
 * - gen_pool_first_fit_order_align: the same with align_mask =
 *   roundup_pow_of_two(nr) - 1: the lowest free run whose first bit index
 *   (counted from the CHUNK start, not from address 0) is a multiple of
 *   roundup_pow_of_two(nr); only nr bits are taken.
 * - bitmap_find_next_zero_area_off: index = first zero bit at or after
 *   `start`; index = ALIGN_MASK(index + off, mask) - off; if index + nr >
 *   size return index + nr (failure, >= size); if a set bit lies in
 *   [index, index + nr) restart from that bit + 1; else return index.
 *
 * Release differences (none changes a placement):
 * - v4.4.1: chunk->avail is atomic_t (int) and bitmap indices are int;
 *   v5.4.6: avail is atomic_long_t, indices still int; v6.19: indices are
 *   unsigned long (lib/genalloc.c of each tree). Only chunks of 2^31 granules
 *   or more would behave differently; the model uses exact integers.
 * - addr_in_gen_pool (absent in v6.19, present in v5.4.6) was renamed
 *   gen_pool_has_addr (present in v6.19, absent in v5.4.6); same rule.
 *
 * Not modelled: the vzalloc failure of the chunk header (gen_pool_add_virt
 * always returns 0 here), owners, NUMA nodes, RCU, the best-fit and fixed
 * algorithms, devm pools.
 */
import { MAX_ADDR, checkInt, roundupPowOfTwo } from "../core/arith.js";
import { KernelOops, ModelConfigError } from "../core/errors.js";

/** Allocation algorithms the model implements (kernel function names). */
export type GenPoolAlgo = "gen_pool_first_fit" | "gen_pool_first_fit_order_align";

const ALGOS: readonly GenPoolAlgo[] = ["gen_pool_first_fit", "gen_pool_first_fit_order_align"];

/**
 * One chunk (struct gen_pool_chunk). Addresses and sizes in bytes.
 * `bits[i]` is 1 when granule i is allocated.
 */
export interface GenPoolChunk {
  /** chunk->start_addr: first virtual address. */
  readonly startAddr: number;
  /** chunk->end_addr: last virtual address (inclusive) = start + size - 1. */
  readonly endAddr: number;
  /** chunk->phys_addr: physical address of startAddr. */
  readonly physAddr: number;
  /** chunk->avail: free bytes (starts at the full size, tail granule fraction included). */
  avail: number;
  /** The allocation bitmap: floor(size / granule) entries of 0 (free) or 1 (used). */
  readonly bits: Uint8Array;
}

/** A pool (struct gen_pool). `chunks[0]` is the list head: the newest chunk. */
export interface GenPool {
  /** log2 of the bytes one bitmap bit stands for (PAGE_SHIFT = 12 for the DMA pools). */
  readonly minAllocOrder: number;
  /** pool->algo: gen_pool_first_fit unless changed with {@link genPoolSetAlgo}. */
  algo: GenPoolAlgo;
  /** The chunk list, head first (newest first). */
  readonly chunks: GenPoolChunk[];
}

/** Granule of a pool: 2^minAllocOrder bytes. */
export function genPoolGranule(pool: GenPool): number {
  return 2 ** pool.minAllocOrder;
}

/**
 * gen_pool_create(min_alloc_order, nid): an empty pool using
 * gen_pool_first_fit.
 * @param minAllocOrder log2 of the granule in bytes, 0..30.
 * @throws ModelConfigError for a non-integer or out-of-range order.
 * Source: lib/genalloc.c gen_pool_create (v5.4.6, v6.19).
 */
export function genPoolCreate(minAllocOrder: number): GenPool {
  if (!Number.isInteger(minAllocOrder) || minAllocOrder < 0 || minAllocOrder > 30) {
    throw new ModelConfigError("genPoolCreate(minAllocOrder)", minAllocOrder, "an integer 0..30 (log2 of the granule)");
  }
  return { minAllocOrder, algo: "gen_pool_first_fit", chunks: [] };
}

/**
 * gen_pool_set_algo(pool, algo, data).
 * @throws ModelConfigError for an algorithm the model does not implement.
 */
export function genPoolSetAlgo(pool: GenPool, algo: GenPoolAlgo): void {
  if (!ALGOS.includes(algo)) throw new ModelConfigError("genPoolSetAlgo(algo)", algo, ALGOS.join(" | "));
  pool.algo = algo;
}

/**
 * gen_pool_add_virt(pool, virt, phys, size, nid): add a chunk at the head of
 * the chunk list. Returns 0 (the kernel's -ENOMEM comes only from a failed
 * vzalloc of the chunk header, which the model does not fail).
 * @param virt first virtual address, bytes (>= 1: address 0 would be
 *   indistinguishable from gen_pool_alloc's failure value).
 * @param phys physical address of `virt`.
 * @param size bytes, >= 1 (need not be a multiple of the granule: see the module note).
 * @throws ModelConfigError for bad numbers or a range overlapping an existing
 *   chunk (the kernel does not check; overlapping chunks are misuse).
 */
export function genPoolAddVirt(pool: GenPool, virt: number, phys: number, size: number): 0 {
  checkInt("genPoolAddVirt(virt)", virt, 1);
  checkInt("genPoolAddVirt(phys)", phys);
  checkInt("genPoolAddVirt(size)", size, 1);
  if (virt + size - 1 > MAX_ADDR) throw new ModelConfigError("genPoolAddVirt(size)", size, "virt + size <= 2^53");
  if (phys + size - 1 > MAX_ADDR) throw new ModelConfigError("genPoolAddVirt(phys)", phys, "phys + size <= 2^53");
  const end = virt + size - 1;
  for (const c of pool.chunks) {
    if (virt <= c.endAddr && c.startAddr <= end) {
      throw new ModelConfigError("genPoolAddVirt(virt)", virt, `a range not overlapping the chunk [${c.startAddr}, ${c.endAddr}]`);
    }
  }
  const nbits = Math.floor(size / genPoolGranule(pool));
  pool.chunks.unshift({ startAddr: virt, endAddr: end, physAddr: phys, avail: size, bits: new Uint8Array(nbits) });
  return 0;
}

/**
 * gen_pool_add(pool, addr, size, nid): gen_pool_add_virt with phys = -1 in the kernel; here phys = addr.
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function genPoolAdd(pool: GenPool, addr: number, size: number): 0 {
  checkInt("genPoolAdd(addr)", addr, 1);
  checkInt("genPoolAdd(size)", size, 1);
  return genPoolAddVirt(pool, addr, addr, size);
}

function findNextZeroBit(map: Uint8Array, size: number, start: number): number {
  for (let i = start; i < size; i++) if (map[i] === 0) return i;
  return size;
}

function findNextBit(map: Uint8Array, size: number, start: number): number {
  for (let i = start; i < size; i++) if (map[i] !== 0) return i;
  return size;
}

/**
 * bitmap_find_next_zero_area_off(map, size, start, nr, align_mask,
 * align_offset) (lib/bitmap.c, identical in v5.4.6 and v6.19): the lowest
 * index >= start of a run of `nr` zero bits such that index + alignOffset is
 * a multiple of alignMask + 1. Returns a value >= size when there is none
 * (the kernel returns the would-be end index).
 * @param map one entry per bit, 0 = free.
 * @param size bits to consider (map may be longer).
 * @param alignMask 2^k - 1.
 * @throws ModelConfigError for bad arguments.
 */
export function bitmapFindNextZeroAreaOff(map: Uint8Array, size: number, start: number, nr: number, alignMask: number, alignOffset: number): number {
  checkInt("bitmapFindNextZeroAreaOff(size)", size, 0, map.length);
  checkInt("bitmapFindNextZeroAreaOff(start)", start);
  checkInt("bitmapFindNextZeroAreaOff(nr)", nr);
  checkInt("bitmapFindNextZeroAreaOff(alignMask)", alignMask);
  if (alignMask !== 0 && roundupPowOfTwo(alignMask + 1) !== alignMask + 1) {
    throw new ModelConfigError("bitmapFindNextZeroAreaOff(alignMask)", alignMask, "0 or 2^k - 1");
  }
  checkInt("bitmapFindNextZeroAreaOff(alignOffset)", alignOffset);
  const a = alignMask + 1;
  for (;;) {
    let index = findNextZeroBit(map, size, start);
    index = Math.ceil((index + alignOffset) / a) * a - alignOffset;
    const end = index + nr;
    if (end > size) return end;
    const i = findNextBit(map, end, index);
    if (i < end) {
      start = i + 1;
      continue;
    }
    return index;
  }
}

/** bitmap_find_next_zero_area(map, size, start, nr, align_mask): the _off form with offset 0. */
export function bitmapFindNextZeroArea(map: Uint8Array, size: number, start: number, nr: number, alignMask: number): number {
  return bitmapFindNextZeroAreaOff(map, size, start, nr, alignMask, 0);
}

/**
 * Run a pool algorithm over one chunk's bitmap (genpool_algo_t): the first
 * bit of the chosen run, or a value >= the chunk's bit count for none.
 * Sources: gen_pool_first_fit, gen_pool_first_fit_order_align (lib/genalloc.c).
 * @throws ModelConfigError naming the argument for a non-integer, negative or out-of-range number (or a wrong type), before anything changes.
 */
export function genPoolRunAlgo(algo: GenPoolAlgo, map: Uint8Array, size: number, start: number, nr: number): number {
  if (!ALGOS.includes(algo)) throw new ModelConfigError("genPoolRunAlgo(algo)", algo, ALGOS.join(" | "));
  checkInt("genPoolRunAlgo(size)", size, 0, map.length);
  checkInt("genPoolRunAlgo(start)", start);
  checkInt("genPoolRunAlgo(nr)", nr);
  if (algo === "gen_pool_first_fit") return bitmapFindNextZeroArea(map, size, start, nr, 0);
  return bitmapFindNextZeroArea(map, size, start, nr, roundupPowOfTwo(Math.max(nr, 1)) - 1);
}

/**
 * gen_pool_alloc(pool, size) = gen_pool_alloc_algo(pool, size, pool->algo):
 * the virtual address of the allocation, or 0 when no chunk has room (and
 * for size 0). Takes DIV_ROUND_UP(size, granule) granules.
 * @param size bytes, >= 0.
 * @param algo overrides the pool's algorithm (gen_pool_alloc_algo).
 * @throws ModelConfigError for a bad size or algorithm.
 * Source: lib/genalloc.c gen_pool_alloc_algo_owner (v5.4.6, v6.19).
 */
export function genPoolAlloc(pool: GenPool, size: number, algo: GenPoolAlgo = pool.algo): number {
  checkInt("genPoolAlloc(size)", size);
  if (!ALGOS.includes(algo)) throw new ModelConfigError("genPoolAlloc(algo)", algo, ALGOS.join(" | "));
  if (size === 0) return 0;
  const g = genPoolGranule(pool);
  const nbits = Math.ceil(size / g);
  for (const chunk of pool.chunks) {
    if (size > chunk.avail) continue;
    const endBit = chunk.bits.length;
    const startBit = genPoolRunAlgo(algo, chunk.bits, endBit, 0, nbits);
    if (startBit >= endBit) continue;
    chunk.bits.fill(1, startBit, startBit + nbits);
    chunk.avail -= nbits * g;
    return chunk.startAddr + startBit * g;
  }
  return 0;
}

function chunkOf(pool: GenPool, addr: number): GenPoolChunk | undefined {
  return pool.chunks.find((c) => addr >= c.startAddr && addr <= c.endAddr);
}

/**
 * gen_pool_free(pool, addr, size): give back DIV_ROUND_UP(size, granule)
 * granules starting at the granule that holds `addr`.
 * @throws KernelOops where the kernel BUG()s: no chunk holds addr, the range
 *   runs past the chunk end, or a granule in it is not allocated (double
 *   free). The pool is unchanged when it throws.
 * @throws ModelConfigError for non-integer arguments or size 0.
 * Source: lib/genalloc.c gen_pool_free_owner (v6.19; gen_pool_free in v5.4.6).
 */
export function genPoolFree(pool: GenPool, addr: number, size: number): void {
  checkInt("genPoolFree(addr)", addr);
  checkInt("genPoolFree(size)", size, 1);
  const chunk = chunkOf(pool, addr);
  const chain = ["gen_pool_free_owner", "gen_pool_free"];
  if (!chunk) throw new KernelOops("kernel BUG at lib/genalloc.c (gen_pool_free_owner): address in no chunk", addr, chain);
  if (addr + size - 1 > chunk.endAddr) throw new KernelOops("kernel BUG at lib/genalloc.c (gen_pool_free_owner): range past the chunk end", addr, chain);
  const g = genPoolGranule(pool);
  const nbits = Math.ceil(size / g);
  const startBit = Math.floor((addr - chunk.startAddr) / g);
  for (let i = startBit; i < startBit + nbits; i++) {
    if (i >= chunk.bits.length || chunk.bits[i] === 0) {
      throw new KernelOops("kernel BUG at lib/genalloc.c (gen_pool_free_owner): freeing granules that are not allocated", addr, chain);
    }
  }
  chunk.bits.fill(0, startBit, startBit + nbits);
  chunk.avail += nbits * g;
}

/**
 * gen_pool_has_addr(pool, start, size) (addr_in_gen_pool before the rename):
 * true iff one chunk holds all of [start, start + size - 1].
 */
export function genPoolHasAddr(pool: GenPool, start: number, size: number): boolean {
  checkInt("genPoolHasAddr(start)", start);
  checkInt("genPoolHasAddr(size)", size, 1);
  const end = start + size - 1;
  return pool.chunks.some((c) => start >= c.startAddr && start <= c.endAddr && end <= c.endAddr);
}

/**
 * gen_pool_virt_to_phys(pool, addr): the physical address of `addr`, or -1
 * (the kernel's (phys_addr_t)-1) when no chunk holds it.
 */
export function genPoolVirtToPhys(pool: GenPool, addr: number): number {
  checkInt("genPoolVirtToPhys(addr)", addr);
  const c = chunkOf(pool, addr);
  return c ? c.physAddr + (addr - c.startAddr) : -1;
}

/** gen_pool_avail(pool): the sum of the chunks' avail, bytes. */
export function genPoolAvail(pool: GenPool): number {
  return pool.chunks.reduce((s, c) => s + c.avail, 0);
}

/** gen_pool_size(pool): the sum of the chunks' sizes (end - start + 1), bytes. */
export function genPoolSize(pool: GenPool): number {
  return pool.chunks.reduce((s, c) => s + (c.endAddr - c.startAddr + 1), 0);
}
