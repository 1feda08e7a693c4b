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
import { atLeast, defineChange, parseKernelVersion, type KernelVersion } from "../kernel/version.js";

// One registered change per row of the table above (brackets from the tree
// reading of issue 9, /work/research/iova-boundaries.md; blobs of
// drivers/iommu/iova.c as listed there).

/** v4.10: cached32_node is the start for any limit_pfn <= pfn_32bit (pre-v4.15 walk). */
export const IOVA_CACHED32_ANY_LIMIT = defineChange({
  id: "iova-cached32-any-limit",
  since: "v4.10",
  commit: "not identified",
  subject: "iommu/iova: start the walk at cached32_node for every limit at or below pfn_32bit",
  files: ["drivers/iommu/iova.c"],
  effect: "__get_cached_rbnode tests limit_pfn > dma_32bit_pfn instead of !=: cached32_node is the start for every limit_pfn <= pfn_32bit (still updated only when limit_pfn == pfn_32bit), and its pfn_lo - 1 replaces the caller's limit, so a range can land above a lower limit (a defect, gone with the v4.15 rework).",
  bracket: "absent in v4.9.0 (pengdonglin137/linux-4.9, drivers/iommu/iova.c:__get_cached_rbnode, blob e23001bfcfee), present in v4.10.17 (pengdonglin137/linux-4.10.17, drivers/iommu/iova.c:__get_cached_rbnode, blob 080beca0197d)",
});

/** v4.12: the pre-v4.15 walk clamps `pfn_lo - 1` at 0. */
export const IOVA_CLAMP_LO_UNDERFLOW = defineChange({
  id: "iova-clamp-lo-underflow",
  since: "v4.12",
  commit: "not identified (a \"fix underflow\" change in __alloc_and_insert_iova_range, subject as recalled)",
  subject: "iommu/iova: fix underflow in __alloc_and_insert_iova_range",
  files: ["drivers/iommu/iova.c"],
  effect: "the walk's limit_pfn = pfn_lo - 1 is clamped at 0 (no wrap for a range at pfn 0); __get_cached_rbnode() is still unclamped.",
  bracket: "absent in v4.11.0 (HCLS/linux-4.11, drivers/iommu/iova.c:__alloc_and_insert_iova_range, blob b7268a14184f), present in v4.12.0 (jason50123/linux-4.12, same function, blob 5c88ba70e4e0)",
});

/** v4.13: the pre-v4.15 walk uses an exclusive limit. */
export const IOVA_EXCLUSIVE_LIMIT = defineChange({
  id: "iova-exclusive-limit",
  since: "v4.13",
  commit: "not identified",
  subject: "iommu/iova: make the allocator's limit_pfn exclusive",
  files: ["drivers/iommu/iova.c"],
  effect: "alloc_iova passes limit_pfn + 1 and dma_32bit_pfn = pfn_32bit + 1, and the bottom check compares with > limit: start_pfn itself can be handed out; the free path caches the successor when its pfn_lo <= pfn_32bit.",
  bracket: "absent in v4.12.0 (jason50123/linux-4.12, drivers/iommu/iova.c:alloc_iova, blob 5c88ba70e4e0), present in v4.13.9 (kinmax/linux-4.13.19, Makefile 4.13.9, drivers/iommu/iova.c:alloc_iova, blob 246f14c83944) and v4.14.177 (linuxzjs/linux-4.14); loose: both newer trees are stable releases, no v4.13.0 tree",
});

/** v4.15: anchor node, cached_node, implicit dma_32bit_pfn. */
export const IOVA_REWORK = defineChange({
  id: "iova-rework-anchor-node",
  since: "v4.15",
  commit: "not verified (Robin Murphy's series \"iommu/iova: Extend rbtree node caching\", \"Make dma_32bit_pfn implicit\", \"Add rbtree anchor node\", \"Simplify the allocation loop\"; subjects as recalled)",
  subject: "iommu/iova: Extend rbtree node caching (and the series around it)",
  files: ["drivers/iommu/iova.c", "include/linux/iova.h"],
  effect: "anchor node, cached_node beside cached32_node, dma_32bit_pfn = 2^32 / granule (no pfn_32bit argument), the min(limit, pfn_lo) walk failing when new_pfn < start_pfn; the free path does not move cached32_node when the freed node is cached32_node but ends at or above 4 GiB (a defect: stale cached32_node, fixed in v5.3).",
  bracket: "absent in v4.14.177 (linuxzjs/linux-4.14, drivers/iommu/iova.c, blob 4edf65dbbcab), present in v4.15.0 (sndrzt/linux-4.15, drivers/iommu/iova.c at commit 6ea062648, the kernel.org import; blob 83fe2621effe) and v4.19.1 (chens37/linux-4.19.1, same blob)",
});

/** v5.0: max32_alloc_size fast fail. */
export const IOVA_MAX32 = defineChange({
  id: "iova-max32-alloc-size",
  since: "v5.0",
  commit: "bee60e94a1e2 (checked on a commit page)",
  subject: "iommu/iova: Optimise attempts to allocate iova from 32bit address range",
  files: ["drivers/iommu/iova.c", "include/linux/iova.h"],
  effect: "max32_alloc_size: an allocation with limit <= dma_32bit_pfn and size >= it fails at once; a failed walk stores size; reset to dma_32bit_pfn when a free moves cached32_node. In v5.0 the fast-fail path itself also stores size (a defect, fixed in v5.1).",
  bracket: "absent in v4.19.1 (chens37/linux-4.19.1, drivers/iommu/iova.c:__alloc_and_insert_iova_range, blob 83fe2621effe), present in v5.0.1 (VVvector/linux-5.0.1, same function, blob f8d3ba247523)",
});

/** v5.1: the fast fail no longer stores size. */
export const IOVA_MAX32_FAST_FAIL_FIX = defineChange({
  id: "iova-max32-fast-fail-no-store",
  since: "v5.1",
  commit: "not verified (\"iommu/iova: Fix tracking of recently failed iova address\")",
  subject: "iommu/iova: Fix tracking of recently failed iova address",
  files: ["drivers/iommu/iova.c"],
  effect: "the max32_alloc_size fast fail leaves max32_alloc_size alone (only a failed walk stores size).",
  bracket: "absent in v5.0.1 (VVvector/linux-5.0.1, drivers/iommu/iova.c:__alloc_and_insert_iova_range, blob f8d3ba247523), present in v5.2.1 (wangliang-cs/linux-5.2.1, same function, blob d499b2621239); loose: no v5.1 tree, and 5.2.1 is a stable release that may carry a backport: the model switches at v5.1",
});

/** v5.3: freeing the cached32 node itself always moves cached32_node. */
export const IOVA_CACHED32_FREED_FIX = defineChange({
  id: "iova-cached32-freed-fix",
  since: "v5.3",
  commit: "not verified (\"iommu/iova: Remove stale cached32_node\")",
  subject: "iommu/iova: Remove stale cached32_node",
  files: ["drivers/iommu/iova.c"],
  effect: "__cached_rbnode_delete_update moves cached32_node to the successor whenever the freed node is cached32_node (free == cached_iova), fixing the v4.15 stale node.",
  bracket: "absent in v5.2.1 (wangliang-cs/linux-5.2.1, drivers/iommu/iova.c:__cached_rbnode_delete_update, blob d499b2621239), present in v5.3.1 (github-lvbing/linux-5.3.1, same function, blob 3e1a8a675572; also v5.4.6)",
});

/** v5.11: one retry pass above the start node. */
export const IOVA_RETRY = defineChange({
  id: "iova-retry-pass",
  since: "v5.11",
  commit: "not verified (\"iommu/iova: Retry from last rb tree node if iova search fails\")",
  subject: "iommu/iova: Retry from last rb tree node if iova search fails",
  files: ["drivers/iommu/iova.c"],
  effect: "a failed walk is retried once over the space above the start node, accepting only candidates above it; retry_pfn = start pfn_hi + 1, which wraps to 0 when the start node is the anchor (a defect: the retry accepts pfns below start_pfn; fixed in v6.2).",
  bracket: "absent in v5.10.89 (Prashant446/linux-5.10.89, drivers/iommu/iova.c:__alloc_and_insert_iova_range, blob 30d969a4c5fd), present in v5.11.0 (CompressionDuck/linux-5.11, same function, blob d20b8b333d30; also 5.15.55, 5.17-rc5, 5.19.0, 6.0-rc1, 6.1-rc7)",
});

/** v5.18: any free below dma_32bit_pfn resets max32_alloc_size. */
export const IOVA_MAX32_RESET_ANY_FREE = defineChange({
  id: "iova-max32-reset-any-free",
  since: "v5.18",
  commit: "not verified (\"iommu/iova: Improve 32-bit free space estimate\", subject as recalled)",
  subject: "iommu/iova: Improve 32-bit free space estimate",
  files: ["drivers/iommu/iova.c"],
  effect: "every free with pfn_lo < dma_32bit_pfn resets max32_alloc_size to dma_32bit_pfn, not only one that moves cached32_node.",
  bracket: "absent in v5.17-rc5 (dunli/linux-5.17, drivers/iommu/iova.c:__cached_rbnode_delete_update, blob b28c9435b898), present in v5.19.0 (yishangzhang/linux-5.19, same function, blob db77aa675145); loose: no v5.18 tree, the model switches at v5.18; wowk/linux-5.15 (5.15.55) has it as a stable backport",
});

/** v6.2: the retry no longer wraps for the anchor. */
export const IOVA_RETRY_NO_WRAP = defineChange({
  id: "iova-retry-no-wrap",
  since: "v6.2",
  commit: "not verified (\"iommu/iova: Fix alloc iova overflows issue\")",
  subject: "iommu/iova: Fix alloc iova overflows issue",
  files: ["drivers/iommu/iova.c"],
  effect: "retry_pfn = start pfn_hi, the retry runs only if it is below the limit, and low = retry_pfn + 1: no wrap when the start node is the anchor.",
  bracket: "absent in v6.1-rc7 (krr-io/linux-6.1.0, drivers/iommu/iova.c:__alloc_and_insert_iova_range, blob a44ad92fc5eb), present in v6.2.12 (xmphoenix/linux-6.2.12-slow-motion, same function, blob fe452ce46642; also v6.3.8, v6.8, v6.19); loose: 6.2.12 is a stable release that may carry a backport, the model switches at v6.2",
});

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

/**
 * The switches for a release name ("v4.4", "5.10", "v6.19.10"; the stable
 * suffix is ignored). Releases before v4.4 get the v4.4 behaviour and
 * releases after v6.19 the v6.19 behaviour (the model's range, see
 * OLDEST_MODELLED / NEWEST_MODELLED in lib/kernel/version.ts).
 * @throws ModelConfigError (from parseKernelVersion) naming `field` for a bad name.
 */
export function iovaRelease(kernel: string | KernelVersion, field = "kernel"): IovaRelease {
  const v = parseKernelVersion(kernel, field);
  const rework = atLeast(v, IOVA_REWORK);
  const max32 = atLeast(v, IOVA_MAX32);
  const retry = atLeast(v, IOVA_RETRY);
  return {
    name: v.name,
    cached32AnyLimit: atLeast(v, IOVA_CACHED32_ANY_LIMIT),
    clampLoUnderflow: atLeast(v, IOVA_CLAMP_LO_UNDERFLOW),
    exclusiveLimit: atLeast(v, IOVA_EXCLUSIVE_LIMIT),
    rework,
    max32,
    max32FastFailStores: max32 && !atLeast(v, IOVA_MAX32_FAST_FAIL_FIX),
    cached32FreedFix: atLeast(v, IOVA_CACHED32_FREED_FIX),
    retry,
    retryWraps: retry && !atLeast(v, IOVA_RETRY_NO_WRAP),
    max32ResetAnyFree: atLeast(v, IOVA_MAX32_RESET_ANY_FREE),
  };
}
