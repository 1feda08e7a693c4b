/**
 * A vega-lite v5/v6 specification as a plain JSON object. Kept as a loose
 * type because tslab's TypeScript cannot import vega-lite's types (they are
 * declared only through package `exports`).
 */
export type VlSpec = { [key: string]: unknown };
