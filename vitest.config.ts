import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Two cores on CI: forks keep heavy numeric tests from starving each other.
    pool: "forks",
    // Vitest's default is one worker fewer than the cores, which on CI's two is one file at a
    // time while the main process sits idle: one worker a core runs two files at once.
    maxWorkers: availableParallelism(),
    testTimeout: 60_000,
  },
});
