/**
 * Which drivers/iommu/iova.c an IovaDomain follows: the allocator's
 * behaviour per kernel release, as a set of switches that lib/iommu/iova.ts
 * applies around the shared block-index search (lib/iommu/iova-blocks.ts).
 *
 * Every boundary below was read in real release trees (fetched imports,
 * Makefile VERSION/PATCHLEVEL/SUBLEVEL checked; `drivers/iommu/iova.c` and
 * `include/linux/iova.h` at HEAD unless a commit is named) and is bracketed
 * by two trees: "absent in X, present in Y". Where the trees leave a gap of
 * more than one release, the release the model switches at is the mainline
 * release the change went into as far as we know; that is marked "(model:
 * vA.B)" and the bracket is what was verified. Stable trees can carry
 * backports (noted where seen): the model follows mainline releases.
 *
 * | switch | behaviour | absent in | present in | model from |
 * | --- | --- | --- | --- | --- |
 * | (v4.4 base) | inclusive limit_pfn in the walk; cached32_node used and updated only when limit_pfn equals the init argument pfn_32bit; a NULL cached32 means "walk from rb_last()"; the walk's bottom check keeps start_pfn itself out; `pfn_lo - 1` wraps for a range at pfn 0 | — | zanpocc/linux-4.4.1, xing393939/linux-4.6.2, calebwilliamsd/linux-4.7.4-casio, pengdonglin137/linux-4.9 (4.9.0) | v4.4 |
 * | cached32AnyLimit | cached32_node is the start for every limit_pfn <= pfn_32bit (still only updated when limit_pfn == pfn_32bit); the walk then takes cached32's pfn_lo as its top even when the caller's limit is lower (defect: a range can land above the limit, gone with the v4.15 rework) | pengdonglin137/linux-4.9 (4.9.0) | pengdonglin137/linux-4.10.17 | v4.10 |
 * | clampLoUnderflow | the walk's `pfn_lo - 1` is clamped at 0 (no wrap for a range at pfn 0; `__get_cached_rbnode()` still unclamped) | HCLS/linux-4.11 (4.11.0) | jason50123/linux-4.12 (4.12.0) | v4.12 |
 * | exclusiveLimit | the walk works with limit_pfn + 1 (dma_32bit_pfn = pfn_32bit + 1): start_pfn itself can be handed out; the free path caches the successor when its pfn_lo <= pfn_32bit | jason50123/linux-4.12 (4.12.0) | kinmax/linux-4.13.19 (Makefile 4.13.9), linuxzjs/linux-4.14 (4.14.177) | v4.13 |
 * | rework | anchor node, cached_node beside cached32_node, dma_32bit_pfn = 2^32 / granule (no pfn_32bit argument), the min(limit, pfn_lo) walk with `new_pfn < start_pfn` failing, both cached nodes updated by pfn_hi < dma_32bit_pfn; the free path does not move cached32_node when the freed node is cached32_node but ends at or above 4 GiB (defect: stale cached32_node) | linuxzjs/linux-4.14 (4.14.177) | sndrzt/linux-4.15 commit 6ea062648 (4.15.0; its HEAD is Ubuntu's tree with the stale-node fix backported), chens37/linux-4.19.1 | v4.15 |
 * | max32 | max32_alloc_size: allocations with limit <= dma_32bit_pfn and size >= it fail at once; a failed walk stores size; reset to dma_32bit_pfn when a free moves cached32_node | chens37/linux-4.19.1 | VVvector/linux-5.0.1 | v5.0 |
 * | max32FastFailStores | (defect) the fast fail itself also stores size into max32_alloc_size | — | VVvector/linux-5.0.1 | v5.0 only |
 * | (fixed) | the fast fail leaves max32_alloc_size alone | VVvector/linux-5.0.1 | wangliang-cs/linux-5.2.1 (a stable release: may be a backport) | v5.1 (model) |
 * | cached32FreedFix | freeing the cached32 node itself always moves cached32_node to the successor | wangliang-cs/linux-5.2.1 | github-lvbing/linux-5.3.1, hxb-gt/linux-5.4.6 | v5.3 |
 * | retry | a failed walk is retried once over the space above the start node, accepting only candidates above it; retry_pfn = start pfn_hi + 1 (defect: it wraps to 0 when the start node is the anchor, so the retry accepts pfns below start_pfn) | Prashant446/linux-5.10.89 | CompressionDuck/linux-5.11 (5.11.0, retry from the anchor), wowk/linux-5.15 (5.15.55), dunli/linux-5.17 (5.17-rc5), yishangzhang/linux-5.19, sun363587351/linux-6.0 (6.0-rc1), krr-io/linux-6.1.0 (6.1-rc7) (from iova_find_limit(): same placements) | v5.11 |
 * | max32ResetAnyFree | every free with pfn_lo < dma_32bit_pfn resets max32_alloc_size (not only one that moves cached32_node) | dunli/linux-5.17 (5.17-rc5) | yishangzhang/linux-5.19 (also wowk/linux-5.15 at 5.15.55, a stable backport) | v5.18 (model) |
 * | (retry fixed) | retry_pfn = start pfn_hi, retry only if it is below the limit, low = retry_pfn + 1: no wrap for the anchor | krr-io/linux-6.1.0 (6.1-rc7) | xmphoenix/linux-6.2.12-slow-motion, SToPire/linux-6.3.8, vivo50kff/linux-6.8, matankalina/linux-6.19.10-fork (Makefile 6.19.0) | v6.2 (model) |
 *
 * Commits (subjects as in mainline; only bee60e94a1e2 was checked against a
 * commit page here, the other hashes are not given because they were not
 * verified): "iommu/iova: Optimise attempts to allocate iova from 32bit
 * address range" (bee60e94a1e2, v5.0: max32); "iommu/iova: Fix tracking of
 * recently failed iova address" (v5.1: fast fail no longer stores);
 * "iommu/iova: Remove stale cached32_node" (v5.3); "iommu/iova: Retry from
 * last rb tree node if iova search fails" (v5.11); "iommu/iova: Improve
 * 32-bit free space estimate" (max32 reset on any free below 4 GiB);
 * "iommu/iova: Fix alloc iova overflows issue" (retry_pfn wrap). The v4.15
 * rework is Robin Murphy's series "iommu/iova: Extend rbtree node caching",
 * "Make dma_32bit_pfn implicit", "Add rbtree anchor node", "Simplify the
 * allocation loop" (as we recall the subjects).
 */
import { parseKernelVersion, type KernelVersion } from "../kernel/version.js";

/**
 * The allocator switches of one release (see the table in this file's
 * header). All booleans; `name` is the canonical release name ("v5.10").
 */
export interface IovaRelease {
  readonly name: string;
  /** v4.10+: cached32_node is the start for any limit_pfn <= pfn_32bit (pre-v4.15 only). */
  readonly cached32AnyLimit: boolean;
  /** v4.12+: the pre-v4.15 walk clamps `pfn_lo - 1` at 0. */
  readonly clampLoUnderflow: boolean;
  /** v4.13+: the pre-v4.15 walk uses an exclusive limit (start_pfn can be handed out). */
  readonly exclusiveLimit: boolean;
  /** v4.15+: anchor node, cached_node, implicit dma_32bit_pfn, min(limit, pfn_lo) walk. */
  readonly rework: boolean;
  /** v5.0+: max32_alloc_size fast fail. */
  readonly max32: boolean;
  /** v5.0 only: the fast fail also stores size into max32_alloc_size. */
  readonly max32FastFailStores: boolean;
  /** v5.3+: freeing the cached32 node itself always moves cached32_node. */
  readonly cached32FreedFix: boolean;
  /** v5.11+: one retry pass above the start node. */
  readonly retry: boolean;
  /** v5.11 .. v6.1: retry_pfn = pfn_hi + 1, which wraps to 0 for the anchor. */
  readonly retryWraps: boolean;
  /** v5.18+: any free with pfn_lo < dma_32bit_pfn resets max32_alloc_size. */
  readonly max32ResetAnyFree: boolean;
}

function at(v: KernelVersion, major: number, minor: number): boolean {
  return v.major !== major ? v.major > major : v.minor >= minor;
}

/**
 * The switches for a release name ("v4.4", "5.10", "v6.19.10"; the stable
 * suffix is ignored). Releases before v4.4 get the v4.4 behaviour and
 * releases after v6.19 the v6.19 behaviour (the model's range, see
 * OLDEST_MODELLED / NEWEST_MODELLED in lib/kernel/version.ts).
 * @throws ModelConfigError (from parseKernelVersion) naming `field` for a bad name.
 */
export function iovaRelease(kernel: string | KernelVersion, field = "kernel"): IovaRelease {
  const v = parseKernelVersion(kernel, field);
  const rework = at(v, 4, 15);
  const max32 = at(v, 5, 0);
  const retry = at(v, 5, 11);
  return {
    name: v.name,
    cached32AnyLimit: at(v, 4, 10),
    clampLoUnderflow: at(v, 4, 12),
    exclusiveLimit: at(v, 4, 13),
    rework,
    max32,
    max32FastFailStores: max32 && !at(v, 5, 1),
    cached32FreedFix: at(v, 5, 3),
    retry,
    retryWraps: retry && !at(v, 6, 2),
    max32ResetAnyFree: at(v, 5, 18),
  };
}
