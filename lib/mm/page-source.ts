/**
 * A deterministic page source standing in for the buddy allocator (a later
 * issue): first fit over RAM pages that have a linear alias and lie in no
 * reserved region, skipping the first 16 MiB of the lowest bank (the kernel
 * image and early allocations). A request of 2^order pages gets a block
 * naturally aligned to its size (as buddy blocks are), lowest address first,
 * at or below a physical limit. Used by dma-direct's coherent allocation
 * (lib/dma/direct-alloc.ts) and vmalloc (lib/mm/remap.ts).
 */
import { SZ_16M } from "../core/arith.js";
import type { Pfn } from "../core/addr.js";
import { ModelConfigError } from "../core/errors.js";
import type { MemoryModel } from "./memory.js";

/** One allocation of the page source. */
interface Block {
  pfn: number;
  pages: number;
}

/**
 * Another page allocator the page source hands its calls to (the buddy
 * allocator, lib/mm/page-alloc.ts, installs itself when a machine first uses it).
 */
export interface PageSourceDelegate {
  alloc(order: number, physLimit: number): Pfn | null;
  free(pfn: number): void;
  usedPages(): number;
}
declare module "./memory.js" {
  interface MemoryModel {
    /** Where the machine's page source draws from once a buddy allocator exists ({@link setPageSourceDelegate}). */
    pageSourceDelegate?: PageSourceDelegate;
    /** The machine's page source ({@link pageSourceOf}); absent until first used. */
    pageSource?: PageSource;
  }
}

/** Route a machine's page source through `d` from now on (lib/mm/page-alloc.ts buddyOf). */
export function setPageSourceDelegate(mm: MemoryModel, d: PageSourceDelegate): void {
  mm.pageSourceDelegate = d;
}

/** The deterministic page source of a machine (see the module header). */
export class PageSource {
  private readonly used: Block[] = [];
  constructor(private readonly mm: MemoryModel) {}

  /** Pages currently handed out. */
  usedPages(): number {
    const d = this.mm.pageSourceDelegate;
    if (d) return d.usedPages();
    return this.used.reduce((s, b) => s + b.pages, 0);
  }

  private usable(pfn: number): boolean {
    const ps = this.mm.pageSize;
    const pa = pfn * ps;
    const lowest = Math.min(...this.mm.profile.ram.map((b) => b.base));
    if (pa < lowest + SZ_16M) return false;
    if (!this.mm.hasLinearAlias(pa)) return false;
    return this.mm.regionOf(pa).kind === "ram";
  }

  /**
   * Allocate 2^order contiguous pages whose last byte is <= `physLimit`.
   * @returns the first pfn, or null (the kernel's NULL: no suitable memory).
   */
  alloc(order: number, physLimit: number): Pfn | null {
    const d = this.mm.pageSourceDelegate;
    if (d) return d.alloc(order, physLimit);
    const n = 2 ** order;
    const ps = this.mm.pageSize;
    const banks = [...this.mm.profile.ram].sort((a, b) => a.base - b.base);
    for (const b of banks) {
      let pfn = Math.ceil(b.base / ps / n) * n;
      const end = (b.base + b.size) / ps;
      while (pfn + n <= end && (pfn + n) * ps - 1 <= physLimit) {
        const clash = this.used.find((u) => pfn < u.pfn + u.pages && u.pfn < pfn + n);
        if (clash) {
          pfn = Math.ceil((clash.pfn + clash.pages) / n) * n;
          continue;
        }
        let ok = true;
        for (let p = pfn; p < pfn + n; p++) {
          if (!this.usable(p)) {
            ok = false;
            pfn = Math.ceil((p + 1) / n) * n;
            break;
          }
        }
        if (!ok) continue;
        this.used.push({ pfn, pages: n });
        return pfn as Pfn;
      }
    }
    return null;
  }

  /**
   * Free a block allocated by {@link alloc}.
   * @throws ModelConfigError if no block starts at `pfn` (a double free or a bad pointer).
   */
  free(pfn: number): void {
    const d = this.mm.pageSourceDelegate;
    if (d) return d.free(pfn);
    const i = this.used.findIndex((u) => u.pfn === pfn);
    if (i < 0) throw new ModelConfigError("free_pages(pfn)", pfn, "the first pfn of a live allocation");
    this.used.splice(i, 1);
  }
}


/** The page source of a machine's memory model (created on first use). */
export function pageSourceOf(mm: MemoryModel): PageSource {
  if (!mm.pageSource) mm.pageSource = new PageSource(mm);
  return mm.pageSource;
}

