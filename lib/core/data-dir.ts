/**
 * Locate this repository's data folders (data/platforms, data/costs) from
 * code that runs under several module systems: CommonJS under tslab (which
 * gives `__dirname`), vitest (which gives it too), and plain ESM scripts
 * (which do not, so the working directory is searched upwards instead).
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

// Defined by CommonJS (tslab compiles notebook imports to CommonJS) and by vitest.
declare const __dirname: string | undefined;

/**
 * The folder data/<sub> of this repository, or null if none is found above
 * this module's folder or the working directory.
 */
export function findDataDir(sub: string): string | null {
  const starts: string[] = [];
  if (typeof __dirname === "string") starts.push(__dirname);
  starts.push(process.cwd());
  for (const start of starts) {
    let dir = resolve(start);
    for (;;) {
      const cand = join(dir, "data", sub);
      if (existsSync(cand)) return cand;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return null;
}
