/**
 * Bundle the page script of the HTML export (scripts/live/runtime.ts, the
 * model in lib/, vega-embed with vega and vega-lite, marked) into one
 * classic script (IIFE, so it loads from file:// where module scripts are
 * refused), shared by every page.
 *
 * lib/ reads its data files (data/platforms, data/costs) with node:fs after
 * finding them with process.cwd() (lib/core/data-dir.ts). In the bundle,
 * node:fs and node:path resolve to small browser modules that serve the
 * repository's data/ JSON files from memory under a virtual root, and
 * process.cwd() returns that root; lib/ itself is unchanged and behaves in
 * Node as before.
 *
 * Usage: npx tsx scripts/live/bundle.ts [build/html/workbook-live.js]
 * Extra package folders (e.g. a private install of vega-embed) can be given
 * in DMA_LIVE_NODE_PATHS (colon-separated node_modules folders).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

import { VIRTUAL_ROOT } from "./virtual-root.js";

/**
 * The repository's data/ JSON files by their path under the virtual root,
 * parsed: the bundle holds their values as object literals, and the fs
 * shim's readFileSync gives JSON text of the same values (all lib/ reads
 * of a data file is JSON.parse of its text; with no whitespace or escaped
 * quotes, the bundle is about 10 KiB smaller than with the files' text).
 * @throws Error naming the file when a data file is not JSON, or has a
 * "__proto__" key (the bundle is not written).
 */
function dataFiles(root: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const parse = (p: string): unknown => {
    try {
      // a "__proto__" key would set the prototype of its object literal in the bundle instead of being a property
      return JSON.parse(readFileSync(p, "utf8"), (k: string, v: unknown) => {
        if (k === "__proto__") throw new Error('a "__proto__" key (the bundle cannot hold it as an object literal)');
        return v;
      }) as unknown;
    } catch (e) {
      throw new Error(`${relative(root, p)}: not JSON the bundle can hold (${(e as Error).message})`);
    }
  };
  const walk = (dir: string) => {
    for (const n of readdirSync(dir).sort()) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith(".json")) out[`${VIRTUAL_ROOT}/${relative(root, p).split("\\").join("/")}`] = parse(p);
    }
  };
  walk(join(root, "data"));
  return out;
}

const PATH_SHIM = `
const norm = (p) => {
  const abs = p.startsWith("/");
  const out = [];
  for (const s of p.split("/")) {
    if (!s || s === ".") continue;
    if (s === "..") { if (out.length && out[out.length - 1] !== "..") out.pop(); else if (!abs) out.push(".."); }
    else out.push(s);
  }
  return (abs ? "/" : "") + out.join("/") || (abs ? "/" : ".");
};
export const sep = "/";
export function join(...parts) { return norm(parts.filter((x) => x !== "").join("/")); }
export function resolve(...parts) { let r = ${JSON.stringify(VIRTUAL_ROOT)}; for (const p of parts) r = p.startsWith("/") ? p : r + "/" + p; return norm(r); }
export function dirname(p) { const n = norm(p); const i = n.lastIndexOf("/"); return i <= 0 ? (n.startsWith("/") ? "/" : ".") : n.slice(0, i); }
export function basename(p, ext) { const b = norm(p).split("/").pop() || ""; return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b; }
export function relative(from, to) { const a = resolve(from).split("/").filter(Boolean), b = resolve(to).split("/").filter(Boolean); let i = 0; while (i < a.length && a[i] === b[i]) i++; return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/"); }
export const posix = { sep, join, resolve, dirname, basename, relative };
export default posix;
`;

function fsShim(files: Record<string, unknown>): string {
  return `
const files = ${JSON.stringify(files)};
const enoent = (p) => Object.assign(new Error("ENOENT: no such file or directory, open '" + p + "'"), { code: "ENOENT" });
const isDir = (p) => { const d = p.endsWith("/") ? p : p + "/"; return Object.keys(files).some((f) => f.startsWith(d)); };
export function existsSync(p) { return p in files || isDir(p); }
export function readFileSync(p) { if (!(p in files)) throw enoent(p); return JSON.stringify(files[p]); }
export function readdirSync(p) { if (!isDir(p)) throw enoent(p); const d = p.endsWith("/") ? p : p + "/"; return [...new Set(Object.keys(files).filter((f) => f.startsWith(d)).map((f) => f.slice(d.length).split("/")[0]))].sort(); }
export function statSync(p) { if (!existsSync(p)) throw enoent(p); const dir = !(p in files); return { isDirectory: () => dir, isFile: () => !dir }; }
export default { existsSync, readFileSync, readdirSync, statSync };
`;
}

/** esbuild plugin: node:fs / node:path (and fs / path) as in-memory browser modules over the repository's data/ files. */
export function nodeShims(root: string): Plugin {
  return {
    name: "dma-live-node-shims",
    setup(b) {
      b.onResolve({ filter: /^(node:)?(fs|path)$/ }, (a) => ({ path: a.path.replace(/^node:/, ""), namespace: "dma-live-shim" }));
      b.onLoad({ filter: /.*/, namespace: "dma-live-shim" }, (a) => ({
        contents: a.path === "fs" ? fsShim(dataFiles(root)) : PATH_SHIM,
        loader: "js",
      }));
    },
  };
}

/**
 * Write the bundle.
 * @returns its size in bytes.
 * @throws Error with esbuild's messages when the build fails.
 */
export async function bundleLive(outFile: string, root: string = process.cwd()): Promise<number> {
  const extra = (process.env["DMA_LIVE_NODE_PATHS"] ?? "").split(":").filter(Boolean);
  const injectFile = join(root, "scripts", "live", "process-shim.ts");
  const r = await build({
    entryPoints: [join(root, "scripts", "live", "runtime.ts")],
    outfile: outFile,
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2020",
    minify: true,
    legalComments: "none",
    // one named function around the whole bundle: its source starts the page's Web Workers (scripts/live/workers.ts)
    banner: { js: "(function __dmaLiveBundle(){" },
    footer: { js: "})();" },
    metafile: true,
    nodePaths: [join(root, "node_modules"), ...extra],
    plugins: [nodeShims(root)],
    inject: [injectFile],
    define: { "process.cwd": "__dmaLiveCwd", "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
  });
  const out = Object.values(r.metafile.outputs)[0]!;
  return out.bytes;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? "build/html/workbook-live.js");
  const t0 = Date.now();
  const bytes = await bundleLive(out);
  console.log(`${relative(process.cwd(), out)}: ${(bytes / 1024).toFixed(0)} KiB in ${Date.now() - t0} ms`);
}
