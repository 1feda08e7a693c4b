/** The virtual working directory of the bundled model; the repository's data/ JSON files are served below it. */
export const VIRTUAL_ROOT = "/dma-workbook";
