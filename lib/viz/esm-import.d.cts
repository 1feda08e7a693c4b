/** Load an ES module with a real dynamic import(), from CommonJS and ESM alike. */
declare function esmImport(specifier: string): Promise<unknown>;
export = esmImport;
