/**
 * A structural snapshot of everything reachable from a value (a machine, a
 * device, argument objects): allocators, pools, page tables, active
 * mappings, cache and memory contents. The trace is left out (its length
 * grows with every call, rejected or not), and so are functions. Typed
 * arrays and big arrays are folded into a hash so a snapshot stays small.
 * Cycles are written as back references, so equal graphs give equal strings.
 */
import { createHash } from "node:crypto";
import { Trace } from "../../lib/core/trace.js";

function hashView(a: ArrayBufferView): string {
  return `#${a.byteLength}:${createHash("sha1").update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest("hex")}`;
}

/** The snapshot string of `root` (see the module comment). */
export function snapshot(root: unknown): string {
  const seen = new Map<object, number>();
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== "object") {
      if (typeof v === "function") out.push("f");
      else if (typeof v === "number") out.push(Object.is(v, -0) ? "-0" : String(v));
      else if (typeof v === "string") out.push(JSON.stringify(v));
      else out.push(String(v));
      return;
    }
    if (v instanceof Trace) { out.push("T"); return; }
    const id = seen.get(v);
    if (id !== undefined) { out.push(`@${id}`); return; }
    seen.set(v, seen.size);
    if (ArrayBuffer.isView(v)) { out.push(hashView(v)); return; }
    if (v instanceof Map) {
      out.push("M{");
      for (const [k, x] of v) { walk(k); out.push(":"); walk(x); out.push(","); }
      out.push("}");
      return;
    }
    if (v instanceof Set) {
      out.push("S{");
      for (const x of v) { walk(x); out.push(","); }
      out.push("}");
      return;
    }
    if (Array.isArray(v)) {
      out.push("[");
      for (const x of v) { walk(x); out.push(","); }
      out.push("]");
      return;
    }
    out.push("{");
    for (const k of Object.keys(v)) {
      if (k === "trace") continue;
      out.push(k, ":");
      walk((v as Record<string, unknown>)[k]);
      out.push(",");
    }
    out.push("}");
  };
  walk(root);
  return out.join("");
}
