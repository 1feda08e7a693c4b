// A real dynamic import(), kept in a CommonJS file so that tslab (which
// compiles notebook code and its imports to CommonJS, turning import() into
// require()) can still load the ESM-only vega and vega-lite packages.
module.exports = function esmImport(specifier) {
  return import(specifier);
};
