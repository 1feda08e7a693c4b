import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Executing notebooks spawns tslab kernels: give them room on 2-core machines.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
