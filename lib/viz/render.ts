/**
 * Render vega-lite specifications to SVG headless, with vega's "none"
 * renderer (no canvas package: text widths are estimated by vega).
 */
import esmImport from "./esm-import.cjs";
import type { VlSpec } from "./types.js";

interface VegaLiteModule {
  compile(spec: unknown): { spec: unknown };
}
interface VegaView {
  toSVG(): Promise<string>;
  finalize(): void;
}
interface VegaModule {
  parse(spec: unknown): unknown;
  View: new (runtime: unknown, opts: { renderer: string }) => VegaView;
}

let modules: Promise<{ vl: VegaLiteModule; vega: VegaModule }> | null = null;

function load(): Promise<{ vl: VegaLiteModule; vega: VegaModule }> {
  if (!modules) {
    modules = Promise.all([esmImport("vega-lite"), esmImport("vega")]).then(([vl, vega]) => ({
      vl: vl as VegaLiteModule,
      vega: vega as VegaModule,
    }));
  }
  return modules;
}

/**
 * Compile a vega-lite spec and render it to an SVG document string.
 * @throws Error with vega-lite's message for an invalid spec.
 */
export async function renderSvg(spec: VlSpec): Promise<string> {
  const { vl, vega } = await load();
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
